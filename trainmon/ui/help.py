"""The help screen: every key the dashboard answers to, generated from the bindings.

Generated rather than written out, so the list can never drift from what the keys do.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from trainmon.i18n import N_, _
from trainmon.ui.bindings_text import TranslatedBindings
from trainmon.ui.framed_modal import FramedModal

EXTRA_KEYS: tuple[tuple[str, str], ...] = (
    ("click", N_("select a finding in the advice pane (as ↑ / ↓ do)")),
    ("ctrl+p", N_("command palette (themes, screenshots, every action)")),
    ("escape / ? / q", N_("close this help")),
)
"""Keys handled by Textual itself or by focused widgets, not by the app's bindings."""


def key_label(binding: Binding) -> str:
    """A binding's keys as people type them (`space / p`)."""
    keys = [k.strip() for k in binding.key.split(",")]
    display = {"question_mark": "?", "space": "space", "ctrl+s": "ctrl+s", "up": "↑", "down": "↓"}
    return " / ".join(display.get(k, k) for k in keys)


def help_rows(bindings: list[Binding]) -> list[tuple[str, str]]:
    """(keys, what they do) for every binding with a description, then the extra keys."""
    rows = [(key_label(b), _(b.tooltip or b.description)) for b in bindings if b.description]

    rows.extend((keys, _(text)) for keys, text in EXTRA_KEYS)
    return rows


class HelpScreen(TranslatedBindings, FramedModal[None]):
    """A modal list of keys; any of escape, `?` or `q` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss_help", N_("close help"), show=False),
    ]

    DEFAULT_CSS = """
    HelpScreen > VerticalScroll {
        width: 76;
    }
    HelpScreen #help-table {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        """The key table."""
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for keys, description in self.rows:
            table.add_row(Text(keys), Text(description))
        with VerticalScroll() as scroll:
            scroll.border_title = _("trainmon keys")
            yield Static(table, id="help-table")

    def action_dismiss_help(self) -> None:
        """Close the help screen."""
        self.dismiss(None)
