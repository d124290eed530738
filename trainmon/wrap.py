"""A training command run by trainmon in a pseudo-terminal, its output saved to a log file.

`trainmon -- python train.py --lr 3e-4`: the command gets a pseudo-terminal of the caller's
size for its standard output and error (so tqdm and Rich draw as in a terminal), in a session
of its own with that terminal as its controlling one. Everything it prints is appended byte
for byte to the log (output post-processing is off, so `\\n` stays `\\n`), and the dashboard
follows that file like any other log: one road for every input.

The command is trainmon's child, so its pid and its exit status are known exactly. Its end is
waited for without reaping it (`waitid(WNOWAIT)`), so the process tracker still reads the
exact status of the zombie; it is reaped when trainmon is done with it.

Closing the terminal's master side would hang up the command (SIGHUP), so on detach the
master is handed to the same background copier that pipe mode uses (`python -m
trainmon.pipe`), which keeps appending to the same open log file until the command ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from trainmon.pipe import DEFAULT_DIR, StdinCopy, write_all
from trainmon.sources.process import signal_name
from trainmon.sources.samples import ExitStatus

OUTPUT_WAIT_S: Final = 5.0
"""After the command's end, how long its output may take to reach the log before the terminal
is closed anyway."""
DEFAULT_SIZE: Final = (80, 24)
"""Columns and rows of the command's terminal when trainmon itself has none."""


def default_command_log(
    command: Sequence[str], now: datetime | None = None, directory: str = DEFAULT_DIR
) -> str:
    """`./trainmon-logs/<program>-YYYYmmdd-HHMMSS.log` (local time), as pipe mode names its
    `stdin-` files; `-2`, `-3`, ... before `.log` when runs start within the same second."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    program = os.path.basename(command[0]) if command else "command"
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in program)[:40] or "command"
    path = os.path.join(directory, f"{safe}-{stamp}.log")
    number = 1
    while os.path.exists(path):
        number += 1
        path = os.path.join(directory, f"{safe}-{stamp}-{number}.log")
    return path


def terminal_size() -> tuple[int, int]:
    """The size of the terminal trainmon runs in (columns, rows), else `DEFAULT_SIZE`."""
    for stream in (sys.__stdout__, sys.__stderr__, sys.__stdin__):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if stream is not None:
                size = os.get_terminal_size(stream.fileno())
                if size.columns > 0 and size.lines > 0:
                    return (size.columns, size.lines)
    return DEFAULT_SIZE


@dataclass(frozen=True, slots=True)
class CommandEnd:
    """How the command ended: its exit status, or the signal that killed it."""

    returncode: int | None
    """The exit status (0-255), or None when a signal ended it."""
    signal_number: int | None = None

    @property
    def exit_code(self) -> int:
        """What trainmon exits with: the command's status, or 128 + the signal (the shell's
        convention)."""
        if self.signal_number is not None:
            return 128 + self.signal_number
        return self.returncode or 0

    @property
    def signal_name(self) -> str | None:
        return None if self.signal_number is None else signal_name(self.signal_number)

    @property
    def status(self) -> ExitStatus:
        """The end as the process tracker records it (codes, worded where it is shown)."""
        return ExitStatus(code=self.returncode, signal=self.signal_name)

    @property
    def text(self) -> str:
        """`exit status 1` or `killed by SIGKILL`, as the process tracker words it."""
        return self.status.text


class PtyCopy(StdinCopy):
    """The pipe copy of `trainmon.pipe`, reading a pseudo-terminal's master side instead; it
    can also pass every chunk through to another descriptor (`--headless` prints it)."""

    def __init__(self, master_fd: int, path: str, passthrough_fd: int | None = None) -> None:
        super().__init__(master_fd, path)
        self._passthrough_fd = passthrough_fd

    def _save(self, data: bytes) -> None:
        super()._save(data)
        if self._passthrough_fd is not None:
            try:
                write_all(self._passthrough_fd, data)
            except OSError:
                self._passthrough_fd = None  # a closed stdout must not stop the saving


def _controlling_terminal() -> None:
    """In the child, after `setsid`: its standard output (the pty) becomes its terminal."""
    fcntl.ioctl(1, termios.TIOCSCTTY, 0)


def _open_pty(size: tuple[int, int]) -> tuple[int, int]:
    """A pty pair (master, slave) of `size`, output post-processing off (bytes kept as is)."""
    master, slave = os.openpty()
    columns, rows = size
    with contextlib.suppress(OSError):
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST  # no `\n` -> `\r\n`: the log holds what the command wrote
    attrs[3] &= ~termios.ECHO  # nothing is typed into it; nothing should echo
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    os.set_inheritable(master, False)
    return master, slave


def command_problem(command: Sequence[str]) -> str | None:
    """Why `command` cannot be started (one line), or None when its program is found."""
    if not command:
        return "no command after --"
    program = command[0]
    if os.sep in program:
        if not os.path.exists(program):
            return f"{program}: no such file"
        if os.path.isdir(program) or not os.access(program, os.X_OK):
            return f"{program}: not executable"
        return None
    if shutil.which(program) is None:
        return f"{program}: command not found"
    return None


class WrappedCommand:
    """The command in its pty, the copy of its output into the log, and its end.

    `start()` launches it; `end` is set (from a waiter thread) once it has exited; `reap()`
    collects the zombie. `interrupt()` sends SIGINT to its process group, as Ctrl-C in a
    terminal would; `detach()` hands the output over to a background copier.
    """

    def __init__(
        self,
        command: Sequence[str],
        log_path: str,
        *,
        size: tuple[int, int] | None = None,
        passthrough_fd: int | None = None,
    ) -> None:
        """Open the log (raises OSError when it cannot be created); nothing runs yet."""
        self.command = tuple(command)
        self._size = size or terminal_size()
        self._master, self._slave = _open_pty(self._size)
        try:
            self.copy = PtyCopy(self._master, log_path, passthrough_fd)
        except OSError:
            os.close(self._master)
            os.close(self._slave)
            raise
        self.path = self.copy.path
        self.process: subprocess.Popen[bytes] | None = None
        self.end: CommandEnd | None = None
        """Set once the command has exited (the zombie is left for `reap`)."""
        self.ended = threading.Event()
        self._reaped = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> WrappedCommand:
        """Start the command and the copy; raises OSError when it cannot be executed."""
        try:
            with open(os.devnull, "rb") as devnull:
                self.process = subprocess.Popen(
                    self.command,
                    stdin=devnull,  # keys go to the dashboard; a prompt gets end of input
                    stdout=self._slave,
                    stderr=self._slave,
                    start_new_session=True,
                    preexec_fn=_controlling_terminal,
                    close_fds=True,
                )
        finally:
            os.close(self._slave)  # the master reads EIO once the command's side is closed
        self.copy.start()
        threading.Thread(target=self._wait, name="trainmon-command", daemon=True).start()
        return self

    def _wait(self) -> None:
        """Wait for the exit without reaping, so the exact status stays readable."""
        assert self.process is not None
        pid = self.process.pid
        while True:
            try:
                info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            except InterruptedError:
                continue
            except ChildProcessError:  # reaped elsewhere: ask Popen
                code = self.process.wait()
                self._ended(CommandEnd(code, None) if code >= 0 else CommandEnd(None, -code))
                return
            if info is None:
                continue
            if info.si_code == os.CLD_EXITED:
                self._ended(CommandEnd(info.si_status))
            else:
                self._ended(CommandEnd(None, info.si_status))
            return

    def _ended(self, end: CommandEnd) -> None:
        self.end = end
        self.ended.set()

    def wait(self, timeout: float | None = None) -> CommandEnd | None:
        """Block until the command has exited (None when `timeout` passed first)."""
        if not self.ended.wait(timeout):
            return None
        return self.end

    def wait_output(self, timeout: float = OUTPUT_WAIT_S) -> bool:
        """After the end: wait until its output is all in the log (the pty's master reads
        end of input once no process holds the terminal); False when some process still
        does after `timeout` (a leftover grandchild, hung up by `close()`)."""
        return self.copy.wait_closed(timeout)

    def interrupt(self, signum: int = signal.SIGINT) -> None:
        """Send `signum` (Ctrl-C's SIGINT by default) to the command's process group."""
        if self.process is None or self.end is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def reap(self) -> None:
        """Collect the exited command (its zombie stays until then)."""
        if self.process is not None and self.end is not None and not self._reaped:
            self._reaped = True
            with contextlib.suppress(ChildProcessError):
                self.process.wait()

    def detach(self) -> int | None:
        """Hand the pty to a background copier; its pid, or None when the command is done."""
        return self.copy.detach()

    def close(self) -> None:
        """Stop copying and close the pty: a command still running is hung up (SIGHUP)."""
        self.copy.close()
