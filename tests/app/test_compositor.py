"""Screen updates render only the rows they send (`trainmon.ui.compositor`): the same strips
as Textual's own compositor for those rows, far fewer rows rendered, and Textual's path kept
where the private method is not what the adapter expects."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

from tests.app.helpers import make_app, status_lines, wait_until
from trainmon.records import MetricRecord
from trainmon.sources.samples import CpuSnapshot
from trainmon.ui.app import TrainmonApp
from trainmon.ui.compositor import render_chops, render_sent_rows_only
from trainmon.ui.messages import CpuSampled


def records(first: int, last: int) -> list[MetricRecord]:
    return [
        MetricRecord("train", step, {"loss": 2 / math.sqrt(step), "grad_norm": 1.0 + step % 3})
        for step in range(first, last + 1)
    ]


def cpu_sample(busy: float) -> CpuSnapshot:
    return CpuSnapshot(
        time_s=busy,
        per_core_pct=(busy, 100 - busy),
        total_pct=busy,
        load_avg=(0.5, 0.4, 0.3),
        ram_used_bytes=2 << 30,
        ram_total_bytes=8 << 30,
        ram_available_bytes=6 << 30,
        training_reason="no writer found",
    )


def count_renders(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """From now on, each widget asked for rows: its id (or class) and how many rows."""
    rendered: list[tuple[str, int]] = []
    render_lines = Widget.render_lines

    def counting(widget: Widget, crop: Region) -> Any:
        rendered.append((widget.id or type(widget).__name__, crop.height))
        return render_lines(widget, crop)

    monkeypatch.setattr(Widget, "render_lines", counting)
    return rendered


async def test_the_rows_sent_are_the_strips_textual_renders() -> None:
    app = make_app(["run.log"], start_workers=False, refresh_s=3600, cpu_source=object())
    async with app.run_test(size=(160, 48)) as pilot:
        app.inject(0, records(1, 300))
        app.post_message(CpuSampled(cpu_sample(30.0)))
        await wait_until(pilot, lambda: "step 300" in status_lines(app)[0], "step 300 shown")
        compositor = app.screen._compositor
        textual = type(compositor)._render_chops
        height = app.size.height
        selections = {
            "every row": lambda y: True,
            "the status row": lambda y: y == 0,
            "rows far apart": lambda y: y in (0, 7, 8, 9, 30, height - 1),
            "none": lambda y: False,
        }
        crops = (Region(0, 0, 160, height), Region(100, 5, 60, 30), Region(3, 0, 20, 2))
        for name, chosen in selections.items():
            for crop in crops:
                ours = render_chops(compositor, crop, chosen)
                theirs = textual(compositor, crop, chosen)
                for y in crop.line_range:
                    if chosen(y):
                        assert ours[y] == theirs[y], f"{name}, row {y} of {crop}"
                        assert all(strip is not None for strip in ours[y].values())


async def test_a_one_row_change_renders_a_few_rows_not_the_screen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app(["run.log"], start_workers=False, refresh_s=3600, cpu_source=object())
    async with app.run_test(size=(160, 48)) as pilot:
        app.inject(0, records(1, 300))
        app.post_message(CpuSampled(cpu_sample(30.0)))
        await wait_until(pilot, lambda: "step 300" in status_lines(app)[0], "step 300 shown")
        await pilot.pause()
        rendered = count_renders(monkeypatch)
        app.post_message(CpuSampled(cpu_sample(70.0)))  # the total: one row changes
        await pilot.pause()
        app.tick()
        await wait_until(pilot, lambda: bool(rendered), "the CPU pane repainted")
        await pilot.pause()
        # A row or two of each widget over them:
        assert 0 < sum(rows for _name, rows in rendered) <= 40


async def test_a_container_behind_its_children_is_not_asked_for_their_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Panes(App[None]):
        CSS = "Static { width: 1fr; height: 1fr; }"

        def compose(self) -> ComposeResult:
            with Horizontal(id="row"):
                yield Static("left", id="left")
                yield Static("right", id="right")

    app = Panes()
    async with app.run_test(size=(40, 10)) as pilot:
        assert render_sent_rows_only(app.screen)
        await pilot.pause()
        rendered = count_renders(monkeypatch)
        app.query_one("#left", Static).update("changed")
        await wait_until(pilot, lambda: bool(rendered), "the changed pane repainted")
        await pilot.pause()
        asked = {name for name, _rows in rendered}
        assert "left" in asked and not asked & {"row", "Screen"}, asked
        compositor = app.screen._compositor
        crop = Region(0, 0, 40, 10)
        theirs = type(compositor)._render_chops(compositor, crop, lambda y: True)
        assert render_chops(compositor, crop, lambda y: True) == theirs


def test_textuals_path_is_kept_where_the_method_is_not_the_expected_one() -> None:
    class Other:
        def __init__(self) -> None:
            self.cuts: list[list[int]] = []
            self.visible_widgets: dict[object, object] = {}

        def _render_chops(self, region: Region) -> None:
            """Another signature."""

    other = Other()
    assert render_sent_rows_only(SimpleNamespace(_compositor=other)) is False  # type: ignore[arg-type]
    assert "_render_chops" not in vars(other)
    assert render_sent_rows_only(SimpleNamespace(_compositor=object())) is False  # type: ignore[arg-type]


async def test_the_dashboard_screen_uses_it() -> None:
    app: TrainmonApp = make_app(["run.log"], start_workers=False, refresh_s=3600)
    async with app.run_test(size=(100, 30)):
        assert "_render_chops" in vars(app.screen._compositor)
