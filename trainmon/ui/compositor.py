"""Screen updates that render only the rows they send to the terminal.

For a partial update (a record's status cells and plot rows, a CPU sample's row) Textual
takes one rectangle around everything that changed and asks every widget whose clip meets it
for all of its visible rows, then sends only the changed rows: a pane that repaints one row
had the screen, the containers and the side panes render each of their rows (a few hundred)
to keep one (bench/README.md). Here each widget is asked for the rows the update sends, and
nothing else; a widget whose pieces of those rows the widgets in front of it already gave (a
container behind its children) is not asked at all. Textual keeps each widget's rows and
renders them one at a time, so the rows asked for are the same strips either way (a test
compares them); a full update asks for every row, as before.

This replaces one private method of the screen's compositor (`Compositor._render_chops`,
which reads `cuts` and `visible_widgets`). `render_sent_rows_only` leaves a compositor that
lacks them, or whose method takes other arguments, as it is, and Textual's path is used.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from types import MethodType
from typing import Any

from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip

Chops = list[dict[int, Strip | None]]
"""Per screen row: the strip between each cut and the next (None: not rendered)."""

_PARAMETERS = ["crop", "is_rendered_line"]
"""The arguments of the method replaced (Textual 0.4x to 8.x)."""


def render_sent_rows_only(screen: Screen[Any]) -> bool:
    """Make `screen`'s partial updates render only the rows they send; True when done."""
    compositor = getattr(screen, "_compositor", None)
    method = getattr(compositor, "_render_chops", None)
    if method is None or not callable(method) or not _has_layout(compositor):
        return False
    try:
        parameters = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):
        return False
    if parameters != _PARAMETERS:
        return False
    compositor._render_chops = MethodType(render_chops, compositor)  # type: ignore[union-attr]
    return True


def _has_layout(compositor: object) -> bool:
    try:
        cuts, visible = compositor.cuts, compositor.visible_widgets  # type: ignore[attr-defined]
    except AttributeError:
        return False
    return isinstance(cuts, list) and isinstance(visible, Mapping)


def render_chops(compositor: Any, crop: Region, is_rendered_line: Callable[[int], bool]) -> Chops:
    """The strips of the rows of `crop` that `is_rendered_line` selects, cut at the screen's
    cuts; the front-most widget's strip wins each piece, as in Textual's own method."""
    cuts: list[list[int]] = compositor.cuts
    chops: Chops = [dict.fromkeys(row_cuts[:-1]) for row_cuts in cuts]
    bands = list(_bands(y for y in crop.line_range if is_rendered_line(y)))
    widgets: Mapping[Any, tuple[Region, Region]] = compositor.visible_widgets
    for widget, (region, clip) in widgets.items():  # front to back
        if not crop.overlaps(clip):
            continue
        shown = region.intersection(clip)
        for top, bottom in bands:
            band = shown.intersection(Region(shown.x, top, shown.width, bottom - top))
            if not band.area or _covered(chops, cuts, band):
                continue
            strips = widget.render_lines(band.translate((-region.x, -region.y)))
            left, right = band.column_span
            for y, strip in zip(band.line_range, strips, strict=False):
                row_cuts = [cut for cut in cuts[y] if left <= cut <= right]
                row = chops[y]
                pieces = strip.divide([cut - left for cut in row_cuts[1:]])
                for cut, piece in zip(row_cuts, pieces, strict=False):
                    if row.get(cut) is None:
                        row[cut] = piece
    return chops


def _covered(chops: Chops, cuts: list[list[int]], band: Region) -> bool:
    """Whether widgets in front already gave every piece of `band` (a container behind its
    children): its own strips would be thrown away."""
    left, right = band.column_span
    return all(
        chops[y].get(cut) is not None
        for y in band.line_range
        for cut in cuts[y]
        if left <= cut < right
    )


def _bands(rows: Iterable[int]) -> Iterable[tuple[int, int]]:
    """Runs of consecutive rows, as (first, one past the last)."""
    start = end = None
    for y in rows:
        if end is not None and y == end:
            end += 1
            continue
        if start is not None and end is not None:
            yield start, end
        start, end = y, y + 1
    if start is not None and end is not None:
        yield start, end
