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


def press(tmux: Tmux, key: str, *, shows: str = "", hides: str = "") -> None:
    """Send KEY to the pane, then wait until the screen shows SHOWS and no longer HIDES."""
    tmux("send-keys", "-t", "main", key)
    if shows:
        wait_for(lambda: shows in tmux.capture(), f"{shows!r} on screen after {key}", tmux)
    if hides:
        wait_for(lambda: hides not in tmux.capture(), f"{hides!r} gone after {key}", tmux)


def exit_status(path: Path) -> str | None:
    """The exit status the shell wrote after trainmon ended, once it is complete."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return text.strip() if text.endswith("\n") else None


def gone(pid: int) -> bool:
    """Whether no process has this pid any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def record(step: int) -> str:
    return json.dumps({"step": step, "loss": round(3.0 / (1 + step / 100), 4)}) + "\n"
