"""The status line repaints only the cells a new record changed, and the screen then shows
what a full redraw would: Textual composes one rectangle around everything dirty, so a
full-width row beside the plot's rows would pull the side panes into every record's update."""

from __future__ import annotations

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip

from trainmon.records import Progress
from trainmon.ui.widgets.rows import changed_span, text_strip
from trainmon.ui.widgets.status_bar import RunStatus, StatusBar

CONSOLE = Console(width=200)
BASE = Style(color="white", bgcolor="blue")


def strip(text: str | Text, width: int = 20) -> Strip:
    line = text if isinstance(text, Text) else Text(text)
    return text_strip(line, width, BASE, CONSOLE)


def test_the_changed_span_covers_exactly_the_cells_that_differ() -> None:
    assert changed_span(strip("step 1000 ok"), strip("step 1000 ok")) is None
    assert changed_span(strip("step 1000 ok"), strip("step 1001 ok")) == (8, 9)
    assert changed_span(strip("step 999 ok"), strip("step 1000 ok")) == (5, 12)  # shifted
    assert changed_span(strip("step 1000 ok"), strip("step 1000")) == (10, 12)  # shorter
    red = Text("step 1000 ok")
    red.stylize("red", 10, 12)
    assert changed_span(strip("step 1000 ok"), strip(red)) == (10, 12)  # a colour alone
    assert changed_span(strip("数据 1"), strip("数据 2")) == (5, 6)  # wide: two cells each


def test_a_line_too_long_is_cut_after_a_word_as_textual_cuts_it() -> None:
    line = strip("one two three four five six", 12)
    assert line.cell_length == 12 and line.text.rstrip() == "one two"


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")


def status(step: int, age: float = 0.0) -> tuple[RunStatus, ...]:
    progress = Progress(step=step, epoch=step / 1000)
    return (RunStatus(label="run.log", log_format="hf-trainer", progress=progress, age_s=age),)


async def test_a_new_step_repaints_its_digits_and_the_screen_matches_a_full_redraw() -> None:
    app, fresh = Host(), Host()
    async with app.run_test(size=(150, 3)) as pilot, fresh.run_test(size=(150, 3)) as other:
        bar, full = app.query_one(StatusBar), fresh.query_one(StatusBar)
        bar.show(status(1000))
        await pilot.pause()
        regions: list[Region] = []
        refresh = bar.refresh

        def noted(*args: Region, **kwargs: bool) -> StatusBar:
            regions.extend(args or [Region(0, 0, 10_000, 1)])
            return refresh(*args, **kwargs)

        bar.refresh = noted  # type: ignore[method-assign]
        for step, age in ((1001, 0.0), (1002, 0.0), (1003, 40.0)):
            regions.clear()
            bar.show(status(step, age))
            full.show(status(step, age))
            await pilot.pause()
            await other.pause()
            assert regions and all(r.width < bar.content_size.width // 2 for r in regions)
            shown = app.screen._compositor.render_strips()[0]
            expected = fresh.screen._compositor.render_strips()[0]
            assert shown.text == expected.text and list(shown) == list(expected), step
        assert "step 1003" in bar.plain_lines()[0]
