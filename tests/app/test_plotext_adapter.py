"""The plotext adapter: the fast path through plotext's internals, with the series drawn by
the numpy raster or by plotext, and the public fallback draw the same cells, so a plotext
release without those internals changes cost, not looks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import pytest
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip

from trainmon.plotdata import LossPlotData, loss_plot_data
from trainmon.records import MetricRecord
from trainmon.store import MetricStore
from trainmon.ui import plotext_adapter
from trainmon.ui.widgets import loss_plot
from trainmon.ui.widgets.loss_plot import LossPlot, Marker, RunPlot

Path = Literal["raster", "plotext", "public"]


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield LossPlot(id="plot", cpu_budget=None)


def demo_store(steps: int = 200, wobble: float = 0.05, evals: int = 40) -> MetricStore:
    store = MetricStore()
    for step in range(1, steps):
        loss = 3.0 / step**0.3 + wobble * (step % 7) + wobble * math.sin(step / 9)
        values = {"loss": loss, "learning_rate": 1e-4 * step}
        if step % 97 == 0:
            values["loss"] = math.nan  # a cross along the top
        store.extend([MetricRecord("train", step, values)], float(step))
        if step % evals == 0:
            store.extend([MetricRecord("eval", step, {"eval_loss": 2.0 / step**0.2})], 0.0)
    return store


def one_run(width: int) -> tuple[list[RunPlot], list[Marker]]:
    return [("run.log", loss_plot_data(demo_store(), width=width))], []


def two_runs_log_y_and_findings(width: int) -> tuple[list[RunPlot], list[Marker]]:
    runs: list[RunPlot] = [
        ("a.log", loss_plot_data(demo_store(), width=width, smoothing=0.6, log_y=True)),
        ("b.log", loss_plot_data(demo_store(900, 0.2, 3), width=width, smoothing=0.8, log_y=True)),
    ]
    return runs, [(50.0, "warning"), (120.0, "critical"), (1500.0, "info")]


def many_runs(width: int) -> tuple[list[RunPlot], list[Marker]]:
    runs: list[RunPlot] = [
        (
            f"r{k}.log",
            loss_plot_data(demo_store(100 + 40 * k, 0.01 * k), width=width, smoothing=0.5),
        )
        for k in range(6)
    ]
    return runs, [(30.0, "info")]


def a_single_point(width: int, loss: float = 2.5) -> tuple[list[RunPlot], list[Marker]]:
    store = MetricStore()
    store.extend([MetricRecord("train", 7, {"loss": loss, "learning_rate": 0.0})], 0.0)
    return [("run.log", loss_plot_data(store, width=width))], []


def nothing_yet(width: int) -> tuple[list[RunPlot], list[Marker]]:
    return [("run.log", LossPlotData())], []


SCENES = [one_run, two_runs_log_y_and_findings, many_runs, a_single_point, nothing_yet]


def cells(lines: list[Strip]) -> list[list[tuple[str, Style | None]]]:
    """Each line as (character, style) per cell, whatever the segment boundaries."""
    out = []
    for strip in lines:
        row: list[tuple[str, Style | None]] = []
        for segment in strip:
            row.extend((char, segment.style) for char in segment.text)
        out.append(row)
    return out


async def draw(
    monkeypatch: pytest.MonkeyPatch,
    path: Path,
    scene: object = one_run,
    size: tuple[int, int] = (100, 30),
) -> tuple[list[Strip], LossPlot]:
    if path == "plotext":
        monkeypatch.setattr(loss_plot, "has_raster_path", lambda plt: False)
    if path == "public":
        monkeypatch.setattr(loss_plot, "build_matrix", lambda plt, draw=None, frame=None: None)
    app = Host()
    async with app.run_test(size=size) as pilot:
        plot = app.query_one(LossPlot)
        await pilot.pause()
        runs, markers = scene(plot.data_width)  # type: ignore[operator]
        plot.show(runs, markers, immediate=True)
        await pilot.pause()
        return [plot.render_line(y) for y in range(plot.size.height)], plot


async def test_fallback_draws_the_same_cells_as_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, _plot = await draw(monkeypatch, "raster")
    monkeypatch.undo()
    slow, plot = await draw(monkeypatch, "public")
    assert any(ch in "".join(s.text for s in fast) for ch in "⠁⠂⠄⡀⢀●")  # curves are drawn
    assert cells(slow) == cells(fast)
    assert plot.renderer == "plotext"  # no matrix to draw into: plotext draws the series


@pytest.mark.parametrize("scene", SCENES, ids=lambda scene: scene.__name__)
@pytest.mark.parametrize("size", [(100, 30), (45, 14), (160, 44)], ids=str)
async def test_the_raster_draws_the_cells_plotext_draws(
    monkeypatch: pytest.MonkeyPatch, scene: object, size: tuple[int, int]
) -> None:
    raster, plot = await draw(monkeypatch, "raster", scene, size)
    assert plot.renderer == "raster"
    monkeypatch.undo()
    by_plotext, _plot = await draw(monkeypatch, "plotext", scene, size)
    assert cells(raster) == cells(by_plotext)


async def test_the_raster_draws_the_dotted_lr_without_colour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    raster, _plot = await draw(monkeypatch, "raster")
    assert "·" in "".join(s.text for s in raster)
    monkeypatch.setattr(loss_plot, "has_raster_path", lambda plt: False)
    by_plotext, _plot = await draw(monkeypatch, "plotext")
    assert cells(raster) == cells(by_plotext)


def test_fast_path_is_taken_on_the_pinned_plotext() -> None:
    from textual_plotext.plot import Plot

    assert plotext_adapter.has_fast_path(Plot())
    assert plotext_adapter.has_raster_path(Plot())


def test_a_figure_without_the_internals_takes_the_public_path() -> None:
    class PublicOnly:
        def build(self) -> str:
            return "\x1b[31mab\x1b[0m\ncd"

    plt = PublicOnly()
    assert not plotext_adapter.has_fast_path(plt)
    assert not plotext_adapter.has_raster_path(plt)
    assert plotext_adapter.build_matrix(plt) is None
    lines = plotext_adapter.ansi_lines(plt, 4, Style())
    assert [line.text for line in lines] == ["ab  ", "cd  "]
    assert lines[0].cell_length == 4


async def test_a_constant_negative_loss_reads_upwards(monkeypatch: pytest.MonkeyPatch) -> None:
    """plotext's own limits for one value v below 0 are (0.5 v, 1.5 v), high to low, and its
    axis then reads downwards; the raster's figure keeps the limits low to high."""

    def negative(width: int) -> tuple[list[RunPlot], list[Marker]]:
        return a_single_point(width, -2.5)

    lines, _plot = await draw(monkeypatch, "raster", negative, (60, 14))
    labels = [float(line.text[:5]) for line in lines if line.text[5:6] == "┤"]
    assert len(labels) >= 3 and labels == sorted(labels, reverse=True)
    assert any("⠂" in line.text for line in lines)  # the point, mid-plot


class PlotextHost(App[None]):
    def compose(self) -> ComposeResult:
        yield LossPlot(id="plot", cpu_budget=None, renderer="plotext")


async def test_kept_rows_and_frames_give_the_figure_a_fresh_build_gives() -> None:
    """Record by record (a marker line, the LR, log-y for a while), the plot that keeps rows
    and copies frames shows what plotext draws from scratch."""
    store = demo_store(300)
    app, other = Host(), PlotextHost()
    async with app.run_test(size=(100, 30)) as pilot, other.run_test(size=(100, 30)) as pilot2:
        plot, fresh = app.query_one(LossPlot), other.query_one(LossPlot)
        calls = {"given": 0, "built": 0}
        figure: Any = plot.plt
        xlabel, build = figure.xlabel, figure._build_matrix

        def counted(name: str, method: Callable[..., object]) -> Callable[..., object]:
            def call(*args: object, **kwargs: object) -> object:
                calls[name] += 1
                return method(*args, **kwargs)

            return call

        figure.xlabel, figure._build_matrix = counted("given", xlabel), counted("built", build)
        for step in range(300, 360):
            loss = 1.0 + (step % 3) / 10
            store.extend([MetricRecord("train", step, {"loss": loss, "learning_rate": 0.03})], 0)
            data = loss_plot_data(store, width=plot.data_width, log_y=330 <= step < 340)
            plot.show([("run.log", data)], [(120.0, "warning")], immediate=True)
            fresh.show([("run.log", data)], [(120.0, "warning")], immediate=True)
            await pilot.pause()
            await pilot2.pause()
            shown = [plot.render_line(y) for y in range(plot.size.height)]
            expected = [fresh.render_line(y) for y in range(fresh.size.height)]
            assert cells(shown) == cells(expected), step
        assert plot._frame_cache.hits > 20  # most records moved no tick
        # plotext is given a figure's calls only to build its frame, not for a copied one.
        assert calls["given"] == calls["built"] <= 60 - plot._frame_cache.hits
        assert fresh.renderer == "plotext" and plot._figure is not None


def _ticks_labels_lines(plt: object) -> None:
    """A plot that sets everything a loss plot sets: labels, ticks, limits, a marker line."""

    fig: Any = plt
    fig.plot([1, 2, 3, 4], [4.0, 2.0, 3.0, 1.0], color=(200, 80, 80), marker="braille")
    fig.plot([1, 4], [0.1, 0.3], yside="right", marker="braille")
    fig.xlim(0, 5)
    fig.ylim(0, 5)
    fig.xticks([1, 3], ["one", "three"])
    fig.yticks([2, 4], ["2", "4"])
    fig.yticks([0.1, 0.3], ["1e-1", "3e-1"], yside="right")
    fig.xlabel("step")
    fig.ylabel("loss")
    fig.ylabel("lr", yside="right")
    fig.title("3 NaN/inf")
    fig.vline(2.5, color=(240, 200, 0))


def _bare(plt: object) -> None:
    """A plot that sets none of it: what plotext chooses by itself."""

    fig: Any = plt
    fig.scatter([10, 20, 30], [0.5, 0.25, 0.125], marker="●")


def test_a_kept_figure_reset_builds_what_a_new_figure_builds() -> None:
    from textual_plotext.plot import Plot

    kept = Plot()
    for scene in (_ticks_labels_lines, _bare, _ticks_labels_lines, _bare):
        plotext_adapter.reset_figure(kept)
        scene(kept)
        fresh = Plot()
        scene(fresh)
        for fig in (kept, fresh):
            plotext_adapter.set_plot_size(fig, 70, 20)
            fig.theme("pro")
        assert kept.build() == fresh.build(), scene.__name__


def test_a_figure_without_the_resets_is_cleared_through_the_public_path() -> None:
    class PublicOnly:
        def __init__(self) -> None:
            self.cleared: list[str] = []

        def clear_figure(self) -> None:
            self.cleared.append("figure")

        def clear_data(self) -> None:
            self.cleared.append("data")

    plt = PublicOnly()
    plotext_adapter.reset_figure(plt)
    assert plt.cleared == ["figure", "data"]


def test_a_figure_of_subplots_is_cleared_through_the_public_path() -> None:
    from textual_plotext.plot import Plot

    plt = Plot()
    plt.subplots(1, 2)
    plt.subplot(1, 1)
    _bare(plt)
    plotext_adapter.reset_figure(plt)
    assert plt._no_plots  # plotext's clear_figure: one plot again
