"""End to end in tmux: escape sequences in a log's file name or in the training process's
argv[0] must not reach the terminal (tmux would set the pane title and clear the screen);
the dashboard shows them in their visible form instead."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import Tmux, record, trainmon_script, wait_for
from tests.e2e.panes import quit_with_q, start_pane

pytestmark = [pytest.mark.tmux, pytest.mark.slow]


TITLE = "before"
OSC_TITLE = "\x1b]2;pwned\x07"
CLEAR_SCREEN = "\x1b[2J\x1b[H"
BASH = shutil.which("bash")

LAUNCHER = """\
import json, os, subprocess, sys
spec = json.load(open(sys.argv[1]))
env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
env["TERM"] = "xterm-256color"
code = subprocess.call(spec["argv"], env=env)
with open(spec["exit_file"], "w") as f:
    f.write(f"{code}\\n")
"""
"""Runs trainmon with an argv read from a file, so no shell quoting touches the escapes."""


def start(tmux: Tmux, tmp_path: Path, argv: list[str], size: tuple[int, int]) -> Path:
    """Run `argv` in a fresh pane titled `TITLE`; returns the file its exit status goes to."""
    exit_file = tmp_path / "exit-status"
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"argv": argv, "exit_file": str(exit_file)}))
    launcher = tmp_path / "launch.py"
    launcher.write_text(LAUNCHER)
    start_pane(tmux, size, f"sleep 0.5; {sys.executable} {launcher} {spec}")
    tmux("select-pane", "-t", "main", "-T", TITLE)
    return exit_file


def pane_title(tmux: Tmux) -> str:
    return tmux("display", "-p", "-t", "main", "#{pane_title}").strip()


def test_a_file_name_with_escapes_is_shown_not_obeyed(tmux: Tmux, tmp_path: Path) -> None:
    log = tmp_path / f"run{OSC_TITLE}{CLEAR_SCREEN}.log"
    log.write_text("".join(record(s) for s in range(10, 60, 10)))
    argv = [trainmon_script(), "--no-gpu", "--no-bell", "--refresh", "0.25", str(log)]
    exit_file = start(tmux, tmp_path, argv, (160, 48))
    wait_for(lambda: "step 50" in tmux.capture(), "the history to show", tmux)
    wait_for(lambda: "run␛]2;pwned␇␛[2J␛[H.log" in tmux.capture(), "the visible name", tmux)
    with log.open("a") as f:
        f.write(record(60))
    wait_for(lambda: "step 60" in tmux.capture(), "an appended record", tmux)
    assert pane_title(tmux) == TITLE
    assert "loss" in tmux.capture()  # not cleared
    quit_with_q(tmux, exit_file)
    assert pane_title(tmux) == TITLE


WRITER = """\
import json, sys, time
with open(sys.argv[1], "a") as f:
    for step in range(1, 100000):
        f.write(json.dumps({"step": step, "loss": 3.0 / (1 + step / 100)}) + "\\n")
        f.flush()
        time.sleep(0.2)
"""


@pytest.mark.skipif(BASH is None, reason="needs bash (exec -a)")
def test_a_trainer_whose_argv0_has_escapes_is_shown_not_obeyed(tmux: Tmux, tmp_path: Path) -> None:
    assert BASH is not None
    log = tmp_path / "run.log"
    log.write_text("")
    writer = tmp_path / "writer.py"
    writer.write_text(WRITER)
    # bash's $'...' turns \e and \a into the raw bytes, as an attacker's launcher would.
    launch = f"exec -a $'\\e]2;pwned\\a\\e[2J' {sys.executable} {writer} {log}"
    trainer = subprocess.Popen([BASH, "-c", launch])
    try:
        argv = [trainmon_script(), "--no-gpu", "--no-bell", "--refresh", "0.25", str(log)]
        exit_file = start(tmux, tmp_path, argv, (160, 48))
        wait_for(lambda: "step" in tmux.capture(), "the trainer's records", tmux)
        wait_for(lambda: "␛]2;pwned␇␛[2J" in tmux.capture(), "the trainer's visible argv[0]", tmux)
        assert pane_title(tmux) == TITLE
        assert "run.log" in tmux.capture()  # not cleared
        quit_with_q(tmux, exit_file)
        assert pane_title(tmux) == TITLE
    finally:
        trainer.kill()
        trainer.wait()
