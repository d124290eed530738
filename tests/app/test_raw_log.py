"""The raw log view in the real app (pilot): `v` shows the log's text; scrolling, search,
level highlighting, escapes shown visibly, and nothing read while hidden."""

from __future__ import annotations

from pathlib import Path

from tests.app.helpers import make_app, screen_text, wait_until
from trainmon.ui.widgets.raw_log import RawLogView, line_level

LINES = 600


def write_log(path: Path) -> None:
    with path.open("w") as f:
        for step in range(1, LINES + 1):
            f.write(f"{{'loss': {2.0 / step:.4f}, 'step_no': {step}}}\n")
            if step == 100:
                f.write("WARNING: the needle is here (old)\n")
            if step == 500:
                f.write("Traceback (most recent call last):\n")
                f.write("RuntimeError: needle again [bold]not markup[/bold] \x1b[31mred\x1b[0m\n")


def shown(view: RawLogView) -> list[str]:
    return [line.text for line in view.lines]


async def test_hidden_view_reads_nothing_then_v_shows_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    write_log(log)
    app = make_app([log])
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.query_one("#rawlog", RawLogView)
        await pilot.pause(0.5)  # several ticks of the dashboard
        assert (view.display, view.shown, view.source.blocks_read) == (False, False, 0)
        await pilot.press("v")
        await wait_until(pilot, lambda: bool(view.lines), "the log's last lines")
        assert view.lines[-1].text == f"{{'loss': {2.0 / LINES:.4f}, 'step_no': {LINES}}}"
        assert not app.has_class("-rawlog-full")  # a tall wide terminal: a pane
        assert app.query_one("#loss").display
        with log.open("a") as f:
            f.write("appended while shown\n")
        await wait_until(pilot, lambda: shown(view)[-1] == "appended while shown", "following")
        await pilot.press("v")
        assert not view.shown and not view.display
        reads = view.source.blocks_read
        with log.open("a") as f:
            f.write("appended while hidden\n")
        await pilot.pause(0.5)
        assert view.source.blocks_read == reads  # no timer, no reads while hidden


async def test_scroll_back_to_the_start_and_to_the_end_again(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    write_log(log)
    app = make_app([log])
    async with app.run_test(size=(100, 30)) as pilot:  # medium: in the plots' place
        view = app.query_one("#rawlog", RawLogView)
        await pilot.press("v")
        await wait_until(pilot, lambda: bool(view.lines), "the log's last lines")
        assert app.has_class("-rawlog-full")
        assert not app.query_one("#loss").display and app.query_one("#advice").display
        rows = len(view.lines)
        last = view.lines[-1].start
        await pilot.press("up")
        await wait_until(pilot, lambda: view.lines[-1].start < last, "one line up")
        assert view.top is not None
        await pilot.press("pageup")
        await wait_until(pilot, lambda: view.lines[-1].start < last - rows, "a page up")
        await pilot.press("home")
        await wait_until(pilot, lambda: view.top == 0, "the start")
        assert shown(view)[0] == "{'loss': 2.0000, 'step_no': 1}"
        assert "0 %" in str(view.border_subtitle)
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: (view.top or 0) > 0, "a page down")
        assert shown(view)[0] == f"{{'loss': {2.0 / rows:.4f}, 'step_no': {rows}}}"
        await pilot.press("end")
        await wait_until(pilot, lambda: view.top is None, "following the end again")
        assert view.lines[-1].start == last


async def test_search_finds_older_and_newer_matches(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    write_log(log)
    data = log.read_bytes()
    newest, oldest = data.rfind(b"needle"), data.find(b"needle")
    app = make_app([log])
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.query_one("#rawlog", RawLogView)
        await pilot.press("v")
        await wait_until(pilot, lambda: bool(view.lines), "the log's last lines")
        await pilot.press("slash")
        await pilot.press(*"NEEDLE", "enter")  # any case
        await wait_until(pilot, lambda: view.match == newest, "the newest match")
        assert any("needle again" in text for text in shown(view))
        await pilot.press("n")
        await wait_until(pilot, lambda: view.match == oldest, "the older match")
        assert any("the needle is here" in text for text in shown(view))
        await pilot.press("n")
        await wait_until(pilot, lambda: "not found" in str(view.border_subtitle), "no older one")
        assert view.match == oldest
        await pilot.press("N")
        await wait_until(pilot, lambda: view.match == newest, "the newer match")


async def test_escapes_and_markup_are_shown_as_text_and_levels_highlighted(
    tmp_path: Path,
) -> None:
    log = tmp_path / "run.log"
    write_log(log)
    app = make_app([log])
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.query_one("#rawlog", RawLogView)
        await pilot.press("v")
        await wait_until(pilot, lambda: bool(view.lines), "the log's last lines")
        await pilot.press("slash", *"markup", "enter")
        await wait_until(pilot, lambda: view.match is not None, "the match")
        await pilot.pause(0.2)
        screen = screen_text(app)
        assert "[bold]not markup[/bold] ␛[31mred␛[0m" in screen
        assert "\x1b" not in screen
        error = view.get_component_rich_style("raw-log--error", partial=True)
        match = view.get_component_rich_style("raw-log--match", partial=True)
        styles = {
            segment.text: segment.style
            for strip in app.screen._compositor.render_strips()
            for segment in strip
            if segment.style is not None
        }
        traceback = next(style for text, style in styles.items() if "Traceback" in text)
        assert traceback.color == error.color
        found = next(style for text, style in styles.items() if text == "markup")
        assert found.bgcolor == match.bgcolor
    assert line_level("Traceback (most recent call last):") == "error"
    assert line_level('  File "train.py", line 3, in <module>') == "error"
    assert line_level("torch.OutOfMemoryError: CUDA out of memory.") == "error"
    assert line_level("UserWarning: WARNING this is deprecated") == "warning"
    assert line_level("{'loss': 0.5, 'error_rate': 0.1}") is None
