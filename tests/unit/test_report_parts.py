"""Reading a file in N processes gives exactly what one process gives: records, counters,
unparsed lines, format, series and findings, on the shared real logs and generated ones."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.unit.test_report_split import load_generator, series_arrays
from trainmon import report
from trainmon.report import as_json, default_jobs, findings_for, read_log

SHARED = Path(__file__).resolve().parents[3] / "shared"
REAL_LOGS = sorted(
    p
    for folder in ("logs", "logs2")
    for p in (SHARED / folder).rglob("*")
    if p.is_file() and p.suffix != ".md"
)


def whole(path: Path, **kwargs: int) -> tuple[report.LogSummary, dict[str, object]]:
    summary = read_log(str(path), **kwargs)
    out = as_json(summary, findings_for(summary))
    out["long_lines"] = summary.long_lines
    out["context"] = summary.context
    out["series_sources"] = summary.series_sources
    out["format_counts"] = summary.format_counts
    return summary, out


@pytest.mark.skipif(not REAL_LOGS, reason="the shared real logs are not here")
def test_real_logs_read_in_parts_equal_one_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "PART_MIN_BYTES", 1)  # small files are cut too
    split = 0
    for path in REAL_LOGS:
        single, expected = whole(path, split_bytes=0)
        parted, got = whole(path, split_bytes=1, jobs=4)
        assert got == expected, path.name
        assert series_arrays(parted.store) == series_arrays(single.store), path.name
        split += parted.parts > 1
    # many real logs were trusted in parts (the others fell back to one read, as they must)
    assert split >= 10


@pytest.mark.parametrize("logging_steps", [20, 40])
@pytest.mark.parametrize("jobs", [2, 3, 8])
def test_generated_logs_read_in_parts_equal_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logging_steps: int, jobs: int
) -> None:
    monkeypatch.setattr(report, "PART_MIN_BYTES", 1)
    log = tmp_path / "hf.log"
    truth = load_generator().generate(log, 1_500_000, seed=jobs, logging_steps=logging_steps)
    single, expected = whole(log, split_bytes=0)
    parted, got = whole(log, split_bytes=1, jobs=jobs)
    assert parted.parts == jobs  # each part starts on a train record with a printed step
    assert got == expected
    assert series_arrays(parted.store) == series_arrays(single.store)
    assert list(parted.store.record_steps) == list(single.store.record_steps)
    assert parted.store.records == truth["records"]


def test_a_multi_line_record_across_a_cut_falls_back_to_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An indented line continues the record above it; the cut is put inside one.
    log = tmp_path / "multi.log"
    log.write_bytes(
        b"".join(b"step=%d loss=%r\n    acc=0.5 top5=0.9\n" % (i, 1.0 / i) for i in range(1, 2001))
    )
    single, expected = whole(log, split_bytes=0)
    monkeypatch.setattr(report, "_record_cut", lambda path, size, cut: cut)  # any line
    monkeypatch.setattr(report, "split_point", lambda path, size, middle=None: _second_line(log))
    parted, got = whole(log, split_bytes=1, jobs=2)
    assert got == expected
    assert parted.parts == 1 and single.store.records == 2000


def _second_line(log: Path) -> int:
    data = log.read_bytes()
    middle = data.index(b"step=1000 ")
    return data.index(b"\n", middle) + 1  # between a record's two lines


def test_a_csv_table_is_never_trusted_in_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "PART_MIN_BYTES", 1)
    log = tmp_path / "metrics.csv"
    rows = "".join(f"{i},{1 / i!r},{math.log(i + 1)!r}\n" for i in range(1, 3001))
    log.write_text("step,train_loss,lr\n" + rows)
    single, expected = whole(log, split_bytes=0)
    parted, got = whole(log, split_bytes=1, jobs=3)
    assert parted.parts == 1
    assert got == expected and single.store.records == 3000


def test_default_jobs_leaves_a_core() -> None:
    jobs = default_jobs()
    assert 1 <= jobs <= report.DEFAULT_JOBS_CAP
    cores = len(__import__("os").sched_getaffinity(0))
    assert jobs == max(1, min(report.DEFAULT_JOBS_CAP, cores - 1))
