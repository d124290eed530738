"""The dashboard never sends a control or bidi character from outside to the terminal.

Hostile text arrives the ways it does in real use: the followed log's file name (status
line, plot legend), a follower error, metric names and findings (advice pane), a real
training process whose argv[0] carries escape sequences (CPU pane, found by `--pid`), and
GPU names and process command lines (fake NVML, the real psutil lookup of that process).
What the screen shows is checked for raw characters, and for their visible forms.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings

from tests.app.helpers import screen_text, status_lines, wait_until
from tests.fakes.fake_nvml import GIB, FakeDevice, FakeNvml
from tests.hostile import OSC_TITLE, assert_terminal_safe, hostile_text, process_named
from trainmon.config import DashboardOptions
from trainmon.records import Finding, FollowEvent
from trainmon.sources.cpu import PsutilCpuSource
from trainmon.sources.nvml import NvmlGpuSource
from trainmon.sources.process import TrainingTracker
from trainmon.store import MetricStore
from trainmon.text import terminal_safe
from trainmon.ui.app import TrainmonApp
from trainmon.ui.messages import FollowStateChanged
from trainmon.ui.widgets.cpu_panel import CpuPanel
from trainmon.ui.widgets.gpu_panel import GpuPanel


class _State:
    def __init__(self, active: tuple[Finding, ...], schedule: str) -> None:
        self.active = active
        self.history = active
        self.new_critical = False
        self.schedule = schedule


class QuotingEngine:
    """An advice-engine double whose findings quote the run's metric names, as the eval
    rules quote a task metric's name in their evidence."""

    def __init__(self, context: Mapping[str, object], muted: frozenset[str]) -> None:
        del context, muted

    def update(self, store: MetricStore, now_s: float) -> _State:
        names = [n for n in store.names() if n not in ("loss",)]
        if not names:
            return _State((), "")
        name = names[0]
        finding = Finding(
            "overfitting", "warning", 2, f"{name} rising", f"{name} 0.1→0.9", f"watch {name}"
        )
        return _State((finding,), f"schedule of {name}")

    def mute(self, rule: str) -> None:
        """Nothing to mute in this double."""

    def observe_hardware(self, sample: object) -> None:
        """This double judges the log only."""

    def observe_process_exit(self, fact: object) -> None:
        """This double judges the log only."""


def file_part(text: str) -> str:
    """`text` usable in a file name (no slash, no NUL)."""
    return text.replace("/", "_").replace("\x00", "_")


async def _show_hostile(tmp: Path, text: str, pid: int) -> str:
    log = tmp / f"run{file_part(text)}.log"
    rows = [{"step": s, "loss": 2.0 / s, f"eval_{text}": s / 10} for s in range(1, 6)]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gpu = NvmlGpuSource(
        FakeNvml([FakeDevice(name=f"NVIDIA {text}", processes=[(pid, GIB)])]), wall=lambda: 5.0
    )
    cpu = PsutilCpuSource(tracker=TrainingTracker([str(log)], pid=pid))
    options = DashboardOptions(paths=(str(log),), refresh_s=0.1, bell=False, pid=pid)
    app = TrainmonApp(
        options,
        gpu_source=gpu,
        cpu_source=cpu,
        advice_factory=QuotingEngine,
        poll_interval_s=0.05,
        sample_interval_s=0.5,
    )
    # Wide enough for the full GPU layout, whose process rows show command lines.
    async with app.run_test(size=(260, 70)) as pilot:
        await wait_until(pilot, lambda: "step 5" in status_lines(app)[0], "the records")

        def panes_sampled() -> bool:
            cpu_pane = app.query_one("#cpu", CpuPanel).render_text().plain
            gpu_pane = app.query_one("#gpu", GpuPanel).render_text().plain
            return f"trainer {pid}" in cpu_pane and str(pid) in gpu_pane

        await wait_until(pilot, panes_sampled, "the CPU and GPU panes")
        await wait_until(pilot, lambda: bool(app.runs[0].active), "the finding")
        await pilot.pause(0.3)
        shown = screen_text(app)
        app.post_message(
            FollowStateChanged(0, FollowEvent("error", str(log), f"cannot read {log}"))
        )
        await wait_until(pilot, lambda: "error" in status_lines(app)[0], "the error state")
        await pilot.pause(0.3)
        return shown + "\n" + screen_text(app)


@pytest.mark.slow
@settings(
    max_examples=5,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a shrink step costs an app run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(hostile_text)
@example(f"{OSC_TITLE}\x1b[2J\x9b31m\u202e")
@example("\x00\r\u202d")
# a name long once escaped: the error state was dropped whole from the status line
@example(
    "\x7f\x1b\u2029\u2069.\u2069\u2068\u200e\u061c\u061c\ta\x07\x07\u202d\u202b\x1b\u202d\u202a]\u202a\x9b\u2067\u2028"
)
def test_hostile_text_never_reaches_the_screen_raw(tmp_path: Path, text: str) -> None:
    with process_named(f"{OSC_TITLE}{text.replace(chr(0), '_')}") as pid:  # argv: no NUL
        example = tmp_path / f"ex{abs(hash(text))}"
        example.mkdir(exist_ok=True)
        screen = asyncio.run(_show_hostile(example, text, pid))
    for line in screen.split("\n"):
        assert_terminal_safe(line, "dashboard screen")
    assert "␛]2;pwned␇" in screen  # the trainer's argv[0], visible in the CPU/GPU panes
    assert terminal_safe(f"run{file_part(text)}.log")[:20] in screen


async def test_ignored_series_are_noted_in_the_status_line(tmp_path: Path) -> None:
    log = tmp_path / "wide.log"
    rows = [{"step": s, "loss": 1.0 / s, **{f"m{i}": float(i) for i in range(6)}} for s in (1, 2)]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    options = DashboardOptions(paths=(str(log),), refresh_s=0.1, bell=False, max_series=3)
    app: Any = TrainmonApp(options, poll_interval_s=0.05)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_until(pilot, lambda: "step 2" in status_lines(app)[0], "the records")
        assert app.runs[0].store.names() == ["loss", "m0", "m1"]
        await wait_until(
            pilot,
            lambda: "4 more series ignored (--max-series 3)" in status_lines(app)[0],
            "the note",
        )
