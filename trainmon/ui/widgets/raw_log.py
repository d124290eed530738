"""The raw log view: the log's text, its last lines or any page of it, with search.

Toggled with `v`: in a wide terminal with room it is a pane under the plots, otherwise it
takes the plots' place (the advice and system panes stay). It reads the file through
`trainmon.logtext` (pages found by byte offset, no index: a 1 GB log costs a few blocks per
page), follows the end while it is shown at the end, and holds the page where the user
scrolled to otherwise. Warnings, errors and tracebacks are highlighted by their level words
(a small local classifier); search matches are highlighted too.

Log text is shown as plain text: never markup, control characters shown visibly
(`trainmon.text.terminal_safe`); a line that a progress bar redrew with `\\r` shows its last
redraw, as a terminal would.

While hidden it costs nothing: no timer runs and nothing is read.
"""

from __future__ import annotations

import re
from typing import ClassVar, Final, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input, Static

from trainmon.i18n import N_, _
from trainmon.logtext import Line, LogText
from trainmon.text import terminal_safe
from trainmon.ui.bindings_text import TranslatedBindings

LineLevel = Literal["error", "warning"]

ERROR_WORDS: Final = re.compile(
    r"Traceback \(most recent call last\)|\b(?:ERROR|CRITICAL|FATAL|Fatal|Killed)\b"
    r"|^\s+File \".*\", line \d+|\b[A-Z]\w*(?:Error|Exception|Interrupt)\b"
)
WARNING_WORDS: Final = re.compile(r"\b(?:WARNING|WARN|Warning|warn)\b")

PANE_MIN_ROWS: Final = 40
"""A wide terminal at least this tall shows the log text as a pane under the plots;
otherwise the view takes the plots' place."""


def line_level(text: str) -> LineLevel | None:
    """`error` for tracebacks and error lines, `warning` for warnings, else None."""
    if ERROR_WORDS.search(text):
        return "error"
    if WARNING_WORDS.search(text):
        return "warning"
    return None


def shown_text(line: Line) -> str:
    """What a terminal would show of the line (its last `\\r` redraw), control characters
    visible, and its length when it was cut."""
    text = line.text
    if "\r" in text:
        redraws = [part for part in text.split("\r") if part]
        text = redraws[-1] if redraws else ""
    text = terminal_safe(text)
    if line.cut:
        size = f"{line.end - line.start:,}"
        text += " … (" + _("{size} bytes").format(size=size) + ")"
    return text


class RawLogText(Static):
    """The page of lines, focusable while shown (the view's keys then apply); never while
    hidden, so it cannot take the dashboard's first focus."""

    def on_resize(self) -> None:
        """Another height holds another number of lines (the search field came or went)."""
        view = self.parent
        if isinstance(view, RawLogView):
            view.reload()


class RawLogView(TranslatedBindings, Vertical):
    """The log's text: follows its end, scrolls back through the whole file, searches."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "raw-log--error",
        "raw-log--warning",
        "raw-log--match",
    }

    SCOPED_CSS = False
    DEFAULT_CSS = """
    RawLogView {
        display: none;
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        border-subtitle-color: $text-muted;
    }
    RawLogView:focus-within { border: round $primary; }
    RawLogView > .raw-log--error { color: $error; text-style: bold; }
    RawLogView > .raw-log--warning { color: $warning; }
    RawLogView > .raw-log--match { background: $accent; color: $text; }
    RawLogView RawLogText { height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    RawLogView Input { display: none; height: 3; }
    RawLogView.-searching Input { display: block; }
    .-rawlog-full #loss, .-rawlog-full #grad-norm { display: none; }
    .-rawlog-full #rawlog { height: 1fr; }
    .-narrow #rawlog { border: none; border-top: hkey $panel-lighten-2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_lines(-1)", N_("line up"), show=False),
        Binding("down,j", "scroll_lines(1)", N_("line down"), show=False),
        Binding("pageup,b", "scroll_pages(-1)", N_("page up"), show=False),
        Binding("pagedown", "scroll_pages(1)", N_("page down"), show=False),
        Binding("home", "to_start", N_("start of the log"), show=False),
        Binding("end", "to_end", N_("end of the log (follow)"), show=False),
        Binding("slash", "search", N_("search"), show=False),
        Binding("n", "next_match(-1)", N_("older match"), show=False),
        Binding("N", "next_match(1)", N_("newer match"), show=False),
        Binding("escape", "close_search", N_("close search"), show=False),
    ]

    def __init__(self, path: str, refresh_s: float = 1.0, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = LogText(path)
        self.refresh_s = refresh_s
        self.top: int | None = None
        """Byte offset of the first line shown; None while following the end."""
        self.lines: list[Line] = []
        self.query_text = ""
        self.match: int | None = None
        """Byte offset of the current search match."""
        self.note = ""
        self._timer: Timer | None = None
        self._file_size = -1
        self.border_title = _("log")

    def compose(self) -> ComposeResult:
        yield RawLogText(Text(""), id="rawlog-lines")
        search = Input(placeholder=_("search (Enter; n older, N newer; Escape closes)"))
        search.can_focus = False  # only while searching: never the dashboard's first focus
        yield search

    # -- shown / hidden -------------------------------------------------------------------------

    @property
    def shown(self) -> bool:
        return self._timer is not None

    def toggle(self, layout: str, height: int) -> None:
        """Show (following the end) or hide the view."""
        if self.shown:
            self.hide()
        else:
            self.show(layout, height)

    def show(self, layout: str, height: int) -> None:
        self.display = True
        self.fit(layout, height)
        self._timer = self.set_interval(self.refresh_s, self._poll, name="raw-log")
        lines = self.query_one(RawLogText)
        lines.can_focus = True
        lines.focus()
        self.call_after_refresh(self.reload)

    def hide(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.display = False
        self.query_one(RawLogText).can_focus = False
        self.query_one(Input).can_focus = False
        self.remove_class("-searching")
        self.app.set_class(False, "-rawlog-full")
        if self.has_focus_within:
            self.app.set_focus(None)

    def fit(self, layout: str, height: int) -> None:
        """A pane in a tall wide layout, else in the plots' place (the app calls this on
        resize)."""
        full = self.shown or self.display
        self.app.set_class(
            bool(full) and not (layout == "wide" and height >= PANE_MIN_ROWS), "-rawlog-full"
        )
        if self.shown:
            self.call_after_refresh(self.reload)

    # -- reading --------------------------------------------------------------------------------

    def _rows(self) -> int:
        return max(1, self.query_one(RawLogText).content_size.height)

    def _poll(self) -> None:
        """While shown: a grown (or shrunk) log is read again when following its end."""
        size = self.source.size()
        if size != self._file_size:
            self._file_size = size
            if self.top is None or size < (self.top or 0):
                self.top = None
                self.reload()
            else:
                self._titles()

    def reload(self) -> None:
        """Read the page at `top` (or the last page) and draw it."""
        if not self.shown:
            return
        rows = self._rows()
        self._file_size = self.source.size()
        if self.top is not None:
            lines = self.source.lines_from(self.top, rows)
            if len(lines) < rows or lines[-1].end >= self._file_size:
                self.top = None  # the page reaches the end: follow it again
        if self.top is None:
            lines = self.source.tail(rows)
        self.lines = lines
        self._draw()

    def _draw(self) -> None:
        styles = {
            level: self.get_component_rich_style(f"raw-log--{level}", partial=True)
            for level in ("error", "warning", "match")
        }
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        needle = terminal_safe(self.query_text).lower()
        for index, line in enumerate(self.lines):
            shown = shown_text(line)
            row = Text(shown)
            level = line_level(shown)
            if level is not None:
                row.stylize(styles[level])
            if needle:
                lowered, begin = shown.lower(), 0
                while (found := lowered.find(needle, begin)) >= 0:
                    row.stylize(styles["match"], found, found + len(needle))
                    begin = found + len(needle)
            if index:
                text.append("\n")
            text.append_text(row)
        self.query_one(RawLogText).update(text)
        self._titles()

    def _titles(self) -> None:
        size = self._file_size
        where = _("end") if self.top is None else f"{100 * self.top // max(1, size)} %"
        self.border_title = _("log") + f" · {terminal_safe(self.source.path)}"
        parts = [self.note] if self.note else []
        of_size = _("{where} of {size} MB").format(where=where, size=f"{size / 1e6:,.1f}")
        parts.append(of_size if size >= 1e6 else where)
        self.border_subtitle = " · ".join(parts)

    # -- scrolling ------------------------------------------------------------------------------

    def _first(self) -> int:
        if self.top is not None:
            return self.top
        return self.lines[0].start if self.lines else self.source.size()

    def action_scroll_lines(self, count: int) -> None:
        """Scroll by `count` lines (negative: towards the start)."""
        if count < 0:
            before = self.source.lines_before(self._first(), -count)
            if before:
                self.top = before[0].start
        elif self.top is not None:
            after = self.source.lines_from(self.top, count + 1)
            if len(after) > count:
                self.top = after[count].start
            else:
                self.top = None
        self.reload()

    def action_scroll_pages(self, pages: int) -> None:
        self.action_scroll_lines(pages * max(1, self._rows() - 1))

    def action_to_start(self) -> None:
        self.top = 0
        self.reload()

    def action_to_end(self) -> None:
        self.top = None
        self.reload()

    # -- search ---------------------------------------------------------------------------------

    def action_search(self) -> None:
        self.add_class("-searching")
        search = self.query_one(Input)
        search.value = self.query_text
        search.can_focus = True
        search.focus()

    def action_close_search(self) -> None:
        if self.has_class("-searching"):
            self._end_search()

    def _end_search(self) -> None:
        self.remove_class("-searching")
        self.query_one(Input).can_focus = False
        self.query_one(RawLogText).focus()

    @on(Input.Submitted)
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._end_search()
        self.query_text = event.value
        self.match = None
        if self.query_text:
            end = self.lines[-1].end if self.lines else self.source.size()
            self._search(self.query_text, end, True)

    def action_next_match(self, direction: int) -> None:
        """The next match towards the start (-1) or the end (+1) of the log."""
        if not self.query_text:
            self.action_search()
            return
        if direction < 0:
            start = self.match if self.match is not None else self._first()
            self._search(self.query_text, start, True)
        else:
            start = self.match + 1 if self.match is not None else self._first()
            self._search(self.query_text, start, False)

    @work(thread=True, exclusive=True, group="raw-log-search")
    def _search(self, needle: str, offset: int, backward: bool) -> None:
        """Search on a thread (a 1 GB log takes a while); the page moves when it is found."""
        from textual.worker import get_current_worker

        worker = get_current_worker()
        self.app.call_from_thread(self._say, _("searching {text}…").format(text=repr(needle)))
        found = self.source.find(
            needle, offset, backward=backward, cancelled=lambda: worker.is_cancelled
        )
        if not worker.is_cancelled:
            self.app.call_from_thread(self._found, needle, found)

    def _say(self, note: str) -> None:
        self.note = terminal_safe(note)
        self._titles()

    def _found(self, needle: str, offset: int | None) -> None:
        if offset is None:
            self._say(_("{text} not found").format(text=repr(needle)))
            return
        self.match = offset
        start = self.source.line_start(offset)
        above = self.source.lines_before(start, self._rows() // 2)
        self.top = above[0].start if above else start
        self.note = ""
        self.reload()
