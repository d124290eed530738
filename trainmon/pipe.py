"""Standard input saved to a log file, and handed to a detached drainer when trainmon quits.

`python train.py 2>&1 | trainmon -`: a copy thread appends every byte of the pipe to a log
file, and the dashboard follows that file like any other log (one road for every input).
Quitting would close the pipe and kill the writer with a broken pipe, so the user may
detach instead: the pipe's read end is handed to a small process (`python -m trainmon.pipe`,
in a new session, holding no terminal) that keeps appending until the writer closes it.

The handover loses and duplicates nothing: the copy thread only stops between chunks, after
the chunk it read is written; the drainer then reads on from the pipe and appends (O_APPEND)
to the same open file. Bytes the writer wrote meanwhile wait in the pipe for the drainer.

A write error (a full disk) never stops the reading: the writer must not block or break
because the copy failed; the lost bytes are counted and said.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import signal
import subprocess
import sys
import threading
from datetime import datetime
from typing import Final

from trainmon.i18n import _, ngettext

DEFAULT_DIR: Final = "trainmon-logs"
CHUNK_BYTES: Final = 1 << 16
"""Bytes read from the pipe at a time (a Linux pipe buffer holds 64 KiB)."""


def default_log_path(now: datetime | None = None, directory: str = DEFAULT_DIR) -> str:
    """`./trainmon-logs/stdin-YYYYmmdd-HHMMSS.log` (local time)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return os.path.join(directory, f"stdin-{stamp}.log")


def open_log(path: str) -> int:
    """Open (create) the log for appending, creating its folder; raises OSError (naming it)."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, 0o644)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (os.write may write only part); raises OSError."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class StdinCopy:
    """Copies a pipe into a log file on its own thread; `detach()` hands the pipe over.

    Owns the pipe descriptor and the log descriptor. The thread sleeps in `select` until
    the pipe has data or `stop()` wakes it, so an idle pipe costs nothing.
    """

    def __init__(self, pipe_fd: int, path: str) -> None:
        """Open the log (raises OSError when it cannot be created); nothing is read yet."""
        self.path = path
        self._log_fd = open_log(path)
        self._pipe_fd = pipe_fd
        self._wake_r, self._wake_w = os.pipe()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bytes_copied = 0
        self.bytes_lost = 0
        """Bytes read but not written (the log could not be written): said, never silent."""
        self.error: str | None = None
        self.closed = False
        """The writer closed the pipe: everything it wrote is in the file."""
        self.detached_pid: int | None = None
        """The drainer's pid once `detach()` handed the pipe over."""

    def pipe_name(self) -> str | None:
        """The pipe as /proc names it (`pipe:[1234]`): its writer holds the same name."""
        try:
            return os.readlink(f"/proc/self/fd/{self._pipe_fd}")
        except OSError:
            return None

    def start(self) -> StdinCopy:
        """Start copying on a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="trainmon-stdin", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._pipe_fd, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                ready = {key.fd for key, _ in selector.select()}
                if self._stop.is_set():
                    break  # stop between chunks: what was read is written
                if self._pipe_fd not in ready:
                    continue
                try:
                    data = os.read(self._pipe_fd, CHUNK_BYTES)
                except OSError as exc:
                    if exc.errno != errno.EIO:  # a pty's master: its end of input
                        self.error = _("standard input: {reason}").format(
                            reason=exc.strerror or exc
                        )
                    self.closed = True
                    return
                if not data:
                    self.closed = True
                    return
                self._save(data)
        finally:
            selector.close()

    def _save(self, data: bytes) -> None:
        try:
            write_all(self._log_fd, data)
            self.bytes_copied += len(data)
        except OSError as exc:
            self.bytes_lost += len(data)
            lost = ngettext(
                "{path}: {reason} ({count} byte lost)",
                "{path}: {reason} ({count} bytes lost)",
                self.bytes_lost,
            )
            self.error = lost.format(
                path=self.path, reason=exc.strerror or exc, count=self.bytes_lost
            )

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait until the writer has closed its end and everything is copied; True if so."""
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return self.closed

    def stop(self) -> None:
        """Stop copying after the chunk in hand is written (the pipe stays open)."""
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def detach(self) -> int | None:
        """Hand the pipe to a background drainer that appends to the same file.

        Returns the drainer's pid, or None when there is nothing to drain (the pipe closed).
        Raises OSError when the drainer cannot start (the pipe is then still ours).
        """
        self.stop()
        if self.detached_pid is not None:
            return self.detached_pid
        if self.closed or self._pipe_fd < 0:
            return None
        # Importable from "/" too when trainmon runs from a source tree, not an install.
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        drainer = subprocess.Popen(
            [sys.executable, "-m", "trainmon.pipe"],
            stdin=self._pipe_fd,
            stdout=self._log_fd,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # no controlling terminal: a closed terminal cannot hang it up
            close_fds=True,
            cwd="/",  # holds no folder of the user's busy
            env={**os.environ, "PYTHONPATH": path},
        )
        self.detached_pid = drainer.pid
        self._close_pipe()
        return drainer.pid

    @property
    def released(self) -> bool:
        """The pipe is no longer ours (handed over or closed)."""
        return self._pipe_fd < 0

    def _close_pipe(self) -> None:
        if self._pipe_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._pipe_fd)
            self._pipe_fd = -1

    def close(self) -> None:
        """Stop and close everything: a writer still writing then gets a broken pipe."""
        self.stop()
        self._close_pipe()
        for fd in (self._log_fd, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._log_fd = self._wake_r = self._wake_w = -1


def drain(source_fd: int = 0, log_fd: int = 1) -> int:
    """Copy `source_fd` to `log_fd` until end of input; returns the bytes written.

    A write error does not stop the reading (the writer must never block on a full pipe);
    from then on the bytes are dropped.
    """
    written = 0
    broken = False
    while True:
        try:
            data = os.read(source_fd, CHUNK_BYTES)
        except InterruptedError:
            continue
        except OSError as exc:
            if exc.errno == errno.EIO:  # a pty's master once the command has exited
                return written
            raise
        if not data:
            return written
        if broken:
            continue
        try:
            write_all(log_fd, data)
            written += len(data)
        except OSError:
            broken = True


def main() -> int:
    """The detached drainer: standard input to standard output until the writer is done."""
    for name in ("SIGHUP", "SIGINT", "SIGPIPE"):  # SIGTERM still ends it, on purpose
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)
    drain(0, 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
