"""Signal handlers installed for the length of a `with` block, then the previous ones back.

`report` (which must reap its helper process when told to stop) and the dashboard (which must
restore the terminal) both need exactly this; neither may leave its handler behind.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterable, Iterator
from types import FrameType

Handler = Callable[[int, FrameType | None], None]


@contextlib.contextmanager
def handlers_installed(signums: Iterable[int], handler: Handler) -> Iterator[None]:
    """Run the block with `handler` on each of `signums`; restore the previous handlers."""
    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
