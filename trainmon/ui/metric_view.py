"""The app's side of the metric plot: which metrics are charted, the browser, the cursor.

A mixin of `TrainmonApp`, like `ViewActions`: `M` opens the browser, its choice (or
`--metrics`) sets `metric_names`, and each refresh feeds the metric plot from the runs with
the view's smoothing, log-y and x axis. The plot shows only while a metric is charted; in the
narrow layout it takes the loss plot's place, in the others it sits under it.
"""

from __future__ import annotations

from typing import Any

from textual.app import App

from trainmon.metric_series import Reading, index_near_step, reading_at, reading_text, series_rows
from trainmon.plotdata import XAxis, loss_plot_data
from trainmon.ui.metric_browser import CLEAR, MetricBrowser
from trainmon.ui.runs import RunView
from trainmon.ui.widgets.metric_plot import MetricPlot


class MetricActions(App[None]):
    """The `M` key, the metric plot's input and its cursor."""

    runs: list[RunView]
    smoothing: float
    log_y: bool
    x_axis: XAxis

    metric_names: tuple[str, ...] = ()
    """The series charted in the metric plot (none: the plot is hidden)."""
    _metric_key: tuple[object, ...] | None = None
    _metric_view_key: tuple[object, ...] | None = None

    def refresh_now(self) -> None:
        raise NotImplementedError

    def action_metric_browser(self) -> None:
        """List every series of every run; the one picked is charted."""
        rows = series_rows([(view.label, view.store) for view in self.runs])
        self.push_screen(MetricBrowser(rows, self.metric_names), self._metric_picked)

    def _metric_picked(self, name: str | None) -> None:
        if name is None:
            return
        self.chart_metrics(() if name == CLEAR else (name,))

    def chart_metrics(self, names: tuple[str, ...]) -> None:
        """Chart these series (none: hide the metric plot)."""
        self.metric_names = names
        plot = self.query_one("#metric", MetricPlot)
        plot.cursor = None
        plot.can_focus = bool(names)
        plot.border_subtitle = ""
        self.set_class(bool(names), "-metric")
        self._metric_key = None
        self.refresh_now()

    def update_metric_plot(self) -> None:
        """Give the metric plot new input when the runs or the view changed (from refresh)."""
        if not self.metric_names:
            return
        plot = self.query_one("#metric", MetricPlot)
        view: tuple[object, ...] = (
            plot.data_width,
            self.smoothing,
            self.log_y,
            self.x_axis,
            self.metric_names,
            plot.cursor,
        )
        key = (view, tuple(r.run.data_version for r in self.runs))
        if key == self._metric_key:
            return
        view_changed = self._metric_view_key != view
        if not view_changed and plot.ready_in_s > 0:
            return  # new records wait for the plot's CPU budget, as on the loss plot
        self._metric_key, self._metric_view_key = key, view
        several = len(self.metric_names) > 1
        series = [
            (
                f"{view_.label} {name}" if several else view_.label,
                loss_plot_data(
                    view_.store,
                    width=plot.data_width,
                    x_axis=self.x_axis,
                    smoothing=self.smoothing,
                    log_y=self.log_y,
                    show_eval=False,
                    cache=view_.run.plot_cache,
                    series_name=name,
                    show_lr=False,
                ),
            )
            for view_ in self.runs
            for name in self.metric_names
        ]
        reading = self.metric_reading()
        plot.count = self._first_count()
        plot.border_title = " · ".join(self.metric_names)
        plot.border_subtitle = reading_text(reading) if reading else ""
        plot.show_metric(series, reading.step if reading else None, immediate=view_changed)

    def _first_count(self) -> int:
        if not self.runs or not self.metric_names:
            return 0
        series = self.runs[0].store.get(self.metric_names[0])
        return len(series) if series is not None else 0

    def metric_reading(self) -> Reading | None:
        """The first charted series at the cursor (None: no cursor)."""
        plot = self.query_one("#metric", MetricPlot)
        if plot.cursor is None or not self.runs or not self.metric_names:
            return None
        return reading_at(
            self.runs[0].store,
            self.metric_names[0],
            plot.cursor,
            smoothing=self.smoothing,
            log_y=self.log_y,
        )

    def on_metric_plot_cursor_moved(self, message: MetricPlot.CursorMoved) -> None:
        plot = self.query_one("#metric", MetricPlot)
        if message.index is None and message.x is not None and self.runs and self.metric_names:
            plot.cursor = self._index_at_x(message.x)
        self.update_metric_plot()

    def _index_at_x(self, x: float) -> int | None:
        """The first charted series' record nearest the x clicked (step, epoch or time)."""
        store, name = self.runs[0].store, self.metric_names[0]
        if self.x_axis == "step":
            return index_near_step(store, name, x)
        data = loss_plot_data(
            store, width=200, x_axis=self.x_axis, smoothing=0.0, series_name=name, show_lr=False
        )
        pairs: list[Any] = list(zip(data.step_map.x, data.step_map.y, strict=False))
        if not pairs:
            return None
        step, _ = min(pairs, key=lambda pair: abs(pair[1] - x))
        return index_near_step(store, name, step)
