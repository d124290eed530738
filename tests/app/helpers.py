"""What the pilot-driven dashboard tests share: polling the app's state with a generous
timeout (never a fixed sleep as the assertion), log lines, screen text, and advice doubles."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from trainmon.config import DashboardOptions
from trainmon.records import Finding
from trainmon.store import MetricStore
from trainmon.ui.app import TrainmonApp
from trainmon.ui.widgets.loss_plot import LossPlot
from trainmon.ui.widgets.status_bar import StatusBar

TIMEOUT_S = 20.0


async def wait_until(pilot: Pilot[Any], predicate: Callable[[], bool], what: str) -> None:
    """Poll `predicate` while letting the app run; fail with `what` after a generous timeout."""
    loop_time = 0.0
    while not predicate():
        if loop_time > TIMEOUT_S:
            pytest.fail(f"timed out after {TIMEOUT_S:.0f} s waiting for {what}")
        await pilot.pause(0.05)
        loop_time += 0.05


def jsonl(step: int, loss: float, **extra: float) -> str:
    """One JSON-lines metric record, as many custom loops print them."""
    values: dict[str, float | int] = {"step": step, "loss": loss, **extra}
    return json.dumps(values) + "\n"


def write_steps(path: Path, steps: Iterable[int], mode: str = "a") -> None:
    with path.open(mode) as f:
        for step in steps:
            f.write(jsonl(step, 2.0 / (1 + 0.01 * step), learning_rate=1e-4, grad_norm=1.0))


def status_lines(app: TrainmonApp) -> list[str]:
    return app.query_one("#status", StatusBar).plain_lines(300)


def screen_text(app: TrainmonApp) -> str:
    """What the terminal shows, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def make_app(paths: Iterable[Path | str], **kwargs: Any) -> TrainmonApp:
    options = DashboardOptions(
        paths=tuple(str(p) for p in paths),
        refresh_s=kwargs.pop("refresh_s", 0.1),
        bell=kwargs.pop("bell", True),
    )
    kwargs.setdefault("poll_interval_s", 0.05)
    return TrainmonApp(options, **kwargs)


class _State:
    def __init__(self, active: tuple[Finding, ...], new_critical: bool) -> None:
        self.active = active
        self.history: tuple[Finding, ...] = ()
        self.new_critical = new_critical
        self.schedule = ""


class NanEngine:
    """An advice-engine double: a critical finding once the loss holds a NaN."""

    def __init__(self, context: Mapping[str, object], muted: frozenset[str]) -> None:
        self.muted = set(muted)
        self.reported: set[str] = set()

    def update(self, store: MetricStore, now_s: float) -> _State:
        series = store.get("loss")
        active: list[Finding] = []
        if series is not None and any(math.isnan(v) for v in series.values):
            active.append(Finding("nan-loss", "critical", 3, "loss is NaN", "loss nan", "lower lr"))
        active = [f for f in active if f.rule not in self.muted]
        new = tuple(f for f in active if f.severity == "critical" and f.rule not in self.reported)
        self.reported.update(f.rule for f in new)
        return _State(tuple(active), bool(new))

    def mute(self, rule: str) -> None:
        self.muted.add(rule)

    def observe_hardware(self, sample: object) -> None:
        """These doubles judge the log only."""

    def observe_process_exit(self, fact: object) -> None:
        """These doubles judge the log only."""


def count_shows(plot: LossPlot) -> list[int]:
    """Wrap PLOT's `show` so that each call notes the first run's train record count; returns
    the list it appends to (what the plot was handed, build or not)."""
    counts: list[int] = []
    show = plot.show

    def counting_show(runs: Any, markers: Any = (), *, immediate: bool = False) -> bool:
        counts.append(runs[0][1].train_count)
        return show(runs, markers, immediate=immediate)

    plot.show = counting_show  # type: ignore[method-assign]
    return counts
