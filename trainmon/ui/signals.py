"""SIGTERM, SIGHUP and SIGINT end the dashboard the way `q` does: terminal restored, files gone.

Without handlers, SIGTERM and SIGHUP kill the process on the spot and leave the terminal raw,
in the alternate screen with mouse tracking on, and a demo's or replay's temporary copy in
/tmp. Here a signal only schedules the app's own reaction on its event loop (the handler runs
between bytecodes on the main thread, so it does nothing else); Textual's driver then tears
the terminal down as on `q`, and the launcher's clean-up runs when `App.run()` returns.

A second signal means the first did not end it (a hung event loop): the last-resort clean-up
runs right in the handler (terminal modes and escape sequences reset, temporary files
removed, a piped standard input handed over), then the signal's default action ends the
process. So a signal always ends trainmon.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Final

from trainmon.signal_handlers import handlers_installed

HANDLED: Final = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

RESET_TERMINAL: Final = (
    "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l"  # mouse tracking off
    "\x1b[?2004l"  # bracketed paste off
    "\x1b[?1004l"  # focus reports off
    "\x1b[<u"  # the keyboard protocol's mode popped
    "\x1b[?7h"  # line wrap back on
    "\x1b[?1049l"  # back to the main screen
    "\x1b[?25h"  # cursor on
)
"""What Textual's driver switches on, switched off as its own teardown does (last resort)."""


def _tty_fd() -> int | None:
    """The terminal the dashboard draws on (Textual writes to stderr), if it is one."""
    for stream in (sys.__stderr__, sys.__stdout__, sys.__stdin__):
        try:
            if stream is not None and os.isatty(stream.fileno()):
                return stream.fileno()
        except (OSError, ValueError):
            continue
    return None


def _saved_tty_mode(fd: int | None) -> list[Any] | None:
    if fd is None:
        return None
    try:
        import termios

        return termios.tcgetattr(fd)
    except (ImportError, OSError):
        return None


def restore_terminal(fd: int | None, mode: list[Any] | None) -> None:
    """Put the terminal back as it was before the dashboard (best effort, never raises)."""
    if fd is None:
        return
    with contextlib.suppress(OSError):
        os.write(fd, RESET_TERMINAL.encode())
    if mode is not None:
        with contextlib.suppress(ImportError, OSError):
            import termios

            termios.tcsetattr(fd, termios.TCSADRAIN, mode)


@contextlib.contextmanager
def signals_end_app(
    on_signal: Callable[[int], None],
    last_resort: Callable[[], None] = lambda: None,
) -> Iterator[None]:
    """Handle SIGTERM, SIGHUP and SIGINT while the block runs (main thread only).

    Args:
        on_signal: called from the handler with the signal number on the first signal; it
            must only schedule work (e.g. `loop.call_soon_threadsafe`).
        last_resort: clean-up for a second signal, before the process dies of it.
    """
    if sys.platform == "win32":  # pragma: no cover - no SIGHUP there
        yield
        return
    tty = _tty_fd()
    mode = _saved_tty_mode(tty)
    count = 0

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        if count == 1:
            on_signal(signum)
            return
        with contextlib.suppress(Exception):
            last_resort()
        restore_terminal(tty, mode)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    with handlers_installed(HANDLED, handler):
        yield
