"""LossPlot in a tiny host app: draws runs, skips unchanged input, survives odd data and sizes."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.color import Color
from textual.pilot import Pilot

from trainmon.plotdata import LossPlotData, loss_plot_data
from trainmon.records import Finding, MetricRecord
from trainmon.store import MetricStore
from trainmon.ui.widgets.loss_plot import (
    EARLY_SHARE,
    MIN_INTERVAL_S,
    RUN_COLOURS,
    STARTUP_INTERVAL_S,
    LossPlot,
    as_markers,
    linear_ticks,
    log_ticks,
    nice_ticks,
    nice_x_axis,
    pack_legend,
    tick_label,
    tick_labels,
)


class Host(App[None]):
    def __init__(self, cpu_budget: float | None = None) -> None:
        super().__init__()
        self.cpu_budget = cpu_budget

    def compose(self) -> ComposeResult:
        yield LossPlot(id="plot", cpu_budget=self.cpu_budget)


def store_with(losses: list[float], *, lr: bool = True, evals: bool = True) -> MetricStore:
    store = MetricStore()
    for i, loss in enumerate(losses, start=1):
        values = {"loss": loss}
        if lr:
            values["learning_rate"] = 1e-4 * i / len(losses)
        store.extend([MetricRecord("train", i, values)], float(i))
        if evals and i % 5 == 0:
            store.extend([MetricRecord("eval", i, {"eval_loss": loss * 1.1})], float(i))
    return store


def text_of(plot: LossPlot) -> str:
    return plot.render().plain  # type: ignore[union-attr]


async def show_run(pilot: Pilot[None], store: MetricStore, **options: Any) -> str:
    """Show STORE as the one run `run.log` (OPTIONS go to `loss_plot_data`), let it draw,
    and return the plot's text."""
    plot = pilot.app.query_one(LossPlot)
    plot.show([("run.log", loss_plot_data(store, width=plot.data_width, **options))])
    await pilot.pause()
    return text_of(plot)


@asynccontextmanager
async def drawn_at_one_percent() -> AsyncIterator[tuple[Pilot[None], LossPlot, MetricStore]]:
    """A plot allowed 1 % of a core that has drawn a run of three records."""
    app = Host(cpu_budget=0.01)
    async with app.run_test(size=(80, 24)) as pilot:
        store = store_with([2.0, 1.0, 0.5])
        await show_run(pilot, store)
        yield pilot, app.query_one(LossPlot), store


async def test_empty_plot_says_it_is_waiting() -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one(LossPlot)
        await pilot.pause()
        assert "waiting for loss records" in text_of(plot)
        assert plot.show([("run.log", LossPlotData())]) is True
        assert plot.show([("run.log", LossPlotData())]) is False
        assert "waiting for loss records" in text_of(plot)


async def test_redraws_only_when_input_changes() -> None:
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        plot = app.query_one(LossPlot)
        store = store_with([2.0 / math.sqrt(i) for i in range(1, 200)])
        data = loss_plot_data(store, width=plot.data_width)
        before = plot.counts.builds
        assert plot.show([("run.log", data)]) is True
        await pilot.pause()
        assert plot.counts.builds == before + 1
        same = loss_plot_data(store, width=plot.data_width)
        assert plot.show([("run.log", same)]) is False
        assert plot.counts.builds == before + 1
        store.extend([MetricRecord("train", 500, {"loss": 0.1})], 0.0)
        assert plot.show([("run.log", loss_plot_data(store, width=plot.data_width))]) is True
        assert plot.counts.builds == before + 2
        shown = text_of(plot)
        assert "eval" in shown and "lr (right)" in shown
        assert "e-05" in shown and "0.0000" not in shown  # LR labels: 5e-05, not 0.0000500


async def test_nan_and_inf_only_data_is_counted_not_drawn() -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        store = store_with([math.nan, math.inf, -math.inf, math.nan], lr=False, evals=False)
        assert "4 NaN/inf" in await show_run(pilot, store)


async def test_mixed_nonfinite_and_single_point() -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await show_run(pilot, store_with([1.5]))
        store = store_with([3.0, math.nan, 2.0, math.inf, 1.0, 0.5])
        assert "2 NaN/inf" in await show_run(pilot, store)


async def test_log_y_labels_show_original_values() -> None:
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        plot = app.query_one(LossPlot)
        store = store_with([100.0 * 0.9**i for i in range(80)], lr=False, evals=False)
        data = loss_plot_data(store, width=plot.data_width, log_y=True)
        plot.show([("run.log", data)])
        await pilot.pause()
        shown = text_of(plot)
        assert "log10 loss" in shown
        assert "100" in shown and "0.1" in shown
        # a second build (resize) must not crash, unlike plotext's own log scale
        await pilot.resize_terminal(90, 25)
        await pilot.pause()
        text_of(plot)


async def test_several_runs_get_a_legend_and_labels_are_not_markup() -> None:
    app = Host()
    async with app.run_test(size=(120, 30)) as pilot:
        plot = app.query_one(LossPlot)
        a = loss_plot_data(store_with([2.0, 1.5, 1.2, 1.0, 0.9]), width=plot.data_width)
        b = loss_plot_data(store_with([2.5, 2.0, 1.6, 1.4, 1.3]), width=plot.data_width)
        plot.show([("a.log", a), ("[bold]b.log[/]", b)])
        await pilot.pause()
        shown = text_of(plot)
        assert "a.log" in shown
        assert "[bold]b.log[/]" in shown


async def test_markers_and_axes() -> None:
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        plot = app.query_one(LossPlot)
        store = store_with([2.0 / math.sqrt(i) for i in range(1, 60)])
        data = loss_plot_data(store, width=plot.data_width, x_axis="time")
        finding = Finding("loss-spike", "warning", 30, "spike", "x", "y")
        assert plot.show([("run.log", data)], [finding, (10, "critical")]) is True
        assert plot.show([("run.log", data)], [finding, (10, "critical")]) is False
        await pilot.pause()
        assert "time (s)" in text_of(plot)


def test_as_markers_skips_findings_without_a_step() -> None:
    f1 = Finding("gpu-idle", "info", None, "t", "e", "a")
    f2 = Finding("nan-loss", "critical", 12, "t", "e", "a")
    assert as_markers([f1, f2, (3, "warning")]) == ((12.0, "critical"), (3.0, "warning"))


def test_log_ticks() -> None:
    ticks, labels = log_ticks(-2.0, 2.0)
    assert labels[0] == "0.01" and labels[-1] == "100"
    ticks, labels = log_ticks(0.1, 0.3)
    assert len(ticks) == 5 and all(0.1 <= t <= 0.3 for t in ticks)
    assert log_ticks(1.0, 1.0) == ([1.0], ["10"])
    assert log_ticks(math.nan, 1.0) == ([], [])


def test_linear_ticks() -> None:
    assert linear_ticks(0.0, 4e-5) == pytest.approx([0.0, 1e-5, 2e-5, 3e-5, 4e-5])
    assert linear_ticks(2e-5, 2e-5) == [2e-5]
    assert linear_ticks(math.inf, 1.0) == []


async def test_resize_to_tiny_sizes_never_crashes() -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one(LossPlot)
        store = store_with([2.0 / math.sqrt(i) for i in range(1, 100)])
        plot.show([("run.log", loss_plot_data(store, width=plot.data_width, log_y=True))])
        for size in ((40, 12), (12, 5), (3, 2), (1, 1), (200, 60)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await show_run(pilot, store)


async def test_cpu_budget_coalesces_changes_and_draws_the_newest() -> None:
    async with drawn_at_one_percent() as (pilot, plot, store):
        assert plot.min_interval_s == STARTUP_INTERVAL_S  # the start-up allowance
        plot.end_startup()  # past it: the budget rules
        plot.render_cost_s = 0.03  # as if a build cost 30 ms: at 1 %, one build per 3 s
        assert plot.min_interval_s == pytest.approx(3.0)
        builds = plot.counts.builds
        for step in (10, 11, 12):
            store.extend([MetricRecord("train", step, {"loss": 0.1 * step})], 0.0)
            assert plot.show([("run.log", loss_plot_data(store, width=plot.data_width))])
        assert plot.pending and plot.counts.builds == builds  # deferred, not dropped
        for _ in range(100):  # the deferred draw comes when the budget allows (about 3 s)
            if not plot.pending:
                break
            await pilot.pause(0.1)
        assert not plot.pending
        assert plot.counts.builds == builds + 1  # three changes, one build
        newest = loss_plot_data(store, width=plot.data_width)
        assert plot.show([("run.log", newest)]) is False  # what is drawn is the newest input


async def _steady_plot(app: Host, pilot: Pilot[None]) -> tuple[LossPlot, MetricStore]:
    """The plot past its start-up allowance, showing three records, a rebuild costing what a
    raster's does (the interval rules, not the budget)."""
    plot = app.query_one(LossPlot)
    store = store_with([2.0, 1.0, 0.5])
    plot.show([("run.log", loss_plot_data(store, width=plot.data_width))])
    await pilot.pause()
    plot.end_startup()
    plot.render_cost_s = 0.003
    return plot, store


async def test_records_a_little_early_are_drawn_at_once_and_paid_back() -> None:
    """Records read on a 0.25 s grid at one a second come 0.75-1.25 s apart: one that comes
    early is drawn at once; what it took early makes the next wait, so the average holds."""
    app = Host(cpu_budget=0.01)
    async with app.run_test(size=(80, 24)) as pilot:
        plot, store = await _steady_plot(app, pilot)
        interval = plot.min_interval_s
        early = interval * EARLY_SHARE

        def record(step: int, since_last_build_s: float) -> bool:
            plot._last_render_at -= since_last_build_s  # as if that long has passed
            plot.render_cost_s = 0.003  # each build measures its own cost: keep it a raster's
            store.extend([MetricRecord("train", step, {"loss": 1.0 / step})], 0.0)
            renders = plot.counts.renders
            plot.show([("run.log", loss_plot_data(store, width=plot.data_width))])
            return plot.counts.renders == renders + 1  # drawn at once

        assert record(10, interval + 1.0)  # due: drawn, nothing taken early
        assert record(11, interval - 0.8 * early)  # a little early: drawn at once
        assert not record(12, interval - 0.5 * early)  # early again: the first is paid back
        assert plot.pending and 0 < plot.ready_in_s <= interval
        await pilot.pause()


async def test_a_flood_is_drawn_at_most_once_per_interval_on_average() -> None:
    app = Host(cpu_budget=0.01)
    async with app.run_test(size=(80, 24)) as pilot:
        plot, store = await _steady_plot(app, pilot)
        interval = plot.min_interval_s
        renders = plot.counts.renders
        for step in range(10, 90):  # 80 reads 0.25 s apart: 20 s of a flood
            plot._last_render_at -= 0.25
            plot.render_cost_s = 0.003  # each build measures its own cost: keep it a raster's
            store.extend([MetricRecord("train", step, {"loss": 1.0 / step})], 0.0)
            plot.show([("run.log", loss_plot_data(store, width=plot.data_width))])
            if plot.pending:  # no timer fires here: a draw waits for the next read
                plot._deferred.stop()  # type: ignore[union-attr]
                plot._deferred = None
        drawn = plot.counts.renders - renders
        assert 20 / interval - 2 <= drawn <= 20 / interval + 1
        await pilot.pause()


async def test_no_budget_means_every_change_is_drawn() -> None:
    app = Host(cpu_budget=None)
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one(LossPlot)
        plot.render_cost_s = 10.0
        assert plot.min_interval_s == 0.0
        builds = plot.counts.builds
        plot.show([("run.log", loss_plot_data(store_with([1.0]), width=plot.data_width))])
        plot.show([("run.log", loss_plot_data(store_with([2.0]), width=plot.data_width))])
        assert plot.counts.builds == builds + 2 and not plot.pending
        await pilot.pause()


def test_nice_ticks_are_round_numbers_inside_the_range() -> None:
    assert nice_ticks(10, 960) == [250, 500, 750]
    assert nice_ticks(0.0, 0.34) == [0.0, 0.1, 0.2, 0.3]  # no 0.30000000000000004
    assert nice_ticks(1, 4, integer=True) == [1, 2, 3, 4]  # never a step of 0.5
    assert nice_ticks(3, 17, integer=True) == [4, 6, 8, 10, 12, 14, 16]  # nor 2.5
    assert nice_ticks(5, 5) == []
    assert nice_ticks(0, math.inf) == []
    for lo, hi in ((3, 17), (0.001, 0.0071), (120, 1_250_000), (-2.5, 7)):
        ticks = nice_ticks(lo, hi)
        assert 3 <= len(ticks) <= 9
        assert all(lo <= t <= hi for t in ticks)


def test_tick_labels_stay_short() -> None:
    assert [tick_label(t) for t in (0, 250, 1200, 12000, 1_500_000, 0.25)] == [
        "0",
        "250",
        "1.2k",
        "12k",
        "1.5M",
        "0.25",
    ]
    assert tick_label(1.463e11) == "1.46e11" and tick_label(12_345) == "12.3k"
    assert tick_label(3e-5) == "3e-5" and tick_label(-2.5e9) == "-2.5e9"


def test_tick_labels_take_the_digits_that_tell_them_apart() -> None:
    assert tick_labels([250, 500, 1000]) == ["250", "500", "1k"]
    assert tick_labels([1_000_000, 1_001_000, 1_002_000]) == ["1M", "1.001M", "1.002M"]
    assert tick_labels([2e9, 2.0005e9]) == ["2e9", "2.0005e9"]


def test_the_x_axis_ends_at_the_next_tick() -> None:
    assert nice_x_axis(1, 1030, integer=True) == (1250, [250, 500, 750, 1000, 1250])
    assert nice_x_axis(1, 1000, integer=True) == (1000, [250, 500, 750, 1000])  # on a tick
    assert nice_x_axis(0.0, 0.34) == (0.4, [0.0, 0.1, 0.2, 0.3, 0.4])
    assert nice_x_axis(1e6, 1_002_990, integer=True)[0] == 1_003_000
    assert nice_x_axis(5, 5) == (5, [])  # one point: no range, plotext's own ticks


def schedule_store(steps: int) -> MetricStore:
    """A run whose every value depends on its step alone (noisy loss, warm-up LR, evals):
    appending a record leaves the earlier points as they were."""
    store = MetricStore()
    for step in range(1, steps + 1):
        loss = 1.0 + 0.5 * math.sin(step * 1.7) + 0.3 * math.cos(step * 0.37)
        values = {"loss": loss, "learning_rate": 1e-4 * min(1.0, step / 40)}
        store.extend([MetricRecord("train", step, values)], float(step))
        if step % 10 == 0:
            store.extend([MetricRecord("eval", step, {"eval_loss": loss})], float(step))
    return store


async def test_a_record_within_the_axis_moves_no_dot_and_no_tick() -> None:
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        before = figure_rows_of(await show_run(pilot, schedule_store(131)))
        after = figure_rows_of(await show_run(pilot, schedule_store(132)))
        # The axis runs to 150: the last record's dots, then the new ones, at the right.
        assert before[-2] == after[-2] and "150" in before[-2]  # the tick labels
        last_dot = max(
            col for row in before for col, char in enumerate(row) if 0x2800 < ord(char) < 0x2900
        )
        changed = {
            col
            for old, new in zip(before, after, strict=True)
            for col, (a, b) in enumerate(zip(old, new, strict=True))
            if a != b
        }
        assert changed, "the new record is drawn"
        assert min(changed) >= last_dot - 1  # the cell of the last point, and right of it


async def test_a_record_past_the_end_moves_the_end_to_the_next_tick() -> None:
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        before = figure_rows_of(await show_run(pilot, schedule_store(150)))
        after = figure_rows_of(await show_run(pilot, schedule_store(151)))
        assert before[-2].split()[-1] == "150"
        assert after[-2].split()[-1] == "200" and "150" in after[-2].split()


def figure_rows_of(text: str) -> list[str]:
    """The plot's rows below its legend row."""
    return text.split("\n")[1:]


async def test_large_losses_get_engineering_tick_labels() -> None:
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        store = store_with([1.463e11 / (1 + i / 50) for i in range(100)], lr=False, evals=False)
        shown = await show_run(pilot, store)
        assert "e10" in shown or "e11" in shown
        assert "00000000" not in shown


async def test_no_color_draws_the_lr_dotted() -> None:
    app = Host()
    app.no_color = True
    async with app.run_test(size=(100, 30)) as pilot:
        store = store_with([2.0 / math.sqrt(i) for i in range(1, 100)])
        assert "·" in await show_run(pilot, store)


async def test_many_runs_fill_the_legend_rows_above_the_plot_and_count_the_rest() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        plot = app.query_one(LossPlot)
        rows = plot.legend_rows
        assert rows == (40 - 4) // 6

        def runs(count: int) -> list[tuple[str, LossPlotData]]:
            return [
                (
                    f"run{i:02d}.log",
                    loss_plot_data(
                        store_with([2.0 + i / 10, 1.5, 1.2, 1.0, 0.9]),
                        width=plot.data_width,
                        smoothing=0.6,
                    ),
                )
                for i in range(count)
            ]

        plot.show(runs(2))  # few runs: loss and eval of each
        await pilot.pause()
        shown = text_of(plot)
        assert "run00.log loss (EMA 0.6)" in shown and "run01.log eval" in shown

        plot.show(runs(5))  # one entry per run, all named on one row
        await pilot.pause()
        shown = text_of(plot)
        assert "EMA" not in shown and "eval" not in shown
        assert all(f"run{i:02d}.log" in shown.splitlines()[0] for i in range(5))
        assert "more" not in shown

        plot.show(runs(80))  # more than fit: the first ones, and a count of the rest
        await pilot.pause()
        legend = text_of(plot).splitlines()[:rows]
        named = [i for i in range(80) if any(f"run{i:02d}.log" in line for line in legend)]
        assert named == list(range(len(named))) and 0 < len(named) < 80
        assert legend[-1].endswith(f"+{80 - len(named)} more")

        await pilot.resize_terminal(120, 70)  # a taller plot names more runs
        await pilot.pause()
        assert plot.legend_rows > rows
        legend = text_of(plot).splitlines()[: plot.legend_rows]
        assert sum(f"run{i:02d}.log" in "".join(legend) for i in range(80)) > len(named)


async def test_the_legend_is_above_the_data_never_over_it() -> None:
    """The first steps of a falling loss (top left) are where plotext put its legend."""
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        plot = app.query_one(LossPlot)
        store = store_with([5.0 / (1 + i / 10) for i in range(200)])
        await show_run(pilot, store, smoothing=0.6)
        lines = [strip.text for strip in (plot.render_line(y) for y in range(30))]
        assert "loss (EMA 0.6)" in lines[0] and "eval" in lines[0] and "lr (right)" in lines[0]
        assert not any("EMA" in line for line in lines[1:])
        # the axes start below the legend row: the plot's frame is on the second row
        assert lines[1].strip().startswith("┌") or "┌" in lines[1]
        assert [glyph for glyph, _text, _rgb in plot.legend] == ["━", "●", "┄"]


def test_pack_legend_cuts_long_names_and_counts_what_does_not_fit() -> None:
    entries = [("━", f"run{i}.log", (1, 2, 3)) for i in range(10)]
    rows = pack_legend(entries, width=30, rows=2)
    text = ["".join(piece for piece, _rgb in row) for row in rows]
    assert len(text) == 2 and all(len(line) <= 30 for line in text)
    assert text[-1].endswith("more")
    shown = sum(f"run{i}.log" in "".join(text) for i in range(10))
    assert text[-1].endswith(f"+{10 - shown} more")
    long = pack_legend([("━", "x" * 100, (1, 2, 3))], width=20, rows=1)
    assert len("".join(p for p, _rgb in long[0])) <= 20


def test_run_colours_are_distinct_and_leave_severity_colours_to_the_markers() -> None:
    assert len(set(RUN_COLOURS)) == len(RUN_COLOURS) >= 12
    warning, error = (Color.parse(c) for c in ("#ffa62b", "#ba3c5b"))  # textual-dark's
    assert all(Color.parse(c) not in (warning, error) for c in RUN_COLOURS)


async def test_new_data_is_drawn_at_most_once_a_second_however_cheap() -> None:
    async with drawn_at_one_percent() as (_, plot, _):
        plot.end_startup()
        plot.render_cost_s = 0.001  # 1 ms: the budget alone would allow ten a second
        assert plot.min_interval_s == MIN_INTERVAL_S
        plot.render_cost_s = 0.03  # 30 ms: at 1 %, one per 3 s
        assert plot.min_interval_s == pytest.approx(3.0)


async def test_a_constant_loss_gets_round_labels_around_it() -> None:
    # GIVEN one record, and a constant loss whose smoothed curve differs in the last bit
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        for losses in ([1.5], [0.1] * 7):
            text = await show_run(pilot, store_with(losses, lr=False, evals=False))
            # THEN the loss axis spans half the value either side, with round labels, and no
            # label runs into float rounding (1.50000000000000022)
            labels = [row.split("┤")[0].strip() for row in text.splitlines() if "┤" in row]
            assert labels and all(len(label) <= 5 for label in labels), labels
            assert f"{losses[0]:g}" in labels
