"""Pilot-driven tests of the dashboard: real tmp logs through the real follower and parser.

Each test polls the app's state with a generous timeout (never a fixed sleep as the
assertion), so a slow shared machine makes them slower, not flaky.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.app.helpers import (
    NanEngine,
    _State,
    count_shows,
    jsonl,
    make_app,
    screen_text,
    status_lines,
    wait_until,
    write_steps,
)
from trainmon.records import FollowEvent, MetricRecord
from trainmon.sources.samples import GpuDeviceSample, GpuSnapshot
from trainmon.store import MetricStore
from trainmon.ui.app import TrainmonApp, layout_for
from trainmon.ui.messages import FollowStateChanged, GpuSampled
from trainmon.ui.widgets.loss_plot import LossPlot

# -- following real files ----------------------------------------------------------------------


async def test_records_appended_to_the_log_show_in_the_status_line(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    write_steps(log, range(10, 60, 10), mode="w")
    app = make_app([log])
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: "step 50" in status_lines(app)[0], "the first records")
        assert "jsonl" in status_lines(app)[0]
        write_steps(log, [60, 70])
        await wait_until(pilot, lambda: "step 70" in status_lines(app)[0], "appended records")
        assert app.runs[0].store.records == 7
        assert app.runs[0].store.get("loss") is not None


async def test_a_file_that_appears_after_start_is_picked_up(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    app = make_app([log])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(
            pilot, lambda: "waiting for later.log" in status_lines(app)[0], "the waiting state"
        )
        write_steps(log, [5, 10], mode="w")
        await wait_until(
            pilot, lambda: "step 10" in status_lines(app)[0], "records of the new file"
        )
        assert "waiting" not in status_lines(app)[0]


async def test_pause_holds_new_records_until_resumed(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    write_steps(log, [1, 2, 3], mode="w")
    app = make_app([log])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.runs[0].store.records == 3, "the first records")
        await pilot.press("space")
        assert app.paused
        await wait_until(pilot, lambda: "paused" in status_lines(app)[0], "the paused state")
        write_steps(log, [4, 5])
        # The follower does not poll while paused: give it many poll intervals to misbehave.
        for _ in range(10):
            await pilot.pause(0.05)
        assert app.runs[0].store.records == 3
        assert "step 3" in status_lines(app)[0]
        await pilot.press("p")
        assert not app.paused
        await wait_until(pilot, lambda: app.runs[0].store.records == 5, "records after resume")
        await wait_until(pilot, lambda: "paused" not in status_lines(app)[0], "resumed state")


async def test_truncation_starts_a_new_segment(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    write_steps(log, range(1, 21), mode="w")
    app = make_app([log])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.runs[0].store.records == 20, "the first segment")
        write_steps(log, [1, 2], mode="w")  # the trainer restarted and rewrote the log
        await wait_until(
            pilot,
            lambda: "file truncated: new segment" in status_lines(app)[0],
            "the truncation notice",
        )
        await wait_until(pilot, lambda: app.runs[0].store.records == 2, "the new segment")
        assert app.runs[0].store.segment == 1
        await wait_until(pilot, lambda: "step 2" in status_lines(app)[0], "the new step")


async def test_markup_in_a_file_name_is_shown_literally(tmp_path: Path) -> None:
    log = tmp_path / "run[bold]x[red].log"
    write_steps(log, [1, 2], mode="w")
    app = make_app([log])
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: "step 2" in status_lines(app)[0], "records")
        await pilot.pause()
        assert "run[bold]x[red].log" in status_lines(app)[0]
        assert "run[bold]x[red].log" in screen_text(app)


async def test_nan_loss_is_shown_not_crashed_on_and_rings_the_bell_once(tmp_path: Path) -> None:
    log = tmp_path / "nan.log"
    log.write_text(
        jsonl(1, 2.0, grad_norm=1.0)
        + '{"step": 2, "loss": NaN, "grad_norm": NaN}\n'
        + jsonl(3, 1.9, grad_norm=1.0)
    )
    app = make_app([log], advice_factory=NanEngine)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.runs[0].store.records == 3, "three records")
        await wait_until(pilot, lambda: "loss is NaN" in screen_text(app), "the NaN finding")
        series = app.runs[0].store.get("loss")
        assert series is not None and series.nonfinite == 1
        assert "NaN" in screen_text(app)  # the plot's count of non-finite values
        write_steps(log, [4, 5])
        await wait_until(pilot, lambda: app.runs[0].store.records == 5, "more records")
        await pilot.pause(0.3)
        assert app.bells == 1


async def test_no_bell_when_disabled(tmp_path: Path) -> None:
    log = tmp_path / "nan.log"
    log.write_text('{"step": 1, "loss": NaN}\n')
    app = make_app([log], advice_factory=NanEngine, bell=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "loss is NaN" in screen_text(app), "the NaN finding")
        assert app.bells == 0


async def test_two_runs_get_a_status_row_each(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    write_steps(a, [1, 2, 3], mode="w")
    write_steps(b, [10, 20], mode="w")
    app = make_app([a, b])
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(
            pilot,
            lambda: (
                len(status_lines(app)) == 2
                and "step 3" in status_lines(app)[0]
                and "step 20" in status_lines(app)[1]
            ),
            "both runs (read in turns: either may show first)",
        )
        rows = status_lines(app)
        assert rows[0].startswith("● a.log") and "step 3" in rows[0]
        assert rows[1].startswith("● b.log") and "step 20" in rows[1]
        assert app.runs[0].colour != app.runs[1].colour


async def test_a_directory_is_an_error_state_not_a_crash(tmp_path: Path) -> None:
    app = make_app([tmp_path])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "error" in status_lines(app)[0], "the error state")
        assert "directory" in status_lines(app)[0]


# -- injected data (workers off) ------------------------------------------------------------------


async def test_a_burst_of_records_causes_one_redraw() -> None:
    app = make_app(["burst.log"], start_workers=False, refresh_s=3600, plot_cpu_budget=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        plot = app.query_one("#loss", LossPlot)
        shown = count_shows(plot)
        before_redraws = app.redraws
        for start in range(0, 5000, 10):
            app.inject(
                0, [MetricRecord("train", s, {"loss": 1.0}) for s in range(start, start + 10)]
            )
        await pilot.pause()
        assert app.runs[0].store.records == 5000
        # Handlers never redraw; the one status update after them brings the plot up to date.
        assert app.redraws == before_redraws + 1
        assert shown == [5000]  # one plot update carrying the whole burst
        app.tick()  # the advice's findings of the burst may mark the plot
        await pilot.pause()
        judged = app.redraws
        app.tick()  # nothing new: nothing redrawn
        await pilot.pause()
        assert app.redraws == judged <= before_redraws + 2


async def test_new_records_wait_for_the_plot_budget_but_show_in_the_status_line_at_once() -> None:
    app = make_app(["budget.log"], start_workers=False, refresh_s=3600)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        plot = app.query_one("#loss", LossPlot)
        plot.end_startup()  # past the start-up allowance
        plot.render_cost_s = 0.05  # as if a rebuild cost 50 ms: at 1 %, one per 5 s
        data_calls = count_shows(plot)
        app.tick()
        await pilot.pause()
        data_calls.clear()
        redraws = app.redraws
        for step in range(1, 6):  # one record per tick, as a 1 Hz stream
            app.inject(0, [MetricRecord("train", step, {"loss": 1.0 / step})])
            await pilot.pause()
            assert f"step {step}" in status_lines(app)[0]  # shown before any tick
            app.tick()
            await pilot.pause()
        assert plot.ready_in_s > 0
        assert app.redraws == redraws and data_calls == []  # no plot data computed meanwhile
        plot.render_cost_s = 0.0  # the budget allows a rebuild again,
        plot._last_render_at -= 5.0  # and a second has passed since the last one,
        app._updated_at -= 1.0  # and since the last record's update
        app.tick()
        await pilot.pause()
        assert app.redraws == redraws + 1 and data_calls == [5]  # the newest data, once
        plot.render_cost_s = 0.05
        await pilot.press("l")  # a change of view is drawn at once, whatever the budget
        await pilot.pause()
        assert app.redraws == redraws + 2 and plot.counts.builds >= 2


async def test_truncation_event_resets_history_and_advice() -> None:
    app = make_app(["t.log"], start_workers=False, refresh_s=3600, advice_factory=NanEngine)
    async with app.run_test(size=(120, 40)) as pilot:
        app.inject(0, [MetricRecord("train", 1, {"loss": math.nan})])
        await pilot.pause()
        app.tick()
        await pilot.pause()
        assert app.runs[0].active
        app.post_message(FollowStateChanged(0, FollowEvent("truncated", "t.log")))
        await pilot.pause()
        app.tick()
        await pilot.pause()
        assert app.runs[0].store.records == 0
        assert not app.runs[0].active
        assert "file truncated: new segment" in status_lines(app)[0]


@pytest.mark.parametrize(
    ("size", "layout"),
    [
        ((160, 48), "wide"),
        ((120, 40), "wide"),
        ((119, 40), "medium"),
        ((80, 30), "medium"),
        ((79, 48), "narrow"),
        ((60, 48), "narrow"),
        ((40, 12), "narrow"),
        ((39, 30), "tiny"),
        ((60, 11), "tiny"),
    ],
)
async def test_every_layout_breakpoint(size: tuple[int, int], layout: str) -> None:
    app = make_app(["x.log"], start_workers=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.inject(0, [MetricRecord("train", s, {"loss": 1.0 / s}) for s in range(1, 50)])
        await pilot.pause()
        await pilot.resize_terminal(*size)
        await wait_until(pilot, lambda: app.layout_mode == layout, f"the {layout} layout")
        assert app.has_class(f"-{layout}")
        app.tick()
        await pilot.pause()
        text = screen_text(app)
        if layout == "tiny":
            assert "enlarge to at least 40×12" in text
        else:
            assert "x.log" in text
            assert "enlarge" not in text
        await pilot.resize_terminal(160, 48)  # and back: resizing never crashes
        await wait_until(pilot, lambda: app.layout_mode == "wide", "the wide layout again")
        assert "x.log" in screen_text(app)


def test_layout_thresholds() -> None:
    assert layout_for(120, 12) == "wide"
    assert layout_for(80, 12) == "medium"
    assert layout_for(40, 12) == "narrow"
    assert layout_for(39, 50) == "tiny"


async def test_no_gpu_is_one_line_and_no_sampler_means_no_box() -> None:
    app = make_app(["x.log"], start_workers=False)
    async with app.run_test(size=(60, 40)) as pilot:
        await pilot.pause()
        assert app.layout_mode == "narrow"
        assert not app.query_one("#system").display  # nothing sampled: no empty box
        app.post_message(GpuSampled(GpuSnapshot(1.0, "no_library", "no GPU: NVML not found")))
        await pilot.pause()
        app.tick()
        await pilot.pause()
        gpu = app.query_one("#gpu")
        assert app.query_one("#system").display
        assert gpu.region.height == 1  # one dim line, not a big empty box
        assert "no GPU: NVML not found" in screen_text(app)
        assert "no GPU: no GPU" not in screen_text(app)


async def test_narrow_layout_shows_one_line_per_gpu() -> None:
    devices = tuple(
        GpuDeviceSample(
            i,
            "NVIDIA H100 80GB HBM3",
            f"GPU-{i}",
            util_pct=90.0 - i,
            mem_used_bytes=(40 + i) * 2**30,
            mem_total_bytes=80 * 2**30,
            temperature_c=60.0,
            power_w=500.0,
            power_limit_w=700.0,
        )
        for i in range(4)
    )
    app = make_app(["x.log"], start_workers=False)
    async with app.run_test(size=(60, 48)) as pilot:
        app.post_message(GpuSampled(GpuSnapshot(1.0, "ok", devices=devices)))
        await pilot.pause()
        app.tick()
        await pilot.pause()
        gpu = app.query_one("#gpu")
        assert gpu.has_class("-compact")
        assert gpu.region.height == 4


class BrokenEngine(NanEngine):
    """An advice-engine double with a bug: every update raises."""

    def update(self, store: MetricStore, now_s: float) -> _State:
        raise ZeroDivisionError("rule bug")


async def test_an_advice_bug_is_shown_in_the_status_line_not_hidden() -> None:
    app = make_app(["t.log"], start_workers=False, refresh_s=3600, advice_factory=BrokenEngine)
    async with app.run_test(size=(120, 40)) as pilot:
        app.inject(0, [MetricRecord("train", 1, {"loss": 1.0})])
        await pilot.pause()
        app.tick()
        await pilot.pause()
        assert app.runs[0].store.records == 1  # the records still arrive and draw
        assert "advice failed: ZeroDivisionError: rule bug" in status_lines(app)[0]


class BacklogFollower:
    """A 40 MB history in four chunks of JSON lines (sizes scripted), then live appends."""

    SIZE = 40_000_000

    def __init__(self, path: str, from_end: bool) -> None:
        self.chunks = [
            "".join(jsonl(s, 1.0) for s in range(base, base + 10)).encode()
            for base in range(1, 41, 10)
        ]
        self.live: list[bytes] = []
        self.offset = 0
        self.size = self.SIZE
        self.caught_up = False
        self.finished = False
        self.poll_interval_s = 0.05
        self.release = False
        """The test lets the history be read one chunk per `release`."""

    def poll(self) -> list[FollowEvent | bytes]:
        self.caught_up = False
        if self.chunks and self.release:
            self.release = False
            self.offset += self.SIZE // 4
            return [self.chunks.pop(0)]
        if not self.chunks and self.live:
            return [self.live.pop(0)]
        self.caught_up = not self.chunks
        return []

    def close(self) -> None:
        pass


async def test_a_big_history_shows_how_much_is_read_then_counts_only_live_speed(
    tmp_path: Path,
) -> None:
    followers: list[BacklogFollower] = []

    def factory(path: str, from_end: bool) -> BacklogFollower:
        followers.append(BacklogFollower(path, from_end))
        return followers[-1]

    app = make_app(["big.log"], follower_factory=factory)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: bool(followers), "the follower")
        follower = followers[0]
        follower.release = True
        await wait_until(
            pilot, lambda: "reading the log: 25 % of 40 MB" in status_lines(app)[0], "progress"
        )
        for _ in range(3):
            follower.release = True
            await wait_until(pilot, lambda: not follower.release, "the next chunk")
        await wait_until(pilot, lambda: app.runs[0].live, "the end of the history")
        await wait_until(pilot, lambda: "reading" not in status_lines(app)[0], "state cleared")
        store = app.runs[0].store
        assert store.records == 40 and store.live_from == 40
        assert store.progress().steps_per_s is None  # the burst gives no speed
        follower.live.append(jsonl(41, 1.0).encode())
        await wait_until(pilot, lambda: "step 41" in status_lines(app)[0], "a live record")
        assert app.runs[0].store.live_from == 40


async def test_the_follower_stays_one_batch_ahead_of_the_ui_thread() -> None:
    """A long history must not flood the UI thread's queue (the screen would freeze until
    all of it was handled): the worker waits for each batch to be taken."""
    ahead: list[int] = []
    handed = [0]
    app: TrainmonApp

    class EagerFollower(BacklogFollower):
        def __init__(self, path: str, from_end: bool) -> None:
            super().__init__(path, from_end)
            self.chunks = [jsonl(s, 1.0).encode() for s in range(1, 201)]
            self.release = True

        def poll(self) -> list[FollowEvent | bytes]:
            self.release = True
            out = super().poll()
            if out:
                ahead.append(handed[0] - app.runs[0].store.records)
                handed[0] += 1
            return out

    app = make_app(["big.log"], follower_factory=EagerFollower)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.runs[0].live, "the end of the history")
        assert app.runs[0].store.records == 200
    assert len(ahead) == 200 and max(ahead) <= 1


async def test_hardware_advice_is_given_once_for_the_host_however_many_runs(
    tmp_path: Path,
) -> None:
    """Two runs on one machine: an idle GPU is one finding (labelled host), not one per run,
    and the GPU pane's sparkline reads the same history as the rules."""
    from trainmon.sources.samples import GpuProcess
    from trainmon.ui.widgets.advice_panel import AdvicePanel

    def idle(t: float) -> GpuSnapshot:
        trainer = GpuProcess(pid=7, used_memory_bytes=None, is_training=True)
        device = GpuDeviceSample(
            index=0, name="GPU", uuid="GPU-0", util_pct=15.0, processes=(trainer,)
        )
        return GpuSnapshot(time_s=t, status="ok", devices=(device,))

    app = make_app([tmp_path / "a.log", tmp_path / "b.log"], start_workers=False)
    async with app.run_test(size=(160, 48)) as pilot:
        for t in range(0, 70, 2):
            app.post_message(GpuSampled(idle(float(t))))
            await pilot.pause()  # queued samples replace each other: hand them over one by one
        app.refresh_now()
        await pilot.pause()
        shown = [(label, f.rule) for label, f in app.query_one("#advice", AdvicePanel).active]
        assert shown.count(("host", "gpu-idle")) == 1
        assert [rule for _label, rule in shown].count("gpu-idle") == 1
        assert len(app.system.gpu) == 35
        assert list(app.system.gpu_util("GPU-0")) == [15.0] * 35


async def test_the_advice_pane_says_nothing_to_judge_until_a_record_arrives() -> None:
    from textual.widgets import Static

    app = make_app(["t.log"], start_workers=False, refresh_s=3600)
    async with app.run_test(size=(160, 48)) as pilot:
        app.tick()
        await pilot.pause()
        empty = app.query_one("#advice-empty", Static)
        assert "nothing to judge yet" in str(empty.render())
        assert "healthy" not in str(empty.render())
        app.inject(0, [MetricRecord("train", step, {"loss": 3.0 - step / 10}) for step in (1, 2)])
        await pilot.pause()
        app.tick()
        await pilot.pause()
        assert "looks healthy so far" in str(empty.render())


async def test_a_log_nothing_parses_gets_the_closest_known_format_as_a_hint(
    tmp_path: Path,
) -> None:
    """A real log of lines no format reads: the pane names the nearest known format and how
    to teach one, instead of calling the run healthy."""
    from textual.widgets import Static

    log = tmp_path / "odd.log"
    log.write_text("".join(f"it {i} L={3 - i / 50:.3f} tok={i * 512}\n" for i in range(1, 30)))
    app = make_app([log])
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.runs[0].live, "the end of the history")
        empty = app.query_one("#advice-empty", Static)
        await wait_until(pilot, lambda: "Closest known format:" in str(empty.render()), "hint")
        text = str(empty.render())
        assert "nothing to judge yet" in text and "--pattern" in text
        assert "healthy" not in text
        assert app.runs[0].store.records == 0
