"""The second plot: any logged metric, drawn as the loss plot draws the loss, with a cursor.

It is a `LossPlot` (the same drawing, CPU budget, legend, log-y ticks and decimation) fed
with the chosen series instead of the loss (`loss_plot_data(series_name=...)`), without eval
points or LR. The cursor (left/right, home/end while the plot has focus, or a click) sits on
one record of the first charted series and reads its raw and smoothed values, shown under
the plot as TensorBoard shows them on hover; a line marks its step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message

from trainmon.i18n import N_
from trainmon.ui.bindings_text import TranslatedBindings
from trainmon.ui.widgets.loss_plot import LossPlot, Marker, RunPlot


class MetricPlot(TranslatedBindings, LossPlot):
    """The chosen metrics of every run, raw and smoothed, with a reading cursor."""

    can_focus = False
    """Focusable only while a metric is charted (`chart_metrics`): a hidden plot must not
    take the first focus from the advice list."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "cursor(-1)", N_("cursor left"), show=False),
        Binding("right", "cursor(1)", N_("cursor right"), show=False),
        Binding("shift+left", "cursor(-10)", N_("cursor 10 left"), show=False),
        Binding("shift+right", "cursor(10)", N_("cursor 10 right"), show=False),
        Binding("home", "cursor_to(0)", N_("cursor to the first record"), show=False),
        Binding("end", "cursor_to(-1)", N_("cursor to the last record"), show=False),
    ]

    class CursorMoved(Message):
        """The cursor moved: the app reads the values at its record."""

        def __init__(self, index: int | None, x: float | None = None) -> None:
            super().__init__()
            self.index = index
            """The record index the cursor moved to (None: placed by `x`)."""
            self.x = x
            """The x value clicked (on the plot's x axis), for the app to map to a record."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.cursor: int | None = None
        """The record index of the first charted series the cursor is on (None: no cursor)."""
        self.count = 0
        """Records in the first charted series (the cursor's range)."""
        self._x_range: tuple[float, float] | None = None

    def show_metric(
        self, runs: Sequence[RunPlot], cursor_step: int | None, *, immediate: bool = False
    ) -> bool:
        """Draw these series; a line marks the cursor's step (None: no cursor)."""
        markers: list[Marker] = [] if cursor_step is None else [(cursor_step, "info")]
        xs = [x for _label, data in runs for x in data.train_raw.x]
        self._x_range = (min(xs), max(xs)) if xs else None
        return self.show(runs, markers, immediate=immediate)

    def action_cursor(self, delta: int) -> None:
        if not self.count:
            return
        start = self.count - 1 if self.cursor is None else self.cursor
        self.cursor = min(max(0, start + delta), self.count - 1)
        self.post_message(self.CursorMoved(self.cursor))

    def action_cursor_to(self, index: int) -> None:
        if not self.count:
            return
        self.cursor = index % self.count
        self.post_message(self.CursorMoved(self.cursor))

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor at the record nearest the x clicked."""
        if self._x_range is None:
            return
        left, right = 6, max(7, self.size.width - 3)  # the y-axis labels, the frame
        fraction = min(1.0, max(0.0, (event.x - left) / (right - left)))
        lo, hi = self._x_range
        self.post_message(self.CursorMoved(None, lo + fraction * (hi - lo)))
