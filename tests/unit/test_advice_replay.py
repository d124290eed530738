"""The same log gives the same findings live, replayed and in `report`, however its bytes were
batched and however fast they came: findings depend on the records (their steps and printed
timestamps), not on arrival. Only rules about live arrival (a stall, a throughput drop timed
by arrival, no progress right now) may differ: `is_live_only` names them, from what they say
in their evidence, and a report never holds one.

Logs: the real training runs of `bench/realruns/runs/` (the project's own output), and the
third-party real logs in ../shared when present.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trainmon.advice import is_live_only
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
    if any(
        k in p.name
        for k in (
            *("none_s1", "nan-input_s0", "lr-x100_s1", "scheduler", "tiny", "slow-loader_s1"),
            *("grad-explosion_s0", "lr-div1000_s0"),  # loss-jump, lr-too-low
        )
    )
)
THIRD_PARTY = [
    "logs/071_custom-print_nan.log",
    "logs/075_custom-print_overfitting.log",
    "logs/057_detectron2_rising-loss.log",
    "logs2/211_yolov8-results-csv_overfitting.log",
    "logs2/226_hf-trainer-tqdm_spike.log",
]


def _key(findings: list[Finding]) -> list[tuple[str, str, int | None, str]]:
    return [(f.rule, f.severity, f.step, f.evidence) for f in findings if not is_live_only(f)]


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


def _replay_as_written(folder: Path) -> list[Finding]:
    """The run's log fed as it was written: each chunk at the second it arrived."""
    data = (folder / "train.log").read_bytes()
    parser = LogParser()
    run = Run(str(folder / "train.log"))
    done = 0
    for line in (folder / "arrivals.tsv").read_text().splitlines():
        offset, seconds = line.split("\t")
        run.take(parser.feed(data[done : int(offset)]), parser_progress(parser), float(seconds))
        run.advise(float(seconds))
        done = int(offset)
    run.take(parser.feed(data[done:]) + parser.finish(), parser_progress(parser))
    return run.findings()


@pytest.mark.slow
def test_a_throughput_drop_timed_by_arrival_is_live_only_and_absent_from_the_report() -> None:
    # GIVEN a real Trainer run whose data loader starts sleeping (its log prints no times)
    folder = REALRUNS / "hf-bert_slow-loader_s1"
    # WHEN it is followed as it was written
    live = [f for f in _replay_as_written(folder) if f.rule == "throughput-drop"]
    # THEN the drop is found, timed by arrival, and says it is about live arrival
    assert live and all(is_live_only(f) for f in live)
    # AND a report of the same log, which has no arrival to time, holds no throughput finding
    reported = findings_for(read_log(str(folder / "train.log")))
    assert not [f for f in reported if f.rule in ("throughput-drop", "stall")]


@pytest.mark.slow
def test_a_throughput_drop_from_printed_step_times_is_the_same_everywhere() -> None:
    # GIVEN the plain loop's slowed loader: its nanoGPT lines print each iteration's time
    folder = REALRUNS / "loop-gpt2_slow-loader_s1"
    reported = [f for f in findings_for(read_log(str(folder / "train.log")))]
    drops = [f for f in reported if f.rule == "throughput-drop"]
    # THEN the report finds the drop from the printed times, not as a live-only finding
    assert drops and not any(is_live_only(f) for f in drops)
    # AND live at its original pace, or replayed at any batching and speed, finds the same
    data = (folder / "train.log").read_bytes()
    replays = [_replay_as_written(folder)]
    replays += [_replay(folder / "train.log", data, c, v) for c, v in ((97, 0.05), (1 << 15, 30.0))]
    for findings in replays:
        assert _key([f for f in findings if f.rule == "throughput-drop"]) == _key(drops)
