"""A terminal driver whose input thread sleeps until a key arrives.

Textual's `LinuxDriver` wakes its input thread ten times a second, to run the key parser's
timeout check (a lone Escape becomes a key only after a pause) and to notice that the app is
exiting. Beside a training job that polling was the largest single share of an idle
dashboard's CPU (bench/README.md). This driver waits on the terminal and on a wake-up pipe
instead. The wait has no timeout unless the parser holds a half-read escape sequence, and
setting the exit flag writes to the pipe, so quitting is as quick as before.

Everything else (raw mode, mouse, resize, suspend) is the stock driver's.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from codecs import getincrementaldecoder
from collections.abc import Iterable
from typing import Final

from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

READ_BYTES: Final = 4096
FALLBACK_WAIT_S: Final = 0.1
"""The stock driver's polling period, used if the parser's deadline cannot be read."""


class WakingEvent(threading.Event):
    """A `threading.Event` that also makes a pipe readable while it is set.

    A thread blocked in `select` on `fileno()` wakes up the moment another thread calls
    `set()`; `clear()` empties the pipe again.
    """

    def __init__(self) -> None:
        super().__init__()
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)

    def fileno(self) -> int:
        """The descriptor that is readable while the event is set."""
        return self._read_fd

    def set(self) -> None:
        super().set()
        with contextlib.suppress(OSError):  # already readable (full) or closed
            os.write(self._write_fd, b"x")

    def clear(self) -> None:
        super().clear()
        with contextlib.suppress(OSError):
            while os.read(self._read_fd, 64):
                pass

    def close(self) -> None:
        """Close the pipe; the event keeps working as a plain `threading.Event`."""
        for fd in (self._read_fd, self._write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def parser_wait_s(parser: object, now: float) -> float | None:
    """How long the input thread may sleep: None (until input) unless `parser` is waiting out
    an escape sequence, then the time left until its deadline.

    The deadline is the parser's private `_timeout_time` (a `time.monotonic` value on POSIX);
    without it we fall back to the stock polling period rather than lose the Escape key.
    """
    if not hasattr(parser, "_timeout_time"):
        return FALLBACK_WAIT_S
    deadline = parser._timeout_time
    if deadline is None:
        return None
    return max(0.0, float(deadline) - now)


class QuietLinuxDriver(LinuxDriver):
    """`LinuxDriver` with an input thread that blocks instead of polling at 10 Hz."""

    def __init__(
        self,
        app: object,
        *,
        debug: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)  # type: ignore[arg-type]
        self.exit_event: WakingEvent = WakingEvent()

    def close(self) -> None:
        super().close()
        self.exit_event.close()

    def run_input_thread(self) -> None:
        """Read keys until the exit flag is set; sleep in `select` while nothing happens."""
        selector = selectors.SelectSelector()  # as the stock driver: kqueue rejects ttys
        tty = self.fileno
        selector.register(tty, selectors.EVENT_READ)
        selector.register(self.exit_event.fileno(), selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        try:
            while not self.exit_event.is_set():
                ready = selector.select(parser_wait_s(parser, time.monotonic()))
                if any(key.fd == tty for key, _ in ready):
                    data = os.read(tty, READ_BYTES)
                    if data:
                        self._deliver(parser.feed(decode(data)))
                    else:  # the terminal hung up: wait for the exit flag alone
                        selector.unregister(tty)
                self._deliver(parser.tick())
        finally:
            selector.close()
            with contextlib.suppress(EOFError, ParseError):
                for _ in parser.feed(""):  # end of input: the parser drops what it held
                    pass

    def _deliver(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.process_message(message)
