"""SVG snapshots of the metric plot with its cursor: beside the loss plot (wide), and in its
place (narrow). The demo scene's data, `eval_accuracy` charted, the cursor two evaluations
back from the last."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from trainmon.ui.app import TrainmonApp
from trainmon.ui.screenshots import SCENES, Scene, fill, scene_app
from trainmon.ui.widgets.metric_plot import MetricPlot

METRIC_SCENES = [s for s in SCENES if s.name in ("wide", "narrow")]


@pytest.mark.parametrize("scene", METRIC_SCENES, ids=[s.name for s in METRIC_SCENES])
def test_metric_plot_layout(scene: Scene, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await fill(pilot, scene)
        app = pilot.app
        assert isinstance(app, TrainmonApp)
        app.chart_metrics(("eval_accuracy",))
        plot = app.query_one("#metric", MetricPlot)
        plot.focus()
        await pilot.press("left", "left")
        await pilot.pause()
        app.refresh_now()
        await pilot.pause()

    assert snap_compare(
        scene_app(METRIC_SCENES[0]), terminal_size=scene.size, run_before=run_before
    )
