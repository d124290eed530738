"""A text pane whose height follows its content without re-laying out the screen every tick."""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive

from trainmon.ui.widgets.rows import CachedStyles, repaint_rows


class TextPane(CachedStyles):
    """Base for `height: auto` panes that redraw often but rarely change their line count.

    A `refresh(layout=True)` on every sample makes Textual lay out the whole screen again
    (every 2 s for the system panes), which was most of the dashboard's idle CPU. A plain
    refresh is enough unless the number of lines changed, and only the pane knows that once
    it has rendered, so the check lives here. New content goes through `refresh_changed()`,
    which repaints only the lines whose text differs from what is on screen (none when a
    sample changed nothing visible), so the terminal receives only those lines.
    """

    compact: reactive[bool] = reactive(False)
    """The pane's smallest form whatever the width (also set by the CSS class `-compact`):
    one line per GPU, two lines (host, trainer) for the CPU."""

    _line_count: int = -1
    _shown: list[Text] | None = None
    """The lines last rendered, for `refresh_changed` to compare with."""
    _shown_width: int = -1
    _next: Text | None = None
    """Content computed by `refresh_changed` for the width on screen, used by the next render."""
    line_repaints: int = 0
    """How many lines `refresh_changed` sent to be repainted (for tests and benches)."""

    def watch_compact(self, _value: bool) -> None:
        """A compact pane has another height."""
        self.refresh(layout=True)

    def render_text(self) -> Text:
        """The pane's content; subclasses draw here instead of in `render`."""
        raise NotImplementedError

    def refresh_changed(self) -> int:
        """Repaint the lines whose text changed; returns how many (-1: the whole pane).

        Call after the pane's input changed, instead of `refresh()`.
        """
        width = self.content_size.width
        shown = self._shown
        if not self.is_mounted or width <= 0 or shown is None or width != self._shown_width:
            self._next = None
            self.refresh()
            return -1
        text = self.render_text()
        changed = repaint_rows(self, shown, list(text.split("\n", allow_blank=True)), width)
        if changed is None:
            self._next = text
            return -1
        if changed:
            self._next = text
            self.line_repaints += len(changed)
        return len(changed)

    def render(self) -> RenderResult:
        """Draw the content, and ask for a layout pass only when its height changed."""
        width = self.content_size.width
        text = self._next if self._next is not None and width == self._shown_width else None
        if text is None:
            text = self.render_text()
        self._next = None
        self._shown = list(text.split("\n", allow_blank=True))
        self._shown_width = width
        lines = len(self._shown)
        if lines != self._line_count:
            first = self._line_count < 0
            self._line_count = lines
            if not first:  # the first layout already measured this content
                self.call_later(self.refresh, layout=True)
        return text
