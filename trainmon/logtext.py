"""The log's text by byte offset: pages of lines before or after a point, and search.

The raw log view scrolls through a whole log, which may be gigabytes, without reading it into
memory: a page is found by reading fixed-size blocks backwards (or forwards) from a byte
offset until enough line breaks are seen, and only the lines on the page are decoded. No
index is kept, so memory is a few blocks whatever the file's size, and a jump to any point
costs the blocks around it. A line longer than `max_line_bytes` shows its beginning and its
length.

Lines end with `\\n`; a final line without one counts as a line (it may still be growing).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

BLOCK_BYTES: Final = 1 << 16
"""Read size when looking for line breaks."""
SEARCH_BLOCK_BYTES: Final = 1 << 20
"""Read size when searching."""
MAX_LINE_BYTES: Final = 4096
"""Bytes of one line that are decoded and shown; the rest is counted."""


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the log: where it starts and ends (after its `\\n`), and its text."""

    start: int
    end: int
    text: str
    """Decoded (invalid UTF-8 replaced), without its line break; cut at `max_line_bytes`."""
    cut: bool = False
    """The line is longer than what `text` holds."""


class LogText:
    """Random access to a log file's lines. Opens the file per call (a rotated or truncated
    log is simply read as it is now); never raises for a missing file (no lines)."""

    def __init__(
        self, path: str, *, block_bytes: int = BLOCK_BYTES, max_line_bytes: int = MAX_LINE_BYTES
    ) -> None:
        self.path = path
        self._block = block_bytes
        self._max_line = max_line_bytes
        self.blocks_read = 0
        """Blocks read so far (tests and benches: a hidden view reads none)."""

    def size(self) -> int:
        """The file's size now (0 when it is missing)."""
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0

    def _read(self, fd: int, offset: int, count: int) -> bytes:
        self.blocks_read += 1
        return os.pread(fd, count, offset)

    def _open(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDONLY)
        except OSError:
            return None

    # -- line starts ----------------------------------------------------------------------------

    def _starts_before(self, fd: int, offset: int, count: int) -> list[int]:
        """Up to `count` line starts below `offset`, newest last (`offset` is a line start or
        the end of the file; the line break just before it ends the previous line)."""
        starts: list[int] = []
        pos = offset - 1  # bytes [0, pos) may hold breaks that start lines before `offset`
        while pos > 0 and len(starts) < count:
            low = max(0, pos - self._block)
            block = self._read(fd, low, pos - low)
            end = len(block)
            while len(starts) < count:
                found = block.rfind(b"\n", 0, end)
                if found < 0:
                    break
                starts.append(low + found + 1)
                end = found
            pos = low
        if len(starts) < count and offset > 0:
            starts.append(0)
        starts.reverse()
        return starts

    def _ends_from(self, fd: int, offset: int, count: int, size: int) -> list[int]:
        """Up to `count` line ends (after their break, or the end of the file) from `offset`."""
        ends: list[int] = []
        pos = offset
        while pos < size and len(ends) < count:
            block = self._read(fd, pos, min(self._block, size - pos))
            if not block:
                break
            begin = 0
            while len(ends) < count:
                found = block.find(b"\n", begin)
                if found < 0:
                    break
                ends.append(pos + found + 1)
                begin = found + 1
            pos += len(block)
        if len(ends) < count and (not ends or ends[-1] < size) and offset < size:
            ends.append(size)  # a last line without its break
        return ends

    def _lines(self, fd: int, bounds: list[tuple[int, int]]) -> list[Line]:
        out: list[Line] = []
        for start, end in bounds:
            length = end - start
            raw = self._read(fd, start, min(length, self._max_line)) if length else b""
            cut = length > self._max_line
            if not cut:
                raw = raw.removesuffix(b"\n").removesuffix(b"\r")
            out.append(Line(start, end, raw.decode("utf-8", "replace"), cut))
        return out

    # -- pages ----------------------------------------------------------------------------------

    def lines_before(self, offset: int, count: int) -> list[Line]:
        """Up to `count` whole lines that end at or before `offset` (a line start)."""
        fd = self._open()
        if fd is None:
            return []
        try:
            offset = min(offset, os.fstat(fd).st_size)
            starts = self._starts_before(fd, offset, count)
            if not starts:
                return []
            return self._lines(fd, list(zip(starts, [*starts[1:], offset], strict=True)))
        finally:
            os.close(fd)

    def lines_from(self, offset: int, count: int) -> list[Line]:
        """Up to `count` lines from `offset` (a line start) on."""
        fd = self._open()
        if fd is None:
            return []
        try:
            size = os.fstat(fd).st_size
            offset = min(offset, size)
            ends = self._ends_from(fd, offset, count, size)
            if not ends:
                return []
            return self._lines(fd, list(zip([offset, *ends[:-1]], ends, strict=True)))
        finally:
            os.close(fd)

    def tail(self, count: int) -> list[Line]:
        """The last `count` lines (a last line without its break, still growing, included)."""
        return self.lines_before(self.size(), count)

    def line_start(self, offset: int) -> int:
        """The start of the line holding byte `offset`."""
        fd = self._open()
        if fd is None:
            return 0
        try:
            starts = self._starts_before(fd, offset + 1, 1)
            return starts[0] if starts else 0
        finally:
            os.close(fd)

    # -- search ---------------------------------------------------------------------------------

    def find(
        self,
        needle: str,
        offset: int,
        *,
        backward: bool,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> int | None:
        """The byte offset of the nearest match of `needle` (ASCII letters in any case)
        starting before `offset` (backward) or at or after it (forward); None if none.

        Reads `SEARCH_BLOCK_BYTES` at a time, blocks overlapping by the needle's length;
        `cancelled` is asked between blocks (a new search replaces a running one).
        """
        pattern = needle.encode("utf-8").lower()
        if not pattern:
            return None
        fd = self._open()
        if fd is None:
            return None
        try:
            size = os.fstat(fd).st_size
            step = max(SEARCH_BLOCK_BYTES, 2 * len(pattern))
            overlap = len(pattern) - 1
            if backward:
                high = min(offset, size)
                while high > 0 and not cancelled():
                    low = max(0, high - step)
                    block = self._read(fd, low, min(size, high + overlap) - low).lower()
                    found = block.rfind(pattern, 0, high - low + overlap)  # starts < high
                    if found >= 0:
                        return low + found
                    high = low
                return None
            low = max(0, offset)
            while low < size and not cancelled():
                block = self._read(fd, low, min(step + overlap, size - low)).lower()
                found = block.find(pattern)
                if found >= 0:
                    return low + found
                low += step
            return None
        finally:
            os.close(fd)
