"""Fitting a long explanation into a narrow pane: wrapped by words over the rows it may use.

A reason cut at the pane's edge ("no process has run.log open f…") hides the part that says
what to do; wrapped over the pane's empty rows it reads whole, and only what still does not
fit is cut, at the end.

Widths are terminal cells, not characters: a Chinese character takes two cells and Chinese
has no spaces between words (a line may break between any two of its characters), and a
Russian word can be longer than a 40-column pane (it is then broken by cells, never in the
middle of a character).
"""

from __future__ import annotations

import re

from rich.cells import cell_len, chop_cells
from rich.style import Style
from rich.text import Text

_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_CLOSING = "\u3001\u3002\uff0c\uff1a\uff1b\uff01\uff1f\uff09\u300d\u300f),.:;!?"
_TOKENS = re.compile(rf"\s+|[{_WIDE}][{_CLOSING}]*|[^\s{_WIDE}]+")
"""Spaces, one wide (CJK) character with the closing punctuation after it (which never starts
a line), or a run of anything else: the units a line breaks between."""


def cell_wrap(text: str, width: int) -> list[str]:
    """`text` broken into lines of at most `width` cells, between words or CJK characters."""
    width = max(2, width)
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(" ".join(text.split())):
        if token.isspace():
            if line:
                line += " "
            continue
        pieces = chop_cells(token, width) if cell_len(token) > width else [token]
        for piece in pieces:
            if cell_len(line + piece) > width:
                lines.append(line.rstrip())
                line = ""
            line += piece
    lines.append(line.rstrip())
    return [x for x in lines if x] or [""]


def wrapped_lines(text: str, width: int, rows: int, style: Style | None = None) -> list[Text]:
    """`text` wrapped to `width` cells over at most `rows` lines; the last ends with `…` when
    the rest does not fit."""
    width, rows = max(4, width), max(1, rows)
    lines = cell_wrap(text, width)
    if len(lines) > rows:
        rest = " ".join(lines[rows - 1 :])
        lines = [*lines[: rows - 1], chop_cells(rest, width - 1)[0] + "…"]
    return [
        Text(line, style=style or "", no_wrap=True, overflow="ellipsis", end="") for line in lines
    ]
