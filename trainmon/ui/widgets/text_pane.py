"""A text pane whose height follows its content without re-laying out the screen every tick."""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive
from textual.widget import Widget


class TextPane(Widget):
    """Base for `height: auto` panes that redraw often but rarely change their line count.

    A `refresh(layout=True)` on every sample makes Textual lay out the whole screen again
    (every 2 s for the system panes), which was most of the dashboard's idle CPU. A plain
    refresh is enough unless the number of lines changed, and only the pane knows that once
    it has rendered, so the check lives here.
    """

    compact: reactive[bool] = reactive(False)
    """The pane's smallest form whatever the width (also set by the CSS class `-compact`):
    one line per GPU, two lines (host, trainer) for the CPU."""

    _line_count: int = -1

    def watch_compact(self, _value: bool) -> None:
        """A compact pane has another height."""
        self.refresh(layout=True)

    def render_text(self) -> Text:
        """The pane's content; subclasses draw here instead of in `render`."""
        raise NotImplementedError

    def render(self) -> RenderResult:
        """Draw the content, and ask for a layout pass only when its height changed."""
        text = self.render_text()
        lines = text.plain.count("\n") + 1
        if lines != self._line_count:
            first = self._line_count < 0
            self._line_count = lines
            if not first:  # the first layout already measured this content
                self.call_later(self.refresh, layout=True)
        return text
