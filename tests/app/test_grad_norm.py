"""GradNormPane in a tiny host app: sparkline, summary, spikes, clip, absent and odd data."""

from __future__ import annotations

import math
from dataclasses import replace

from rich.text import Text
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.visual import Visual, visualize

from trainmon.plotdata import GradNormData, grad_norm_data
from trainmon.records import MetricRecord
from trainmon.store import MetricStore
from trainmon.ui.widgets.grad_norm import ABOVE_GLYPH, ABSENT_TEXT, GradNormPane
from trainmon.ui.widgets.spark import BLOCKS, rebucket_max, spark_rows, styled_rows


class Host(App[None]):
    CSS = "GradNormPane { height: 4; }"

    def compose(self) -> ComposeResult:
        yield GradNormPane()


def store_of(norms: list[float]) -> MetricStore:
    store = MetricStore()
    store.extend([MetricRecord("train", i, {"grad_norm": v}) for i, v in enumerate(norms, 1)], 0)
    return store


def rendered(pane: GradNormPane) -> Text:
    result = pane.render()
    assert isinstance(result, Text)
    return result


async def test_absent_grad_norm_is_one_dim_line() -> None:
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        pane = app.query_one(GradNormPane)
        pane.show(grad_norm_data(MetricStore(), 40))
        await pilot.pause()
        text = rendered(pane)
        assert text.plain == ABSENT_TEXT
        assert text.style == pane.get_component_rich_style("grad-norm--dim", partial=True)


async def test_sparkline_and_summary() -> None:
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        pane = app.query_one(GradNormPane)
        norms = [1.0 + (i % 5) / 10 for i in range(500)]
        data = grad_norm_data(store_of(norms), pane.content_size.width, max_grad_norm=1.3)
        assert pane.show(data) is True
        assert pane.show(data) is False  # equal input: no repaint
        await pilot.pause()
        lines = rendered(pane).plain.split("\n")
        assert len(lines) == 4  # 3 sparkline rows + summary
        assert all(len(row) == pane.content_size.width for row in lines[:3])
        summary = lines[-1]
        assert "last 1.4" in summary and "min 1" in summary and "max 1.4" in summary
        assert "med 1.2" in summary and "clip 1.3 (20% above)" in summary


async def test_spike_cell_gets_the_spike_style() -> None:
    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        pane = app.query_one(GradNormPane)
        norms = [1.0] * 4000
        norms[2000] = 90.0
        pane.show(grad_norm_data(store_of(norms), pane.content_size.width))
        await pilot.pause()
        text = rendered(pane)
        spike_style = pane.get_component_rich_style("grad-norm--spike", partial=True)
        col = pane.data.spikes[0]
        top_row = text.plain.split("\n")[0]
        assert top_row[col] == ABOVE_GLYPH  # above the scale: marked, not a full block
        spans = [s for s in text.spans if s.style == spike_style and s.start <= col < s.end]
        assert spans, "the spike column must carry the spike style"
        assert "1 spike" in text.plain.split("\n")[-1]


async def test_one_spike_does_not_flatten_the_sparkline() -> None:
    """18.7 among values near 1: scaled to a high percentile, the rest keeps its shape, the
    spike is marked above the scale and the caption keeps the true max."""
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        pane = app.query_one(GradNormPane)
        norms = [1.0 + 0.5 * math.sin(i / 20) for i in range(300)]
        norms[150] = 18.7
        pane.show(grad_norm_data(store_of(norms), pane.content_size.width))
        await pilot.pause()
        lines = rendered(pane).plain.split("\n")
        cells = "".join(lines[:3])
        assert ABOVE_GLYPH in lines[0]
        columns = {"".join(row[i] for row in lines[:3]) for i in range(len(lines[0]))}
        assert len(columns) >= 5  # the ordinary values keep their shape (not all ▁)
        assert BLOCKS[8] in cells  # the ordinary maxima reach the top
        assert f"max 18.7  ({ABOVE_GLYPH}>" in lines[-1]
        steady = [1.0 + (i % 5) / 10 for i in range(300)]  # no outlier: scaled to the max
        pane.show(grad_norm_data(store_of(steady), pane.content_size.width))
        await pilot.pause()
        assert ABOVE_GLYPH not in rendered(pane).plain


async def test_nan_only_and_single_point() -> None:
    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        pane = app.query_one(GradNormPane)
        pane.show(grad_norm_data(store_of([math.nan, math.inf, -math.inf]), 30))
        await pilot.pause()
        text = rendered(pane).plain
        assert "3 NaN/inf" in text and "last –" in text
        pane.show(grad_norm_data(store_of([0.5]), 30))
        await pilot.pause()
        assert "last 0.5" in rendered(pane).plain


async def test_resize_to_tiny_sizes_never_crashes() -> None:
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        pane = app.query_one(GradNormPane)
        pane.show(grad_norm_data(store_of([1.0, 2.0, math.nan, 3.0] * 50), 60, max_grad_norm=2))
        for size in ((20, 5), (5, 2), (1, 1), (120, 40)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            rendered(pane)
        pane.show(GradNormData())
        await pilot.pause()


def test_one_style_span_per_run_of_cells() -> None:
    """The point of the custom renderer: styles change per run of cells, not per cell."""
    rows = spark_rows([float(i % 9) for i in range(160)], 3)
    plain = "a"
    styles = [plain] * 160
    styles[80] = "b"
    text = styled_rows(rows, styles)  # type: ignore[arg-type]
    assert len(text.spans) == 3 * 3  # per row: run, the spike cell, run
    assert all(len(row) == 160 for row in text.plain.split("\n"))


def test_spark_rows_levels_and_nonfinite() -> None:
    rows = spark_rows([0.0, 1.0, math.nan, 0.5], 1)
    assert rows == [BLOCKS[1] + BLOCKS[8] + " " + BLOCKS[4]]
    rows2 = spark_rows([0.0, 1.0], 2)
    assert rows2 == [" " + BLOCKS[8], BLOCKS[1] + BLOCKS[8]]
    assert spark_rows([math.nan], 2) == [" ", " "]
    assert spark_rows([2.0, 2.0], 1) == [BLOCKS[4] * 2]


def test_rebucket_keeps_maxima() -> None:
    assert rebucket_max([1.0, 5.0, 2.0, 3.0], 2) == [5.0, 3.0]
    assert rebucket_max([1.0, 2.0], 5) == [1.0, 2.0]
    assert rebucket_max([1.0], 0) == []
    out = rebucket_max([math.nan, math.nan, 1.0], 2)
    assert math.isnan(out[0]) and out[1] == 1.0


async def test_the_dashboard_claims_no_clipping_where_the_run_switched_it_off() -> None:
    """`max_grad_norm` 0 means no clipping (as the advice reads it): the pane must not say
    that every value is above a clip threshold of 0. A real threshold is still shown."""
    from tests.app.helpers import make_app
    from trainmon.run import ParserProgress

    records = [
        MetricRecord("train", s, {"loss": 1.0, "grad_norm": 0.5 + s / 100}) for s in range(1, 40)
    ]
    for clip, shown in (("0", False), ("0.8", True)):
        app = make_app(["g.log"], start_workers=False, refresh_s=3600)
        async with app.run_test(size=(160, 48)) as pilot:
            app.inject(0, records, ParserProgress(context=(("max_grad_norm", clip),)))
            await pilot.pause()
            app.refresh_now()
            await pilot.pause()
            text = rendered(app.query_one("#grad-norm", GradNormPane)).plain
            assert ("clip " in text) is shown, (clip, text)


def textual_lines(pane: GradNormPane) -> list[list[tuple[str, object]]]:
    """`render()` turned into screen lines by Textual's own conversion, cell by cell."""
    width, height = pane.content_size
    strips = Visual.to_strips(
        pane, visualize(pane, pane.render()), width, height, pane.visual_style
    )
    base = pane.visual_style.rich_style
    return [cells(strip.adjust_cell_length(width, base)) for strip in strips]


def cells(strip: Strip) -> list[tuple[str, object]]:
    """Each cell's character and style (without the offsets Textual notes for selection)."""
    return [
        (ch, seg.style.clear_meta_and_links() if seg.style else None)
        for seg in strip
        for ch in seg.text
    ]


async def test_kept_lines_are_textuals_own_and_only_changed_rows_repaint() -> None:
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        pane = app.query_one(GradNormPane)
        width = pane.content_size.width
        norms = [1.0 + (i % 5) / 10 for i in range(500)] + [9.0]  # a spike
        pane.show(grad_norm_data(store_of(norms), width))
        await pilot.pause()
        shown = [cells(pane.render_line(y)) for y in range(pane.content_size.height)]
        assert shown == textual_lines(pane)
        assert all(len(row) == width for row in shown)
        # A last value that moves only the summary: one row repainted, and it is the last.
        before = pane.line_repaints
        pane.show(replace(pane.data, last=2.5))
        assert pane.line_repaints == before + 1
        await pilot.pause()
        shown = [cells(pane.render_line(y)) for y in range(pane.content_size.height)]
        assert shown == textual_lines(pane)
        assert "last 2.5" in "".join(ch for ch, _style in shown[-1])
        # A summary wider than the pane ends at the last word that fits, as Textual draws it.
        await pilot.resize_terminal(24, 10)
        await pilot.pause()
        pane.show(replace(pane.data, last=3.5))
        await pilot.pause()
        shown = [cells(pane.render_line(y)) for y in range(pane.content_size.height)]
        assert shown == textual_lines(pane)
        assert "".join(ch for ch, _style in shown[-1]).rstrip() == "grad_norm last 3.5  min"


async def test_kept_lines_follow_a_theme_change() -> None:
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        pane = app.query_one(GradNormPane)
        norms = [1.0 + (i % 5) / 10 for i in range(500)] + [9.0]
        pane.show(grad_norm_data(store_of(norms), pane.content_size.width))
        await pilot.pause()
        dark = [cells(pane.render_line(y)) for y in range(pane.content_size.height)]
        app.theme = "textual-light"
        await pilot.pause()
        light = [cells(pane.render_line(y)) for y in range(pane.content_size.height)]
        assert light != dark
        assert light == textual_lines(pane)
