"""The one place that reaches into plotext's and textual-plotext's private internals.

The loss plot reads plotext's character matrix directly instead of letting `build()` print it
with ANSI codes and parsing those back (the printing and parsing are most of a rebuild). That
path needs private names: the figure's `_set_sizes`, `_build_matrix` and `monitor.matrix`,
`plotext._utility.colors_to_ansi`, and textual-plotext's `_get_plotext_theme_name`. Each is
looked up here, once; where one is missing (a plotext or textual-plotext release that renamed
it), the figure is built with the public `build()` and `Text.from_ansi`, which gives the same
cells at a higher cost. Both paths are tested.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

try:
    from plotext._utility import colors_to_ansi as _colors_to_ansi  # type: ignore[import-untyped]
except ImportError:  # a plotext without the helper: cells are styled through the public path
    _colors_to_ansi = None


@dataclass(frozen=True, slots=True)
class CellMatrix:
    """plotext's figure as rows of cells, top row first: characters and their colours."""

    chars: Sequence[Sequence[str]]
    foreground: Sequence[Sequence[object]]
    style: Sequence[Sequence[object]]
    background: Sequence[Sequence[object]]


def has_fast_path(plt: object) -> bool:
    """True when this plotext figure exposes what `build_matrix` reads."""
    return (
        _colors_to_ansi is not None
        and callable(getattr(plt, "_set_sizes", None))
        and callable(getattr(plt, "_build_matrix", None))
    )


def build_matrix(plt: Any) -> CellMatrix | None:
    """Build the figure and return its cells, or None where the internals are missing."""
    if not has_fast_path(plt):
        return None
    plt._set_sizes()
    plt._build_matrix()
    matrix = getattr(getattr(plt, "monitor", None), "matrix", None)
    rows = [getattr(matrix, name, None) for name in ("marker", "fullground", "style", "background")]
    if any(not isinstance(r, list) for r in rows):
        return None
    chars, foreground, style, background = rows
    assert chars is not None and foreground is not None and style is not None
    assert background is not None
    return CellMatrix(chars[::-1], foreground[::-1], style[::-1], background[::-1])


def cell_style(colour: object, style: object, background: object) -> Style | None:
    """The style `Text.from_ansi` gives a plotext cell with these colours."""
    if _colors_to_ansi is None:
        return None
    codes = _colors_to_ansi(colour, style, background)
    spans = Text.from_ansi(codes + "x").spans if codes else []
    found = spans[0].style if spans else None
    return found if isinstance(found, Style) else None


def matrix_lines(
    matrix: CellMatrix,
    width: int,
    base: Style,
    style_of: Callable[[object, object, object], Style | None],
) -> list[Strip]:
    """Screen lines for a cell matrix: one segment per run of cells with the same colours."""
    lines: list[Strip] = []
    for chars, fg, st, bg in zip(
        matrix.chars, matrix.foreground, matrix.style, matrix.background, strict=True
    ):
        segments: list[Segment] = []
        start = 0
        cells = len(chars)
        for col in range(1, cells + 1):
            same = col < cells and fg[col] == fg[start] and bg[col] == bg[start]
            if same and st[col] == st[start]:
                continue
            style = style_of(fg[start], st[start], bg[start])
            text = "".join(chars[start:col])
            segments.append(Segment(text, base + style if style is not None else base))
            start = col
        lines.append(Strip(segments).adjust_cell_length(width, base))
    return lines


_CONSOLE = Console(width=1 << 14, color_system="truecolor", force_terminal=True)
"""Only used to split a `Text` into segments; never prints."""


def ansi_lines(plt: Any, width: int, base: Style) -> list[Strip]:
    """The public path: `build()` prints the figure with ANSI codes, parsed back into lines."""
    text = Text.from_ansi(plt.build())
    lines: list[Strip] = []
    for line in text.split("\n", allow_blank=True):
        segments = [
            Segment(s.text, base + s.style if s.style else base)
            for s in line.render(_CONSOLE, end="")
        ]
        lines.append(Strip(segments).adjust_cell_length(width, base))
    return lines


def set_plot_size(plt: Any, width: int, height: int) -> None:
    """Size the figure; as textual-plotext's own render does, the private `_set_size` follows
    `plotsize`, which alone does not always resize (textual-plotext issue 5)."""
    plt.plotsize(width, height)
    set_size = getattr(plt, "_set_size", None)
    if callable(set_size):
        set_size(width, height)


def plotext_theme_name(widget: Any, app_theme: str) -> str:
    """The plotext theme textual-plotext registered for this app theme."""
    getter = getattr(widget, "_get_plotext_theme_name", None)
    if callable(getter):
        name = getter(app_theme)
        if isinstance(name, str):
            return name
    theme = getattr(widget, "theme", "auto")
    return f"textual-auto-{app_theme}" if theme == "auto" else str(theme)
