"""The loss / learning-rate plot: one or more runs overlaid, drawn by plotext.

Input arrives as immutable `LossPlotData` (already finite and decimated to the plot's width),
so a redraw costs the same at 10^6 records as at 10^3. The figure is rebuilt only when that
input changes: `show()` compares the new values with the previous ones and does nothing when
they are equal. A rebuild (plotext, then Textual turning its text into screen lines) costs tens
of ms at 160x48, so new data is drawn at most as often as a CPU budget allows (`ready_in_s`
tells the caller when); a change of view (`immediate=True`) is drawn at once.

plotext pitfalls worked around here:
- `yscale("log")` raises `ValueError: math domain error` on the second `build()` (listed under
  known problems in the textual-plotext README), and the widget builds on every render. Log-y
  is therefore log10 data on a linear axis, with tick labels written as the original values.
- `build()` raises on inf: non-finite values never reach plotext; they are markers and counts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Final, Literal

from rich.cells import cell_len, set_cell_size
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.timer import Timer
from textual_plotext import PlotextPlot

from trainmon.i18n import _
from trainmon.plotdata import LossPlotData
from trainmon.records import Finding, Severity
from trainmon.ui import palette
from trainmon.ui.braille import BLOCKS, BRAILLE, Trace, data_limits, rasterise, to_dots
from trainmon.ui.plotext_adapter import (
    CellMatrix,
    FrameCache,
    FrameRequest,
    RasterDraw,
    ansi_lines,
    build_matrix,
    cell_style,
    frame_cached,
    has_raster_path,
    matrix_lines,
    plotext_theme_name,
    reset_figure,
    set_plot_size,
)
from trainmon.ui.widgets.counts import WorkCounts
from trainmon.ui.widgets.rows import repaint_rows

RunPlot = tuple[str, LossPlotData]
"""A run's display name (usually the log file name) and its plot data."""

Marker = tuple[float, Severity]
"""A finding to mark on the plot: its step and severity."""

RUN_COLOURS: Final = palette.RUN_COLOURS
"""Colours of runs 1, 2, 3... (`trainmon.ui.palette`: tested apart in 16/256 colours and
for colour-blind eyes); the severity colours (warning, error) are left to the markers."""

MANY_RUNS: Final = 5
"""From this many runs on, a run with a smoothed loss shows only that line: the faint raw
lines of many runs would cover each other and the plot."""

LEGEND_SHARE: Final = 6
"""The legend rows above the plot take at most 1/LEGEND_SHARE of its height (one row at least):
with many runs they name the runs that fit, and say how many more there are."""

SEVERITY_COLOURS: Final[dict[Severity, str]] = {
    "info": "secondary",
    "warning": "warning",
    "critical": "error",
}

Rgb = palette.Rgb

Limits = tuple[tuple[float, float], tuple[float, float], tuple[float, float] | None]
"""The raster's limits: x, the left y axis, the right one (None: no right axis)."""

PlotextCall = tuple[str, tuple[object, ...], dict[str, object]]
"""A plotext method's name and its arguments."""

Renderer = Literal["raster", "plotext"]
"""Who draws the series into plotext's frame: numpy (`trainmon.ui.braille`) or plotext."""

LegendEntry = tuple[str, str, Rgb]
"""A legend entry: its glyph (━ line, ● points, ┄ the LR), its text and its colour."""

CPU_BUDGET: Final = 0.01
"""Default share of one core for rebuilding the plot: 1 %. The cost counted is the whole
rebuild: plotext's frame, the series, the conversion to screen lines and painting the changed
rows; how often new data is drawn follows from it, about once a second at most (`MIN_INTERVAL_S`).
With the series drawn by the raster a rebuild costs a few ms, so at one record per second
every record is drawn and the plot uses well under its budget (bench/README.md has the
figures); a costlier plot (many runs, a huge terminal) is drawn less often. The grad-norm pane
is redrawn with it."""

MIN_INTERVAL_S: Final = 0.9
"""New data is drawn at most about once a second (a change of view at once): on average one
rebuild per 0.9 s at most, so a run that logs once a second never meets the limit and every
record reaches the plot as it is read; a flood of records costs about one rebuild a second,
whatever the budget would allow."""

EARLY_SHARE: Final = 0.3
"""New records may be drawn up to this share of the interval early (a leaky bucket): records
read on the poller's 0.25 s grid at one a second arrive 0.75-1.25 s apart, and each is then
drawn in the screen update that shows its status line instead of in one of its own a fraction
of a second later (one compositor pass per record, not two). What a rebuild took early is
paid back by the next ones (their interval counts from when it was due), so the average stays
within the interval; a deferred rebuild waits for the whole interval, which brings the
rebuilds back in step with the records after a change drawn between two of them."""

STARTUP_S: Final = 5.0
STARTUP_INTERVAL_S: Final = 0.5
"""The start-up allowance: for STARTUP_S after the first build, rebuilds may come every
STARTUP_INTERVAL_S whatever the budget, so the plot keeps pace with the status line in a run's
first seconds (the demo's first impression); it costs a few hundred ms of CPU once and leaves
the steady state unchanged."""


def as_markers(items: Iterable[Finding | Marker]) -> tuple[Marker, ...]:
    """Findings (or `(step, severity)` pairs) as plot markers; findings without a step skip."""
    out: list[Marker] = []
    for item in items:
        if isinstance(item, Finding):
            if item.step is not None:
                out.append((float(item.step), item.severity))
        else:
            out.append((float(item[0]), item[1]))
    return tuple(out)


def log_ticks(lo: float, hi: float, count: int = 5) -> tuple[list[float], list[str]]:
    """Tick positions on a log10 axis and labels showing the original values."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    if hi - lo < 1e-12:
        return [lo], [_fmt(10**lo)]
    first, last = math.ceil(lo), math.floor(hi)
    if last - first >= 1:
        step = max(1, math.ceil((last - first + 1) / count))
        ticks = [float(t) for t in range(first, last + 1, step)]
    else:
        ticks = [lo + (hi - lo) * i / (count - 1) for i in range(count)]
    return ticks, [_fmt(10**t) for t in ticks]


def linear_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Evenly spaced tick positions over [lo, hi] (one tick when the range is empty)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi - lo <= abs(hi) * 1e-12:
        return [lo]
    return [lo + (hi - lo) * i / (count - 1) for i in range(count)]


def nice_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round tick positions over [lo, hi]: multiples of 1, 2, 2.5 or 5 x 10^k, about `count`.

    Axis labels such as 27.5 or 62.5 on a step axis read as noise; 20, 40, 60 read at once.
    `integer` keeps the spacing at a whole number (steps, records).
    """
    step = tick_spacing(lo, hi, count, integer)
    if step is None:
        return []
    return _multiples(lo, hi, step)


def tick_spacing(lo: float, hi: float, count: int = 5, integer: bool = False) -> float | None:
    """The spacing of `nice_ticks` over [lo, hi] (None: no range to tick)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return None
    raw = (hi - lo) / max(1, count - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = min(
        (m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0)), key=lambda t: abs(math.log(t / raw))
    )
    if integer:  # whole steps: 0.5 becomes 1, 2.5 becomes 2
        step = 2.0 if step == 2.5 else max(1.0, step)
    return step


def _multiples(lo: float, hi: float, step: float) -> list[float]:
    """The multiples of `step` in [lo, hi], written without float noise (0.3, not
    0.30000000000000004)."""
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    return [float(f"{k * step:.12g}") for k in range(first, last + 1)]


def nice_x_axis(lo: float, hi: float, integer: bool = False) -> tuple[float, list[float]]:
    """Where the x axis ends for data over [lo, hi], and its ticks: the axis runs on to the
    next tick at or above `hi` (the tick spacing of the data's range), so a new point short
    of that tick moves no dot and no label; a point past it moves the end to the next tick.
    Without a range (one point, or none), the end is `hi` and there are no ticks."""
    step = tick_spacing(lo, hi, integer=integer)
    if step is None:
        return hi, []
    end = float(f"{math.ceil(hi / step - 1e-9) * step:.12g}")
    return max(end, hi), _multiples(lo, end, step)


def tick_label(value: float, digits: int = 3) -> str:
    """A short axis label: 800, 12.3k, 1.5M, 1.46e11, 3e-5; `digits` significant digits."""
    size = abs(value)
    if size >= 1e9 or 0 < size < 1e-3:
        mantissa, _, exponent = f"{value:.{digits}g}".partition("e")
        return f"{mantissa}e{int(exponent)}" if exponent else mantissa
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


def tick_labels(values: Sequence[float]) -> list[str]:
    """Short labels for ticks, with the digits it takes to tell them apart: steps 1,000,250
    and 1,000,500 read 1.00025M and 1.0005M, not 1M twice."""
    labels = [tick_label(v) for v in values]
    for digits in range(4, 13):
        if len(set(labels)) == len(labels):
            break
        labels = [tick_label(v, digits) for v in values]
    return labels


LegendPiece = tuple[str, Rgb | None]
"""A run of legend text and its colour (None: the plot's own)."""


def pack_legend(entries: Sequence[LegendEntry], width: int, rows: int) -> list[list[LegendPiece]]:
    """The legend entries laid out in at most `rows` rows of `width` cells, above the plot
    (never over its data); what does not fit is counted (`+3 more`) at the end."""
    lines: list[list[LegendPiece]] = []
    current: list[LegendPiece] = []
    used = 0
    for index, (glyph, text, colour) in enumerate(entries):
        cells = 2 + cell_len(text)
        if current and used + 2 + cells > width:
            lines.append(current)
            current, used = [], 0
            if len(lines) == rows:
                _append_more(lines[-1], len(entries) - index, width)
                return lines
        if not current and 1 + cells > width:  # longer than a row: cut
            text = set_cell_size(text, max(1, width - 4)).rstrip() + "…"
            cells = 2 + cell_len(text)
        current.extend([(" " if not current else "  ", None), (glyph, colour), (" " + text, None)])
        used += (1 if used == 0 else 2) + cells
    if current:
        lines.append(current)
    return lines


def _append_more(line: list[LegendPiece], left: int, width: int) -> None:
    """End a full legend row with the count of the entries left out (those it drops for
    room included)."""
    cells = sum(cell_len(text) for text, _colour in line)

    def more() -> str:
        return _("+{count} more").format(count=left)

    while line and (
        cells + 2 + cell_len(more()) > width or line[-1][1] is not None or not line[-1][0].strip()
    ):
        text, colour = line.pop()
        cells -= cell_len(text)
        left += colour is not None  # a glyph: one entry fewer on the row
    line.append((("  " if line else " ") + more(), None))


def _fmt(value: float) -> str:
    return f"{value:.3g}"


class LossPlot(PlotextPlot):
    """Train loss (raw, faint, and smoothed), eval loss and the learning rate (right axis)."""

    DEFAULT_CSS = """
    LossPlot {
        min-height: 5;
        min-width: 10;
    }
    """

    def __init__(
        self,
        *,
        cpu_budget: float | None = CPU_BUDGET,
        renderer: Renderer = "raster",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the plot.

        Args:
            cpu_budget: the share of one core that rebuilding the figure may use on average
                (None: rebuild on every change). A rebuild at 160x48 costs tens of ms, so at
                one new record per second an unthrottled plot alone would use several % of
                a core; with a budget, changes that arrive sooner than `render_cost_s /
                cpu_budget` after the last build are drawn together when that time is up.
            renderer: who draws the series: "raster" (numpy, the same cells at a fraction of
                the cost; plotext where its internals are missing) or "plotext".
            name: as for any widget.
            id: as for any widget.
            classes: as for any widget.
        """
        super().__init__(name=name, id=id, classes=classes)
        self.cpu_budget = cpu_budget
        self.renderer: Renderer = renderer
        self._raster: RasterDraw | None = None
        """Draws the series of the last `_replot` into plotext's frame (None: plotext drew
        them)."""
        self._traces: list[Trace] = []
        self._vlines: list[float] = []
        self._x_ticks: list[float] = []
        """The x ticks of the last `_replot` (`nice_x_axis`; none: plotext places its own)."""
        self._frame_calls: list[tuple[object, ...]] = []
        """The plotext calls that made the frame (`_fig`), for the frame cache's key."""
        self._plotext_calls: list[PlotextCall] = []
        """Every call plotext is to be given for the figure of the last `_replot` (frame and
        series, in order): given only when plotext builds the figure, not when its frame is
        copied from the cache (`_give_plotext`)."""
        self._plotext_given = False
        """Whether plotext's figure holds `_plotext_calls` now."""
        self._ticks: dict[str, list[float]] = {}
        self._limits: Limits | None = None
        self._frame_cache = FrameCache()
        self._runs: tuple[RunPlot, ...] = ()
        self._markers: tuple[Marker, ...] = ()
        self._deferred: Timer | None = None
        self._last_render_at = -math.inf
        self._early_s = 0.0
        """How much before it was due the last rebuild came (`EARLY_SHARE`): the next one is
        due that much later than an interval after it."""
        self.render_cost_s = 0.0
        """Smoothed CPU seconds of one rebuild of the figure: plotext's build, Textual's
        conversion to screen lines (`_build_lines`) and painting them (`render_lines`). The UI
        thread's own time (`time.thread_time`): the poller's and samplers' work meanwhile is
        not the plot's, and counting it would space the rebuilds out for nothing."""
        self.counts = WorkCounts()
        self._lines: list[Strip] | None = None
        self._lines_size = Size(0, 0)
        self._styles: dict[tuple[object, ...], RichStyle | None] = {}
        self._paint_cost_s = 0.0
        self._legend_rows = 0
        self._legend_lines = 0
        self._figure: tuple[CellMatrix, list[Strip]] | None = None
        """The last figure's cells and its screen lines (rows that did not change are kept)."""
        self._figure_key: tuple[int, RichStyle] | None = None
        """Screen lines the legend took at the last build."""
        self._legend: tuple[LegendEntry, ...] = ()
        self._startup_until: float | None = None

    def on_mount(self) -> None:
        """Follow theme changes: run and severity colours come from theme variables."""
        # PlotextPlot's own on_mount also runs (Textual calls handlers along the MRO).
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._replot())
        self._replot()

    @property
    def data_width(self) -> int:
        """The width (cells) to request plot data for: the plot area without its axes."""
        return max(8, self.size.width - 12)

    @property
    def min_interval_s(self) -> float:
        """The shortest time between two rebuilds that keeps within the CPU budget."""
        if not self.cpu_budget or self.cpu_budget <= 0:
            return 0.0
        if self.starting:
            return STARTUP_INTERVAL_S  # the first impression: the plot keeps pace at once
        return max(MIN_INTERVAL_S, self.render_cost_s / self.cpu_budget)

    @property
    def starting(self) -> bool:
        """True within the start-up allowance (`STARTUP_S` after the first build)."""
        return self._startup_until is None or time.monotonic() < self._startup_until

    def end_startup(self) -> None:
        """End the start-up allowance now (tests and benches of the steady state)."""
        self._startup_until = time.monotonic()

    @property
    def pending(self) -> bool:
        """True when new input waits for its turn to be drawn (CPU budget)."""
        return self._deferred is not None

    @property
    def ready_in_s(self) -> float:
        """Seconds until the CPU budget allows the next rebuild (0.0: now, up to a share of
        the interval before it is due: `EARLY_SHARE`; otherwise the wait until it is due).

        A caller that computes the plot's input (decimation, EMA) can wait for this instead of
        computing input that would only be deferred.
        """
        interval = self.min_interval_s
        wait = self._due_at(interval) - time.monotonic()
        return 0.0 if wait <= interval * EARLY_SHARE else wait

    def _due_at(self, interval: float) -> float:
        """When the next rebuild is due: an interval after the last one, plus what that one
        took early."""
        return self._last_render_at + self._early_s + interval

    def show(
        self,
        runs: Sequence[RunPlot],
        markers: Iterable[Finding | Marker] = (),
        *,
        immediate: bool = False,
    ) -> bool:
        """Draw these runs and markers; returns False (and does nothing) when unchanged.

        The newest input is always the one drawn; within the CPU budget it is drawn at once,
        otherwise as soon as the budget allows. `immediate` draws at once whatever the
        budget: for what the user asked for (another smoothing, log-y, x axis), not for data.
        """
        new_runs = tuple((str(label), data) for label, data in runs)
        new_markers = as_markers(markers)
        if new_runs == self._runs and new_markers == self._markers:
            return False
        self._runs = new_runs
        self._markers = new_markers
        if self.is_mounted:
            self._schedule(immediate)
        return True

    def render(self) -> RenderResult:
        """The legend rows and the figure as text (tests read it); the screen uses
        `render_line`. With the raster the figure is its screen lines (plotext alone would
        print the frame without the series)."""
        figure = self._figure_text() if self._raster is not None else super().render()
        rows = pack_legend(self._legend, max(1, self.size.width), self._legend_rows)
        if not rows or not isinstance(figure, Text):
            return figure
        legend = "\n".join("".join(piece for piece, _colour in row) for row in rows)
        return Text(legend + "\n") + figure

    def _figure_text(self) -> Text:
        """The figure's screen lines (below the legend) as text."""
        if self._lines is None or self._lines_size != self.size:
            self._build_lines()
        text = Text()
        for index, line in enumerate((self._lines or [])[self._legend_lines :]):
            if index:
                text.append("\n")
            for segment in line:
                text.append(segment.text, segment.style)
        return text

    def render_line(self, y: int) -> Strip:
        """One screen line of the figure, from the lines cached at the last rebuild."""
        if self._lines is None or self._lines_size != self.size:
            self._build_lines()
        lines = self._lines or []
        if 0 <= y < len(lines):
            return lines[y]
        return Strip.blank(self.size.width, self.visual_style.rich_style)

    def render_lines(self, crop: Region) -> list[Strip]:
        """Paint the figure's rows; the time counts towards the next rebuild's cost."""
        started = time.thread_time()
        lines = super().render_lines(crop)
        self._paint_cost_s += time.thread_time() - started
        return lines

    def _build_lines(self) -> list[Strip] | None:
        """Build the figure into screen lines; returns the lines of the last build at this size.

        plotext's character matrix becomes screen lines directly (see `plotext_adapter`),
        on the widget's own style: printing it with ANSI codes, parsing those back and laying
        out the text is most of a rebuild's cost (bench/README.md has the figures).
        """
        started = time.thread_time()
        size = self.size
        width, height = size
        previous = self._lines if self._lines_size == size else None
        self._lines_size = size
        if width <= 0 or height <= 0:
            self._lines = []
            return previous
        plt = self.plt
        base = self.visual_style.rich_style
        legend = [
            self._legend_strip(row, width, base)
            for row in pack_legend(self._legend, width, self._legend_rows)
        ][: max(0, height - 5)]  # a very short plot keeps its rows for the data
        self._legend_lines = len(legend)
        theme = plotext_theme_name(self, self.app.theme)
        self.counts.renders += 1
        blank = Segment(" " * width, base)
        frame = self._frame_request((width, height - len(legend)), theme)
        if frame is None or not frame_cached(frame):
            # plotext builds this figure: it needs the calls, the size and the theme.
            self._give_plotext()
            set_plot_size(plt, width, height - len(legend))
            plt.theme(theme)
        matrix = build_matrix(plt, self._raster, frame)
        if matrix is None and self._raster is not None:  # the frame's layout was not found
            self.renderer = "plotext"
            self._replot()
            return previous
        if matrix is not None:
            last = self._figure if self._figure_key == (width, base) else None
            figure = matrix_lines(matrix, width, base, self._cell_style, last)
            self._figure, self._figure_key = (matrix, figure), (width, base)
            lines = legend + figure
        else:
            lines = legend + ansi_lines(plt, width, base)[: height - len(legend)]
        lines.extend(Strip([blank], width) for _ in range(height - len(lines)))
        self._lines = lines
        # The cost of a rebuild: this build, and painting the previous one onto the screen.
        cost = time.thread_time() - started + self._paint_cost_s
        self._paint_cost_s = 0.0
        self.render_cost_s = (
            cost if not self.render_cost_s else 0.7 * self.render_cost_s + 0.3 * cost
        )
        now, interval = time.monotonic(), self.min_interval_s
        self._early_s = min(interval * EARLY_SHARE, max(0.0, self._due_at(interval) - now))
        self._last_render_at = now
        if self._startup_until is None:
            self._startup_until = self._last_render_at + STARTUP_S
        return previous

    @staticmethod
    def _legend_strip(row: Sequence[LegendPiece], width: int, base: RichStyle) -> Strip:
        segments = [
            Segment(text, base if rgb is None else base + RichStyle(color=RichColor.from_rgb(*rgb)))
            for text, rgb in row
        ]
        return Strip(segments).adjust_cell_length(width, base)

    def _cell_style(self, colour: object, style: object, background: object) -> RichStyle | None:
        """The style `Text.from_ansi` gives a plotext cell with these colours (cached)."""
        key = tuple(tuple(v) if isinstance(v, list) else v for v in (colour, style, background))
        if key in self._styles:
            return self._styles[key]
        cached = cell_style(colour, style, background)
        self._styles[key] = cached
        return cached

    def _schedule(self, immediate: bool = False) -> None:
        wait = self.ready_in_s
        if wait <= 0 or immediate:
            if self._deferred is not None:
                self._deferred.stop()
                self._deferred = None
            self._replot()
        elif self._deferred is None:
            self._deferred = self.set_timer(wait, self._draw_deferred)

    def _draw_deferred(self) -> None:
        self._deferred = None
        self._replot()

    # -- drawing -------------------------------------------------------------------------------

    def _colour(self, variable: str, fallback: Rgb = (128, 128, 128)) -> Rgb:
        try:
            value = self.app.theme_variables.get(variable)
            return Color.parse(value).rgb if value else fallback
        except Exception:  # a theme without the variable, or an unparsable value
            return fallback

    def _faint(self, rgb: Rgb) -> Rgb:
        surface = Color(*self._colour("surface", (0, 0, 0)))
        return Color(*rgb).blend(surface, 0.55).rgb

    @property
    def legend_rows(self) -> int:
        """How many legend rows the plot gives up at most (a share of its height)."""
        height = self.size.height if self.size.height else 24
        return max(1, (height - 4) // LEGEND_SHARE)

    @property
    def legend(self) -> tuple[LegendEntry, ...]:
        """What the legend row above the plot names, in order (tests read it)."""
        return self._legend

    def on_resize(self) -> None:
        """A taller or shorter plot has room for more or fewer legend rows: rebuild."""
        if len(self._runs) > 1 and self.legend_rows != self._legend_rows:
            self._schedule(immediate=True)

    def _replot(self) -> None:
        self._plotext_calls, self._plotext_given = [], False
        self._traces, self._vlines, self._x_ticks = [], [], []
        self._frame_calls, self._ticks, self._limits = [], {}, None
        runs = self._runs
        self._legend_rows = self.legend_rows
        # One or two runs: loss and eval of each in the legend. More: one entry per run.
        legend = _Legend(
            several=len(runs) > 1, detailed=len(runs) <= 2, many=len(runs) >= MANY_RUNS
        )
        entries: list[LegendEntry] = []
        first = runs[0][1] if runs else LossPlotData()
        self._fig("xlabel", _(first.x_label))
        extent = _Extent()
        notes: list[str] = []
        for index, (label, data) in enumerate(runs):
            entries.extend(self._plot_run(index, label, data, legend, extent))
            prefix = f"{label} " if legend.several else ""
            nonfinite = data.train_nonfinite.total + data.eval_nonfinite.total
            if nonfinite:
                notes.append(f"{prefix}{nonfinite} NaN/inf")
            if data.nonpositive:
                hidden = _("{count} ≤0 hidden (log)").format(count=data.nonpositive)
                notes.append(f"{prefix}{hidden}")
        self._legend = tuple(entries)
        if not math.isfinite(extent.y_lo):
            extent.y_lo, extent.y_hi = 0.0, 1.0
        self._plot_markers(first, extent.y_hi)
        self._draw_traces(x_range=extent.x_hi > extent.x_lo, integer=first.x_axis == "step")
        self._plot_axes(first, extent)
        if not runs or all(data.empty for _label, data in runs):
            self._fig("title", _("waiting for loss records"))
        elif notes:
            self._fig("title", " · ".join(notes))
        if self._raster is None:
            self._give_plotext()  # plotext draws the series: its own render reads the figure
        self.counts.builds += 1
        if not self.is_mounted or self.size.area == 0:
            self._lines = None  # built on the first render_line, once there is a size
            self.refresh()
            return
        previous = self._build_lines()
        repaint_rows(self, previous, self._lines or [], self.size.width)

    def _series_colours(self, index: int, several: bool) -> tuple[Rgb, Rgb, Rgb]:
        """A run's loss, eval and LR colours: one run uses three palette colours; several
        runs each use their own (the eval in it, the LR faint)."""
        if not several:
            return palette.LOSS, palette.EVAL, palette.LR
        colour = palette.SERIES_PALETTE[index % len(palette.SERIES_PALETTE)]
        return colour, colour, self._faint(colour)

    def _plot_run(
        self, index: int, label: str, data: LossPlotData, legend: _Legend, extent: _Extent
    ) -> list[LegendEntry]:
        """One run's train loss (raw and smoothed), eval loss and LR; its legend entries."""
        loss_colour, eval_colour, lr_colour = self._series_colours(index, legend.several)
        prefix = f"{label} " if legend.several else ""
        entries: list[LegendEntry] = []
        if data.train_raw and not (data.train_smooth and legend.many):
            self._trace(data.train_raw.x, data.train_raw.y, self._faint(loss_colour), BLOCKS)
            extent.add_y(data.train_raw.y)
            if not data.train_smooth:
                entries.append(
                    ("━", f"{prefix}{data.series}" if legend.detailed else label, loss_colour)
                )
        if data.train_smooth:
            self._trace(data.train_smooth.x, data.train_smooth.y, loss_colour, BLOCKS)
            smoothed = _("{series} (EMA {weight})").format(
                series=data.series, weight=f"{data.smoothing:g}"
            )
            smooth_label = f"{prefix}{smoothed}" if legend.detailed else label
            entries.append(("━", smooth_label, loss_colour))
        if data.eval:
            # Evals are few: points, not a line (a plotted line would put the marker on
            # every cell between them). Many evals read better as a line.
            few = len(data.eval) <= 100
            marker = "●" if few else BRAILLE
            self._trace(data.eval.x, data.eval.y, eval_colour, marker, lines=not few)
            extent.add_y(data.eval.y)
            if legend.detailed:
                entries.append(("●", f"{prefix}{_('eval')}", eval_colour))
        if data.lr:
            extent.add_lr(data.lr.y)
            # Without colour (NO_COLOR) the LR is dotted, so it cannot pass for the loss.
            marker = "·" if self.app.no_color else BRAILLE
            self._trace(data.lr.x, data.lr.y, lr_colour, marker, right=True)
            if not legend.several:
                entries.append(("┄", _("lr (right)"), lr_colour))
        for series in (data.train_raw, data.train_smooth, data.eval, data.lr):
            if series:
                extent.add_x(series.x)
        return entries

    def _fig(self, name: str, *args: object, **kwargs: object) -> None:
        """A plotext call for the frame, noted for the frame cache's key too: the frame is
        built again only when these calls, or where their ticks and lines fall, change."""
        self._plotext_calls.append((name, args, kwargs))
        frozen = tuple(tuple(a) if isinstance(a, list) else a for a in args)
        self._frame_calls.append((name, frozen, tuple(sorted(kwargs.items()))))

    def _give_plotext(self) -> None:
        """Empty plotext's figure and give it this figure's calls (once per `_replot`)."""
        if self._plotext_given:
            return
        plt = self.plt
        reset_figure(plt)
        for name, args, kwargs in self._plotext_calls:
            getattr(plt, name)(*args, **kwargs)
        self._plotext_given = True

    def _frame_request(self, size: tuple[int, int], theme: str) -> FrameRequest | None:
        """What decides the raster's frame: the calls, the size and theme, and where the
        ticks and marker lines fall on a plot area (limits in full where plotext places its
        own ticks)."""
        if self._limits is None:
            return None
        xlim, ylim, ylim_right = self._limits
        ticks, vlines = self._ticks, self._vlines
        own = (
            None if "x" in ticks else xlim,
            None if "left" in ticks else ylim,
            None if "right" in ticks else ylim_right,
        )
        # The series' sides, colours and markers: a copied frame's cells take them from what
        # plotext was last given.
        series = tuple((t.colour, t.marker, t.lines, t.right) for t in self._traces)
        key = (tuple(self._frame_calls), size, theme, own, series)

        marks = tuple(tuple(ticks.get(side, ())) for side in ("x", "left", "right"))
        positions = partial(_positions, self._limits, marks, tuple(vlines))
        return (self._frame_cache, key, positions)

    def _plot_markers(self, first: LossPlotData, top: float) -> None:
        """Non-finite values as crosses along the top; findings as lines at their step."""
        for _label, data in self._runs:
            positions = (*data.train_nonfinite.positions, *data.eval_nonfinite.positions)
            if positions:
                error = self._colour("error")
                self._trace(positions, [top] * len(positions), error, "×", lines=False)
        for step, severity in self._markers:
            x = first.x_for_step(step)
            if x is not None:
                self._vlines.append(x)
                self._fig("vline", x, color=self._colour(SEVERITY_COLOURS[severity]))

    def _trace(
        self,
        x: Sequence[float],
        y: Sequence[float],
        colour: Rgb,
        marker: str = BRAILLE,
        *,
        lines: bool = True,
        right: bool = False,
    ) -> None:
        """A series to draw, in drawing order (a later one wins a cell both touch)."""
        self._traces.append(Trace(x, y, colour, marker, lines, right))

    def _draw_traces(self, *, x_range: bool, integer: bool) -> None:
        """Hand the series to plotext, or draw them with the raster into plotext's frame.

        For the raster, plotext gets a stand-in per series (a lone NaN: the same axes, sides,
        colours and styles, no dots) and the limits its data would give; the frame it builds
        is the same, and `build_matrix` writes the raster's cells into it. When the data
        spans a range of x (`x_range`), the x axis runs on to the next tick (`nice_x_axis`):
        a new record then adds dots at the right and moves nothing already drawn.
        """
        traces = self._traces
        calls = self._plotext_calls
        self._raster = None
        raster = self.renderer == "raster" and has_raster_path(self.plt) and bool(traces)
        for trace in traces:
            x, y = ([math.nan], [math.nan]) if raster else (list(trace.x), list(trace.y))
            draw = "plot" if trace.lines else "scatter"
            side = "right" if trace.right else "left"
            calls.append((draw, (x, y), dict(color=trace.colour, marker=trace.marker, yside=side)))
        xlim = _sorted(data_limits([*(t.x for t in traces), self._vlines]))
        if x_range:
            end, self._x_ticks = nice_x_axis(*xlim, integer=integer)
            xlim = (xlim[0], end)
        if x_range or raster:
            calls.append(("xlim", xlim, {}))
        ylim = _sorted(_widened(*data_limits([t.y for t in traces if not t.right])))
        calls.append(("ylim", ylim, {}))
        right = [t.y for t in traces if t.right]
        ylim_right = _sorted(_widened(*data_limits(right))) if right else None
        if ylim_right is not None:
            calls.append(("ylim", ylim_right, {"yside": "right"}))
        if not raster:
            return
        self._limits = (xlim, ylim, ylim_right)
        self._raster = partial(rasterise, list(traces), xlim=xlim, ylim=ylim, ylim_right=ylim_right)

    def _plot_axes(self, first: LossPlotData, extent: _Extent) -> None:
        """Round x ticks, log-y labels in original values, and the LR's right-hand axis."""
        x_ticks = self._x_ticks
        if len(x_ticks) >= 2:
            self._fig("xticks", x_ticks, tick_labels(x_ticks))
            self._ticks["x"] = x_ticks
        self._fig("ylabel", first.y_label)
        if first.log_y:
            ticks, labels = log_ticks(extent.y_lo, extent.y_hi)
            if ticks:
                self._fig("yticks", ticks, labels)
                self._ticks["left"] = ticks
        else:  # plotext's own labels read 146300000000.0; these read 1.46e11
            y_ticks = nice_ticks(*_widened(extent.y_lo, extent.y_hi))
            if len(y_ticks) >= 2:
                self._fig("yticks", y_ticks, tick_labels(y_ticks))
                self._ticks["left"] = y_ticks
        if math.isfinite(extent.lr_lo):
            # plotext writes small LRs as 0.0000300; scientific labels are shorter and clearer.
            # (The bundled stub types yside as a float; plotext takes "left" / "right".)
            ticks = linear_ticks(extent.lr_lo, extent.lr_hi)
            self._fig("yticks", ticks, [f"{t:.2g}" for t in ticks], yside="right")
            self._ticks["right"] = ticks
            self._fig("ylabel", "lr", yside="right")


@lru_cache(maxsize=4)
def _positions(
    limits: Limits,
    ticks: tuple[tuple[float, ...], ...],
    vlines: tuple[float, ...],
    width: int,
    height: int,
) -> tuple[tuple[float, ...], ...]:
    """The dots the x, left and right ticks and the marker lines fall on in a plot area of
    (width, height) cells (asked twice per rebuild, and most records move none)."""
    xlim, ylim, ylim_right = limits
    x, left, right = ticks
    return (
        tuple(to_dots(x, xlim, width).tolist()),
        tuple(to_dots(left, ylim, height).tolist()),
        tuple(to_dots(right, ylim_right or ylim, height).tolist()),
        tuple(to_dots(vlines, xlim, width).tolist()),
    )


def _widened(lo: float, hi: float) -> tuple[float, float]:
    """A range no wider than float rounding (one value, or a constant loss and its smoothed
    curve apart in the last bit) spans (0.5 v, 1.5 v), as one value does in plotext: ticks
    one rounding step apart would read 1.50000000000000022 and 1.5."""
    if math.isfinite(lo) and math.isfinite(hi) and hi - lo <= 1e-9 * max(abs(lo), abs(hi)):
        return data_limits([[lo]])
    return lo, hi


def _sorted(limits: tuple[float, float]) -> tuple[float, float]:
    """Limits low to high, as plotext's `xlim` and `ylim` keep them (plotext's own rule gives
    a constant negative series reversed limits, which place its dots the same)."""
    lo, hi = limits
    return (lo, hi) if lo <= hi else (hi, lo)


@dataclass(frozen=True, slots=True)
class _Legend:
    """What the legend says with this many runs."""

    several: bool
    detailed: bool
    """Loss and eval of each run; otherwise one entry per run."""
    many: bool
    """So many runs that only their smoothed loss is drawn."""


@dataclass(slots=True)
class _Extent:
    """The data's ranges: x, the loss axis (left) and the LR axis (right)."""

    x_lo: float = math.inf
    x_hi: float = -math.inf
    y_lo: float = math.inf
    y_hi: float = -math.inf
    lr_lo: float = math.inf
    lr_hi: float = -math.inf

    def add_x(self, values: Sequence[float]) -> None:
        self.x_lo, self.x_hi = min(self.x_lo, *values), max(self.x_hi, *values)

    def add_y(self, values: Sequence[float]) -> None:
        self.y_lo, self.y_hi = min(self.y_lo, *values), max(self.y_hi, *values)

    def add_lr(self, values: Sequence[float]) -> None:
        self.lr_lo, self.lr_hi = min(self.lr_lo, *values), max(self.lr_hi, *values)
