"""What the end-to-end tests share: a private tmux server, the installed console script, and
polling with a generous timeout (these tests check that data gets to the screen, not how
fast; the latency is measured in bench/)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

TIMEOUT_S = 45.0
TMUX = shutil.which("tmux")


def trainmon_script() -> str:
    """The installed console script next to this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).with_name("trainmon")
    if beside.is_file():
        return str(beside)
    found = shutil.which("trainmon")
    if found is None:
        pytest.skip("the trainmon console script is not installed (pip install -e .)")
    return found


class Tmux:
    """One private tmux server (its own -L socket) holding one session."""

    def __init__(self, socket: str) -> None:
        assert TMUX is not None
        self.base = [TMUX, "-L", socket, "-f", os.devnull]

    def __call__(self, *args: str) -> str:
        result = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, timeout=20, check=False
        )
        return result.stdout

    def capture(self) -> str:
        return self("capture-pane", "-p", "-t", "main")

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=20, check=False)


def wait_for(predicate: Callable[[], bool], what: str, tmux: Tmux) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {TIMEOUT_S:.0f} s waiting for {what}:\n{tmux.capture()}")
        time.sleep(0.2)


def exit_status(path: Path) -> str | None:
    """The exit status the shell wrote after trainmon ended, once it is complete."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return text.strip() if text.endswith("\n") else None


def trainmon_command(args: str, *, env: str = "", subcommand: str = "") -> str:
    """`trainmon [SUBCOMMAND] OPTIONS ARGS` for a tmux pane's shell, quiet and quick to
    redraw, with the extra environment ENV (`NAME=value …`).

    COLUMNS / LINES inherited from the test runner would override the pane's real size."""
    options = "--no-gpu --no-bell --refresh 0.25"
    return (
        f"env -u COLUMNS -u LINES TERM=xterm-256color {env} {trainmon_script()} {subcommand} "
        f"{options} {args}"
    )


def in_shell(command: str, exit_file: Path, *, shell: str = "sh") -> str:
    """`SHELL -c 'COMMAND; echo $? > EXIT_FILE'`: the pane's shell records the exit status."""
    return f"{shell} -c '{command}; echo $? > {exit_file}'"


def start_pane(tmux: Tmux, size: tuple[int, int], *command: str, keep: bool = True) -> None:
    """Run COMMAND in the fresh pane `main` of `size`; with `keep` the pane stays after it
    exits (its last screen can still be read)."""
    width, height = size
    tmux("new-session", "-d", "-s", "main", "-x", str(width), "-y", str(height), *command)
    if keep:
        tmux("set-option", "-t", "main", "remain-on-exit", "on")


def start_on_log(tmux: Tmux, log: Path, exit_file: Path, size: tuple[int, int]) -> None:
    """Run the real trainmon on `log` in a fresh pane of `size`; the shell writes its exit
    status to `exit_file`, and the pane stays after it exits."""
    start_pane(tmux, size, in_shell(trainmon_command(str(log)), exit_file))


def quit_with_q(tmux: Tmux, exit_file: Path, status: str = "0") -> None:
    """Press `q` and check that trainmon ends with `status`."""
    tmux("send-keys", "-t", "main", "q")
    wait_for(lambda: exit_status(exit_file) is not None, "trainmon to quit on q", tmux)
    assert exit_status(exit_file) == status


def gone(pid: int) -> bool:
    """Whether no process has this pid any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def record(step: int) -> str:
    return json.dumps({"step": step, "loss": round(3.0 / (1 + step / 100), 4)}) + "\n"
