"""A history read apart (`trainmon.history`): the parts `report` would read, merged in order,
then the same ingest follows on, with nothing lost or read twice at the boundary, through
appends, a truncation and a rotation during the read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from tests.trainer_lines import step_lines
from trainmon import parts
from trainmon.follow import Follower
from trainmon.history import HistoryOptions, HistoryRead, load_history, wants_history
from trainmon.ingest import Ingest
from trainmon.records import FollowEvent
from trainmon.report import LogSummary, findings_for, read_log, summary_run
from trainmon.run import Run
from trainmon.store import MetricStore

SMALL = HistoryOptions(jobs=3, min_bytes=1)
"""Every file is read apart, in up to three processes."""


@pytest.fixture(autouse=True)
def _small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parts, "PART_MIN_BYTES", 1)  # small files are cut in parts too


def opened(path: Path, chunk_bytes: int = 1 << 20) -> Ingest:
    """An ingest that has opened `path` (its first poll), as the dashboard's poller has."""
    ingest = Ingest(str(path), chunk_bytes=chunk_bytes, poll_interval_s=0.0)
    assert [e.kind for e in ingest.poll() if isinstance(e, FollowEvent)] == ["opened"]
    return ingest


def drain(ingest: Ingest, run: Run, read: HistoryRead) -> None:
    """What the dashboard does with a read: the history whole, then the live path."""
    if read.store is not None:
        run.take_history(read.store, ingest.progress())
    pending: list[object] = list(read.rest)
    polled = False
    while True:
        for item in pending:
            if isinstance(item, FollowEvent):
                if item.kind in ("truncated", "rotated"):
                    run.new_segment()
            else:
                assert isinstance(item, tuple)
                run.take(item, None, 0.0)
        run.take((), ingest.progress())
        if ingest.caught_up and polled:
            return
        pending, polled = list(ingest.poll()), True


def assert_same(store: MetricStore, summary: LogSummary) -> None:
    """The same records, steps and values as `report` read from the file."""
    theirs = summary.store
    assert store.records == theirs.records
    assert store.kind_counts == theirs.kind_counts
    assert list(store.record_steps) == list(theirs.record_steps)
    assert store.names() == theirs.names()
    for name in theirs.names():
        mine, other = store.get(name), theirs.get(name)
        assert mine is not None and other is not None
        np.testing.assert_array_equal(mine.values_np(), other.values_np())
        np.testing.assert_array_equal(mine.steps_np(), other.steps_np())


def assert_counted_as_report(run: Run, summary: LogSummary) -> None:
    progress = run.progress
    assert progress.lines == summary.lines
    assert progress.unparsed_lines == summary.unparsed_lines
    assert progress.records == summary.parsed_records
    assert progress.log_format == summary.format
    assert progress.text_events == tuple(summary.text_events)
    assert run.findings() == findings_for(summary)


def followed(log: Path, ingest: Ingest, read: HistoryRead) -> Run:
    """The run after it took READ and followed LOG to its end, as the dashboard's does."""
    run = Run(str(log))
    drain(ingest, run, read)
    return run


def assert_as_report(run: Run, log: Path, **options: Any) -> LogSummary:
    """RUN holds and counted what `report` reads from LOG (OPTIONS go to `read_log`; one
    job unless they say otherwise); returns report's summary."""
    summary = read_log(str(log), **{"jobs": 1, **options})
    assert_same(run.store, summary)
    assert_counted_as_report(run, summary)
    return summary


def test_parts_merge_to_what_report_reads_and_the_ingest_follows_on(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(step_lines(range(1, 3001), crash_at=1700))
    ingest = opened(log)
    assert wants_history(ingest, SMALL)
    seen: list[tuple[int, int]] = []
    read = load_history(ingest, SMALL, 0.0, progress=lambda done, size: seen.append((done, size)))
    assert read is not None and read.store is not None and read.rest == []
    assert read.parts == 3  # two helpers and this process
    assert ingest.before is not None  # the live parser started at the last cut
    # Every byte was read once, by one process or another, and the count said so.
    assert seen[-1] == (log.stat().st_size, log.stat().st_size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)

    run = followed(log, ingest, read)
    assert_as_report(run, log)
    assert any(f.rule == "python-exception" for f in run.findings())

    # Following on: appended records come once each, after the history.
    with log.open("a") as f:
        f.write(step_lines(range(3001, 3101), crash_at=3050))
    drain(ingest, run, HistoryRead(None))
    assert_as_report(run, log)


def test_lines_appended_during_the_read_are_read_once(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(step_lines(range(1, 2001)))
    tail = step_lines(range(2001, 2201))
    appended = 0

    def append(done: int, size: int) -> None:
        nonlocal appended
        with log.open("a") as f:  # while the helpers and the ingest read: a line and a half
            if appended == 0:
                f.write(tail[: len(tail) // 2 + 7])
            elif appended == 1:
                f.write(tail[len(tail) // 2 + 7 :])
        appended += 1

    ingest = opened(log, chunk_bytes=4096)  # many chunks: the appends land mid-read
    read = load_history(ingest, SMALL, 0.0, progress=append)
    assert read is not None and read.store is not None and read.parts == 3
    run = followed(log, ingest, read)
    assert appended > 2
    summary = assert_as_report(run, log)
    assert summary.store.records == 2200 + 2200 // 50
    steps = run.store.get("loss")
    assert steps is not None
    assert steps.steps_np().tolist() == list(range(1, 2201))  # none lost, none twice


@pytest.mark.parametrize("longer", [False, True])
def test_a_truncation_during_the_read_starts_a_new_segment(tmp_path: Path, longer: bool) -> None:
    log = tmp_path / "run.log"
    log.write_text(step_lines(range(1, 2001)))
    restarted = step_lines(range(1, 3001 if longer else 301), base=2.0)
    calls = 0

    def restart(done: int, size: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # the trainer restarted with `>` while the history was read
            with log.open("w") as f:
                f.write("a new run begins\n" + restarted)

    ingest = opened(log, chunk_bytes=8192)
    read = load_history(ingest, SMALL, 0.0, progress=restart)
    assert read is not None and read.store is None  # nothing of the old run is kept
    assert isinstance(read.rest[0], FollowEvent) and read.rest[0].kind == "truncated"
    run = followed(log, ingest, read)
    assert run.store.segment == 1
    assert_as_report(run, log)


def test_a_rotation_during_the_read_follows_the_new_file(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(step_lines(range(1, 2001)))
    calls = 0

    def rotate(done: int, size: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            os.rename(log, tmp_path / "run.log.1")
            log.write_text(step_lines(range(1, 401), base=2.5))

    ingest = opened(log, chunk_bytes=8192)
    read = load_history(ingest, SMALL, 0.0, progress=rotate)
    assert read is not None and read.store is None
    kinds = [i.kind for i in read.rest if isinstance(i, FollowEvent)]
    assert kinds == ["rotated"]
    run = followed(log, ingest, read)
    assert run.store.segment == 1
    summary = read_log(str(log), jobs=1)
    assert_same(run.store, summary)
    assert summary.store.records == 400 + 400 // 50


def test_inferred_steps_are_read_again_in_one_process(tmp_path: Path) -> None:
    """Without printed steps a later part cannot know its steps: the file is read again from
    its start by the ingest itself, as `report` falls back to one process."""
    log = tmp_path / "run.log"
    lines = [f"{{'loss': {2 / (1 + i) ** 0.5:.5f}, 'epoch': {i / 100:.2f}}}\n" for i in range(4000)]
    log.write_text("".join(lines))
    ingest = opened(log)
    read = load_history(ingest, SMALL, 0.0)
    assert read is not None and read.store is not None
    assert read.parts == 1 and ingest.before is None
    run = followed(log, ingest, read)
    assert_as_report(run, log)


def test_one_job_reads_in_this_process(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(step_lines(range(1, 1001)))
    ingest = opened(log)
    read = load_history(ingest, HistoryOptions(jobs=1, min_bytes=1), 0.0)
    assert read is not None and read.store is not None and read.parts == 1
    run = followed(log, ingest, read)
    assert_same(run.store, read_log(str(log), jobs=1))


def test_a_cancelled_read_leaves_no_helper(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(step_lines(range(1, 4001)))
    ingest = opened(log, chunk_bytes=4096)
    before = {p.pid for p in psutil.Process().children()}
    polls = 0

    def cancel() -> bool:
        nonlocal polls
        polls += 1
        return polls > 3

    assert load_history(ingest, SMALL, 0.0, cancelled=cancel) is None
    assert {p.pid for p in psutil.Process().children()} <= before  # reaped, none left


def test_only_big_regular_logs_are_read_apart(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(step_lines(range(1, 11)))
    ingest = opened(log)
    assert not wants_history(ingest, HistoryOptions(min_bytes=log.stat().st_size + 1))
    assert wants_history(ingest, HistoryOptions(min_bytes=log.stat().st_size))
    from_end = Ingest(str(log), from_end=True, poll_interval_s=0.0)
    from_end.poll()
    assert not wants_history(from_end, SMALL)  # --from-end: no history to read
    read_r, write_w = os.pipe()
    try:
        stream = Ingest(f"/proc/self/fd/{read_r}", poll_interval_s=0.0)
        stream.poll()
        assert not wants_history(stream, SMALL)  # a pipe is read as a stream
    finally:
        os.close(read_r)
        os.close(write_w)


def test_resume_at_needs_an_open_regular_file(tmp_path: Path) -> None:
    follower = Follower(str(tmp_path / "missing.log"))
    with pytest.raises(ValueError):
        follower.resume_at(0)


def test_report_and_history_agree_on_findings_and_json(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    text = step_lines(range(1, 2501), crash_at=900)
    text = text.replace("'loss': 0.", "'loss': nan, 'x': 0.", 1)  # a NaN: a critical finding
    log.write_text(text)
    ingest = opened(log)
    read = load_history(ingest, SMALL, 0.0)
    assert read is not None and read.store is not None and read.parts == 3
    run = followed(log, ingest, read)
    summary = assert_as_report(run, log, split_bytes=1, jobs=3)
    assert summary.parts == 3
    findings = run.findings()
    assert {f.rule for f in findings} >= {"nan-loss", "python-exception"}
    loss = run.store.get("loss")
    assert loss is not None and loss.nonfinite == 1
    assert summary_run(summary).findings() == findings


def test_no_process_to_spare_reads_it_all_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "run.log"
    log.write_text(step_lines(range(1, 1001)))
    forks = 0

    def fork() -> int:
        nonlocal forks
        forks += 1
        if forks > 1:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return real_fork()

    real_fork = os.fork
    monkeypatch.setattr(os, "fork", fork)
    ingest = opened(log)
    read = load_history(ingest, SMALL, 0.0)
    assert forks == 2  # the first helper started (and was stopped), the second could not
    assert read is not None and read.store is not None and read.parts == 1
    run = followed(log, ingest, read)
    assert_same(run.store, read_log(str(log), jobs=1))
