"""Repaint only the screen rows of a widget whose content changed.

Sending a whole pane to the terminal when one number in it moved is most of what an idle
dashboard costs (and what it sends over SSH); the panes and the plot keep what they last
drew, row by row, and ask Textual to repaint just the rows that differ.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.geometry import Region
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
