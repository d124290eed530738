"""The demo dashboard at 200, 160, 100, 60 and 45 columns, as a 256-colour and a 16-colour
terminal shows it: SVG snapshots to review side by side (`snapshot_report.html` does not cover
these; open the files under `__snapshots__/test_widths_and_colours/`).

Textual exports screenshots in truecolour; here the screen's cells are rounded the way Rich
rounds them for a 256- or 16-colour terminal before the SVG is written, so a colour pair that
merges in such a terminal merges in the picture too.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.color import Color, ColorSystem
from rich.console import Console
from rich.segment import Segment, Segments
from rich.style import Style
from syrupy.extensions.image import SVGImageSnapshotExtension

from trainmon.ui.screenshots import Scene, fill, scene_app

SYSTEMS = {"256": ColorSystem.EIGHT_BIT, "16": ColorSystem.STANDARD}


def _rounded(style: Style | None, system: ColorSystem) -> Style | None:
    if style is None:
        return None

    def down(colour: Color | None) -> Color | None:
        return colour.downgrade(system) if colour is not None else None

    return style + Style.from_color(down(style.color), down(style.bgcolor))


async def _svg(width: int, height: int, colours: str) -> str:
    scene = Scene(f"{width}-{colours}", (width, height), 2)
    app = scene_app(scene)
    async with app.run_test(size=scene.size) as pilot:
        await fill(pilot, scene)
        strips = list(app.screen._compositor.render_strips())
    system = SYSTEMS[colours]
    console = Console(
        width=width,
        file=io.StringIO(),
        record=True,
        force_terminal=True,
        color_system="standard" if colours == "16" else "256",
        legacy_windows=False,
    )
    for strip in strips:
        line = [Segment(s.text, _rounded(s.style, system)) for s in strip if not s.control]
        console.print(Segments([*line, Segment.line()]), end="")
    return console.export_svg(title=f"trainmon {width} columns, {colours} colours")


@pytest.mark.parametrize("colours", ["256", "16"])
@pytest.mark.parametrize("width", [200, 160, 100, 60, 45])
async def test_dashboard_at_every_width_in_16_and_256_colours(
    width: int, colours: str, snapshot: Any
) -> None:
    height = 48 if width >= 60 else 36
    svg = await _svg(width, height, colours)
    assert svg == snapshot(extension_class=SVGImageSnapshotExtension)
