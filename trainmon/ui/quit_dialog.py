"""The question `q` asks when the log comes through a pipe: detach, close the pipe, or stay.

Quitting closes the pipe, and the next write of the training process then fails with a
broken pipe, which kills most training scripts. So in pipe mode `q` (and Ctrl-C) asks first;
detaching is the default (Enter), because it is the answer that can never harm the run.

A command that trainmon runs (`trainmon -- CMD`) would be hung up the same way: there the
choices are detach (Enter), interrupt the run (`i`: Ctrl-C's SIGINT to the command, and the
dashboard stays to show how it ends), or stay.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from trainmon.i18n import N_, _
from trainmon.ui.bindings_text import TranslatedBindings
from trainmon.ui.framed_modal import FramedModal

QuitChoice = Literal["detach", "close"]
"""`detach`: a background process keeps saving the pipe; `close`: the pipe closes."""
DialogChoice = Literal["detach", "close", "interrupt"]
"""A quit choice, or `interrupt` (a command's run is interrupted; nothing quits)."""


class QuitDialog(TranslatedBindings, FramedModal[DialogChoice | None]):
    """Enter or `d` detaches, `k` quits and closes the pipe (`i` interrupts a command),
    Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,d", "choose('detach')", N_("detach"), show=False),
        Binding("k", "choose('close')", N_("close the pipe"), show=False),
        Binding("i", "choose('interrupt')", N_("interrupt the run"), show=False),
        Binding("escape", "choose('')", N_("cancel"), show=False),
    ]

    DEFAULT_CSS = """
    QuitDialog > Vertical {
        width: 72;
        border: round $warning;
        border-title-color: $warning;
    }
    QuitDialog Static {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, log_path: str, command: str | None = None) -> None:
        """`command`: the command trainmon runs (shown as plain text), None in pipe mode."""
        super().__init__()
        self.log_path = log_path
        self.command = command

    def compose(self) -> ComposeResult:
        """Why it asks, and the three keys."""
        if self.command is None:
            why = _(
                "The log comes through a pipe. Closing it makes the training process's next "
                "write fail (broken pipe), which usually kills it."
            )
            detach = _("detach: keep saving the pipe to {path} in the background, then quit")
            other = ("k", _("quit and close the pipe"))
        else:
            why = _(
                "trainmon runs the training command in its own terminal: quitting without "
                "detaching would hang it up."
            )
            detach = _("detach: the run goes on, its output saved to {path}; quit")
            other = (
                "i",
                _("interrupt the run (Ctrl-C to {command}) and stay").format(command=self.command),
            )
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style="bold", no_wrap=True)
        keys.add_column()
        keys.add_row(Text("Enter / d"), Text(detach.format(path=self.log_path)))
        keys.add_row(Text(other[0]), Text(other[1]))
        keys.add_row(Text("Escape"), Text(_("stay")))
        with Vertical() as box:
            box.border_title = _("quit trainmon?")
            yield Static(Text(why + "\n", end=""), id="quit-why")
            yield Static(keys, id="quit-keys")

    def action_choose(self, choice: str) -> None:
        """Close the dialog with the choice ('' for cancel); keys of the other mode do
        nothing (`k` never closes a command's terminal, `i` has nothing to interrupt)."""
        if choice == "detach":
            self.dismiss("detach")
        elif choice == "close" and self.command is None:
            self.dismiss("close")
        elif choice == "interrupt" and self.command is not None:
            self.dismiss("interrupt")
        elif choice == "":
            self.dismiss(None)
