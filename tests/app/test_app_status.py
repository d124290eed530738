"""The status line: freshness, warning colour, fitting narrow panes, themes."""

from __future__ import annotations

from trainmon.config import DashboardOptions
from trainmon.records import MetricRecord, Progress
from trainmon.ui.app import TrainmonApp
from trainmon.ui.widgets.status_bar import (
    STALE_WARN_S,
    RunStatus,
    StatusBar,
    age_text,
    fmt_eta,
    progress_bar,
    round_age,
)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_age_text_levels() -> None:
    assert age_text(None, finished=False) == ("no records yet", "info")
    assert age_text(3.0, finished=False) == ("last record <10s ago", "ok")
    assert age_text(42.0, finished=False) == ("last record 42s ago", "ok")
    assert age_text(12 * 60.0, finished=False) == ("no new record for 12 min", "warning")
    assert age_text(12 * 60.0, finished=True) == ("finished", "info")
    assert age_text(STALE_WARN_S, finished=False)[1] == "warning"


def test_ages_are_rounded_to_what_is_shown() -> None:
    assert round_age(3.7) == round_age(9.9) == 0.0
    assert round_age(42.0) == round_age(49.0) == 40.0
    assert round_age(12 * 60 + 30) == 12 * 60.0


def test_progress_bar_and_eta() -> None:
    assert progress_bar(0.5, 10) == "█████     "
    assert len(progress_bar(1.0, 7)) == 7 and progress_bar(1.0, 7) == "█" * 7
    assert progress_bar(-1.0, 4) == "    "
    assert fmt_eta(432) == "7m12s" and fmt_eta(3 * 3600 + 300) == "3h05m"


async def test_a_stalled_log_turns_the_age_into_a_warning() -> None:
    clock = Clock(10_000.0)
    options = DashboardOptions(paths=("slow.log",), refresh_s=3600)
    app = TrainmonApp(options, start_workers=False, clock=clock)
    async with app.run_test(size=(160, 40)) as pilot:
        app.inject(0, [MetricRecord("train", 5, {"loss": 1.0})])
        await pilot.pause()
        app.tick()
        await pilot.pause()
        bar = app.query_one("#status", StatusBar)
        assert "last record <10s ago" in bar.plain_lines()[0]
        assert bar.rows[0].age_s == 0.0
        clock.now += 13 * 60
        app.tick()
        await pilot.pause()
        line = bar.plain_lines()[0]
        assert "no new record for 13 min" in line
        text = bar.row_text(bar.rows[0], 160)
        warning = bar.get_component_rich_style("status-bar--warning", partial=True)
        start = text.plain.index("no new record")
        assert any(span.start <= start < span.end and span.style == warning for span in text.spans)


async def test_rows_fit_narrow_panes_keeping_the_most_useful_fields() -> None:
    app = TrainmonApp(DashboardOptions(paths=("x.log",)), start_workers=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        bar = app.query_one("#status", StatusBar)
        row = RunStatus(
            label="a-rather-long-run-name.log",
            log_format="hf-trainer",
            progress=Progress(step=420, total_steps=1000, epoch=1.26, steps_per_s=3.3, eta_s=175),
            age_s=0.0,
            paused=True,
        )
        wide = bar.row_text(row, 160).plain
        for field in ("step 420/1000", "42%", "ETA 2m55s", "3.3 it/s", "ep 1.26", "hf-trainer"):
            assert field in wide
        for width in (70, 60, 50, 40):
            narrow = bar.row_text(row, width).plain
            assert len(narrow) <= width
            assert narrow.startswith("● a-rather-long-run-name.log")
            assert "paused" in narrow
        assert "step 420/1000" in bar.row_text(row, 60).plain


async def test_a_long_error_is_shortened_not_dropped() -> None:
    app = TrainmonApp(DashboardOptions(paths=("x.log",)), start_workers=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        bar = app.query_one("#status", StatusBar)
        deep = "/data/" + "/".join(f"experiment-{n}" for n in range(12)) + "/run.log"
        row = RunStatus(
            label="run.log",
            progress=Progress(step=420),
            age_s=0.0,
            state=f"error: cannot read {deep}",
            level="error",
            ended="training process 4242 exited (killed by SIGKILL) and said so at length",
        )
        for width in (200, 120, 80, 50):
            line = bar.row_text(row, width).plain
            # GIVEN a state longer than the row: the word "error" and the step stay
            assert len(line) <= width and line.startswith("● run.log")
            assert "step 420" in line, width
            assert ("error: cannot read /data/" if width >= 80 else "error") in line, width
            assert ("training process 4242" if width >= 80 else "training") in line, width
        # AND a state that fits is shown whole
        short = RunStatus(label="run.log", state="waiting for run.log", level="warning")
        assert "waiting for run.log" in bar.row_text(short, 80).plain


async def test_theme_changes_restyle_without_crashing() -> None:
    app = TrainmonApp(DashboardOptions(paths=("x.log",), refresh_s=3600), start_workers=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.inject(0, [MetricRecord("train", s, {"loss": 1.0 / s}) for s in range(1, 30)])
        await pilot.pause()
        app.tick()
        for theme in ("textual-light", "nord", "textual-dark"):
            app.theme = theme
            await pilot.pause()
            app.tick()
            await pilot.pause()
        assert app.is_running
