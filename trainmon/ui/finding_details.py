"""A finding in full: the modal that Enter opens on the advice pane's selection.

The side pane is narrow (a 60-column tmux pane leaves it a title per line), so the evidence
and the remedy are read here, labelled as `trainmon report` prints them, with the finding's
steps and how often it came back. `m` mutes or unmutes its rule from inside the modal, so a
mute can be undone by keys alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from trainmon.advice.recurrence_text import episodes_in
from trainmon.i18n import N_, _
from trainmon.records import Finding
from trainmon.text import shorten, terminal_safe, terminal_safe_lines
from trainmon.ui.bindings_text import TranslatedBindings
from trainmon.ui.framed_modal import FramedModal

DETAIL_MAX_CHARS = 4000
"""Evidence quotes metric names from the log: bounded, so a huge name stays readable."""


@dataclass(frozen=True, slots=True)
class Occurrences:
    """When a finding started, when it was last seen starting again, and how many times."""

    first: int | None
    last: int | None
    count: int


def occurrences(finding: Finding) -> Occurrences:
    """The finding's first and last episode and their count (one episode unless it recurred)."""
    found = episodes_in(finding.evidence)
    if found is None:
        return Occurrences(finding.step, finding.step, 1)
    count, _first, last = found
    return Occurrences(finding.step, int(last) if last.isdigit() else None, count)


def _step(step: int | None) -> str:
    return "–" if step is None else str(step)


def details_table(run: str, rule: str, finding: Finding | None, muted: bool) -> Table:
    """The labelled fields of a finding (or of a muted rule whose finding was not seen)."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    if finding is not None:
        table.add_row("", Text(terminal_safe(finding.title), style="bold"))
        table.add_row(_("severity:"), Text(finding.severity))
    table.add_row(_("rule:"), Text(terminal_safe(rule)))
    if run:
        table.add_row(_("run:"), Text(terminal_safe(run)))
    if finding is not None:
        seen = occurrences(finding)
        table.add_row(_("first step:"), Text(_step(seen.first)))
        if seen.count > 1:
            table.add_row(_("last step:"), Text(_step(seen.last)))
        table.add_row(_("count:"), Text(str(seen.count)))
        for label, value in ((_("evidence:"), finding.evidence), (_("advice:"), finding.advice)):
            if value:
                table.add_row(label, Text(shorten(terminal_safe_lines(value), DETAIL_MAX_CHARS)))
    state = _("muted: its findings are hidden (it is still evaluated)") if muted else _("shown")
    table.add_row(_("status:"), Text(state))
    return table


class FindingDetails(TranslatedBindings, FramedModal[None]):
    """One finding's full text; `m` mutes / unmutes its rule, Escape, Enter or `q` closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", N_("close"), show=False),
        Binding("m", "toggle_mute", N_("mute / unmute"), show=False),
    ]

    DEFAULT_CSS = """
    FindingDetails > VerticalScroll {
        width: 90;
        border-subtitle-color: $text-muted;
    }
    FindingDetails #details-body {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(
        self,
        run: str,
        rule: str,
        finding: Finding | None,
        *,
        muted: bool,
        set_muted: Callable[[str, bool], None],
    ) -> None:
        """Show `finding` (None: a muted rule whose finding this session never showed).

        `set_muted(rule, muted)` is the dashboard's own mute, called by `m`.
        """
        super().__init__()
        self.run_label = run
        self.rule = rule
        self.finding = finding
        self.muted = muted
        self._set_muted = set_muted

    def compose(self) -> ComposeResult:
        """The labelled fields, and the keys in the frame's subtitle."""
        with VerticalScroll() as scroll:
            scroll.border_title = _("finding")
            scroll.border_subtitle = self._keys()
            yield Static(self._table(), id="details-body")

    def _table(self) -> Table:
        return details_table(self.run_label, self.rule, self.finding, self.muted)

    def _keys(self) -> str:
        return _("m: unmute · esc: close") if self.muted else _("m: mute · esc: close")

    def action_toggle_mute(self) -> None:
        """Mute the rule, or unmute it; the modal stays open and says which."""
        self.muted = not self.muted
        self._set_muted(self.rule, self.muted)
        self.query_one("#details-body", Static).update(self._table())
        self.query_one(VerticalScroll).border_subtitle = self._keys()

    def action_close(self) -> None:
        """Back to the dashboard."""
        self.dismiss(None)
