"""Pilot tests: the quit dialog in pipe mode, and the training process's end on screen."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

from tests.app.helpers import status_lines, wait_until
from trainmon.config import DashboardOptions
from trainmon.pipe import StdinCopy
from trainmon.records import MetricRecord
from trainmon.sources.samples import CpuSnapshot, ExitStatus, ProcessExit
from trainmon.ui.app import TrainmonApp
from trainmon.ui.messages import CpuSampled
from trainmon.ui.quit_dialog import QuitDialog
from trainmon.ui.widgets.cpu_panel import CpuPanel


def pipe_app(tmp_path: Path, *, from_end: bool = False) -> tuple[TrainmonApp, StdinCopy, int]:
    read_fd, write_fd = os.pipe()
    log = str(tmp_path / "stdin.log")
    copy = StdinCopy(read_fd, log)
    options = DashboardOptions(paths=(log,), refresh_s=0.1, from_end=from_end)
    app = TrainmonApp(options, labels=("stdin",), stdin_copy=copy, poll_interval_s=0.05)
    return app, copy, write_fd


async def test_q_asks_escape_stays_k_closes(tmp_path: Path) -> None:
    app, copy, write_fd = pipe_app(tmp_path)
    copy.start()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            os.write(write_fd, b"step=5 loss=2.5\n")
            await wait_until(pilot, lambda: "step 5" in status_lines(app)[0], "the record")
            assert f"→ {copy.path}" in status_lines(app)[0]
            await pilot.press("q")
            await wait_until(pilot, lambda: isinstance(app.screen, QuitDialog), "the dialog")
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, QuitDialog), "cancel")
            assert app.is_running
            await pilot.press("ctrl+c")  # Ctrl-C asks too
            await wait_until(pilot, lambda: isinstance(app.screen, QuitDialog), "the dialog")
            await pilot.press("k")
            await wait_until(pilot, lambda: not app.is_running, "the app to end")
        assert app.quit_choice == "close"
    finally:
        os.close(write_fd)
        copy.close()


async def test_enter_chooses_detach_and_a_closed_pipe_quits_without_asking(
    tmp_path: Path,
) -> None:
    app, copy, write_fd = pipe_app(tmp_path)
    copy.start()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("q")
            await wait_until(pilot, lambda: isinstance(app.screen, QuitDialog), "the dialog")
            app.quit_choice = "close"
            await pilot.press("enter")
            await wait_until(pilot, lambda: not app.is_running, "the app to end")
        assert app.quit_choice == "detach"
    finally:
        copy.close()
    app, copy, write_fd = pipe_app(tmp_path)
    copy.start()
    os.close(write_fd)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: "end of input" in status_lines(app)[0], "the end")
            await pilot.press("q")
            await wait_until(pilot, lambda: not app.is_running, "the app to end at once")
    finally:
        copy.close()


async def test_the_end_of_the_training_process_shows_at_once(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("")
    app = TrainmonApp(
        DashboardOptions(paths=(str(log),), refresh_s=0.1), start_workers=False, clock=lambda: 50.0
    )
    async with app.run_test(size=(160, 48)) as pilot:
        app.inject(0, [MetricRecord("train", s, {"loss": 3.0 / s}) for s in range(1, 40)])
        app.runs[0].store.total_steps = 1000
        await wait_until(pilot, lambda: "step 39/1000" in status_lines(app)[0], "records")
        fact = ProcessExit(4242, ExitStatus(signal="SIGKILL"), 50.0, str(log))
        snapshot = CpuSnapshot(50.0, per_core_pct=(5.0,), ram_total_bytes=1 << 30)
        app.post_message(CpuSampled(replace(snapshot, training_exit=fact)))
        await wait_until(
            pilot,
            lambda: "training process 4242 exited (killed by SIGKILL)" in status_lines(app)[0],
            "the status line",
        )
        assert "ETA" not in status_lines(app)[0] and "it/s" not in status_lines(app)[0]
        cpu = app.query_one("#cpu", CpuPanel)
        await wait_until(pilot, lambda: "trainer 4242 exited" in cpu.render_text().plain, "pane")
        await wait_until(
            pilot,
            lambda: any(f.rule == "process-exited" for f in app.runs[0].active),
            "the finding",
        )
        assert app.bells == 1


async def test_from_end_skips_nothing_read_from_standard_input(tmp_path: Path) -> None:
    app, copy, write_fd = pipe_app(tmp_path, from_end=True)
    copy.start()
    os.write(write_fd, b"step=3 loss=2.5\n")
    try:
        while copy.bytes_copied == 0:  # in the file before the dashboard opens it
            time.sleep(0.01)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: "step 3" in status_lines(app)[0], "the record")
    finally:
        os.close(write_fd)
        copy.close()
