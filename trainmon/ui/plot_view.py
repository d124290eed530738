"""When the loss plot and the grad-norm pane get new input, and that input.

The plots are redrawn only when their input changed: the runs' data versions, the findings
they mark, or the view (size, smoothing, log-y, x axis, eval shown). New records also wait
for the loss plot's CPU budget; a change of view is drawn at once. Records that wait are
drawn as soon as the budget allows (a timer on the plot), not at a later tick, so a record
reaches the plot within about a second of its arrival.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from trainmon.advice.context import parse_context
from trainmon.plotdata import XAxis, grad_norm_data, loss_plot_data
from trainmon.ui.runs import RunView
from trainmon.ui.widgets.grad_norm import GradNormPane
from trainmon.ui.widgets.loss_plot import LossPlot


class PlotView:
    """Feeds the loss plot and the grad-norm pane from the runs, when something changed."""

    def __init__(self) -> None:
        self._key: tuple[object, ...] | None = None
        self._retry: Callable[[], None] | None = None
        """Brings the plots up to date with the newest state once the budget allows."""
        self.redraws = 0
        """How many updates computed new plot data (for tests and benches)."""
        self._histories: tuple[int, ...] = ()
        """Histories read apart that each run had taken at the last update: the update after
        one came draws it at once, whatever the budget (a long load outlasts the start-up
        allowance, and the whole history is what the user waited for)."""

    def update(
        self,
        runs: Sequence[RunView],
        plot: LossPlot,
        grad: GradNormPane,
        *,
        smoothing: float,
        log_y: bool,
        x_axis: XAxis,
        show_eval: bool,
    ) -> None:
        """Give the plots new input if theirs is out of date (and the budget allows)."""
        width = plot.data_width
        view = (width, grad.content_size.width, smoothing, log_y, x_axis, show_eval)
        histories = tuple(r.histories for r in runs)
        data = (
            tuple(r.run.data_version for r in runs),
            histories,
            tuple((r.index, f.rule, f.step) for r in runs for f in r.active),
        )
        key = (view, data)
        if key == self._key:
            return
        view_changed = self._key is None or self._key[0] != view
        view_changed |= histories != self._histories
        self._histories = histories
        if not view_changed and plot.ready_in_s > 0:
            # New records wait for the plot's CPU budget (the status line shows them at
            # once); computing their plot data now would only be thrown away. They are drawn
            # when the budget allows, from the runs' state then.
            if self._retry is None:

                def retry() -> None:
                    self._retry = None
                    if self._key is None or self._key[0] != view:
                        return  # another view was drawn meanwhile, with the data then
                    self.update(
                        runs,
                        plot,
                        grad,
                        smoothing=smoothing,
                        log_y=log_y,
                        x_axis=x_axis,
                        show_eval=show_eval,
                    )

                self._retry = retry
                plot.set_timer(plot.ready_in_s, retry, name="plot-retry")
            return
        self._key = key
        self.redraws += 1
        series = [
            (
                r.label,
                loss_plot_data(
                    r.store,
                    width=width,
                    x_axis=x_axis,
                    smoothing=smoothing,
                    log_y=log_y,
                    show_eval=show_eval,
                    cache=r.run.plot_cache,
                ),
            )
            for r in runs
        ]
        plot.show(series, [f for r in runs for f in r.active], immediate=view_changed)
        if runs:
            first = runs[0].run
            # The advice's reading of the run's facts: `max_grad_norm` 0 means clipping is off.
            clip = parse_context(first.context).max_grad_norm
            cells = max(1, grad.content_size.width)
            grad.show(
                grad_norm_data(first.store, cells, max_grad_norm=clip, cache=first.plot_cache)
            )
