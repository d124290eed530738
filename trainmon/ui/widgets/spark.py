"""A sparkline that is cheap to send over SSH: one colour escape per run of cells.

Textual's stock `Sparkline` gives every cell its own colour (a shade between two colours),
which costs about 26 bytes per cell: 12.6 KB per update for a 160x3 widget. Here a cell's
style only changes where its meaning changes (normal, above the clip threshold, spike), so
runs of equal cells share one style span and the bytes per update approach the glyphs'.
It also refuses nothing: non-finite values, which make the stock renderable raise, are
simply drawn as empty cells.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from rich.style import Style
from rich.text import Text

BLOCKS: Final = " ▁▂▃▄▅▆▇█"
"""Eighth-height blocks; index 0 is an empty cell."""


def rebucket_max(values: Sequence[float], width: int) -> list[float]:
    """At most `width` values, each the largest finite one of its bucket (spikes survive)."""
    n = len(values)
    if width <= 0:
        return []
    if n <= width:
        return list(values)
    out: list[float] = []
    for i in range(width):
        lo = i * n // width
        hi = max(lo + 1, (i + 1) * n // width)
        finite = [v for v in values[lo:hi] if math.isfinite(v)]
        out.append(max(finite) if finite else math.nan)
    return out


def spark_rows(
    values: Sequence[float],
    height: int = 1,
    *,
    lo: float | None = None,
    hi: float | None = None,
) -> list[str]:
    """The sparkline's text, one string per row (top row first), one character per value.

    Args:
        values: one value per cell; non-finite values draw as empty cells.
        height: rows; each adds eight levels of resolution.
        lo: value drawn as the lowest level (default: the smallest finite value).
        hi: value drawn as a full column (default: the largest finite value).
    """
    height = max(1, height)
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return [" " * len(values) for _ in range(height)]
    low = min(finite) if lo is None else lo
    high = max(finite) if hi is None else hi
    levels = 8 * height
    span = high - low
    heights: list[int] = []
    for v in values:
        if not math.isfinite(v):
            heights.append(0)
        elif span <= 0:
            heights.append(levels // 2 or 1)
        else:
            frac = min(1.0, max(0.0, (v - low) / span))
            # The lowest value still shows a sliver: an empty cell means "no value".
            heights.append(max(1, round(frac * levels)))
    rows: list[str] = []
    for row in range(height - 1, -1, -1):
        base = row * 8
        glyphs = [BLOCKS[min(8, max(0, h - base))] for h in range(levels + 1)]
        rows.append("".join(map(glyphs.__getitem__, heights)))  # a glyph per level, looked up
    return rows


def styled_rows(rows: Sequence[str], cell_styles: Sequence[Style | None]) -> Text:
    """Join rows into one Text, styling cells column by column with one span per run."""
    runs: list[tuple[int, int, Style | None]] = []
    """Columns [start, end) of one style: the same in every row (the styles are per column,
    each the same object where its meaning is)."""
    width = max((len(row) for row in rows), default=0)
    start = 0
    while start < width:
        style = cell_styles[start] if start < len(cell_styles) else None
        end = start + 1
        while end < width and (cell_styles[end] if end < len(cell_styles) else None) is style:
            end += 1
        runs.append((start, end, style))
        start = end
    text = Text(no_wrap=True, overflow="crop", end="")
    for r, row in enumerate(rows):
        if r:
            text.append("\n")
        for start, end, style in runs:
            if start < len(row):
                text.append(row[start:end], style=style)
    return text
