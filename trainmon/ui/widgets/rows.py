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
from textual.geometry import Region, Size
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


class CachedStyles(Widget):
    """Component styles looked up once per theme: Textual forgets its own cache on every
    refresh, so a pane repainted on each sample or record asked for every style again."""

    _styles_by_name: dict[str, Style] | None = None

    def component_style(self, name: str) -> Style:
        """The partial Rich style of component class `name` (cached until a style change)."""
        cache = self._styles_by_name
        if cache is None:
            cache = self._styles_by_name = {}
        style = cache.get(name)
        if style is None:
            style = cache[name] = self.get_component_rich_style(name, partial=True)
        return style

    def notify_style_update(self) -> None:
        """A new theme or style: the cached styles are the old ones."""
        self._styles_by_name = None
        super().notify_style_update()


class KeptLines(CachedStyles):
    """A widget whose `render()` text is drawn into screen lines once and kept: `render_line`
    reads them, so a change can repaint only the rows or cells that differ (`take_kept`, then
    `draw_kept`, then `repaint_rows` / `repaint_spans`); a new size or theme draws them again.
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._kept: list[Strip] | None = None
        """The screen lines last drawn, at `_kept_size`; None: to be drawn."""
        self._kept_size = Size(0, 0)

    def take_kept(self) -> list[Strip] | None:
        """The kept lines when they fit the current size (else None), forgotten: the caller
        draws the new ones and compares."""
        before = self._kept if self._kept_size == self.content_size else None
        self._kept = None
        return before

    def notify_style_update(self) -> None:
        """A new theme or style: the kept lines hold the old colours."""
        self._kept = None
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        """One row, from the kept lines (drawn first when there are none at this size)."""
        lines = self._kept
        if lines is None or self._kept_size != self.content_size:
            lines = self.draw_kept()
        if 0 <= y < len(lines):
            return lines[y]
        return Strip.blank(self.content_size.width, self.visual_style.rich_style)

    def draw_kept(self) -> list[Strip]:
        """`render()`'s lines as screen lines on the widget's own style, kept."""
        size = self.content_size
        width, height = size
        base = self.visual_style.rich_style
        lines: list[Strip] = []
        if width > 0 and height > 0:
            text = self.render()
            assert isinstance(text, Text)
            console = self.app.console
            for line in text.split("\n", allow_blank=True)[:height]:
                lines.append(text_strip(line, width, base, console))
            lines.extend(Strip.blank(width, base) for _ in range(height - len(lines)))
        self._kept, self._kept_size = lines, size
        return lines
