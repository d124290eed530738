"""The one place that reaches into plotext's and textual-plotext's private internals.

The loss plot reads plotext's character matrix directly instead of letting `build()` print it
with ANSI codes and parsing those back (the printing and parsing are most of a rebuild). That
path needs private names: the figure's `_set_sizes`, `_build_matrix` and `monitor.matrix`,
`plotext._utility.colors_to_ansi`, and textual-plotext's `_get_plotext_theme_name`. Each is
looked up here, once; where one is missing (a plotext or textual-plotext release that renamed
it), the figure is built with the public `build()` and `Text.from_ansi`, which gives the same
cells at a higher cost. Both paths are tested.

On the fast path the series can also be drawn by `trainmon.ui.braille` instead of plotext:
plotext is given one empty stand-in per series (so its axes, sides and colours are the same)
and explicit limits, builds the frame, and `build_matrix` writes the braille cells into its
matrix's plot area (`Cols_canvas`, `Rows_canvas`), each with the colour and style plotext
recorded for its series. Where those internals are missing, the series go to plotext.
The frame itself (before any series is drawn in it) is kept in a `FrameCache` and copied
while the figure's inputs and tick positions are the same (most new records move no tick).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from trainmon.ui.braille import Cells

try:
    from plotext._utility import colors_to_ansi as _colors_to_ansi  # type: ignore[import-untyped]
except ImportError:  # a plotext without the helper: cells are styled through the public path
    _colors_to_ansi = None

try:
    from plotext._default import (  # type: ignore[import-untyped]
        default_monitor_class as _default_monitor,
    )
except ImportError:  # a plotext without it: the figure is cleared through the public path
    _default_monitor = None

_MONITOR_RESETS = ("labels_init", "axes_init", "data_init")
"""What a plotext monitor resets for a new plot: titles and labels, axes and ticks, data,
limits and marker lines (its colours follow the theme set at every build)."""


@dataclass(frozen=True, slots=True)
class CellMatrix:
    """plotext's figure as rows of cells, top row first: characters and their colours."""

    chars: Sequence[Sequence[str]]
    foreground: Sequence[Sequence[object]]
    style: Sequence[Sequence[object]]
    background: Sequence[Sequence[object]]


def has_fast_path(plt: object) -> bool:
    """True when this plotext figure exposes what `build_matrix` reads."""
    return (
        _colors_to_ansi is not None
        and callable(getattr(plt, "_set_sizes", None))
        and callable(getattr(plt, "_build_matrix", None))
    )


def reset_figure(plt: Any) -> None:
    """Empty a single-plot figure for the next build, keeping the figure itself.

    plotext's `clear_figure` builds a new figure, deep-copying a default plot into it (a
    tenth of a rebuild's cost); the monitor's own resets give the same empty plot. Where they
    are missing, or the figure holds subplots, the public `clear_figure` and `clear_data`."""
    monitor: Any = getattr(plt, "monitor", None)
    resets: list[Callable[[], None]] = [
        reset for name in _MONITOR_RESETS if callable(reset := getattr(monitor, name, None))
    ]
    if _default_monitor is None or len(resets) < len(_MONITOR_RESETS) or not _single(plt):
        plt.clear_figure()
        plt.clear_data()
        return
    # The resets copy their defaults by reference (ticks, frequencies): set, they would keep
    # the last plot's, so the defaults are fresh too.
    monitor.default = _default_monitor()
    for reset in resets:
        reset()


def _single(plt: Any) -> bool:
    """True when the figure is one plot (`plotext.subplots` not used)."""
    return getattr(plt, "_no_plots", False) is True and getattr(plt, "_active", None) is plt


RasterDraw = Callable[[int, int], Cells]
"""Draws the series into a plot area of (width, height) cells (`trainmon.ui.braille`)."""


@dataclass(slots=True)
class FrameCache:
    """plotext's last frame, before any series was drawn in it, and what it was built from.

    A frame is reused when the figure's inputs (size, theme, labels, tick labels, marker
    lines: `key`) are the same and its ticks and marker lines fall on the same cells of the
    same plot area (`positions`, computed for that area)."""

    key: Hashable = None
    positions: Hashable = None
    canvas: tuple[range, range] = (range(0), range(0))
    rows: tuple[list[list[Any]], ...] = ()
    hits: int = 0
    """Frames copied instead of built (tests and benches)."""


FrameRequest = tuple[FrameCache, Hashable, Callable[[int, int], Hashable]]
"""The cache, this figure's key, and its tick positions for a plot area of (width, height)."""


def has_raster_path(plt: object) -> bool:
    """True when series drawn by `trainmon.ui.braille` can be written into this figure."""
    monitor = getattr(plt, "monitor", None)
    return has_fast_path(plt) and all(
        isinstance(getattr(monitor, name, None), list) for name in ("marker", "color", "style")
    )


def build_matrix(
    plt: Any, draw: RasterDraw | None = None, frame: FrameRequest | None = None
) -> CellMatrix | None:
    """Build the figure and return its cells, or None where the internals are missing.

    With `draw`, the figure holds a stand-in per series and `draw` gives the series' cells,
    written into the plot area with each series' marker, colour and style as plotext holds
    them (the series' index is its index among the figure's signals). With `frame` too, the
    frame is copied from the cache when it would be the same."""
    if not has_fast_path(plt):
        return None
    if draw is not None and frame is not None and frame_cached(frame):
        cache = frame[0]
        # The rows the series write into are copied when first written (`_write_cells`);
        # the others stay the cache's own, which nothing writes to.
        written = ([*cache.rows[0]], [*cache.rows[1]], [*cache.rows[2]])
        _write_cells(plt, written, *cache.canvas, draw, copy_rows=True)
        cache.hits += 1
        return CellMatrix(*(m[::-1] for m in (*written, cache.rows[3])))
    plt._set_sizes()
    plt._build_matrix()
    matrix = getattr(getattr(plt, "monitor", None), "matrix", None)
    rows = [getattr(matrix, name, None) for name in ("marker", "fullground", "style", "background")]
    if any(not isinstance(r, list) for r in rows):
        return None
    chars, foreground, style, background = rows
    assert chars is not None and foreground is not None and style is not None
    assert background is not None
    if draw is not None:
        columns = getattr(matrix, "Cols_canvas", None)
        lines = getattr(matrix, "Rows_canvas", None)
        if not isinstance(columns, range) or not isinstance(lines, range):
            return None  # the plot area's place is unknown
        if frame is not None:
            cache, key, positions = frame
            cache.key, cache.canvas = key, (columns, lines)
            cache.positions = positions(len(columns), len(lines))
            cache.rows = tuple([list(r) for r in m] for m in (chars, foreground, style, background))
        _write_cells(plt, (chars, foreground, style), columns, lines, draw)
    return CellMatrix(chars[::-1], foreground[::-1], style[::-1], background[::-1])


def frame_cached(frame: FrameRequest) -> bool:
    """True when the cache holds this frame: `build_matrix` then copies it, and plotext
    builds nothing (it need not even be given the figure's calls)."""
    cache, key, positions = frame
    return (
        bool(cache.rows)
        and cache.key == key
        and cache.positions == positions(*map(len, cache.canvas))
    )


def _write_cells(
    plt: Any,
    matrix: tuple[list[list[Any]], list[list[Any]], list[list[Any]]],
    columns: range,
    rows: range,
    draw: RasterDraw,
    *,
    copy_rows: bool = False,
) -> None:
    """Write the series' cells into a frame's characters, colours and styles (bottom row
    first, as plotext keeps them); with `copy_rows`, each row is copied before its first
    write (the rows are shared with the frame cache)."""
    monitor = plt.monitor
    cells = draw(len(columns), len(rows))
    markers, colours, styles = monitor.marker, monitor.color, monitor.style
    chars, foreground, style = matrix
    left, bottom = columns.start, rows.start
    row_list = cells.rows.tolist()
    if copy_rows:
        for y in {bottom + row for row in row_list}:
            chars[y], foreground[y], style[y] = [*chars[y]], [*foreground[y]], [*style[y]]
    for col, row, owner, code in zip(
        cells.cols.tolist(),
        row_list,
        cells.owners.tolist(),
        cells.codes.tolist(),
        strict=True,
    ):
        y, x = bottom + row, left + col
        chars[y][x] = chr(code) if code else markers[owner][0]
        foreground[y][x] = colours[owner][0]
        if styles[owner][0] is not None:
            style[y][x] = styles[owner][0]


def cell_style(colour: object, style: object, background: object) -> Style | None:
    """The style `Text.from_ansi` gives a plotext cell with these colours."""
    if _colors_to_ansi is None:
        return None
    codes = _colors_to_ansi(colour, style, background)
    spans = Text.from_ansi(codes + "x").spans if codes else []
    found = spans[0].style if spans else None
    return found if isinstance(found, Style) else None


def matrix_lines(
    matrix: CellMatrix,
    width: int,
    base: Style,
    style_of: Callable[[object, object, object], Style | None],
    previous: tuple[CellMatrix, Sequence[Strip]] | None = None,
) -> list[Strip]:
    """Screen lines for a cell matrix: one segment per run of cells with the same colours.

    `previous` (a matrix and its lines, at the same width and base style) lends the lines of
    rows whose cells did not change: a new record moves the dots of a few rows only."""
    lines: list[Strip] = []
    old = previous[0] if previous is not None and len(previous[1]) == len(matrix.chars) else None
    styles: dict[Hashable, Style] = {}
    """The screen style of each (colour, style, background) met in this figure."""
    for y, (chars, fg, st, bg) in enumerate(
        zip(matrix.chars, matrix.foreground, matrix.style, matrix.background, strict=True)
    ):
        if (
            old is not None
            and _same(chars, old.chars[y])
            and _same(fg, old.foreground[y])
            and _same(st, old.style[y])
            and _same(bg, old.background[y])
        ):
            assert previous is not None
            lines.append(previous[1][y])
            continue
        keys = list(zip(fg, st, bg, strict=True))
        cells = len(keys)
        ends = [col for col in range(1, cells) if keys[col] != keys[col - 1]]
        ends.append(cells)
        segments: list[Segment] = []
        start = 0
        for end in ends:
            key = keys[start]
            style = styles.get(key)
            if style is None:
                cell = style_of(*key)
                style = styles[key] = base + cell if cell is not None else base
            segments.append(Segment("".join(chars[start:end]), style))
            start = end
        lines.append(Strip(segments).adjust_cell_length(width, base))
    return lines


def _same(row: Sequence[object], old: Sequence[object]) -> bool:
    """Whether a row's cells are the old row's: a row of a copied frame that no series
    touched is the very same list."""
    return row is old or row == old


_CONSOLE = Console(width=1 << 14, color_system="truecolor", force_terminal=True)
"""Only used to split a `Text` into segments; never prints."""


def ansi_lines(plt: Any, width: int, base: Style) -> list[Strip]:
    """The public path: `build()` prints the figure with ANSI codes, parsed back into lines."""
    text = Text.from_ansi(plt.build())
    lines: list[Strip] = []
    for line in text.split("\n", allow_blank=True):
        segments = [
            Segment(s.text, base + s.style if s.style else base)
            for s in line.render(_CONSOLE, end="")
        ]
        lines.append(Strip(segments).adjust_cell_length(width, base))
    return lines


def set_plot_size(plt: Any, width: int, height: int) -> None:
    """Size the figure; as textual-plotext's own render does, the private `_set_size` follows
    `plotsize`, which alone does not always resize (textual-plotext issue 5)."""
    plt.plotsize(width, height)
    set_size = getattr(plt, "_set_size", None)
    if callable(set_size):
        set_size(width, height)


def plotext_theme_name(widget: Any, app_theme: str) -> str:
    """The plotext theme textual-plotext registered for this app theme."""
    getter = getattr(widget, "_get_plotext_theme_name", None)
    if callable(getter):
        name = getter(app_theme)
        if isinstance(name, str):
            return name
    theme = getattr(widget, "theme", "auto")
    return f"textual-auto-{app_theme}" if theme == "auto" else str(theme)
