"""Follow a log like `tail -F`: complete lines only, bounded reads, truncation and rotation.

The follower is a plain object with a non-blocking `poll()` step and no threads of its own,
so the dashboard's worker thread, `trainmon stream` and `trainmon report` drive the same
code and tests can drive it one step at a time.

`poll()` returns a list whose items are either a `FollowEvent` or a `bytes` blob holding one
or more COMPLETE lines, each ending in `\\n` or `\\r` (tqdm redraws end in `\\r`; `\\r\\n` is a
line followed by an empty one). A partial last line is held back until its terminator
arrives. Each poll reads at most one chunk (`chunk_bytes`, into one reused buffer), so memory
does not grow with the file: a 1 GB history arrives as about a thousand 1 MiB polls.
`caught_up` tells the caller whether to sleep `poll_interval_s` before the next poll.

A regular file is known by its identity, not only its size: its inode, a fingerprint of its
first bytes and of the last bytes read, and its size. A trainer restarted with `>` that wrote
more than the old size between two polls is a restart, not an append. The fingerprint is
re-read (two small `pread`s) only when the size or the modification time changed, so an idle
poll is still one `stat`.

FIFOs, pipes (process substitution, `<(cat x.log)`) and `/proc` or `/sys` files are read as
streams: opened without blocking, never seeked, no size-based checks, ended cleanly at EOF (a
named FIFO whose writer has not come yet is waiting, not ended). Character and block devices
are not logs and are refused (`/dev/zero` would be an endless line, `/dev/urandom` endless
junk).

Bytes pass through untouched: decoding (and replacing invalid UTF-8) is the parser's job.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import select
import stat
import sys
import time
from collections.abc import Iterator
from typing import Final

from trainmon.i18n import _
from trainmon.records import FollowEvent

CHUNK_BYTES: Final = 1 << 20
"""Bytes read per poll: large enough for throughput, small enough to keep memory flat."""
MAX_LINE_BYTES: Final = 1 << 20
"""Longer lines are skipped (and counted): no metric line is that long, and a binary file or
a runaway print must not make the follower buffer without bound."""
POLL_INTERVAL_S: Final = 0.25
"""Sleep between polls that found nothing new: latency stays under 0.5 s, idle cost is one
`os.stat` per poll."""
HEAD_BYTES: Final = 256
"""The file's first bytes, kept as its fingerprint: a restarted trainer rewrites them (a
timestamp, a banner with another run name)."""
MARK_BYTES: Final = 64
"""The last bytes read, kept too: a restart whose head is byte-identical (the same script's
same warnings) still differs where the old run had got to."""
JUNK_CHUNKS: Final = 64
"""A stream that has fed this many chunks into one over-long line (64 MiB by default) is
junk, `cat /dev/zero | trainmon -`: it is then read one chunk per poll interval, not as fast
as it comes."""

_WOULD_BLOCK: Final = -1
"""`_read_chunk`: a stream's writer is there but has written nothing new."""
_FAILED: Final = -2
"""`_read_chunk`: the read failed (an `error` event was emitted)."""

STDIN: Final = "-"


def unsupported_kind(mode: int) -> str | None:
    """Why a file of this type (`st_mode`) cannot be followed, or None when it can.

    Regular files, FIFOs and pipes can. A device is not a log: `/dev/zero` is one endless
    line, `/dev/urandom` endless junk, a terminal belongs to its shell.
    """
    if stat.S_ISREG(mode) or stat.S_ISFIFO(mode):
        return None
    if stat.S_ISDIR(mode):
        return _("is a directory, not a log file")
    if stat.S_ISCHR(mode):
        return _("a character device, not a log file (trainmon reads files, FIFOs and pipes)")
    if stat.S_ISBLK(mode):
        return _("a block device, not a log file (trainmon reads files, FIFOs and pipes)")
    if stat.S_ISSOCK(mode):
        return _("a socket, not a log file (trainmon reads files, FIFOs and pipes)")
    return _("not a regular file, FIFO or pipe")


@functools.cache
def _pipe_device() -> int | None:
    """The device number that anonymous pipes share (Linux's pipefs), or None."""
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        return None
    try:
        return os.fstat(read_fd).st_dev
    finally:
        os.close(read_fd)
        os.close(write_fd)


@functools.cache
def _pseudo_file_devices() -> frozenset[int]:
    """Devices of the kernel's pseudo-file systems (`/proc`, `/sys`): their files are regular
    but their sizes mean nothing (0, or 4096), so they are read as streams."""
    devices: set[int] = set()
    for root in ("/proc", "/sys"):
        with contextlib.suppress(OSError):
            devices.add(os.stat(root).st_dev)
    return frozenset(devices)


def is_stream(st: os.stat_result) -> bool:
    """True for what is read as a stream: not a regular file, or a `/proc` or `/sys` file."""
    return not stat.S_ISREG(st.st_mode) or st.st_dev in _pseudo_file_devices()


def _hung_up(fd: int) -> bool:
    """True when a pipe's writers have all gone (after at least one came)."""
    if not hasattr(select, "poll"):
        return False
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    try:
        events = poller.poll(0)
    except OSError:
        return False
    return any(mask & select.POLLHUP for _, mask in events)


def _last_terminator(data: bytes | bytearray, end: int) -> int:
    """Index just past the last `\\n` or `\\r` in data[:end], or 0 when there is none."""
    return max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end)) + 1


class Follower:
    """Reads `path` from its start (or its end with `from_end`), then follows appends.

    With `follow=False` it reads what is there, yields a final unterminated line as if it
    ended in `\\n`, emits `FollowEvent("eof")` and sets `finished` (the report's mode).

    Without `follow` it reads the file it opened (a rename or a replacement of the path
    does not matter), and stops with a `truncated` event if that file is truncated or
    rewritten under it: the caller gets one version of the file, never a mix of two.

    Events: `waiting` (path missing, once; again with a detail when a followed file is
    deleted; a FIFO without a writer yet), `opened`, `truncated` (the file shrank or was
    rewritten from its start: a new segment starts at offset 0), `rotated` (the path names
    another file, or a deleted file reappeared: the old file was read to its end first),
    `error` (a directory, a device, no permission; retried quietly), `eof` (a non-followed
    read reached the end, or a stream ended).
    """

    def __init__(
        self,
        path: str,
        *,
        from_end: bool = False,
        follow: bool = True,
        chunk_bytes: int = CHUNK_BYTES,
        max_line_bytes: int = MAX_LINE_BYTES,
        poll_interval_s: float = POLL_INTERVAL_S,
        start: int = 0,
        stop: int | None = None,
        binary: bool = False,
    ) -> None:
        if chunk_bytes < 1 or max_line_bytes < 1:
            raise ValueError("chunk_bytes and max_line_bytes must be positive")
        if (start or stop is not None) and follow:
            raise ValueError("a byte range (start/stop) is only for follow=False")
        self.path = path
        self.from_end = from_end
        self.follow = follow
        self.chunk_bytes = chunk_bytes
        self.max_line_bytes = max_line_bytes
        self.poll_interval_s = poll_interval_s
        self._buf = bytearray(chunk_bytes)
        self._view = memoryview(self._buf)
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None
        self._offset = 0
        self._pending = b""
        self._skipping = False
        """Inside an over-long line: drop bytes until its terminator."""
        self._seekable = False
        self._stream = False
        """The open file is read as a stream: no seek, no size checks, EOF ends it."""
        self._named_fifo = False
        """A named FIFO, which may not have a writer yet (an anonymous pipe always had one)."""
        self._writer_seen = False
        self._junk_chunks = 0
        """Chunks in a row that only extended an over-long line (see JUNK_CHUNKS)."""
        self._seen: tuple[int, int] = (0, 0)
        """(size, mtime_ns) at the last look: the fingerprint is checked when it changes."""
        self._head = b""
        """The file's first HEAD_BYTES bytes (fewer while it is shorter)."""
        self._mark = b""
        """The last MARK_BYTES bytes consumed, ending at `offset`."""
        self._had_file = False
        self._was_missing = False
        """The path did not exist at first: when it appears, all of it is new (no from_end)."""
        self._last_problem: str | None = None
        self._stdin = path == STDIN
        self.start = start
        self.stop = stop
        """With follow=False: read only bytes [start, stop) (a part of a file split between
        processes; both ends are line boundaries)."""
        self.binary = binary
        """Hand out every byte read at once, not complete lines: event files and transaction
        logs frame their own records, and a line cut would hold back their last one."""
        self.caught_up = False
        """True when the last poll found nothing more to read right now."""
        self.finished = False
        """True when nothing more will ever come (eof without follow, stdin closed)."""
        self.size = 0
        """The file's size at the last look (0 for standard input): with `offset`, how much
        of it is still to read."""
        self.bytes_read = 0
        self.long_lines = 0
        """Lines longer than `max_line_bytes`, skipped."""
        self.max_blob_bytes = 0
        """Largest blob handed out so far (bounded by chunk_bytes + max_line_bytes)."""

    # -- public ------------------------------------------------------------------------------

    @property
    def offset(self) -> int:
        """Bytes consumed from the current file."""
        return self._offset

    @property
    def identity(self) -> tuple[int, int] | None:
        """(device, inode) of the file opened last, None before one was opened."""
        return self._ident

    @property
    def head(self) -> bytes:
        """The open file's first bytes (HEAD_BYTES at most): part of its fingerprint."""
        return self._head

    @property
    def mark(self) -> bytes:
        """The MARK_BYTES bytes before `offset`, as read: where a rewrite would show."""
        return self._mark

    @property
    def regular(self) -> bool:
        """A regular file of lines is open (not a stream, not binary): it can be read at any
        offset (`resume_at`), and in parts by other processes."""
        return self._fd is not None and self._seekable and not self.binary and not self._stdin

    def resume_at(self, offset: int) -> None:
        """Go on reading the open regular file from `offset`, a line start (0, or just past a
        terminator), as if everything before it had been read here.

        For a history read in parts elsewhere (`trainmon.history`): this follower reads the
        last part and then follows, so the file it keeps checking (identity, head, and the
        bytes before `offset`) is the one the parts were cut in.
        """
        if not self.regular or not 0 <= offset <= self.size:
            raise ValueError(f"cannot resume {self.path} at {offset}")
        assert self._fd is not None
        os.lseek(self._fd, offset, os.SEEK_SET)
        self._offset = offset
        self._pending = b""
        self._skipping = False
        behind = min(MARK_BYTES, offset)
        self._mark = self._pread(behind, offset - behind)

    def poll(self) -> list[FollowEvent | bytes]:
        """One non-blocking step: at most one chunk read, plus any events noticed."""
        out: list[FollowEvent | bytes] = []
        self.caught_up = False
        if self.finished:
            self.caught_up = True
            return out
        if self._stdin:
            self._poll_stdin(out)
        elif self._fd is None:
            self._poll_closed(out)
        elif self._stream:
            self._poll_stream(out)
        else:
            self._poll_open(out)
        return out

    def close(self) -> None:
        """Release the file descriptor (never closes standard input)."""
        if self._fd is not None and not self._stdin:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None

    def __iter__(self) -> Iterator[FollowEvent | bytes]:
        """Blocking helper: poll forever (or to the end), sleeping only when caught up."""
        return follow_iter(self)

    # -- states ------------------------------------------------------------------------------

    def _poll_closed(self, out: list[FollowEvent | bytes]) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if not self._had_file:  # a deleted file was reported as such already
                self._was_missing = True
                self._problem(out, "waiting", f"waiting for {self.path}")
            if not self.follow:
                self.finished = True
            self.caught_up = True
            return
        except OSError as exc:
            self._fail(out, exc)
            return
        if stat.S_ISDIR(st.st_mode):
            self._fail(out, IsADirectoryError(errno.EISDIR, "is a directory", self.path))
            return
        if self._refuse(out, st.st_mode):
            return
        try:
            # Never blocks: a FIFO without a writer opens at once (and is then waited on).
            flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
            fd = os.open(self.path, flags)
        except OSError as exc:
            self._fail(out, exc)
            return
        st = os.fstat(fd)
        if self._refuse(out, st.st_mode):  # the path changed between stat and open
            os.close(fd)
            return
        self._fd = fd
        self._ident = (st.st_dev, st.st_ino)
        self._stream = is_stream(st)
        self._named_fifo = stat.S_ISFIFO(st.st_mode) and st.st_dev != _pipe_device()
        self._writer_seen = False
        self._seekable = not self._stream
        self.size = 0 if self._stream else st.st_size
        self._pending = b""
        self._skipping = False
        self._last_problem = None
        if self._stream:
            self._offset = 0
            if self._had_file:
                out.append(FollowEvent("rotated", self.path, "it reappeared; read as a stream"))
            else:
                out.append(FollowEvent("opened", self.path, "reading it as a stream"))
        elif self._had_file:
            self._offset = 0
            out.append(FollowEvent("rotated", self.path, "the file reappeared"))
        else:
            skip = self.from_end and not self._was_missing
            self._offset = st.st_size if skip else self.start
            if self._offset:
                os.lseek(fd, self._offset, os.SEEK_SET)
            where = "its end" if self._offset else "its start"
            out.append(FollowEvent("opened", self.path, f"reading from {where}"))
        if not self._stream:
            self._seen = (st.st_size, st.st_mtime_ns)
            self._head = self._pread(HEAD_BYTES, 0)
            behind = min(MARK_BYTES, self._offset)
            self._mark = self._pread(behind, self._offset - behind)
        self._had_file = True

    def _refuse(self, out: list[FollowEvent | bytes], mode: int) -> bool:
        """Emit an error (once) and stop for good when the path is a device, not a log."""
        reason = unsupported_kind(mode)
        if reason is None:
            return False
        self._problem(out, "error", f"{self.path}: {reason}")
        self.caught_up = True
        self.finished = True
        return True

    def _poll_open(self, out: list[FollowEvent | bytes]) -> None:
        assert self._fd is not None
        st: os.stat_result | None
        if self.follow:
            try:
                st = os.stat(self.path)
            except OSError:
                st = None
            if st is None or (st.st_dev, st.st_ino) != self._ident:
                self._poll_replaced(out, st)
                return
        else:
            st = os.fstat(self._fd)  # a one-shot read keeps to the file it opened
        self.size = st.st_size
        if (st.st_size, st.st_mtime_ns) != self._seen:
            self._seen = (st.st_size, st.st_mtime_ns)
            reason = self._restart_reason(st.st_size)
            if reason is not None:
                self._restart(out, reason)
                return
        if st.st_size == self._offset or (self.stop is not None and self._offset >= self.stop):
            self._at_end(out)
            return
        if self._read_chunk(out) <= 0:
            self._at_end(out)

    def _poll_replaced(self, out: list[FollowEvent | bytes], st: os.stat_result | None) -> None:
        """The path was rotated, replaced or deleted: finish the old file before anything else."""
        if self._read_chunk(out) > 0:
            return
        self._flush_pending(out)
        self.close()
        if st is None:
            self._problem(out, "waiting", f"{self.path} was deleted; waiting for it to reappear")
            self.caught_up = True
        else:
            self._poll_closed(out)  # emits "rotated" and opens the new file

    def _restart_reason(self, size: int) -> str | None:
        """Why the open file no longer continues what was read (None: it only grew).

        Called only when the size or the modification time changed: the check reads at
        most HEAD_BYTES + MARK_BYTES bytes.
        """
        if size < self._offset:
            return "the file shrank; reading it again"
        head = self._pread(HEAD_BYTES, 0)
        if head[: len(self._head)] != self._head:
            return "the file was rewritten from its start; reading it again"
        self._head = head
        mark = self._mark
        if mark and self._pread(len(mark), self._offset - len(mark)) != mark:
            return "the file was rewritten from its start; reading it again"
        return None

    def _restart(self, out: list[FollowEvent | bytes], reason: str) -> None:
        """A new segment from offset 0; a one-shot read stops instead (one version only)."""
        assert self._fd is not None
        self._pending = b""
        self._skipping = False
        self._mark = b""
        if not self.follow:
            detail = "the file was truncated or rewritten while it was read"
            out.append(FollowEvent("truncated", self.path, detail))
            self.finished = True
            self.caught_up = True
            self.close()
            return
        os.lseek(self._fd, 0, os.SEEK_SET)
        self._offset = 0
        self._head = self._pread(HEAD_BYTES, 0)
        out.append(FollowEvent("truncated", self.path, reason))

    def _pread(self, size: int, offset: int) -> bytes:
        """Up to `size` bytes at `offset` of the open file (b"" on an error: no fingerprint)."""
        if self._fd is None or size <= 0 or offset < 0:
            return b""
        try:
            return os.pread(self._fd, size, offset)
        except OSError:
            return b""

    def _poll_stream(self, out: list[FollowEvent | bytes]) -> None:
        """A FIFO, pipe or pseudo-file: read what is there; an empty read with no writer
        left is the end (a named FIFO that never had a writer is waiting for one)."""
        assert self._fd is not None
        n = self._read_stream_chunk(out)
        if n > 0 or n == _WOULD_BLOCK:
            if not self._writer_seen and self._last_problem is not None:
                self._last_problem = None
                out.insert(0, FollowEvent("opened", self.path, "a writer connected"))
            self._writer_seen = True
            self.caught_up = self.caught_up or n == _WOULD_BLOCK
            return
        if n == _FAILED:
            return
        if self._named_fifo and not self._writer_seen and not _hung_up(self._fd):
            self._problem(out, "waiting", f"waiting for a writer on {self.path}")
            self.caught_up = True
            return
        self._end_of_stream(out, "end of the stream")

    def _read_stream_chunk(self, out: list[FollowEvent | bytes]) -> int:
        """`_read_chunk` for streams, slowed down to one chunk per poll interval once a
        stream is plainly junk (JUNK_CHUNKS chunks of one endless line)."""
        handed_out = len(out)
        n = self._read_chunk(out)
        if n > 0 and self._skipping and len(out) == handed_out:
            self._junk_chunks += 1
            if self._junk_chunks >= JUNK_CHUNKS:
                self.caught_up = True
        else:
            self._junk_chunks = 0
        return n

    def _end_of_stream(self, out: list[FollowEvent | bytes], detail: str) -> None:
        self._flush_pending(out)
        out.append(FollowEvent("eof", self.path, detail))
        self.finished = True
        self.caught_up = True
        self.close()

    def _at_end(self, out: list[FollowEvent | bytes]) -> None:
        self.caught_up = True
        if not self.follow:
            self._flush_pending(out)
            out.append(FollowEvent("eof", self.path))
            self.finished = True
            self.close()

    def _poll_stdin(self, out: list[FollowEvent | bytes]) -> None:
        if self._fd is None:
            try:
                fd = sys.stdin.fileno()
                mode = os.fstat(fd).st_mode
            except (OSError, ValueError) as exc:  # no standard input at all
                self._fail(out, OSError(errno.EBADF, str(exc)))
                self.finished = True
                return
            if stat.S_ISCHR(mode) and not os.isatty(fd):  # `< /dev/zero`: not a log
                self._problem(
                    out,
                    "error",
                    _("standard input is {kind}").format(kind=unsupported_kind(mode)),
                )
                self.caught_up = True
                self.finished = True
                return
            self._fd = fd
            out.append(FollowEvent("opened", self.path, "reading standard input"))
        try:
            ready = select.select([self._fd], [], [], 0)[0]
        except (OSError, ValueError):
            ready = [self._fd]
        if not ready:
            self.caught_up = True
            return
        n = self._read_stream_chunk(out)
        if n == 0:
            self._end_of_stream(out, "standard input closed")
        elif n < 0:
            self.caught_up = True

    # -- reading -----------------------------------------------------------------------------

    def _read_chunk(self, out: list[FollowEvent | bytes]) -> int:
        """Read one chunk into the reused buffer and emit its complete lines.

        Returns the bytes consumed, 0 at the end, `_WOULD_BLOCK` when a stream has nothing
        now, `_FAILED` after an error event.
        """
        assert self._fd is not None
        view = self._view
        if self.stop is not None:
            view = view[: max(0, min(self.chunk_bytes, self.stop - self._offset))]
        try:
            n = os.readv(self._fd, [view]) if len(view) else 0
        except BlockingIOError:
            return _WOULD_BLOCK
        except OSError as exc:
            self._fail(out, exc)
            return _FAILED
        if n <= 0:
            return 0
        self._offset += n
        self.bytes_read += n
        if self.binary:
            if self._seekable:
                self._mark = (self._mark + self._buf[max(0, n - MARK_BYTES) : n])[-MARK_BYTES:]
            out.append(bytes(self._view[:n]))
            return n
        cut = _last_terminator(self._buf, n)
        rewind = n - cut
        if cut and rewind and self._seekable and n == len(view) and rewind <= self.max_line_bytes:
            # More follows: re-read the partial last line next time, with its continuation,
            # rather than copying it aside and gluing it to the next chunk (two copies).
            os.lseek(self._fd, -rewind, os.SEEK_CUR)
            self._offset -= rewind
            self.bytes_read -= rewind
            n = cut
        if self._seekable:
            self._mark = (self._mark + self._buf[max(0, n - MARK_BYTES) : n])[-MARK_BYTES:]
        if cut == 0:
            # No terminator: the whole chunk extends the pending partial line.
            if self._skipping:
                return n
            if len(self._pending) + n > self.max_line_bytes:
                self._skipping = True
                self._pending = b""
                self.long_lines += 1
            else:
                self._pending += bytes(self._view[:n])
            return n
        head = bytes(self._view[:cut])
        tail = bytes(self._view[cut:n])
        if self._skipping:
            # Drop the rest of the over-long line, up to and including its terminator.
            first = _first_terminator(head)
            head = head[first:]
            self._skipping = False
        elif self._pending:
            first = _first_terminator(head)
            if len(self._pending) + first - 1 > self.max_line_bytes:
                self.long_lines += 1
                head = head[first:]
            else:
                head = self._pending + head
        self._pending = b""
        if len(tail) > self.max_line_bytes:
            self._skipping = True
            self.long_lines += 1
        else:
            self._pending = tail
        if len(head) > self.max_line_bytes:
            head = self._drop_long_lines(head)
        if head:
            self.max_blob_bytes = max(self.max_blob_bytes, len(head))
            out.append(head)
        return n

    def _drop_long_lines(self, blob: bytes) -> bytes:
        """Remove complete lines longer than max_line_bytes (with their terminators).

        Linear and at C speed: the blob is probed in windows of about half the cap; a line
        over the cap fully covers at least one window, so only windows without any
        terminator are measured. (A regex like `[^\\r\\n]{N,}` would rescan each line from
        every offset: quadratic.)
        """
        cap = self.max_line_bytes
        half = max(1, (cap + 1) // 2)
        size = len(blob)
        spans: list[tuple[int, int]] = []
        pos = 0
        while pos < size:
            stop = min(size, pos + half)
            if blob.find(b"\n", pos, stop) >= 0 or blob.find(b"\r", pos, stop) >= 0:
                pos = stop
                continue
            start = max(blob.rfind(b"\n", 0, pos), blob.rfind(b"\r", 0, pos)) + 1
            ends = [e for e in (blob.find(b"\n", pos), blob.find(b"\r", pos)) if e >= 0]
            end = min(ends) if ends else size  # blobs end with a terminator; be safe anyway
            if end - start > cap:
                spans.append((start, end + 1))
                self.long_lines += 1
            pos = end + 1
        if not spans:
            return blob
        parts: list[bytes] = []
        keep = 0
        for start, end in spans:
            parts.append(blob[keep:start])
            keep = end
        parts.append(blob[keep:])
        return b"".join(parts)

    def _flush_pending(self, out: list[FollowEvent | bytes]) -> None:
        """A finished file's unterminated last line still counts: hand it out with `\\n`."""
        if self._pending and not self._skipping:
            out.append(self._pending + b"\n")
        self._pending = b""
        self._skipping = False

    # -- problems ----------------------------------------------------------------------------

    def _problem(self, out: list[FollowEvent | bytes], kind: str, detail: str) -> None:
        """Emit an event once per distinct problem, not once per poll."""
        if detail != self._last_problem:
            self._last_problem = detail
            out.append(FollowEvent(kind, self.path, detail))  # type: ignore[arg-type]

    def _fail(self, out: list[FollowEvent | bytes], exc: OSError) -> None:
        self._problem(out, "error", describe_os_error(self.path, exc))
        self.caught_up = True
        if not self.follow:
            self.finished = True


def _first_terminator(blob: bytes) -> int:
    """Index just past the first `\\n` or `\\r` (the blob is known to contain one)."""
    n = blob.find(b"\n")
    r = blob.find(b"\r")
    if n < 0:
        return r + 1
    if r < 0:
        return n + 1
    return min(n, r) + 1


def describe_os_error(path: str, exc: OSError) -> str:
    """One plain line naming the path and the problem, for events and exit-2 messages."""
    if isinstance(exc, IsADirectoryError) or exc.errno == errno.EISDIR:
        return f"{path}: " + _("is a directory, not a log file")
    if isinstance(exc, PermissionError):
        return f"{path}: " + _("permission denied (cannot read it)")
    if isinstance(exc, FileNotFoundError):
        return f"{path}: " + _("no such file")

    reason = exc.strerror or type(exc).__name__
    return f"{path}: {reason}"


def follow_iter(follower: Follower) -> Iterator[FollowEvent | bytes]:
    """Poll `follower` until it finishes, sleeping `poll_interval_s` only when caught up."""
    while not follower.finished:
        yield from follower.poll()
        if follower.caught_up and not follower.finished:
            time.sleep(follower.poll_interval_s)
    follower.close()
