"""Pilot tests: quitting while a wrapped command runs (a real child in a real pty)."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.app.helpers import status_lines, wait_until
from trainmon.config import DashboardOptions
from trainmon.ui.app import TrainmonApp
from trainmon.ui.quit_dialog import QuitDialog
from trainmon.wrap import WrappedCommand

SLEEPER = "import time; print({'loss': 2.5, 'epoch': 0.1}, flush=True); time.sleep(60)"


def command_app(tmp_path: Path) -> tuple[TrainmonApp, WrappedCommand]:
    log = str(tmp_path / "run.log")
    command = WrappedCommand([sys.executable, "-c", SLEEPER], log).start()
    options = DashboardOptions(paths=(log,), refresh_s=0.1, command=command.command)
    app = TrainmonApp(options, command=command, poll_interval_s=0.05)
    return app, command


async def test_k_does_not_close_a_command_and_i_interrupts_it(tmp_path: Path) -> None:
    app, command = command_app(tmp_path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: "python" in status_lines(app)[0], "the running note")
            assert f"running (pid {command.pid})" in status_lines(app)[0]
            await pilot.press("q")
            await wait_until(pilot, lambda: isinstance(app.screen, QuitDialog), "the dialog")
            await pilot.press("k")  # pipe mode's "close": nothing here
            await pilot.pause(0.2)
            assert isinstance(app.screen, QuitDialog) and command.end is None
            await pilot.press("i")
            await wait_until(pilot, lambda: command.end is not None, "the command to end")
            assert command.end is not None and command.end.signal_name == "SIGINT"
            assert app.is_running  # interrupting keeps the dashboard
            said = [str(n.message) for n in app._notifications]
            assert any(m.startswith("SIGINT sent to ") and "python" in m for m in said), said
            await wait_until(pilot, lambda: "exit code 130" in status_lines(app)[0], "the end")
            await pilot.press("q")  # the run ended: q quits without asking
            await wait_until(pilot, lambda: not app.is_running, "the app to end")
    finally:
        command.interrupt()
        command.wait(10)
        command.reap()
        command.close()
