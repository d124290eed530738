"""End to end: `trainmon -- CMD` runs a real Python script in a pseudo-terminal, in tmux.

Each test runs the real console script in a tmux pane; the shell writes trainmon's exit status
to a file. The scripts print known bytes, so the log is compared byte for byte. Waits are
generous (the machine may be loaded): these check what happens, not how fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import TIMEOUT_S, Tmux, exit_status, gone, press, trainmon_script, wait_for
from tests.e2e.panes import in_shell, quit_with_q, start_pane, trainmon_command

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

SCRIPT = textwrap.dedent(
    """\
    import os, sys, time
    out = sys.stdout.buffer
    mode, folder = sys.argv[1], sys.argv[2]
    open(os.path.join(folder, "child.pid"), "w").write(str(os.getpid()))
    out.write(b"terminal " + str(sys.stdout.isatty()).encode() + b"\\n")
    for step in range(1, 6):
        out.write(("{'loss': %.4f, 'learning_rate': 5e-05, 'epoch': %.2f}\\n"
                   % (3.0 / step, step / 10)).encode())
        out.flush()
        time.sleep(0.05)
    out.write(b"tqdm 10%\\rtqdm 20%\\r\\nraw \\x1b[31mred\\x1b[0m \\xff\\xfe bytes\\r\\n")
    out.flush()
    try:
        while mode != "exit0" and not os.path.exists(os.path.join(folder, "go")):
            time.sleep(0.05)
    except KeyboardInterrupt:
        out.write(b"interrupted\\n")
        out.flush()
        raise
    if mode == "raise":
        raise RuntimeError("the first batch failed")
    for step in range(6, 9):
        out.write(("{'loss': %.4f, 'learning_rate': 5e-05, 'epoch': %.2f}\\n"
                   % (3.0 / step, step / 10)).encode())
    out.write(b"{'train_runtime': 9.5, 'train_loss': 0.5, 'epoch': 1.0}\\n")
    out.flush()
    open(os.path.join(folder, "done"), "w").write("ok")
    """
)


def printed(steps: range) -> bytes:
    """What SCRIPT prints on standard output for these steps."""
    return b"".join(
        (f"{{'loss': {3.0 / s:.4f}, 'learning_rate': 5e-05, 'epoch': {s / 10:.2f}}}\n").encode()
        for s in steps
    )


HEAD = (
    b"terminal True\n"
    + printed(range(1, 6))
    + b"tqdm 10%\rtqdm 20%\r\nraw \x1b[31mred\x1b[0m \xff\xfe bytes\r\n"
)
TAIL = printed(range(6, 9)) + b"{'train_runtime': 9.5, 'train_loss': 0.5, 'epoch': 1.0}\n"


def start(tmux: Tmux, tmp_path: Path, mode: str, *options: str) -> tuple[Path, Path]:
    """`trainmon OPTIONS --log LOG -- python script.py MODE DIR` in a 160x48 pane; returns
    (log, exit status file)."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    log = tmp_path / "logs" / "run.log"
    status = tmp_path / "status"
    flags = " ".join(options)
    command = trainmon_command(
        f"{flags} --log {log} -- {sys.executable} {script} {mode} {tmp_path}"
    )
    start_pane(tmux, (160, 48), in_shell(command, status))
    return log, status


def child_pid(tmp_path: Path, tmux: Tmux) -> int:
    path = tmp_path / "child.pid"
    wait_for(lambda: path.exists() and path.read_text().isdigit(), "the command to start", tmux)
    return int(path.read_text())


def screen(tmux: Tmux) -> str:
    return tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", "main")


def test_a_crash_shows_its_exit_status_and_trainmon_exits_with_it(
    tmux: Tmux, tmp_path: Path
) -> None:
    log, status = start(tmux, tmp_path, "raise")
    wait_for(lambda: "step 5" in tmux.capture(), "the first records", tmux)
    wait_for(lambda: "python running" in tmux.capture(), "the command's state", tmux)
    (tmp_path / "go").touch()
    wait_for(lambda: "exit code 1" in tmux.capture(), "the command's end", tmux)
    # The process tracker's exact status: trainmon is the parent and leaves it unreaped.
    wait_for(lambda: "exit status 1" in tmux.capture(), "the status in the status line", tmux)
    wait_for(lambda: "exited at step 5" in tmux.capture(), "the process-exited advice", tmux)
    time.sleep(1.0)
    assert exit_status(status) is None  # a finished run stays on screen until q
    quit_with_q(tmux, status, "1")
    data = log.read_bytes()
    assert data.startswith(HEAD)
    assert data.endswith(b"RuntimeError: the first batch failed\n")
    assert b"Traceback (most recent call last):\n" in data  # stderr too, \n kept as is


def test_a_run_that_exits_0_is_saved_byte_for_byte(tmux: Tmux, tmp_path: Path) -> None:
    log, status = start(tmux, tmp_path, "exit0")
    wait_for(lambda: "exit code 0" in tmux.capture(), "the command's end", tmux)
    wait_for(lambda: "step 8" in tmux.capture(), "the last records", tmux)
    quit_with_q(tmux, status, "0")
    assert log.read_bytes() == HEAD + TAIL


def test_a_command_killed_by_a_signal_gives_128_plus_the_signal(tmux: Tmux, tmp_path: Path) -> None:
    log, status = start(tmux, tmp_path, "wait")
    pid = child_pid(tmp_path, tmux)
    wait_for(lambda: "step 5" in tmux.capture(), "the first records", tmux)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: "exit code 137" in tmux.capture(), "the command's end", tmux)
    wait_for(lambda: "killed by SIGKILL" in tmux.capture(), "the signal on screen", tmux)
    quit_with_q(tmux, status, "137")
    assert log.read_bytes() == HEAD


def test_ctrl_c_asks_then_interrupts_the_run(tmux: Tmux, tmp_path: Path) -> None:
    log, status = start(tmux, tmp_path, "wait")
    pid = child_pid(tmp_path, tmux)
    wait_for(lambda: "step 5" in tmux.capture(), "the first records", tmux)
    press(tmux, "C-c", shows="quit trainmon?")
    assert not gone(pid)  # asking harms nothing
    press(tmux, "Escape", hides="quit trainmon?")
    time.sleep(0.5)
    assert not gone(pid)
    press(tmux, "C-c", shows="quit trainmon?")
    press(tmux, "i", shows="killed by SIGINT")
    assert exit_status(status) is None  # interrupting keeps the dashboard
    quit_with_q(tmux, status, "130")
    data = log.read_bytes()
    assert data.startswith(HEAD + b"interrupted\n")
    assert data.endswith(b"KeyboardInterrupt\n")


def test_detach_leaves_the_run_going_into_the_same_log(tmux: Tmux, tmp_path: Path) -> None:
    log, status = start(tmux, tmp_path, "wait")
    pid = child_pid(tmp_path, tmux)
    wait_for(lambda: "step 5" in tmux.capture(), "the first records", tmux)
    press(tmux, "q", shows="quit trainmon?")
    tmux("send-keys", "-t", "main", "Enter")
    wait_for(lambda: exit_status(status) is not None, "trainmon to detach and exit", tmux)
    assert exit_status(status) == "0"
    assert "in the background" in screen(tmux)
    assert not gone(pid)  # not hung up
    (tmp_path / "go").touch()  # the rest is written after trainmon has gone
    wait_for(lambda: (tmp_path / "done").exists(), "the run to finish", tmux)
    wait_for(lambda: log.read_bytes() == HEAD + TAIL, "the whole output in the log", tmux)


def test_headless_passes_output_through_forwards_sigint_and_sums_up(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    log = tmp_path / "run.log"
    proc = subprocess.Popen(
        [trainmon_script(), "--log", str(log), "--", sys.executable, str(script), "wait",
         str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + TIMEOUT_S
    while b"bytes" not in log.read_bytes() if log.exists() else True:
        assert time.monotonic() < deadline, "the command never printed"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 130
    # No terminal: headless; the output (the traceback too) went through and into the log.
    assert out.startswith(HEAD + b"interrupted\n")
    assert out.endswith(b"KeyboardInterrupt\n")
    assert log.read_bytes() == out
    summary = json.loads(err.decode().strip().splitlines()[-1])
    assert summary["exit_code"] == 130
    assert summary["signal"] == "SIGINT"
    assert summary["records"] == 5
    assert summary["log"] == str(log)
    assert [f["rule"] for f in summary["findings"]] == ["process-exited"]


def test_headless_exit_code_and_an_unknown_command(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    log = tmp_path / "run.log"
    done = subprocess.run(
        [trainmon_script(), "--headless", "--log", str(log), "--", sys.executable, str(script),
         "exit0", str(tmp_path)],
        capture_output=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    assert done.stdout == log.read_bytes() == HEAD + TAIL
    summary = json.loads(done.stderr)
    assert (summary["records"], summary["findings"]) == (9, [])
    missing = subprocess.run(
        [trainmon_script(), "--headless", "--", "no-such-program-here"],
        capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    assert missing.returncode == 127
    assert missing.stderr == "trainmon: no-such-program-here: command not found\n"
