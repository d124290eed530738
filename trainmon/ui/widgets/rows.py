"""Repaint only the screen rows of a widget whose content changed.

Sending a whole pane to the terminal when one number in it moved is most of what an idle
dashboard costs (and what it sends over SSH); the panes and the plot keep what they last
drew, row by row, and ask Textual to repaint just the rows that differ. A widget that spans
the screen (the status line) repaints only the cells that differ: Textual composes one
rectangle around everything dirty in a screen update, and a full-width row beside the plot's
rows would take every pane of the side column into it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import get_character_cell_size
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


def repaint_rows(
    widget: Widget, before: Sequence[object] | None, after: Sequence[object], width: int
) -> list[int] | None:
    """Refresh the rows (`width` cells wide) that differ between `before` and `after`.

    Returns the changed rows, or None when the rows could not be compared (nothing drawn
    yet, or another number of rows) and the whole widget was refreshed. When every row
    changed, the whole widget is refreshed too: the same cells, in one request.
    """
    if before is None or len(before) != len(after):
        widget.refresh()
        return None
    changed = [y for y, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    if changed and len(changed) == len(after):
        widget.refresh()
    else:
        for y in changed:
            widget.refresh(Region(0, y, width, 1))
    return changed


def text_strip(line: Text, width: int, base: Style, console: Console) -> Strip:
    """One line of text as Textual draws it in a widget `width` cells wide on style `base`:
    a line too long is cut after the last word that fits."""
    if line.cell_len > width:
        line = line.wrap(console, width, no_wrap=False)[0]
        line.rstrip()
    segments = [
        Segment(seg.text, base + seg.style if seg.style else base)
        for seg in line.render(console, end="")
    ]
    return Strip(segments).adjust_cell_length(width, base)


def changed_span(before: Strip, after: Strip) -> tuple[int, int] | None:
    """The cells [start, end) outside which two lines of one width are the same (None:
    the same throughout)."""
    if before == after:
        return None
    old, new = _cells(before), _cells(after)
    start = 0
    for start, (a, b) in enumerate(zip(old, new, strict=False)):  # noqa: B007
        if a != b:
            break
    else:
        start = min(len(old), len(new))
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old, end_new = end_old - 1, end_new - 1
    end = max(end_old, end_new)
    return (start, end) if end > start else None


def _cells(strip: Strip) -> list[tuple[str, Style | None]]:
    """A line's cells: its character and style (a wide character's second cell is empty)."""
    cells: list[tuple[str, Style | None]] = []
    for segment in strip:
        for char in segment.text:
            cells.append((char, segment.style))
            if get_character_cell_size(char) > 1:
                cells.append(("", segment.style))
    return cells


def repaint_spans(widget: Widget, before: Sequence[Strip], after: Sequence[Strip]) -> int:
    """Refresh the cells that differ between the same rows before and after; returns how
    many rows had any (the number of rows must be the same)."""
    rows = 0
    for y, (old, new) in enumerate(zip(before, after, strict=True)):
        span = changed_span(old, new)
        if span is not None:
            widget.refresh(Region(span[0], y, span[1] - span[0], 1))
            rows += 1
    return rows
