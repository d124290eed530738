"""How the dashboard ends: `q`, Ctrl-C and signals, with a piped standard input kept alive.

A mixin of `TrainmonApp`, kept apart because it is the one part of the app whose mistakes can
harm the training run: quitting closes a piped standard input, and the trainer's next write
then dies of a broken pipe. So with a pipe that is still open, `q` and Ctrl-C ask (detach is
the default), and SIGTERM / SIGHUP, with no one to answer, detach. A command that trainmon
runs (`trainmon -- CMD`) is treated the same way while it runs (its terminal would hang it
up); the dialog can also interrupt it, and once it has ended `q` just quits.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from textual.app import App

from trainmon.i18n import _
from trainmon.pipe import StdinCopy
from trainmon.text import shorten, terminal_safe
from trainmon.ui.quit_dialog import DialogChoice, QuitChoice, QuitDialog
from trainmon.ui.runs import RunView
from trainmon.ui.widgets.status_bar import Level
from trainmon.wrap import WrappedCommand


class QuitHandling(App[None]):
    """`q`, Ctrl-C, signals, and the status of a piped standard input."""

    runs: list[RunView]
    _clock: Callable[[], float]

    def _init_quitting(
        self, stdin_copy: StdinCopy | None, command: WrappedCommand | None = None
    ) -> None:
        self.command = command
        """The command trainmon runs (its output copy is `stdin_copy`), or None."""
        self.stdin_copy = command.copy if command is not None else stdin_copy
        self.quit_choice: QuitChoice = "detach"
        """What becomes of a piped standard input when the app has ended: only an explicit
        `k` closes the pipe; any other end (signals included) detaches."""
        self._stdin_note = ""
        self._ui_loop: asyncio.AbstractEventLoop | None = None
        self._early_signal: int | None = None

    def _quitting_mounted(self) -> None:
        """The event loop runs: a signal that came before mounting is handled now."""
        self._ui_loop = asyncio.get_running_loop()
        if self._early_signal is not None:
            self._on_signal(self._early_signal)

    def signalled(self, signum: int) -> None:
        """Called from a signal handler: schedule the reaction on the event loop, nothing else."""
        loop = self._ui_loop
        if loop is None:
            self._early_signal = signum  # handled once mounted
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        """SIGINT acts as Ctrl-C (with a pipe, it asks); SIGTERM and SIGHUP end the app: no
        one may be there to answer, so a piped standard input is detached."""
        if signum == signal.SIGINT:
            self.call_later(self.action_quit)
            return
        self.quit_choice = "detach"
        self.exit(return_code=128 + signum)  # the shell's convention for "ended by a signal"

    async def action_quit(self) -> None:
        """Quit; when the log comes through a pipe that is still open, or from a command
        that still runs, ask first."""
        command = self.command
        if command is not None:
            if command.end is not None:
                self.exit()
            elif not isinstance(self.screen, QuitDialog):
                self.push_screen(QuitDialog(command.path, self._command_name()), self._quit_chosen)
            return
        copy = self.stdin_copy
        if copy is None or copy.closed:
            self.exit()
            return
        if isinstance(self.screen, QuitDialog):
            return
        self.push_screen(QuitDialog(copy.path), self._quit_chosen)

    def _command_name(self) -> str:
        """The command as plain text, short enough for a line."""
        assert self.command is not None
        return shorten(terminal_safe(" ".join(self.command.command)), 48)

    def _quit_chosen(self, choice: DialogChoice | None) -> None:
        if choice is None:
            return
        if choice == "interrupt":
            if self.command is not None:
                self.command.interrupt()
                sent = _("SIGINT sent to {command}").format(command=self._command_name())
                self.notify(sent, timeout=3, markup=False)
            return
        self.quit_choice = choice
        self.exit()

    def _note_stdin(self) -> bool:
        """Say in the status row when the piped input ended or could not be saved; True when
        the row changed."""
        copy = self.stdin_copy
        if copy is None:
            return False
        note = copy.error or ("end of input" if copy.closed else "")
        level: Level = "error" if copy.error else "info"
        if self.command is not None:
            note, level = self._command_note(self.command, copy)
        # A follower event (the log opened) may have cleared the row: say it again then.
        cleared = bool(note) and any(run.saved_to and not run.state for run in self.runs)
        if note == self._stdin_note and not cleared:
            return False
        self._stdin_note = note
        for run in self.runs:
            if run.saved_to:
                run.set_state(note, level, self._clock(), transient=False)
        return True

    def _command_note(self, command: WrappedCommand, copy: StdinCopy) -> tuple[str, Level]:
        """The command's state for its status row: running, or how it ended."""
        name = terminal_safe(shorten(command.command[0].rsplit("/", 1)[-1], 24))
        end = command.end
        if copy.error:
            return (copy.error, "error")
        if end is None:
            return (f"{name} running (pid {command.pid})", "info")
        level: Level = "ok" if end.exit_code == 0 else "error"
        return (f"{name} ended, exit code {end.exit_code} · q quits", level)

    def _mark_saved_stdin(self) -> None:
        """The run that follows the saved copy of standard input says where it is saved."""
        copy = self.stdin_copy
        for run in self.runs:
            if copy is not None and run.run.path == copy.path:
                run.saved_to = copy.path
