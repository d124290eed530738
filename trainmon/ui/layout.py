"""Which layout a terminal of a given size gets (the App sets it as a CSS class)."""

from __future__ import annotations

from typing import Final, Literal

Layout = Literal["wide", "medium", "narrow", "tiny"]

WIDE_MIN_COLS: Final = 120
MEDIUM_MIN_COLS: Final = 80
MIN_COLS: Final = 40
MIN_ROWS: Final = 12
"""Below 40x12 not even the compact stack fits: the screen asks to be enlarged instead."""


def layout_for(width: int, height: int) -> Layout:
    """The layout for a terminal (or pane) of this size."""
    if width < MIN_COLS or height < MIN_ROWS:
        return "tiny"
    if width >= WIDE_MIN_COLS:
        return "wide"
    if width >= MEDIUM_MIN_COLS:
        return "medium"
    return "narrow"


def too_small_text(width: int, height: int) -> str:
    """What the screen says when it is below the smallest layout."""
    return f"enlarge to at least {MIN_COLS}×{MIN_ROWS}\n(now {width}×{height})"
