"""Where a loss-plot rebuild's time goes, with the series drawn by plotext or by the numpy
raster into the same plotext frame, side by side.

One rebuild of the dashboard's loss plot (3,000 records, eval every 100 steps, LR; the plot
area of a 160x48 terminal) is timed in parts, in CPU time, against a floor measured in the
same run: plotext building an empty figure of the same size (frame, axes and ticks only).
Each part is timed for both renderers of `LossPlot` (`renderer="plotext"`: plotext lays out
the series; `"raster"`: `trainmon.ui.braille` draws them into plotext's frame), and the two
figures are compared cell by cell (the bench says whether they are the same).

- `plot data`: `loss_plot_data` (decimation to the plot width, EMA from the run's cache);
- `figure`: `build_matrix` (plotext's frame, and the series: plotext's own layout, line
  interpolation and dots, or the raster's);
- `screen lines`: the character matrix turned into Textual strips (`matrix_lines`);
- `whole show()`: what `LossPlot.show` costs with the budget off (figure + lines + repaint);
- plotext alone with 0 to 4 series of 200 points, to see the cost per series.

Nothing here passes or fails; bench/README.md has the figures and what they decided.

    python bench/bench_plot_rebuild.py            # 40 rebuilds
    python bench/bench_plot_rebuild.py --quick    # 10
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import plotext  # noqa: E402
from floors import cpu_times  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402

from trainmon.plotdata import loss_plot_data  # noqa: E402
from trainmon.records import MetricRecord  # noqa: E402
from trainmon.store import MetricStore  # noqa: E402
from trainmon.ui import plotext_adapter  # noqa: E402
from trainmon.ui.widgets import loss_plot  # noqa: E402
from trainmon.ui.widgets.loss_plot import LossPlot  # noqa: E402

PLOT_SIZE = (106, 38)
"""The loss plot's widget size in a 160x48 dashboard (the side pane and grad norm beside)."""


def history(records: int) -> MetricStore:
    store = MetricStore()
    for i in range(1, records + 1):
        loss = 3.0 / (1 + i / 300) + 0.1 * math.sin(i)
        values = {"loss": loss, "learning_rate": 1e-4 * min(1.0, i / 100), "grad_norm": 1.0}
        store.extend([MetricRecord("train", i, values)], float(i))
        if i % 100 == 0:
            store.extend([MetricRecord("eval", i, {"eval_loss": 3.0 / (1 + i / 300)})], float(i))
    return store


def cpu_ms(func: Callable[[], object], repeats: int) -> float:
    """Median CPU milliseconds of one call."""
    return 1e3 * statistics.median(cpu_times(func, repeats))


def plotext_series(series: int, points: int = 200) -> Callable[[], object]:
    width, height = PLOT_SIZE

    def build() -> object:
        plotext.clf()
        plotext.plotsize(width, height - 1)
        xs = [i * 3000 / points for i in range(points)]
        for k in range(series):
            plotext.plot(xs, [3 / (1 + x / 300) + k / 10 for x in xs], marker="braille")
        if not series:
            plotext.xlim(0, 3000)
            plotext.ylim(0, 3)
        return plotext.build()

    return build


class Host(App[None]):
    def __init__(self, renderer: loss_plot.Renderer) -> None:
        super().__init__()
        self.renderer: loss_plot.Renderer = renderer

    def compose(self) -> ComposeResult:
        yield LossPlot(id="plot", cpu_budget=None, renderer=self.renderer)


async def dashboard_parts(
    repeats: int, renderer: loss_plot.Renderer
) -> tuple[dict[str, float], list[str]]:
    """Per-part CPU ms of a rebuild inside a running app, one new record per rebuild; and
    the last figure's cells (character and style per cell, one string per row)."""
    parts = {"plot data": 0.0, "figure": 0.0, "screen lines": 0.0, "whole show()": 0.0}
    build_matrix, matrix_lines = plotext_adapter.build_matrix, plotext_adapter.matrix_lines

    def timed(name: str, func: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*args: object) -> object:
            started = time.process_time()
            result = func(*args)
            parts[name] += time.process_time() - started
            return result

        return wrapper

    loss_plot.build_matrix = timed("figure", build_matrix)  # type: ignore[assignment]
    loss_plot.matrix_lines = timed("screen lines", matrix_lines)  # type: ignore[assignment]
    app = Host(renderer)
    cells: list[str] = []
    try:
        async with app.run_test(size=PLOT_SIZE) as pilot:
            plot = app.query_one(LossPlot)
            store = history(3000)
            await pilot.pause()
            parts = dict.fromkeys(parts, 0.0)
            for k in range(repeats):
                store.extend([MetricRecord("train", 3001 + k, {"loss": 1.0})], 3001.0 + k)
                started = time.process_time()
                data = loss_plot_data(store, width=plot.data_width, smoothing=0.6)
                parts["plot data"] += time.process_time() - started
                started = time.process_time()
                plot.show([("run.log", data)])
                parts["whole show()"] += time.process_time() - started
                await pilot.pause()
            assert plot.renderer == renderer, "the raster path was not taken"
            lines = [plot.render_line(y) for y in range(plot.size.height)]
            cells = ["".join(f"{seg.text}{seg.style}" for seg in line) for line in lines]
    finally:
        loss_plot.build_matrix, loss_plot.matrix_lines = build_matrix, matrix_lines
    return {name: 1e3 * total / repeats for name, total in parts.items()}, cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 rebuilds instead of 40")
    args = parser.parse_args()
    repeats = 10 if args.quick else 40
    floor = cpu_ms(plotext_series(0), repeats)
    print(f"floor: plotext, empty figure {PLOT_SIZE[0]}x{PLOT_SIZE[1] - 1}: {floor:.1f} ms")
    for series in (1, 2, 4):
        ms = cpu_ms(plotext_series(series), repeats)
        print(f"plotext build(), {series} series of 200 points: {ms:.1f} ms ({ms / floor:.1f}x)")
    by_plotext, plotext_cells = asyncio.run(dashboard_parts(repeats, "plotext"))
    by_raster, raster_cells = asyncio.run(dashboard_parts(repeats, "raster"))
    print(f"dashboard rebuild, CPU ms per rebuild (x the floor): {'plotext':>16} {'raster':>16}")
    for name, ms in by_plotext.items():
        fast = by_raster[name]
        print(f"  {name:<46} {ms:7.1f} ({ms / floor:4.1f}x) {fast:7.1f} ({fast / floor:4.1f}x)")
    same = "the same cells" if plotext_cells == raster_cells else "DIFFERENT cells"
    whole = by_plotext["whole show()"] / by_raster["whole show()"]
    print(f"figures: {same}; whole show() raster {whole:.1f}x faster than plotext")


if __name__ == "__main__":
    main()
