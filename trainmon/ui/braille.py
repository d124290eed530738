"""The plot's series as braille (and block) dots, computed with numpy: plotext's drawing,
vectorised.

plotext lays out every series in Python, point by point and cell by cell (line interpolation,
grouping dots into braille cells, then one call per cell): four series of a few hundred
points cost several times its empty frame (bench/README.md, `bench_plot_rebuild.py`). Here
the same steps run as array operations, with plotext's own arithmetic, so the cells are the
ones plotext would draw:

- a value becomes a dot at `floor(round(0.5 + (bins - 1) * (v - lo) / (hi - lo), 8))`, with
  two dot columns and four dot rows per cell for braille, two by two for plotext's "hd"
  quadrant blocks, one per cell for other markers;
- consecutive points of a line are joined by `max(|dx|, |dy|) + 1` evenly spaced dots,
  truncated to whole dots; a NaN breaks the line (its neighbours stay dots);
- a cell shows the dots one series put in it; the last series drawn that touches a cell owns
  it, character and colour (plotext overwrites a cell, it does not merge two series' dots);
- dots outside the plot area are left out.

Axis limits follow plotext's rule for data (`data_limits`). The frame (axes, ticks, labels)
stays plotext's; `trainmon.ui.plotext_adapter` writes these cells into it. No Textual here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

BRAILLE: Final = "braille"
"""The marker name of a line drawn in braille dots (2x4 per cell)."""

BLOCKS: Final = "hd"
"""plotext's name for quadrant blocks (2x2 dots per cell: ▖ ▗ ▘ ▝ and their unions)."""

BRAILLE_BASE: Final = 0x2800
"""U+2800, the empty braille pattern; a cell's character is this plus its dot mask."""

BRAILLE_BITS: Final = np.array([[0x40, 0x80], [0x04, 0x20], [0x02, 0x10], [0x01, 0x08]], np.uint8)
"""The braille bit of the dot at [row from the bottom][column] of a cell (Unicode's dots
7 8 / 3 6 / 2 5 / 1 4, top row last)."""

BLOCK_BITS: Final = np.array([[4, 8], [1, 2]], np.uint8)
"""The bit of the quadrant at [row from the bottom][column] of a cell."""

BLOCK_CHARS: Final = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"
"""The quadrant block of each 4-bit mask (bit 1 upper left, 2 upper right, 4 lower left,
8 lower right)."""


@dataclass(frozen=True, slots=True)
class _Grid:
    """How a marker splits a cell into dots, and the character of each dot mask."""

    columns: int
    rows: int
    bits: npt.NDArray[np.uint8]
    codes: npt.NDArray[np.int64]


GRIDS: Final = {
    BRAILLE: _Grid(2, 4, BRAILLE_BITS, BRAILLE_BASE + np.arange(256, dtype=np.int64)),
    BLOCKS: _Grid(2, 2, BLOCK_BITS, np.array([ord(c) for c in BLOCK_CHARS], dtype=np.int64)),
}

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Trace:
    """One series as plotext is given it: points, colour, marker, joined or not, its axis."""

    x: Sequence[float]
    y: Sequence[float]
    colour: tuple[int, int, int]
    marker: str = BRAILLE
    lines: bool = True
    """Join consecutive points (a line plot); False: points only (a scatter)."""
    right: bool = False
    """On the right-hand y axis (the learning rate)."""


@dataclass(frozen=True, slots=True, eq=False)
class Cells:
    """The plot area's cells that hold data: column, row (0 at the bottom), the trace that owns
    each, and its character's code point (0 for a trace drawn with its own marker)."""

    cols: IntArray
    rows: IntArray
    owners: IntArray
    codes: IntArray

    def __len__(self) -> int:
        return len(self.cols)


def data_limits(values: Iterable[Sequence[float]]) -> tuple[float, float]:
    """An axis' limits as plotext sets them from its data: min and max of the finite values;
    a single value v spans (0.5 v, 1.5 v); none, or only 0, span (-1, 1)."""
    lo, hi = math.inf, -math.inf
    for chunk in values:
        if len(chunk) == 0:
            continue
        array = np.asarray(chunk, dtype=np.float64)
        array = array[~np.isnan(array)]
        if array.size:
            lo, hi = min(lo, float(array.min())), max(hi, float(array.max()))
    if lo > hi:
        lo = hi = 0.0
    if lo != hi:
        return lo, hi
    return (0.5 * lo, 1.5 * lo) if lo != 0 else (-1.0, 1.0)


def to_dots(values: Sequence[float], lim: tuple[float, float], bins: int) -> FloatArray:
    """Values as dot coordinates in [0, bins), as plotext maps them (NaN stays NaN)."""
    lo, hi = lim
    scaled = 0.5 + (bins - 1) * (np.asarray(values, dtype=np.float64) - lo) / (hi - lo)
    rounded: FloatArray = np.floor(np.round(scaled, 8))
    # numpy's round(x, 8) scales by 1e8; Python's rounds the decimal value. They can differ
    # only next to a whole number, where the floor would tell: those few take Python's way.
    close = np.flatnonzero(np.abs(scaled - np.rint(scaled)) < 1e-7)
    for i in close:
        rounded[i] = math.floor(round(float(scaled[i]), 8))
    return rounded


def line_dots(px: FloatArray, py: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The dots of a line through these points: the points, and between each two finite
    neighbours the evenly spaced dots plotext puts there (truncated to whole dots)."""
    finite = ~(np.isnan(px) | np.isnan(py))
    xs, ys = [px[finite]], [py[finite]]
    if len(px) >= 2:
        x0, x1, y0, y1 = px[:-1], px[1:], py[:-1], py[1:]
        joined = finite[:-1] & finite[1:]
        x0, x1, y0, y1 = x0[joined], x1[joined], y0[joined], y1[joined]
        steps = np.maximum(np.abs(x1 - x0), np.abs(y1 - y0))  # dots in a segment, minus one
        inner = np.maximum(steps - 1, 0).astype(np.int64)
        total = int(inner.sum())
        if total:
            segment = np.repeat(np.arange(len(inner)), inner)
            first = np.cumsum(inner) - inner
            k = np.arange(total) - np.repeat(first, inner) + 1
            span = steps[segment]
            # plotext's linspace: lower + k * ((upper - lower) / (length - 1)), then int().
            xs.append(np.trunc(x0[segment] + k * ((x1 - x0)[segment] / span)))
            ys.append(np.trunc(y0[segment] + k * ((y1 - y0)[segment] / span)))
    return np.concatenate(xs), np.concatenate(ys)


def rasterise(
    traces: Sequence[Trace],
    width: int,
    height: int,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    ylim_right: tuple[float, float] | None = None,
) -> Cells:
    """The cells of a `width` x `height` plot area the traces draw, drawn in order."""
    owner = np.full((height, width), -1, dtype=np.int64)
    code = np.zeros((height, width), dtype=np.int64)
    if width <= 0 or height <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return Cells(empty, empty, empty, empty)
    for index, trace in enumerate(traces):
        if len(trace.x) == 0 or len(trace.y) == 0:
            continue
        grid = GRIDS.get(trace.marker)
        xf, yf = (grid.columns, grid.rows) if grid is not None else (1, 1)
        limits = ylim_right if trace.right and ylim_right is not None else ylim
        px = to_dots(trace.x, xlim, width * xf)
        py = to_dots(trace.y, limits, height * yf)
        if trace.lines:
            px, py = line_dots(px, py)
        else:
            finite = ~(np.isnan(px) | np.isnan(py))
            px, py = px[finite], py[finite]
        dx, dy = px.astype(np.int64), py.astype(np.int64)
        cx, cy = dx // xf, dy // yf
        inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
        dx, dy, cx, cy = dx[inside], dy[inside], cx[inside], cy[inside]
        if not len(cx):
            continue
        if grid is not None:
            mask = np.zeros((height, width), dtype=np.uint8)
            np.bitwise_or.at(mask, (cy, cx), grid.bits[dy % yf, dx % xf])
            drawn = mask != 0
            code[drawn] = grid.codes[mask[drawn]]
        else:
            drawn = np.zeros((height, width), dtype=bool)
            drawn[cy, cx] = True
            code[drawn] = 0
        owner[drawn] = index
    rows, cols = np.nonzero(owner >= 0)
    return Cells(cols, rows, owner[rows, cols], code[rows, cols])
