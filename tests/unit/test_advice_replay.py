"""The same log gives the same findings live, replayed and in `report`, however its bytes were
batched and however fast they came: findings depend on the records (their steps and printed
timestamps), not on arrival. Only rules about live arrival (a stall, a throughput drop timed
by arrival) may differ, and they say so in their evidence.

Logs: the real training runs of `bench/realruns/runs/` (the project's own output), and the
third-party real logs in ../shared when present.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trainmon.ingest import parser_progress
from trainmon.parsing.parser import LogParser
from trainmon.records import Finding
from trainmon.report import findings_for, read_log
from trainmon.run import Run

ROOT = Path(__file__).resolve().parents[2]
REALRUNS = ROOT / "bench" / "realruns" / "runs"
SHARED = ROOT.parent / "shared"

OWN = sorted(
    p / "train.log"
    for p in REALRUNS.glob("*")
    if any(k in p.name for k in ("none_s1", "nan-input_s0", "lr-x100_s1", "scheduler", "tiny"))
)
THIRD_PARTY = [
    "logs/071_custom-print_nan.log",
    "logs/075_custom-print_overfitting.log",
    "logs/057_detectron2_rising-loss.log",
    "logs2/211_yolov8-results-csv_overfitting.log",
    "logs2/226_hf-trainer-tqdm_spike.log",
]


def _live_only(f: Finding) -> bool:
    return f.rule in ("stall", "no-progress") or "live)" in f.evidence


def _key(findings: list[Finding]) -> list[tuple[str, str, int | None, str]]:
    return [(f.rule, f.severity, f.step, f.evidence) for f in findings if not _live_only(f)]


def _replay(path: Path, data: bytes, chunk: int, seconds_per_chunk: float) -> list[Finding]:
    """The dashboard's road: parsed batches into a `Run`, advised after each batch."""
    parser = LogParser()
    run = Run(str(path))
    for k, lo in enumerate(range(0, len(data), chunk)):
        now = k * seconds_per_chunk
        run.take(parser.feed(data[lo : lo + chunk]), parser_progress(parser), now)
        run.advise(now)
    run.take(parser.finish(), parser_progress(parser))
    return run.findings()


def _paths() -> list[Path]:
    out = list(OWN)
    out += [SHARED / p for p in THIRD_PARTY if (SHARED / p).is_file()]
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", _paths(), ids=lambda p: p.name if p.name != "train.log" else p.parent.name
)
def test_replay_at_any_batching_and_speed_matches_report(path: Path) -> None:
    summary = read_log(str(path))
    reported = _key(findings_for(summary))
    data = path.read_bytes()
    for chunk, speed in ((97, 0.05), (4096, 1.0), (len(data) + 1, 0.0), (1 << 15, 30.0)):
        replayed = _key(_replay(path, data, chunk, speed))
        assert replayed == reported, (path.name, chunk, speed)


def test_the_benchmark_logs_are_present() -> None:
    # the committed real runs are the project's own output: they ship with the repository
    assert len(OWN) >= 5
