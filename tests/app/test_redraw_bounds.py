"""Structural bounds on what the dashboard repaints: counted, never timed.

An unchanged pane is not repainted, a changed pane repaints only the lines that differ, a plot
rebuilt from the same input sends nothing to the terminal, and a quiet log is polled less.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import OptionList, Static

from trainmon.plotdata import loss_plot_data
from trainmon.records import Finding, MetricRecord
from trainmon.sources.samples import CpuSnapshot
from trainmon.store import MetricStore
from trainmon.ui.widgets.advice_panel import AdvicePanel
from trainmon.ui.widgets.cpu_panel import HISTORY, CpuPanel
from trainmon.ui.widgets.loss_plot import LossPlot
from trainmon.ui.workers import IDLE_AFTER_S, idle_poll_interval

GIB = 1024**3


def cpu_snapshot(total_pct: float = 49.0, cores: int = 8) -> CpuSnapshot:
    return CpuSnapshot(
        time_s=1000.0,
        per_core_pct=tuple(float((i * 37) % 101) for i in range(cores)),
        total_pct=total_pct,
        load_avg=(1.5, 1.2, 1.0),
        ram_used_bytes=int(20 * GIB),
        ram_total_bytes=62 * GIB,
        ram_available_bytes=int(40 * GIB),
        swap_used_bytes=0,
        swap_total_bytes=8 * GIB,
        ram_used_rate_bps=0.0,
        swap_in_bps=0.0,
        swap_out_bps=0.0,
        iowait_pct=1.0,
        training=None,
        training_reason="no process has run.log open for writing; use --pid",
    )


class RegionSpy:
    """Records the regions a widget asks to repaint (an empty tuple: the whole widget)."""

    def __init__(self, widget: Any) -> None:
        self.calls: list[tuple[Region, ...]] = []
        original = widget.refresh

        def spy(*regions: Region, **kwargs: Any) -> Any:
            self.calls.append(regions)
            return original(*regions, **kwargs)

        widget.refresh = spy


class CpuHost(App[None]):
    def compose(self) -> ComposeResult:
        yield CpuPanel(id="cpu")


async def test_an_unchanged_sample_repaints_nothing_and_a_change_only_its_lines() -> None:
    app = CpuHost()
    async with app.run_test(size=(100, 20)) as pilot:
        panel = app.query_one(CpuPanel)
        first = cpu_snapshot()
        for _ in range(HISTORY):  # a full CPU history: the sparkline no longer grows
            panel.update_snapshot(first)
        await pilot.pause()
        lines = len(panel.render_text().plain.split("\n"))
        assert lines >= 3
        spy = RegionSpy(panel)
        # The same readings at a later time: the text on screen is the same, so no repaint.
        for _ in range(3):
            panel.update_snapshot(replace(first, time_s=first.time_s + 2.0))
            await pilot.pause()
        assert spy.calls == [] and panel.counts.updates == HISTORY + 3
        # Only the total CPU changes: the host line (and no other) is repainted.
        panel.update_snapshot(replace(first, total_pct=88.0))
        await pilot.pause()
        assert len(spy.calls) == 1
        (region,) = spy.calls[0]
        assert (region.y, region.height) == (0, 1)
        assert "88%" in panel.render_text().plain.split("\n")[0]


def store_with(n: int) -> MetricStore:
    store = MetricStore()
    for i in range(1, n + 1):
        values = {"loss": 2.0 / math.sqrt(i), "learning_rate": 1e-4}
        store.extend([MetricRecord("train", i, values)], float(i))
    return store


class PlotHost(App[None]):
    def compose(self) -> ComposeResult:
        yield LossPlot(id="plot", cpu_budget=None)


async def test_a_plot_rebuilt_from_the_same_input_sends_nothing_to_the_terminal() -> None:
    app = PlotHost()
    async with app.run_test(size=(120, 40)) as pilot:
        plot = app.query_one(LossPlot)
        store = store_with(300)
        plot.show([("run.log", loss_plot_data(store, width=plot.data_width))])
        await pilot.pause()
        spy = RegionSpy(plot)
        renders = plot.counts.renders
        plot._replot()  # what a theme change does: rebuild, with the same colours here
        await pilot.pause()
        assert plot.counts.renders == renders + 1
        assert spy.calls == []  # every row equals what is on screen
        store.extend([MetricRecord("train", 1000, {"loss": 5.0})], 0.0)  # rescales both axes
        plot.show([("run.log", loss_plot_data(store, width=plot.data_width))])
        await pilot.pause()
        assert spy.calls  # a changed figure is repainted
        rows = plot.size.height
        assert all(len(c) == 0 or c[0].height == 1 for c in spy.calls)
        assert len(spy.calls) <= rows


async def test_the_plot_is_rebuilt_at_most_once_per_interval_under_a_flood() -> None:
    app = App[None]()
    async with app.run_test(size=(100, 30)) as pilot:
        plot = LossPlot(cpu_budget=0.01)
        await app.mount(plot)
        store = store_with(50)
        plot.show([("run.log", loss_plot_data(store, width=plot.data_width))])
        await pilot.pause()
        plot.end_startup()  # past the start-up allowance
        plot.render_cost_s = 0.02  # as if a rebuild cost 20 ms: at 1 %, one per 2 s
        builds = plot.counts.renders
        for step in range(51, 251):  # 200 new records, each shown at once
            store.extend([MetricRecord("train", step, {"loss": 1.0})], 0.0)
            plot.show([("run.log", loss_plot_data(store, width=plot.data_width))])
        await pilot.pause()
        assert plot.counts.renders == builds and plot.pending  # none rebuilt, one queued
        assert 1.0 < plot.ready_in_s <= 2.0


def test_a_quiet_log_is_polled_half_as_often_but_within_the_latency_target() -> None:
    assert idle_poll_interval(0.25, 0.0) == 0.25
    assert idle_poll_interval(0.25, IDLE_AFTER_S - 0.1) == 0.25
    slow = idle_poll_interval(0.25, IDLE_AFTER_S)
    assert slow == 0.5
    assert slow < 1.0  # the first record after a pause still shows within the 1 s target


class AdviceHost(App[None]):
    def compose(self) -> ComposeResult:
        yield AdvicePanel(id="advice")


async def test_new_evidence_of_the_same_height_repaints_without_a_layout() -> None:
    app = AdviceHost()
    async with app.run_test(size=(60, 30)) as pilot:
        panel = app.query_one(AdvicePanel)

        def finding(evidence: str) -> Finding:
            return Finding("loss-rising", "warning", 40, "loss rising", evidence, "lower the lr")

        panel.show([("", finding("loss 1.20 -> 1.45 over 30 steps"))])
        await pilot.pause()
        detail = panel.query_one("#advice-detail", Static)
        layouts: list[bool] = []
        original = detail.refresh

        def spy(*regions: Region, **kwargs: Any) -> Any:
            layouts.append(bool(kwargs.get("layout")))
            return original(*regions, **kwargs)

        detail.refresh = spy  # type: ignore[method-assign]
        panel.show([("", finding("loss 1.20 -> 1.52 over 31 steps"))])  # same height
        await pilot.pause()
        assert layouts and not any(layouts)
        assert "1.52" in str(detail.render())
        layouts.clear()
        panel.show([("", finding("loss 1.20 -> 1.60\n" * 4 + "over 32 steps"))])  # taller
        await pilot.pause()
        assert any(layouts)


async def test_a_finding_row_whose_text_changed_is_replaced_in_place() -> None:
    """The same findings at a later step: the rows' text changes, the options stay (no
    clear and add, which lays out the whole screen), and the highlight stays on its rule."""
    app = AdviceHost()
    async with app.run_test(size=(60, 30)) as pilot:
        panel = app.query_one(AdvicePanel)
        options = panel.query_one("#advice-list", OptionList)

        def findings(step: int) -> list[tuple[str, Finding]]:
            return [
                ("", Finding("loss-rising", "warning", step, "loss rising", "e", "a")),
                ("", Finding("grad-norm-spike", "warning", 7, "grad spike", "e", "a")),
            ]

        panel.show(findings(40))
        await pilot.pause()
        rows = [options.get_option_at_index(i) for i in range(options.option_count)]
        rising = next(i for i, row in enumerate(rows) if "loss rising" in str(row.prompt))
        options.highlighted = 1 - rising  # the other finding
        panel.show(findings(55))
        await pilot.pause()
        assert [options.get_option_at_index(i) for i in range(2)] == rows
        assert "step 55" in str(rows[rising].prompt)
        assert options.highlighted == 1 - rising and panel.selected is not None
        assert panel.selected[1].rule == "grad-norm-spike"
        panel.show(findings(55)[:1])  # one row fewer: the options are replaced
        await pilot.pause()
        assert options.option_count == 1
