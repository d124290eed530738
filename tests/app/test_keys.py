"""Every key of the dashboard, pressed through the Pilot, with its visible effect asserted."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.pilot import Pilot

from tests.app.helpers import screen_text, wait_until
from trainmon.config import DashboardOptions
from trainmon.records import Finding, MetricRecord
from trainmon.sources.samples import CpuSnapshot
from trainmon.store import MetricStore
from trainmon.ui.app import TrainmonApp
from trainmon.ui.help import HelpScreen
from trainmon.ui.messages import CpuSampled
from trainmon.ui.view_actions import SMOOTHING_LEVELS
from trainmon.ui.widgets.advice_panel import AdvicePanel
from trainmon.ui.widgets.loss_plot import LossPlot


class _State:
    def __init__(self, active: tuple[Finding, ...]) -> None:
        self.active = active
        self.history: tuple[Finding, ...] = ()
        self.new_critical = False
        self.schedule = ""


class TwoFindings:
    """An advice-engine double with two findings until muted."""

    FINDINGS = (
        Finding("overfitting", "warning", 30, "eval loss rising", "eval 0.3→0.5", "stop early"),
        Finding("loss-spike", "info", 10, "loss spike", "x4 at step 10", "check the batch"),
    )

    def __init__(self, context: Mapping[str, object], muted: frozenset[str]) -> None:
        self.muted = set(muted)

    def update(self, store: MetricStore, now_s: float) -> _State:
        return _State(tuple(f for f in self.FINDINGS if f.rule not in self.muted))

    def mute(self, rule: str) -> None:
        self.muted.add(rule)

    def unmute(self, rule: str) -> None:
        self.muted.discard(rule)

    def observe_hardware(self, sample: object) -> None:
        """These doubles judge the log only."""

    def observe_process_exit(self, fact: object) -> None:
        """These doubles judge the log only."""


def records(n: int = 60) -> list[MetricRecord]:
    out = []
    for s in range(1, n + 1):
        values = {"loss": 2.0 / s**0.3, "learning_rate": 1e-4, "grad_norm": 1.0, "epoch": s / 20}
        out.append(MetricRecord("train", s, values, time_s=1000.0 + s))
        if s % 20 == 0:
            out.append(MetricRecord("eval", s, {"eval_loss": 2.1 / s**0.2, "epoch": s / 20}))
    return out


def make_app(**kwargs: Any) -> TrainmonApp:
    options = DashboardOptions(paths=("keys.log",), refresh_s=3600)
    return TrainmonApp(
        options, start_workers=False, clock=lambda: 2000.0, advice_factory=TwoFindings, **kwargs
    )


async def started(app: TrainmonApp, pilot: Pilot[Any]) -> None:
    app.post_message(CpuSampled(CpuSnapshot(2000.0, (50.0, 30.0), 40.0, (1.0, 1.0, 1.0))))
    app.inject(0, records())
    await pilot.pause()
    app.tick()
    await pilot.pause()


async def test_q_quits() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, "the app to exit")
    assert app.return_code == 0


async def test_question_mark_lists_every_key() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        await wait_until(pilot, lambda: "trainmon keys" in screen_text(app), "the key table")
        text = screen_text(app)
        for binding in app.BINDINGS:
            assert isinstance(binding, Binding)
            assert (binding.tooltip or binding.description) in text, binding.description
        for key in (
            "space / p",
            "ctrl+s",
            "?",
            "q",
            "s",
            "S",
            "l",
            "x",
            "e",
            "g",
            "a",
            "m",
            "↑",
            "↓",
            "enter",
        ):
            assert key in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help to close")
        assert app.is_running


async def test_space_and_p_toggle_pause() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("space")
        assert app.paused
        assert "paused" in screen_text(app)
        await pilot.press("space")
        assert not app.paused
        await pilot.press("p")
        assert app.paused
        await pilot.press("p")
        assert not app.paused


async def test_s_and_shift_s_step_the_smoothing() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        assert app.smoothing == 0.6
        await pilot.press("S")
        assert app.smoothing == 0.8
        await wait_until(pilot, lambda: "EMA 0.8" in screen_text(app), "the new EMA weight")
        for _ in range(10):
            await pilot.press("S")
        assert app.smoothing == SMOOTHING_LEVELS[-1]
        for _ in range(10):
            await pilot.press("s")
        assert app.smoothing == 0.0
        await wait_until(pilot, lambda: "EMA" not in screen_text(app), "smoothing off")


async def test_l_toggles_log_y() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("l")
        assert app.log_y
        await wait_until(pilot, lambda: "log10 loss" in screen_text(app), "the log-y label")
        await pilot.press("l")
        assert not app.log_y


async def test_x_cycles_the_x_axis() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        seen = [app.x_axis]
        for _ in range(3):
            await pilot.press("x")
            await pilot.pause()
            seen.append(app.x_axis)
            label = app.query_one("#loss", LossPlot)._runs[0][1].x_label
            assert label.startswith(app.x_axis if app.x_axis != "time" else "time")
        assert seen == ["step", "epoch", "time", "step"]


async def test_e_toggles_eval() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        plot = app.query_one("#loss", LossPlot)
        assert plot._runs[0][1].eval
        await pilot.press("e")
        await pilot.pause()
        assert not app.show_eval
        assert not plot._runs[0][1].eval
        await pilot.press("e")
        await pilot.pause()
        assert plot._runs[0][1].eval


async def test_g_and_a_hide_and_show_the_panes() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        system, advice, side = (
            app.query_one("#system"),
            app.query_one("#advice"),
            app.query_one("#side"),
        )
        assert system.display  # a CPU sample was received
        await pilot.press("g")
        assert not system.display and advice.display
        await pilot.press("a")
        assert not advice.display and not side.display  # the plots take the whole width
        await pilot.pause()
        assert app.query_one("#loss").region.width > 150
        await pilot.press("g", "a")
        assert system.display and advice.display and side.display


async def test_m_mutes_the_selected_findings_rule() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        panel = app.query_one("#advice", AdvicePanel)
        assert [f.rule for _run, f in panel.active] == ["overfitting", "loss-spike"]
        panel.query_one("#advice-list").focus()
        await pilot.press("down")  # select the second finding
        assert panel.selected is not None and panel.selected[1].rule == "loss-spike"
        await pilot.press("m")
        await pilot.pause()
        assert [f.rule for _run, f in panel.active] == ["overfitting"]
        assert "loss-spike" in app.muted
        app.tick()
        await pilot.pause()
        assert [f.rule for _run, f in panel.active] == ["overfitting"]  # stays muted
        assert "(muted) loss spike" in screen_text(app)


async def test_mouse_click_selects_a_finding() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        panel = app.query_one("#advice", AdvicePanel)
        option_list = panel.query_one("#advice-list")
        await pilot.click(option_list, offset=(2, 1))
        await pilot.pause()
        assert panel.selected is not None and panel.selected[1].rule == "loss-spike"


async def test_ctrl_s_saves_an_svg_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: any(tmp_path.glob("*.svg")), "the screenshot file")
        (svg,) = tmp_path.glob("*.svg")
        assert "keys.log" in svg.read_text()
        await pilot.pause()
        assert any(
            f"screenshot saved to {os.path.join(tmp_path, svg.name)}" in str(n.message)
            for n in app._notifications
        )


async def test_command_palette_offers_the_dashboard_actions() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["Pause / resume following the logs"] == "space / p"
        assert commands["Save SVG screenshot to the current directory"] == "ctrl+s"
        assert commands["Mute / unmute the selected finding's rule"] == "m"
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert app.screen.id == "--command-palette" or "CommandPalette" in type(app.screen).__name__


async def test_x_skips_wall_time_when_the_log_has_no_timestamps_and_says_why_once() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        app.inject(0, [MetricRecord("train", s, {"loss": 2.0 / s}) for s in range(1, 40)])
        await pilot.pause()
        app.runs[0].store.mark_backlog()  # the history read at start: no printed times
        app.tick()
        await pilot.pause()
        seen = [app.x_axis]
        for _ in range(4):
            await pilot.press("x")
            await pilot.pause()
            seen.append(app.x_axis)
        assert seen == ["step", "epoch", "step", "epoch", "step"]
        said = [n for n in app._notifications if "wall time skipped" in str(n.message)]
        assert len(said) == 1 and "no timestamps" in str(said[0].message)
        app.inject(0, [MetricRecord("train", 40, {"loss": 0.05})])  # one arrives live
        await pilot.pause()
        await pilot.press("x", "x")
        assert app.x_axis == "time"
