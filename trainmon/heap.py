"""Give the heap's free memory back to the system after a one-off burst of allocations.

Reading a big history and the first advice pass over it allocate and free a great many small
objects and temporaries at once. glibc keeps the freed memory in its heap for reuse, so the
dashboard's resident size stays at the burst's high-water mark for the rest of the session
(about 20 MB more at 10^6 records than when the same history arrived in chunks), although
nothing uses it. `malloc_trim` returns it. Elsewhere (macOS, musl) this does nothing.

The burst's large temporaries (decoded chunks, masks, index arrays of a megabyte or more) are
the other half: glibc raises its mmap threshold each time such a block is freed, so later ones
come from the heap, whose high-water mark then grows with the history. A fixed threshold keeps
every large block mapped on its own, returned the moment it is freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable

M_MMAP_THRESHOLD = -3
"""glibc's `mallopt` parameter (malloc.h)."""
LARGE_BLOCK_BYTES = 256 * 1024


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


@functools.cache
def map_large_blocks() -> bool:
    """Serve every block of `LARGE_BLOCK_BYTES` or more by its own mapping for the rest of the
    process (once; True when the C library took it)."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is None:  # not glibc
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES))


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    libc = _libc()
    trim: Callable[[int], int] | None = getattr(libc, "malloc_trim", None) if libc else None
    return trim


def give_back_free_memory() -> bool:
    """Return the heap's free pages to the system; True when the C library could."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
