"""Many logs at once through the real app: every log is followed, every run shows.

`trainmon r1.log … r7.log` once left the seventh log at "no records yet" for ever, and with
six logs the CPU pane stayed empty: each follower held a thread of a shared pool of six.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from tests.app.helpers import NanEngine, make_app, status_lines, wait_until, write_steps
from trainmon.records import FollowEvent, MetricRecord
from trainmon.sources.cpu import PsutilCpuSource
from trainmon.sources.samples import CpuSnapshot
from trainmon.store import MetricStore
from trainmon.ui.app import TrainmonApp
from trainmon.ui.messages import FollowStateChanged
from trainmon.ui.widgets.status_bar import StatusBar, status_row_limit


def make_logs(directory: Path, count: int) -> list[Path]:
    """`count` logs; log i holds steps 1 .. 10 + i, so each run's last step is its own."""
    paths = [directory / f"r{i}.log" for i in range(count)]
    for i, path in enumerate(paths):
        write_steps(path, range(1, 11 + i), mode="w")
    return paths


async def test_seven_logs_are_all_read_and_the_cpu_is_sampled(tmp_path: Path) -> None:
    paths = make_logs(tmp_path, 7)
    app = make_app(paths, cpu_source=PsutilCpuSource([str(p) for p in paths]))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(
            pilot,
            lambda: all(run.store.records == 10 + run.index for run in app.runs),
            "the records of all seven logs",
        )
        await wait_until(pilot, lambda: isinstance(app.cpu_snapshot, CpuSnapshot), "a CPU sample")
        assert app._own_threads is not None
        threads = app._own_threads.threads
        assert sorted(t.name for t in threads if t.alive) == ["trainmon-follow", "trainmon-sample"]
    # Stopped and joined on exit: neither thread outlives the app.
    assert not any(t.alive for t in threads)


async def test_forty_logs_each_get_their_records_a_status_row_and_cpu_samples(
    tmp_path: Path,
) -> None:
    paths = make_logs(tmp_path, 40)
    app = make_app(paths, cpu_source=PsutilCpuSource([str(p) for p in paths]))
    # Tall enough for a row per run (a quarter of the height goes to the status rows).
    async with app.run_test(size=(160, 4 * 40)) as pilot:
        await wait_until(
            pilot,
            lambda: all(run.store.records == 10 + run.index for run in app.runs),
            "the records of all forty logs",
        )
        await wait_until(
            pilot,
            lambda: (
                all(f"step {10 + i}" in line for i, line in enumerate(status_lines(app)))
                and len(status_lines(app)) == 40
            ),
            "forty status rows with each run's last step",
        )
        for i, line in enumerate(status_lines(app)):
            assert line.startswith(f"● r{i}.log ")
        await wait_until(pilot, lambda: isinstance(app.cpu_snapshot, CpuSnapshot), "a CPU sample")
        await wait_until(pilot, lambda: app.query_one("#cpu").display, "the CPU pane")

        # A usual terminal: a summary, then as many rows as a quarter of the height holds.
        await pilot.resize_terminal(160, 48)
        limit = status_row_limit(48)
        await wait_until(pilot, lambda: len(status_lines(app)) == limit, "the collapsed rows")
        lines = status_lines(app)
        assert lines[0].startswith("40 runs: 40 ok")
        assert [line.split()[1] for line in lines[1:]] == [f"r{i}.log" for i in range(limit - 1)]
        assert app.query_one("#status", StatusBar).region.height == limit


async def test_with_many_runs_the_summary_counts_them_and_the_rows_go_to_problems() -> None:
    names = [f"run{i}.log" for i in range(30)]
    app = make_app(names, start_workers=False, refresh_s=3600)
    async with app.run_test(size=(120, 24)) as pilot:  # room for 6 lines
        for i in range(30):
            app.inject(i, [MetricRecord("train", 5, {"loss": 1.0})])
        for run in (7, 19):
            event = FollowEvent("waiting", names[run])
            app.post_message(FollowStateChanged(run, event))
        app.post_message(FollowStateChanged(25, FollowEvent("error", names[25], "no access")))
        await pilot.pause()
        app.refresh_now()
        await pilot.pause()
        lines = status_lines(app)
        assert len(lines) == status_row_limit(24) == 6
        assert lines[0].startswith("30 runs: 1 error, 2 waiting, 27 ok")
        shown = [re.split(r"\s+", line)[1] for line in lines[1:]]
        # The three that need a look, then the first healthy ones, in command-line order.
        assert shown == ["run0.log", "run1.log", "run7.log", "run19.log", "run25.log"]
        assert "error: no access" in lines[5]
        assert "waiting for run7.log" in lines[3]
        await pilot.press("space")
        await pilot.pause()
        assert status_lines(app)[0].startswith("30 runs:  paused  1 error")


async def test_a_slow_first_advice_pass_over_many_runs_is_spread_over_ticks() -> None:
    """A run's first advice pass over a long history takes a few hundred ms: forty of them in
    one tick would freeze the keys for seconds. Each tick stops when its budget is spent and
    the next one goes on from there, so every run gets its turn before any gets a second."""
    calls: list[int] = []
    app: TrainmonApp

    class SlowEngine(NanEngine):
        def update(self, store: MetricStore, now_s: float) -> Any:
            time.sleep(0.06)
            calls.append(next(run.index for run in app.runs if run.store is store))
            return super().update(store, now_s)

    app = make_app(
        [f"run{i}.log" for i in range(40)],
        start_workers=False,
        refresh_s=3600,
        advice_factory=SlowEngine,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        calls.clear()  # the first frame at mount
        for i in range(40):
            app.inject(i, [MetricRecord("train", 5, {"loss": 1.0})])
        await pilot.pause()
        app.tick()
        assert 1 <= len(calls) < 40
        ticks = 1
        while len(calls) < 40:
            app.tick()
            ticks += 1
            assert ticks < 400, "advice never reached every run"
        # In turns from where the mount's pass stopped: each run once, in run order.
        first = calls[0]
        assert calls[:40] == [(first + k) % 40 for k in range(40)]
        assert set(calls) == set(range(40))
