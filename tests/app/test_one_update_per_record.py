"""A record's status line and plot rebuild reach the screen in one update: Textual composes the
screen once for both (bench/README.md, bench_dashboard_cpu.py, has the figures)."""

from __future__ import annotations

from tests.app.helpers import make_app, status_lines, wait_until
from trainmon.records import MetricRecord
from trainmon.ui.messages import RecordsParsed
from trainmon.ui.widgets.loss_plot import LossPlot


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
