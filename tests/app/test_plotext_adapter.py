"""The plotext adapter: the fast path through plotext's internals and the public fallback
draw the same cells, so a plotext release without those internals changes cost, not looks."""

from __future__ import annotations

import pytest
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip

from trainmon.plotdata import loss_plot_data
from trainmon.records import MetricRecord
from trainmon.store import MetricStore
from trainmon.ui import plotext_adapter
from trainmon.ui.widgets import loss_plot
from trainmon.ui.widgets.loss_plot import LossPlot


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield LossPlot(id="plot", cpu_budget=None)


def demo_store() -> MetricStore:
    store = MetricStore()
    for step in range(1, 200):
        values = {"loss": 3.0 / step**0.3 + 0.05 * (step % 7), "learning_rate": 1e-4 * step}
        store.extend([MetricRecord("train", step, values)], float(step))
        if step % 40 == 0:
            store.extend([MetricRecord("eval", step, {"eval_loss": 2.0 / step**0.2})], 0.0)
    return store


def cells(lines: list[Strip]) -> list[list[tuple[str, Style | None]]]:
    """Each line as (character, style) per cell, whatever the segment boundaries."""
    out = []
    for strip in lines:
        row: list[tuple[str, Style | None]] = []
        for segment in strip:
            row.extend((char, segment.style) for char in segment.text)
        out.append(row)
    return out


async def draw(monkeypatch: pytest.MonkeyPatch, *, fast: bool) -> list[Strip]:
    if not fast:
        monkeypatch.setattr(loss_plot, "build_matrix", lambda plt: None)
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        plot = app.query_one(LossPlot)
        await pilot.pause()
        data = loss_plot_data(demo_store(), width=plot.data_width)
        plot.show([("run.log", data)], immediate=True)
        await pilot.pause()
        return [plot.render_line(y) for y in range(plot.size.height)]


async def test_fallback_draws_the_same_cells_as_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = await draw(monkeypatch, fast=True)
    slow = await draw(monkeypatch, fast=False)
    assert any(ch in "".join(s.text for s in fast) for ch in "⠁⠂⠄⡀⢀●")  # curves are drawn
    assert cells(slow) == cells(fast)


def test_fast_path_is_taken_on_the_pinned_plotext() -> None:
    from textual_plotext.plot import Plot

    assert plotext_adapter.has_fast_path(Plot())


def test_a_figure_without_the_internals_takes_the_public_path() -> None:
    class PublicOnly:
        def build(self) -> str:
            return "\x1b[31mab\x1b[0m\ncd"

    plt = PublicOnly()
    assert not plotext_adapter.has_fast_path(plt)
    assert plotext_adapter.build_matrix(plt) is None
    lines = plotext_adapter.ansi_lines(plt, 4, Style())
    assert [line.text for line in lines] == ["ab  ", "cd  "]
    assert lines[0].cell_length == 4
