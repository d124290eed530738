"""One road from bytes to records: the dashboard's follow step, `stream`'s ingest and `report`
give the same records, counters and findings for the same log, through a truncation (the
trainer restarted with `>`) and a rotation (the file replaced)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trainmon.follow import Follower
from trainmon.ingest import Ingest
from trainmon.parsing import LogParser
from trainmon.records import FollowEvent, MetricRecord
from trainmon.report import findings_for, read_log
from trainmon.run import Run
from trainmon.ui.messages import FollowStateChanged, RecordsParsed
from trainmon.ui.runs import RunView
from trainmon.ui.workers import FollowStep


def hf_lines(steps: range, *, base: float, nan_at: int | None = None) -> str:
    out = []
    for step in steps:
        loss = "nan" if step == nan_at else f"{base / (1 + step) ** 0.3:.4f}"
        out.append(
            f"{{'loss': {loss}, 'grad_norm': 1.5, 'learning_rate': 5e-05, "
            f"'epoch': {step / 100:.2f}}}\n"
        )
        if step % 20 == 0:
            out.append(f"{{'eval_loss': {base * 1.1 / (1 + step) ** 0.2:.4f}, 'epoch': 0.2}}\n")
        out.append("some progress text that is not a record\n")
    return "".join(out)


class Road:
    """What one path handed out: the records of each segment, and the events' kinds."""

    def __init__(self) -> None:
        self.records: list[list[MetricRecord]] = [[]]
        self.events: list[str] = []

    def event(self, kind: str) -> None:
        self.events.append(kind)
        if kind in ("truncated", "rotated"):
            self.records.append([])


class Dashboard(Road):
    """The dashboard's path without a screen: follow step → messages → the UI-side run."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        follower = Follower(str(path), poll_interval_s=0.0)
        self.step = FollowStep(0, follower, LogParser)
        self.view = RunView(0, path.name, "primary", Run(str(path)))

    def drain(self) -> None:
        while True:
            for message in self.step.step():
                if isinstance(message, RecordsParsed):
                    self.view.take(message.records, message.progress, message.backlog, 0.0)
                    self.records[-1].extend(message.records)
                elif isinstance(message, FollowStateChanged):
                    self.view.follow_event(message.event, 0.0)
                    self.event(message.event.kind)
            if self.step.caught_up:
                return


class Stream(Road):
    """`trainmon stream`'s path: the ingest's record batches and events, in order."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.ingest = Ingest(str(path), poll_interval_s=0.0)

    def drain(self) -> None:
        while True:
            for item in self.ingest.poll():
                if isinstance(item, FollowEvent):
                    self.event(item.kind)
                else:
                    self.records[-1].extend(item)
            if self.ingest.caught_up:
                return


def test_dashboard_stream_and_report_agree_across_truncation_and_rotation(
    tmp_path: Path,
) -> None:
    log = tmp_path / "run.log"
    log.write_text(hf_lines(range(1, 61), base=3.0, nan_at=30))
    dashboard, stream = Dashboard(log), Stream(log)
    for reader in (dashboard, stream):
        reader.drain()
    log.write_text(hf_lines(range(1, 21), base=2.0))  # restarted with `>`: truncated
    for reader in (dashboard, stream):
        reader.drain()
    os.rename(log, tmp_path / "run.log.1")  # rotated: a new file under the same name
    log.write_text(hf_lines(range(1, 121), base=2.5))
    for reader in (dashboard, stream):
        reader.drain()

    # The same segments with the same records, and the same events, on both roads.
    assert [len(s) for s in dashboard.records] == [len(s) for s in stream.records]
    assert [list(map(repr, s)) for s in dashboard.records] == [  # repr: NaN equals NaN
        list(map(repr, s)) for s in stream.records
    ]
    assert [e for e in dashboard.events if e != "opened"] == ["truncated", "rotated"]
    assert dashboard.events == stream.events
    assert len(dashboard.records) == 3 and all(dashboard.records)

    # The dashboard's run holds the last segment: what `report` reads from the file now.
    run = dashboard.view.run
    summary = read_log(str(log))
    assert run.store.segment == 2
    assert run.store.records == summary.store.records == len(dashboard.records[-1])
    for name in summary.store.names():
        mine, theirs = run.store.get(name), summary.store.get(name)
        assert mine is not None and theirs is not None
        np.testing.assert_array_equal(mine.values_np(), theirs.values_np())
        np.testing.assert_array_equal(mine.steps_np(), theirs.steps_np())
    progress = run.progress
    assert (progress.lines, progress.unparsed_lines) == (summary.lines, summary.unparsed_lines)
    assert progress.log_format == summary.format
    assert run.context == dict(run.context) and run.context.get("format") == summary.format
    assert run.findings() == findings_for(summary)


def test_a_restart_clears_the_advice_of_the_old_run(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(hf_lines(range(1, 41), base=3.0, nan_at=10))
    dashboard = Dashboard(log)
    dashboard.drain()
    run = dashboard.view.run
    advice = run.advise()
    assert "nan-loss" in {f.rule for f in (*advice.active, *advice.history)}
    log.write_text(hf_lines(range(1, 11), base=3.0))
    dashboard.drain()
    assert dashboard.view.state == "file truncated: new segment"
    advice = run.advise()
    assert "nan-loss" not in {f.rule for f in (*advice.active, *advice.history)}
    assert run.store.records == 10
