"""Fitting a long explanation into a narrow pane: wrapped by words over the rows it may use.

A reason cut at the pane's edge ("no process has run.log open f…") hides the part that says
what to do; wrapped over the pane's empty rows it reads whole, and only what still does not
fit is cut, at the end.
"""

from __future__ import annotations

import textwrap

from rich.style import Style
from rich.text import Text


def wrapped_lines(text: str, width: int, rows: int, style: Style | None = None) -> list[Text]:
    """`text` wrapped to `width` cells over at most `rows` lines; the last ends with `…` when
    the rest does not fit."""
    width, rows = max(4, width), max(1, rows)
    lines = textwrap.wrap(text, width, break_on_hyphens=False) or [""]
    if len(lines) > rows:
        rest = " ".join(lines[rows - 1 :])
        lines = [*lines[: rows - 1], rest[: width - 1] + "…"]
    return [
        Text(line, style=style or "", no_wrap=True, overflow="ellipsis", end="") for line in lines
    ]
