"""Records that wait for the plot's budget are drawn as soon as it allows, not at a later tick:
the plot keeps pace with a run logging once a second."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from textual.pilot import Pilot

from tests.app.helpers import make_app, status_lines
from trainmon.records import MetricRecord
from trainmon.ui.app import TrainmonApp
from trainmon.ui.widgets.loss_plot import EARLY_SHARE, MIN_INTERVAL_S, LossPlot


@asynccontextmanager
async def step_1_drawn(
    name: str, render_cost_s: float = 0.006
) -> AsyncIterator[tuple[TrainmonApp, Pilot[None], LossPlot]]:
    """The dashboard on NAME (no workers, no timer tick) past its start-up allowance, with
    step 1 drawn (the budget allows it); from then on a rebuild costs `render_cost_s` (by
    default what a raster rebuild does, so the once-a-second floor rules)."""
    app = make_app([name], start_workers=False, refresh_s=3600)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        plot = app.query_one("#loss", LossPlot)
        plot.end_startup()
        app.inject(0, [MetricRecord("train", 1, {"loss": 1.0})])
        app.tick()
        await pilot.pause()
        plot.render_cost_s = render_cost_s
        yield app, pilot, plot


async def test_a_deferred_record_is_drawn_when_the_budget_allows_without_a_tick() -> None:
    # A rebuild that costs 30 ms spaces rebuilds 3 s apart at 1 % of a core: step 2 comes
    # well within that, however slowly a loaded machine runs the test.
    async with step_1_drawn("fresh.log", render_cost_s=0.03) as (app, pilot, plot):
        drawn = plot.counts.renders
        redraws = app.redraws
        app.inject(0, [MetricRecord("train", 2, {"loss": 0.5})])
        await pilot.pause()
        app.tick()  # within a second of the last rebuild: deferred, not dropped
        await pilot.pause()
        assert "step 2" in status_lines(app)[0]
        # Due an interval after step 1's rebuild, plus what that one took early (a slow
        # first build under load makes it early): deferred, never dropped.
        due_within = plot.min_interval_s * (1 + EARLY_SHARE)
        assert plot.min_interval_s > MIN_INTERVAL_S
        assert 0 < plot.ready_in_s <= due_within and app.redraws == redraws
        deadline = time.monotonic() + 10.0  # generous: the retry is due within a second
        while plot.counts.renders == drawn and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert plot.counts.renders == drawn + 1 and app.redraws == redraws + 1
        assert plot._runs[0][1].train_count == 2  # the newest record is on the plot


async def test_a_retry_for_an_old_view_draws_nothing() -> None:
    async with step_1_drawn("view.log") as (app, pilot, plot):
        app.inject(0, [MetricRecord("train", 2, {"loss": 0.5})])
        app.tick()  # deferred: a retry is due within a second
        await pilot.pause()
        await pilot.press("l")  # log-y: drawn at once, with step 2
        await pilot.pause()
        redraws = app.redraws
        assert plot._runs[0][1].log_y and plot._runs[0][1].train_count == 2
        await pilot.pause(1.5)  # the retry comes and finds another view drawn
        assert app.redraws == redraws
        assert plot._runs[0][1].log_y
