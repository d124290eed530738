"""Series colours that stay apart in 16, 256 and truecolour terminals and for colour-blind eyes.

Theme colours made the smoothed loss and the LR the same blue once a 256-colour terminal
rounded them. These are fixed colours instead, chosen from the Okabe-Ito and Paul Tol
colour-blind-safe sets so that the first `TESTED` of them differ by at least `MIN_DELTA_E`
(CIEDE2000) after rounding to the xterm 256-colour palette and under simulated deuteranopia
and protanopia, and fall on different colours of the 16-colour palette
(tests/unit/test_palette.py checks all three). With `NO_COLOR` set, Textual draws in
monochrome; the legend's glyphs and the LR's dotted line tell the series apart then.
"""

from __future__ import annotations

from typing import Final

Rgb = tuple[int, int, int]

SERIES_PALETTE: Final[tuple[Rgb, ...]] = (
    (102, 204, 238),  # Tol cyan
    (240, 228, 66),  # Okabe-Ito yellow
    (34, 136, 51),  # Tol green
    (0, 114, 178),  # Okabe-Ito blue
    (213, 94, 0),  # Okabe-Ito vermillion
    (204, 121, 167),  # Okabe-Ito reddish purple
    (230, 159, 0),  # Okabe-Ito orange
    (86, 180, 233),  # Okabe-Ito sky blue
    (0, 158, 115),  # Okabe-Ito bluish green
    (170, 51, 119),  # Tol purple
    (187, 187, 187),  # Tol grey
    (238, 102, 119),  # Tol red
)
"""Colours of runs 1, 2, 3...; a run keeps its colour (its position on the command line).
Beyond `TESTED` runs colours are only distinct in truecolour; beyond twelve they repeat, and
the status rows (each with its run's coloured dot) tell the runs apart."""

TESTED: Final = 4
"""How many leading colours are held to the contrast bound (one run's loss, eval and LR use
the first three)."""

MIN_DELTA_E: Final = 20.0
"""The least CIEDE2000 difference between any two of the tested colours, in every check."""

LOSS: Final = SERIES_PALETTE[0]
EVAL: Final = SERIES_PALETTE[1]
LR: Final = SERIES_PALETTE[2]
"""A single run's series: the loss in its run colour, the eval and LR in the next two."""


def hex_colour(rgb: Rgb) -> str:
    """`#rrggbb`, as Textual and Rich parse colours."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


RUN_COLOURS: Final[tuple[str, ...]] = tuple(hex_colour(rgb) for rgb in SERIES_PALETTE)
"""The run colours as colour strings (status rows and plot lines share them)."""
