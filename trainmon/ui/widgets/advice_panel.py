"""The advice pane: active findings by severity, the selected one's evidence and remedy, history.

Findings arrive as immutable values from the advice engine (run on the UI thread by the
app). The list keeps the selection on the same rule across updates, so `m` mutes what the
user is looking at even while findings come and go. Titles and evidence quote log text, so
they are rendered as plain `Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from trainmon.i18n import N_, _
from trainmon.records import SEVERITY_RANK, Finding, Severity
from trainmon.text import shorten, terminal_safe, terminal_safe_lines
from trainmon.ui.widgets.counts import WorkCounts

AdviceItem = tuple[str, Finding]
"""A finding and the label of the run it is about ("" when only one run is shown)."""

SEVERITY_ICONS: Final[dict[Severity, str]] = {"critical": "✖", "warning": "▲", "info": "●"}
SEVERITY_VARS: Final[dict[Severity, str]] = {
    "critical": "error",
    "warning": "warning",
    "info": "secondary",
}
EMPTY_TEXT: Final = N_("no findings: the run looks healthy so far")
EARLIER_ONLY_TEXT: Final = N_("no active findings (earlier ones listed below)")
"""A run whose findings all cleared is not "healthy so far": what happened is listed."""
NOTHING_YET_TEXT: Final = N_(
    "nothing to judge yet: no metric records read so far. If the log has metrics, "
    "`trainmon report LOG --explain` shows how its lines were read, and --pattern REGEX "
    "teaches trainmon its format (`trainmon formats` lists the known ones)"
)
"""Shown instead of EMPTY_TEXT while no record was read: no records is not a healthy run."""
HISTORY_SHOWN: Final = 5


def sort_items(items: Sequence[AdviceItem]) -> tuple[AdviceItem, ...]:
    """Most severe first, then earliest step, then rule id (stable for equal findings)."""
    return tuple(
        sorted(
            items,
            key=lambda item: (
                -SEVERITY_RANK[item[1].severity],
                item[1].step if item[1].step is not None else -1,
                item[1].rule,
                item[0],
            ),
        )
    )


DETAIL_MAX_CHARS: Final = 1000
"""Evidence and advice quote metric names from the log: a huge name must not turn the
detail into thousands of wrapped lines."""


def _shown(text: str) -> str:
    """A finding's evidence or advice as the detail shows it: safe, and bounded."""
    return shorten(terminal_safe_lines(text), DETAIL_MAX_CHARS)


class AdvicePanel(Vertical):
    """Active findings (selectable), the selected finding's detail, and the history."""

    DEFAULT_CSS = """
    AdvicePanel {
        height: 1fr;
    }
    AdvicePanel > #advice-list {
        height: auto;
        max-height: 60%;
        border: none;
        padding: 0;
        background: transparent;
    }
    AdvicePanel > #advice-detail {
        height: auto;
    }
    AdvicePanel > #advice-history {
        height: auto;
        color: $text-muted;
    }
    AdvicePanel > #advice-empty {
        color: $text-muted;
        text-style: italic;
    }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._active: tuple[AdviceItem, ...] = ()
        self._history: tuple[AdviceItem, ...] = ()
        self._muted: tuple[str, ...] = ()
        self._notes: tuple[str, ...] = ()
        self._judged = False
        self._closest: str | None = None
        self._lines_key: tuple[str, ...] | None = None
        self._shown: dict[str, str] = {}
        self._last_seen: dict[str, AdviceItem] = {}
        """The newest finding of each rule shown: a muted rule's row and details show it."""
        """The text each Static shows now (as markup, to compare styles too)."""
        self.counts = WorkCounts()

    def compose(self) -> ComposeResult:
        """The list, the detail of the selection, the history, and the empty state."""
        yield Static(Text(_(NOTHING_YET_TEXT)), id="advice-empty")
        option_list = OptionList(id="advice-list")
        option_list.display = False
        yield option_list
        yield Static(Text(""), id="advice-detail")
        yield Static(Text(""), id="advice-history")

    # -- state ---------------------------------------------------------------------------------

    @property
    def active(self) -> tuple[AdviceItem, ...]:
        """The active findings as shown, most severe first."""
        return self._active

    @property
    def history(self) -> tuple[AdviceItem, ...]:
        """Findings that were active earlier, newest first."""
        return self._history

    @property
    def muted(self) -> tuple[str, ...]:
        """The muted rules, listed (dimmed) below the active findings."""
        return self._muted

    def _highlighted(self) -> int:
        index = self.query_one("#advice-list", OptionList).highlighted if self.is_mounted else None
        rows = len(self._active) + len(self._muted)
        return index if index is not None and 0 <= index < rows else 0

    @property
    def selected(self) -> AdviceItem | None:
        """The highlighted finding (the first one when nothing was highlighted yet); None
        when a muted rule's row is highlighted."""
        if not self._active:
            return None
        index = self._highlighted()
        return self._active[index] if index < len(self._active) else None

    @property
    def selected_muted(self) -> str | None:
        """The muted rule whose row is highlighted, if one is."""
        index = self._highlighted() - len(self._active)
        return self._muted[index] if 0 <= index < len(self._muted) else None

    def muted_item(self, rule: str) -> AdviceItem | None:
        """The newest finding of a muted rule that the pane showed (None: never shown)."""
        return self._last_seen.get(rule)

    def select_next(self, direction: int) -> None:
        """Move the selection down (+1) or up (-1), and give the list the keys."""
        option_list = self.query_one("#advice-list", OptionList)
        option_list.focus()
        if direction > 0:
            option_list.action_cursor_down()
        else:
            option_list.action_cursor_up()

    def show(
        self,
        active: Sequence[AdviceItem],
        history: Sequence[AdviceItem] = (),
        muted: Sequence[str] = (),
        notes: Sequence[str] = (),
        judged: bool = True,
        closest: str | None = None,
    ) -> bool:
        """Show these findings; returns False (and repaints nothing) when nothing changed.

        Args:
            active: the active findings with their run labels.
            history: findings that fired and cleared, newest first.
            muted: muted rule ids (listed, so a mute can be noticed and undone).
            notes: context lines such as the recognised LR schedule.
            judged: whether any metric record was read (else "nothing to judge yet").
            closest: with nothing judged, the known format nearest to the log's lines.
        """
        new = (sort_items(active), tuple(history), tuple(muted), tuple(notes))
        if new == (self._active, self._history, self._muted, self._notes) and (
            (judged, closest) == (self._judged, self._closest)
        ):
            return False
        self._judged, self._closest = judged, closest
        previous = self._selection_key()
        self._active, self._history, self._muted, self._notes = new
        for item in (*self._active, *self._history):
            self._last_seen[item[1].rule] = item
        self.counts.updates += 1
        if self.is_mounted:
            self._rebuild(previous)
        return True

    def on_mount(self) -> None:
        """Draw what was given before mounting, and follow theme changes."""
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())
        self._rebuild(None)

    # -- drawing -------------------------------------------------------------------------------

    def _restyle(self) -> None:
        """A new theme: redraw everything with its colours."""
        self._lines_key = None
        self._shown.clear()
        self._rebuild(self._selection_key())

    def _severity_style(self, severity: Severity) -> Style:
        try:
            value = self.app.theme_variables.get(SEVERITY_VARS[severity])
            if value:
                return Style(color=Color.parse(value).rich_color, bold=severity != "info")
        except Exception:  # an unparsable theme value: fall back to plain bold
            pass
        return Style(bold=True)

    def finding_line(self, item: AdviceItem) -> Text:
        """One list line: icon, title, run and step (plain text, never markup)."""
        run, finding = item
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(
            SEVERITY_ICONS[finding.severity] + " ", style=self._severity_style(finding.severity)
        )
        text.append(terminal_safe(finding.title))
        where = []
        if run:
            where.append(terminal_safe(run))
        if finding.step is not None:
            where.append(_("step {step}").format(step=finding.step))
        if where:
            text.append("  " + " · ".join(where), style="dim")
        return text

    def detail_text(self, item: AdviceItem | None) -> Text:
        """Evidence and remedy of the selected finding."""
        if item is None:
            return Text("")
        _run, finding = item
        text = Text(end="")
        if finding.evidence:
            text.append(_shown(finding.evidence), style="italic")
        if finding.advice:
            if text.plain:
                text.append("\n")
            text.append("→ " + _shown(finding.advice))
        text.append(
            f"\n[{terminal_safe(finding.rule)}] " + _("enter: details · m: mute this rule"),
            style="dim",
        )
        return text

    def muted_line(self, rule: str) -> Text:
        """A muted rule's list line: dimmed, with its last finding's title when one was shown."""
        text = Text(no_wrap=True, overflow="ellipsis", end="", style="dim")
        seen = self._last_seen.get(rule)
        text.append(_("(muted) ") + terminal_safe(seen[1].title if seen else rule))
        return text

    def muted_detail(self, rule: str) -> Text:
        return Text(
            f"[{terminal_safe(rule)}] "
            + _("muted: its findings are hidden · enter: details · m: unmute"),
            style="dim",
            end="",
        )

    def history_text(self) -> Text:
        """The newest resolved findings, and how many rules are muted."""
        text = Text(end="")
        for note in self._notes:
            if text.plain:
                text.append("\n")
            text.append(terminal_safe_lines(note))
        if self._history:
            if text.plain:
                text.append("\n")
            text.append(_("earlier ({count}):").format(count=len(self._history)), style="bold")
            for run, finding in self._history[:HISTORY_SHOWN]:
                step = f" @ {finding.step}" if finding.step is not None else ""
                prefix = f"{run}: " if run else ""
                text.append("\n  " + terminal_safe(f"{prefix}{finding.title}{step}"))
        if self._muted:
            if text.plain:
                text.append("\n")
            text.append(
                terminal_safe(
                    _("muted: {count} rule(s), listed dimmed above").format(count=len(self._muted))
                )
            )
        return text

    def _selection_key(self) -> tuple[str, str] | None:
        """(run, rule) of the highlighted row, to keep it highlighted across updates."""
        if not self.is_mounted:
            return None
        muted = self.selected_muted
        if muted is not None:
            return ("", muted)
        item = self.selected
        return (item[0], item[1].rule) if item is not None else None

    def _rebuild(self, previous: tuple[str, str] | None) -> None:
        """Update only the parts whose text changed: replacing the options repaints the
        whole pane, which over SSH is most of what an update costs."""
        option_list = self.query_one("#advice-list", OptionList)
        empty = self.query_one("#advice-empty", Static)
        lines = [self.finding_line(item) for item in self._active]
        lines += [self.muted_line(rule) for rule in self._muted]
        key = tuple(line.markup for line in lines)
        if key != self._lines_key:
            old, self._lines_key = self._lines_key, key
            if old is not None and len(old) == len(key) == option_list.option_count:
                # The same number of rows (new evidence, a later step): their text only,
                # without the layout that replacing the options costs.
                for index, (was, line) in enumerate(zip(old, lines, strict=True)):
                    if was != line.markup:
                        option_list.replace_option_prompt_at_index(index, line)
            else:
                option_list.clear_options()
                option_list.add_options([Option(line) for line in lines])
            if lines:
                index = 0
                if previous is not None:
                    for i, (run, finding) in enumerate(self._active):
                        if (run, finding.rule) == previous:
                            index = i
                            break
                    else:
                        if previous[1] in self._muted:
                            index = len(self._active) + self._muted.index(previous[1])
                if option_list.highlighted != index:
                    option_list.highlighted = index
        has_findings = bool(lines)
        if option_list.display != has_findings:
            option_list.display = has_findings
        if empty.display == has_findings:
            empty.display = not has_findings
        if not has_findings:
            self._update_static("#advice-empty", Text(self._empty_text()))
        self._show_detail()
        self._update_static("#advice-history", self.history_text())

    def _empty_text(self) -> str:
        if self._judged and self._history:
            return _(EARLIER_ONLY_TEXT)
        if self._judged:
            return _(EMPTY_TEXT)
        if self._closest:
            return _("{nothing_yet}. Closest known format: {format}").format(
                nothing_yet=_(NOTHING_YET_TEXT), format=terminal_safe(self._closest)
            )
        return _(NOTHING_YET_TEXT)

    def _update_static(self, selector: str, text: Text) -> None:
        """Replace a Static's text only when it differs (an update repaints it).

        A `Static.update` lays out the whole screen by default, which cost more than the rest
        of a record's update put together; new evidence numbers rarely change the height, so
        the layout is asked for only when the text's height at the pane's width changed.
        """
        if self._shown.get(selector) == text.markup:
            return
        self._shown[selector] = text.markup
        static = self.query_one(selector, Static)
        width = static.content_size.width
        if not static.display or width <= 0:
            static.update(text)
            return
        height = static.content_size.height
        static.update(text, layout=False)
        if static.get_content_height(static.size, static.size, width) != height:
            static.refresh(layout=True)

    def _show_detail(self) -> None:
        muted = self.selected_muted
        detail = self.muted_detail(muted) if muted else self.detail_text(self.selected)
        self._update_static("#advice-detail", detail)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter (or a double click) on a row: its details."""
        event.stop()
        self.app.call_later(self.app.run_action, "finding_details")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """Follow the selection with the detail text."""
        event.stop()
        self._show_detail()
