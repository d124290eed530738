"""Give the heap's free memory back to the system after a one-off burst of allocations.

Reading a big history and the first advice pass over it allocate and free a great many small
objects and temporaries at once. glibc keeps the freed memory in its heap for reuse, so the
dashboard's resident size stays at the burst's high-water mark for the rest of the session
(about 20 MB more at 10^6 records than when the same history arrived in chunks), although
nothing uses it. `malloc_trim` returns it. Elsewhere (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


def give_back_free_memory() -> bool:
    """Return the heap's free pages to the system; True when the C library could."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
