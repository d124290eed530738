"""Reading a file in N processes gives exactly what one process gives: records, counters,
unparsed lines, format, series and findings, on the shared real logs and generated ones; and
so does `report_log`, which judges the first part while the helpers read the rest."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.unit.test_report_split import load_generator, series_arrays
from trainmon import parts, report
from trainmon.report import as_json, default_jobs, findings_for, read_log, report_log

SHARED = Path(__file__).resolve().parents[3] / "shared"
REAL_LOGS = sorted(
    p
    for folder in ("logs", "logs2")
    for p in (SHARED / folder).rglob("*")
    if p.is_file() and p.suffix != ".md"
)


def whole(
    path: Path, early: bool = False, **kwargs: int
) -> tuple[report.LogSummary, dict[str, object]]:
    """The report of `path` (`early`: through `report_log`) with the counters it leaves out."""
    if early:
        summary, found = report_log(str(path), **kwargs)
    else:
        summary = read_log(str(path), **kwargs)
        found = findings_for(summary)
    out = as_json(summary, found)
    out["long_lines"] = summary.long_lines
    out["context"] = summary.context
    out["series_sources"] = summary.series_sources
    out["format_counts"] = summary.format_counts
    return summary, out


@pytest.mark.skipif(not REAL_LOGS, reason="the shared real logs are not here")
def test_real_logs_read_in_parts_equal_one_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parts, "PART_MIN_BYTES", 1)  # small files are cut too
    split = judged_apart = 0
    for path in REAL_LOGS:
        single, expected = whole(path, split_bytes=0)
        parted, got = whole(path, split_bytes=1, jobs=4)
        assert got == expected, path.name
        assert series_arrays(parted.store) == series_arrays(single.store), path.name
        split += parted.parts > 1
        judged, got = whole(path, early=True, split_bytes=1, jobs=4)
        assert got == expected, path.name
        judged_apart += judged.parts > 1
    # many real logs were trusted in parts (the others fell back to one read, as they must)
    assert split >= 10 and judged_apart >= 10


@pytest.mark.parametrize("logging_steps", [20, 40])
@pytest.mark.parametrize("jobs", [2, 3, 8])
def test_generated_logs_read_in_parts_equal_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logging_steps: int, jobs: int
) -> None:
    monkeypatch.setattr(parts, "PART_MIN_BYTES", 1)
    log = tmp_path / "hf.log"
    truth = load_generator().generate(log, 1_500_000, seed=jobs, logging_steps=logging_steps)
    single, expected = whole(log, split_bytes=0)
    parted, got = whole(log, split_bytes=1, jobs=jobs)
    assert parted.parts == jobs  # each part starts on a train record with a printed step
    assert got == expected
    assert series_arrays(parted.store) == series_arrays(single.store)
    judged, got = whole(log, early=True, split_bytes=1, jobs=jobs)
    assert judged.parts == jobs and got == expected
    assert expected["findings"]  # the comparison is over findings, not over none
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
    monkeypatch.setattr(parts, "_record_cut", lambda path, size, cut: cut)  # any line
    monkeypatch.setattr(parts, "split_point", lambda path, size, middle=None: _second_line(log))
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
    monkeypatch.setattr(parts, "PART_MIN_BYTES", 1)
    log = tmp_path / "metrics.csv"
    rows = "".join(f"{i},{1 / i!r},{math.log(i + 1)!r}\n" for i in range(1, 3001))
    log.write_text("step,train_loss,lr\n" + rows)
    single, expected = whole(log, split_bytes=0)
    parted, got = whole(log, split_bytes=1, jobs=3)
    assert parted.parts == 1
    assert got == expected and single.store.records == 3000


def test_default_jobs_leaves_a_core() -> None:
    jobs = default_jobs()
    assert 1 <= jobs <= parts.DEFAULT_JOBS_CAP
    cores = len(__import__("os").sched_getaffinity(0))
    assert jobs == max(1, min(parts.DEFAULT_JOBS_CAP, cores - 1))


def _findings_started_over(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the advice passes that started over after the parts were merged."""
    calls: list[int] = []
    real = report.findings_for

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(report, "findings_for", counted)
    return calls


def test_the_first_part_judged_early_is_kept_when_nothing_later_changes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parts, "PART_MIN_BYTES", 1)
    log = tmp_path / "hf.log"
    load_generator().generate(log, 1_500_000, seed=5)
    _single, expected = whole(log, split_bytes=0)
    started_over = _findings_started_over(monkeypatch)
    judged, got = whole(log, early=True, split_bytes=1, jobs=3)
    assert judged.parts == 3 and got == expected
    assert not started_over


@pytest.mark.parametrize("later", ["total", "times", "reward"])
def test_a_later_part_that_changes_what_rules_read_of_the_whole_starts_the_advice_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, later: str
) -> None:
    """The rules read the total, whether times were printed and whether a series names a
    signed objective from the whole store: when a later part changes one, the first part's
    early judgement is not kept."""
    monkeypatch.setattr(parts, "PART_MIN_BYTES", 1)
    n = 4000
    lines = []
    for i in range(1, n + 1):
        loss = f"loss={2.0 + math.sin(i / 7) / 10 - i / n:.4f}"
        if i < 3 * n // 4:  # the last quarter differs: it is in the helper's part
            lines.append(f"step={i} {loss}")
        elif later == "total":
            lines.append(f"step {i}/{n} {loss}")
        elif later == "reward":
            lines.append(f"step={i} {loss} reward={i / n:.3f}")
        else:
            lines.append(f"2026-12-04 10:{i // 60 % 60:02d}:{i % 60:02d},000 INFO step={i} {loss}")
    log = tmp_path / "kv.log"
    log.write_text("\n".join(lines) + "\n")
    single, expected = whole(log, split_bytes=0)
    assert (single.total_steps == n) == (later == "total")
    assert single.store.times_printed == (later == "times")
    assert ("reward" in single.store) == (later == "reward")
    started_over = _findings_started_over(monkeypatch)
    judged, got = whole(log, early=True, split_bytes=1, jobs=2)
    assert judged.parts == 2 and got == expected
    assert started_over == [1]
