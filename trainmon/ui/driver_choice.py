"""Which terminal driver the dashboard runs on: the quiet one where it applies.

Kept apart from `trainmon.ui.driver` so that a Textual release without the private parser
module that driver reads only costs the quiet input thread: the import fails here, and the
stock driver is used.
"""

from __future__ import annotations

from textual.driver import Driver

STOCK_POSIX_DRIVER = "textual.drivers.linux_driver.LinuxDriver"


def quiet_driver(stock: type[Driver]) -> type[Driver]:
    """The quiet POSIX driver in place of Textual's own (not on Windows, nor when
    TEXTUAL_DRIVER picked another), or `stock` where it cannot be loaded."""
    if f"{stock.__module__}.{stock.__qualname__}" != STOCK_POSIX_DRIVER:
        return stock
    try:
        from trainmon.ui.driver import QuietLinuxDriver
    except ImportError:  # a Textual without the private parser module
        return stock
    return QuietLinuxDriver
