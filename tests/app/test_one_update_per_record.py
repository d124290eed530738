"""A record's status line and plot rebuild reach the screen in one update: Textual composes the
screen once for both (bench/README.md, bench_dashboard_cpu.py, has the figures)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.app.helpers import NanEngine, make_app, status_lines, wait_until
from trainmon.records import MetricRecord
from trainmon.sources.samples import CpuSnapshot
from trainmon.ui.advice_updates import ADVICE_EVERY_TICKS, ADVICE_IN_UPDATE_RECORDS
from trainmon.ui.app import TrainmonApp
from trainmon.ui.messages import CpuSampled, RecordsParsed
from trainmon.ui.runs import RunView
from trainmon.ui.widgets.advice_panel import AdvicePanel
from trainmon.ui.widgets.cpu_panel import CpuPanel
from trainmon.ui.widgets.loss_plot import LossPlot


@asynccontextmanager
async def step_one_shown(name: str, now: list[float]) -> AsyncIterator[tuple[TrainmonApp, Any]]:
    """The dashboard on a clock the test sets (`now[0]`), with step 1 in its status line."""
    app = make_app([name], start_workers=False, refresh_s=3600, clock=lambda: now[0])
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        app.inject(0, [MetricRecord("train", 1, {"loss": 1.0})])
        await wait_until(pilot, lambda: "step 1" in status_lines(app)[0], "step 1 shown")
        yield app, pilot


async def test_a_due_record_reaches_the_status_line_and_the_plot_in_one_screen_update() -> None:
    """The update that puts a new record's step in the status line also rebuilds a plot that
    is due, before the screen is composed: one compositor pass for both, not one each."""
    app = make_app(["once.log"], start_workers=False, refresh_s=3600)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        plot = app.query_one("#loss", LossPlot)
        plot.end_startup()
        app.inject(0, [MetricRecord("train", 1, {"loss": 1.0})])
        await wait_until(pilot, lambda: plot._runs[0][1].train_count == 1, "step 1 drawn")
        plot.render_cost_s = 0.003
        plot._last_render_at -= 5.0  # the last rebuild was long ago: the plot is due
        app._records_parsed(RecordsParsed(0, (MetricRecord("train", 2, {"loss": 0.25}),)))
        app._status_now()  # what the records' message queues; nothing composed yet
        assert "step 2" in status_lines(app)[0]
        assert plot._runs[0][1].train_count == 2  # the plot too, in the same callback
        await pilot.pause()


async def test_a_records_advice_is_shown_in_its_own_update_not_at_the_next_tick() -> None:
    """The update a new record queues judges it too: a finding reaches the advice pane and
    the plot's markers without waiting for (or waking) the tick."""
    app = make_app(["nan.log"], start_workers=False, refresh_s=3600, advice_factory=NanEngine)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        ticks = app._ticks
        app.inject(0, [MetricRecord("train", 1, {"loss": 1.0})])
        app.inject(0, [MetricRecord("train", 3, {"loss": math.nan})])
        await wait_until(pilot, lambda: "step 3" in status_lines(app)[0], "step 3 shown")
        panel = app.query_one("#advice", AdvicePanel)
        assert [f.rule for _label, f in panel.active] == ["nan-loss"]
        assert app._ticks == ticks  # no tick came meanwhile


async def test_a_tick_with_nothing_new_computes_no_status_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An idle tick compares what the rows are made of and stops there; the age moving to
    the next value the row shows redraws it."""
    now = [1000.0]
    async with step_one_shown("idle.log", now) as (app, _pilot):
        made: list[float] = []
        status = RunView.status

        def counting_status(view: RunView, now_s: float, *, paused: bool) -> Any:
            made.append(now_s)
            return status(view, now_s, paused=paused)

        monkeypatch.setattr(RunView, "status", counting_status)
        for _ in range(3):
            now[0] += 1.0  # the age is still under 10 s: the row says "<10s ago"
            app.tick()
        assert made == []
        now[0] += 60.0
        app.tick()
        assert made == [now[0]]
        assert "1 min ago" in status_lines(app)[0]


async def test_a_history_read_at_start_is_shown_before_its_advice_is_judged() -> None:
    """A batch larger than `ADVICE_IN_UPDATE_RECORDS` (a history read at start) is left to
    the tick: the first screen with its step does not wait for the advice's first pass."""
    app = make_app(["old.log"], start_workers=False, refresh_s=3600, advice_factory=NanEngine)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        history = [MetricRecord("train", 3, {"loss": math.nan})]
        count = ADVICE_IN_UPDATE_RECORDS + 50
        history += [MetricRecord("train", step, {"loss": 1.0}) for step in range(4, 4 + count)]
        app.inject(0, history)
        last = f"step {3 + count}"
        await wait_until(pilot, lambda: last in status_lines(app)[0], "the history's last step")
        panel = app.query_one("#advice", AdvicePanel)
        assert panel.active == ()
        app.tick()
        await pilot.pause()
        assert [f.rule for _label, f in panel.active] == ["nan-loss"]


async def test_a_tick_right_after_a_records_update_adds_nothing_to_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At one record a second every tick falls within half a second of a record's update,
    which brought everything up to date: such a tick does not pass over it all again. A
    later tick, and every tick that judges the runs for the clock, still do."""
    now = [1000.0]
    async with step_one_shown("tick.log", now) as (app, pilot):
        passes: list[float] = []
        monkeypatch.setattr(app, "refresh_now", lambda: passes.append(now[0]))
        app._ticks = ADVICE_EVERY_TICKS  # the next tick is not one that judges for the clock
        app._status_now()  # a record's update, as its message queues it
        now[0] += 0.3
        app.post_message(CpuSampled(CpuSnapshot(2000.0, (50.0, 30.0), 47.5, (1.0, 1.0, 1.0))))
        await pilot.pause()
        app.tick()
        assert passes == []
        shown = app.query_one("#cpu", CpuPanel).snapshot
        assert shown is not None and shown.total_pct == 47.5  # the sample since is shown
        now[0] += 0.5  # 0.8 s after the update
        app.tick()
        assert passes == [now[0]]
        app._status_now()
        app._ticks = 2 * ADVICE_EVERY_TICKS - 1  # the next tick judges for the clock
        app.tick()
        assert passes == [now[0], now[0]]
