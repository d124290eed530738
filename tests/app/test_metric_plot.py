"""The metric browser (`M`), the metric plot and its cursor, driven through the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable

from trainmon.config import DashboardOptions
from trainmon.ui.app import TrainmonApp
from trainmon.ui.metric_browser import MetricBrowser
from trainmon.ui.widgets.metric_plot import MetricPlot

from .helpers import jsonl, make_app, wait_until


def _log(tmp_path: Path, steps: int = 20) -> Path:
    log = tmp_path / "run.log"
    with log.open("w") as f:
        for step in range(1, steps + 1):
            f.write(jsonl(step, 2.0 / step, accuracy=0.5 + step / 100, learning_rate=1e-4))
    return log


@asynccontextmanager
async def accuracy_charted(
    tmp_path: Path, size: tuple[int, int]
) -> AsyncIterator[tuple[TrainmonApp, Pilot[None], MetricPlot]]:
    """The dashboard started with `--metric accuracy` on `_log`, once the metric plot holds
    all of its records."""
    options = DashboardOptions(paths=(str(_log(tmp_path)),), refresh_s=0.1, metrics=("accuracy",))
    app = TrainmonApp(options, poll_interval_s=0.05)
    async with app.run_test(size=size) as pilot:
        plot = app.query_one("#metric", MetricPlot)
        await wait_until(pilot, lambda: plot.count == 20, "the metric plot's records")
        yield app, pilot, plot


async def test_the_browser_lists_every_series_and_charts_the_one_picked(tmp_path: Path) -> None:
    app = make_app([_log(tmp_path)])
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.runs[0].store.records == 20, "the records")
        plot = app.query_one("#metric", MetricPlot)
        assert not plot.display  # hidden until a metric is charted
        await pilot.press("M")
        await wait_until(pilot, lambda: isinstance(app.screen, MetricBrowser), "the browser")
        table = app.screen.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[0].strip() for r in rows] == ["accuracy", "learning_rate", "loss"]
        assert rows[0][2:4] == ["20", "0.7"]  # records, last value
        assert len(rows[0][4]) == 20 and rows[0][4][-1] == "█"  # a rising sparkline
        await pilot.press("enter")  # the cursor starts on the first row: accuracy
        await wait_until(pilot, lambda: app.metric_names == ("accuracy",), "the metric charted")
        await wait_until(pilot, lambda: bool(plot._runs), "the metric plot drawn")
        assert plot.display and plot.region.height > 5
        assert app.query_one("#loss").display  # wide: both plots, one under the other
        ((label, data),) = plot._runs
        assert label == "run.log"
        assert data.series == "accuracy" and not data.lr and not data.eval
        assert data.train_raw.y[-1] == 0.7 and data.smoothing == app.smoothing
        assert "accuracy (EMA" in str(plot.render())
        await pilot.press("M", "c")  # clear
        await wait_until(pilot, lambda: not plot.display, "the metric plot hidden")


async def test_the_cursor_reads_raw_and_smoothed_values(tmp_path: Path) -> None:
    async with accuracy_charted(tmp_path, (160, 48)) as (app, pilot, plot):
        assert app.metric_names == ("accuracy",)
        plot.focus()
        await pilot.press("left")  # from the last record, one to the left
        await wait_until(pilot, lambda: plot.cursor == 18, "the cursor")
        await wait_until(pilot, lambda: "step 19" in str(plot.border_subtitle), "the reading")
        reading = app.metric_reading()
        assert reading is not None and reading.step == 19 and reading.raw == 0.69
        # the smoothed value is the debiased EMA at that record, as the plot draws it
        w = app.smoothing
        values = [0.5 + s / 100 for s in range(1, 20)]
        num = sum(w ** (18 - i) * v for i, v in enumerate(values))
        expected = num * (1 - w) / (1 - w**19)
        assert reading.smoothed is not None and abs(reading.smoothed - expected) < 1e-9
        assert f"smoothed {expected:.6g}" in str(plot.border_subtitle)
        assert plot._markers == ((19, "info"),)  # the line at the cursor's step
        await pilot.press("home")
        await wait_until(pilot, lambda: app.metric_reading().step == 1, "the first record")  # type: ignore[union-attr]
        await pilot.click("#metric", offset=(plot.size.width - 4, 10))  # the right end
        await wait_until(pilot, lambda: plot.cursor == 19, "the click's record")


async def test_narrow_layout_replaces_the_loss_plot(tmp_path: Path) -> None:
    async with accuracy_charted(tmp_path, (60, 40)) as (app, _, plot):
        assert plot.display and not app.query_one("#loss").display
