"""The dashboard reads a big history at start as `report` reads the file (helper processes,
the same records, counters and findings), says how far it got while the screen stays alive,
then follows the log on."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from tests.trainer_lines import step_lines
from trainmon import parts, report
from trainmon.config import DashboardOptions
from trainmon.follow import Follower
from trainmon.records import FollowEvent
from trainmon.report import findings_for, read_log
from trainmon.ui import history_messages, runs
from trainmon.ui.app import TrainmonApp
from trainmon.ui.threads import LogPoller
from trainmon.ui.widgets.loss_plot import LossPlot

from .helpers import TIMEOUT_S, count_shows, status_lines, wait_until


def records_in(steps: int) -> int:
    return steps + steps // 50


@pytest.fixture(autouse=True)
def _read_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small files take the big-history road, in small parts, and say their progress."""
    monkeypatch.setattr(history_messages, "HISTORY_MIN_BYTES", 1)
    monkeypatch.setattr(parts, "PART_MIN_BYTES", 1)
    monkeypatch.setattr(runs, "BACKLOG_SHOWN_BYTES", 1)


def app_for(paths: list[Path], jobs: int, **kwargs: Any) -> TrainmonApp:
    options = DashboardOptions(paths=tuple(map(str, paths)), refresh_s=0.1, jobs=jobs)
    return TrainmonApp(options, poll_interval_s=0.05, **kwargs)


def poller(app: TrainmonApp) -> LogPoller:
    assert app._own_threads is not None
    return app._own_threads.poller


class GatedFollower(Follower):
    """A follower whose reads stop after a few chunks until the test opens the gate: the
    load is caught in the middle, however fast or slow the machine."""

    def __init__(self, path: str, gate: threading.Event) -> None:
        super().__init__(path, chunk_bytes=4096, poll_interval_s=0.05)
        self.gate = gate
        self.polls = 0

    def poll(self) -> list[FollowEvent | bytes]:
        self.polls += 1
        if self.polls > 4:
            self.gate.wait(TIMEOUT_S)
        return super().poll()


async def test_the_history_is_read_apart_and_equals_report(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(step_lines(range(1, 3001), crash_at=1200))
    app = app_for([log], jobs=3)
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.runs[0]
        await wait_until(
            pilot, lambda: view.live and view.store.records == records_in(3000), "the history"
        )
        summary = read_log(str(log), split_bytes=1, jobs=3)
        assert summary.parts == 3
        assert_same(app, summary)
        assert view.store.live_from == records_in(3000)  # all of it one backlog
        await wait_until(pilot, lambda: "step 3000" in status_lines(app)[0], "the status line")
        assert "reading the log" not in status_lines(app)[0]

        with log.open("a") as f:  # followed on: each new record once
            f.write(step_lines(range(3001, 3101)))
        await wait_until(
            pilot, lambda: view.store.records == records_in(3100), "the appended records"
        )
        assert_same(app, read_log(str(log), split_bytes=1, jobs=3))
        assert view.store.live_from == records_in(3000)  # the new ones arrived live


def assert_same(app: TrainmonApp, summary: report.LogSummary) -> None:
    run = app.runs[0].run
    assert run.store.records == summary.store.records
    assert list(run.store.record_steps) == list(summary.store.record_steps)
    for name in summary.store.names():
        mine, theirs = run.store.get(name), summary.store.get(name)
        assert mine is not None and theirs is not None
        np.testing.assert_array_equal(mine.values_np(), theirs.values_np())
    progress = run.progress
    assert (progress.lines, progress.unparsed_lines) == (summary.lines, summary.unparsed_lines)
    assert progress.log_format == summary.format
    assert progress.text_events == tuple(summary.text_events)
    assert run.findings() == findings_for(summary)


async def test_the_screen_lives_and_says_the_progress_while_the_history_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big, small = tmp_path / "big.log", tmp_path / "small.log"
    big.write_text(step_lines(range(1, 3001)))
    small.write_text(step_lines(range(1, 21)))
    # Only the big one is read apart; the small one is followed by polls meanwhile.
    monkeypatch.setattr(history_messages, "HISTORY_MIN_BYTES", small.stat().st_size + 1)
    gate = threading.Event()

    def follower(path: str, from_end: bool) -> Follower:
        return GatedFollower(path, gate) if path == str(big) else Follower(path)

    app = app_for([big, small], jobs=1, follower_factory=follower)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            view = app.runs[0]
            await wait_until(
                pilot, lambda: "reading the log:" in view.state, "the progress in the status"
            )
            assert "%" in view.state and not view.live and view.store.records == 0
            # The other log is followed meanwhile, and the keys work.
            await wait_until(
                pilot, lambda: app.runs[1].store.records == records_in(20), "the small log"
            )
            await pilot.press("l")
            await wait_until(pilot, lambda: app.log_y, "log-y on")
            assert not view.live and view.store.records == 0  # still loading
            # Past the plot's start-up allowance, with a budget that would hold new data back
            # for minutes: the whole history is still drawn as soon as it is in.
            plot = app.query_one("#loss", LossPlot)
            plot.end_startup()
            plot.render_cost_s = 10.0
            drawn = count_shows(plot)
            gate.set()
            await wait_until(
                pilot, lambda: view.live and view.store.records == records_in(3000), "the rest"
            )
            assert not view.state.startswith("reading the log")
            await wait_until(pilot, lambda: 3000 in drawn, "the history on the plot")
            assert not plot.pending
    finally:
        gate.set()


async def test_quitting_while_the_history_loads_leaves_no_helper(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(step_lines(range(1, 6001)))
    gate = threading.Event()
    helpers_before = {p.pid for p in psutil.Process().children()}
    app = app_for([log], jobs=3, follower_factory=lambda path, end: GatedFollower(path, gate))
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            view = app.runs[0]
            await wait_until(pilot, lambda: "reading the log:" in view.state, "the load")
            loader = poller(app)._loader
            assert loader is not None and loader.alive
            await pilot.press("q")
    finally:
        gate.set()
    loader.stop(timeout_s=TIMEOUT_S)
    assert not loader.alive
    assert {p.pid for p in psutil.Process().children()} <= helpers_before


def rules_seen(view: runs.RunView) -> set[str]:
    """The rules of the run's active and earlier findings."""
    advice = view.run.advice
    return {f.rule for f in (*advice.active, *advice.history)}


def with_nan(text: str) -> str:
    """The same log with one train loss NaN: a critical finding in the history."""
    return text.replace("'loss': 0.9", "'loss': nan, 'was': 0.9", 1)


async def test_a_critical_finding_in_the_history_is_listed_and_rings_once(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(with_nan(step_lines(range(1, 3001))))
    app = app_for([log], jobs=3)
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.runs[0]
        await wait_until(pilot, lambda: view.live and view.store.records > 0, "the history")
        await wait_until(pilot, lambda: "nan-loss" in rules_seen(view), "nan-loss")
        assert app.bells == 1
        summary = read_log(str(log), split_bytes=1, jobs=3)
        assert_same(app, summary)
        await pilot.pause(0.3)  # more ticks, no second bell
        assert app.bells == 1


async def test_a_rule_muted_while_the_history_loads_stays_muted(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(with_nan(step_lines(range(1, 3001))))
    gate = threading.Event()
    app = app_for([log], jobs=1, follower_factory=lambda path, end: GatedFollower(path, gate))
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            view = app.runs[0]
            await wait_until(pilot, lambda: "reading the log:" in view.state, "the load")
            view.run.mute("nan-loss")  # as `m` on a finding of that rule does
            gate.set()
            await wait_until(pilot, lambda: view.live and view.store.records > 0, "the history")
            await pilot.pause(0.3)
            assert "nan-loss" not in rules_seen(view)
            assert "nan-loss" in view.run.muted and app.bells == 0
            assert "nan-loss" in {f.rule for f in findings_for(read_log(str(log)))}
    finally:
        gate.set()
