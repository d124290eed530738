"""SVG snapshots pinning the dashboard layouts: wide, narrow tmux pane, and no GPU.

The scenes come from `trainmon.ui.screenshots` (the same data as the README pictures): the
seeded demo run up to 80 %, a fixed clock, fixed system samples, workers off. Review a
changed snapshot in `snapshot_report.html` before running `--snapshot-update`.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from trainmon.ui.screenshots import SCENES, Scene, fill, scene_app


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_dashboard_layout(scene: Scene, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await fill(pilot, scene)

    assert snap_compare(scene_app(scene), terminal_size=scene.size, run_before=run_before)


def test_tiny_terminal_asks_to_be_enlarged(snap_compare: Any) -> None:
    scene = Scene("tiny", (36, 10), 0)

    async def run_before(pilot: Pilot[None]) -> None:
        await fill(pilot, scene)

    assert snap_compare(scene_app(scene), terminal_size=scene.size, run_before=run_before)
