"""End to end, in tmux: a real writer in a real pipe survives trainmon; signals end it cleanly;
the training process's end shows at once.

Each test runs the real `trainmon` console script in a pane and a real writer process; the
shell records exit statuses in files. Waits are generous (the machine may be loaded): these
check what happens, not how fast.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.helpers import TIMEOUT_S, Tmux, exit_status, gone, press, wait_for
from tests.e2e.panes import start_pane, trainmon_command

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

WRITER = textwrap.dedent(
    """\
    import json, os, sys, time
    count, delay, go = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    open(go + ".pid", "w").write(str(os.getpid()))
    for step in range(1, count + 1):
        print(json.dumps({"step": step, "loss": round(3.0 / (1 + step / 10), 4)}), flush=True)
        time.sleep(delay)
        while step == 5 and not os.path.exists(go):  # the rest waits for the test's cue
            time.sleep(0.05)
    print("{'train_runtime': 9.5, 'train_loss': 0.5, 'epoch': 1.0}", flush=True)
    """
)


def expected_output(count: int) -> str:
    """Exactly what WRITER prints for `count` records."""
    lines = [
        f'{{"step": {s}, "loss": {round(3.0 / (1 + s / 10), 4)}}}' for s in range(1, count + 1)
    ]
    lines.append("{'train_runtime': 9.5, 'train_loss': 0.5, 'epoch': 1.0}")
    return "\n".join(lines) + "\n"


def write_writer(tmp_path: Path) -> Path:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return script


def start_pipeline(tmux: Tmux, tmp_path: Path, count: int, delay: float) -> tuple[Path, Path]:
    """`python writer.py | trainmon --log LOG -` in bash; returns (log, statuses file).

    The writer writes 5 records, then waits for the file `go` before the rest (so some of
    its output certainly comes after the handover, however slowly trainmon starts). The
    statuses file gets `WRITER_STATUS TRAINMON_STATUS` (bash's PIPESTATUS); trainmon's pid
    goes to `trainmon.pid` (the `sh -c 'echo $$; exec'` wrapper keeps the pid).
    """
    script = write_writer(tmp_path)
    log = tmp_path / "saved" / "stdin.log"
    statuses = tmp_path / "statuses"
    pid_file = tmp_path / "trainmon.pid"
    trainmon = f'sh -c "echo \\$\\$ > {pid_file}; exec {trainmon_command(f"--log {log} -")}"'
    command = (
        f"{sys.executable} {script} {count} {delay} {tmp_path / 'go'} 2>/dev/null | {trainmon}; "
        f'echo "${{PIPESTATUS[*]}}" > {statuses}'
    )
    start_pane(tmux, (160, 48), "bash", "-c", command)
    return log, statuses


def drainer_pid(tmux: Tmux) -> int | None:
    text = tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", "main")
    found = re.search(r"in the background \(pid (\d+)\)", text)
    return int(found.group(1)) if found else None


def check_detached_run(tmux: Tmux, log: Path, statuses: Path, count: int) -> None:
    """The writer ran to its end with status 0, every byte it wrote is in the log, and the
    background drainer (in a session of its own) exited by itself."""
    wait_for(lambda: exit_status(statuses) is not None, "the writer to finish", tmux)
    writer_status, _ = exit_status(statuses).split()  # type: ignore[union-attr]
    assert writer_status == "0"
    pid = drainer_pid(tmux)
    assert pid is not None, tmux.capture()
    wait_for(lambda: gone(pid), "the background drainer to exit", tmux)
    assert log.read_text() == expected_output(count)


def test_q_then_enter_detaches_and_the_writer_runs_to_its_end(tmux: Tmux, tmp_path: Path) -> None:
    count = 60
    log, statuses = start_pipeline(tmux, tmp_path, count, 0.1)
    wait_for(lambda: "step " in tmux.capture(), "the first records", tmux)
    assert str(log) in tmux.capture()  # the status line says where stdin is saved
    press(tmux, "q", shows="quit trainmon?")
    tmux("send-keys", "-t", "main", "Enter")
    wait_for(lambda: drainer_pid(tmux) is not None, "trainmon to detach and quit", tmux)
    (tmp_path / "go").touch()  # the rest of the run is written after the handover
    check_detached_run(tmux, log, statuses, count)
    assert exit_status(statuses).split()[1] == "0"  # type: ignore[union-attr]


def test_escape_stays_and_k_closes_the_pipe(tmux: Tmux, tmp_path: Path) -> None:
    log, statuses = start_pipeline(tmux, tmp_path, 100_000, 0.01)
    (tmp_path / "go").touch()
    wait_for(lambda: "step " in tmux.capture(), "the first records", tmux)
    writer = (tmp_path / "go.pid").read_text()
    wait_for(lambda: f"trainer {writer} " in tmux.capture(), "the pipe's writer found", tmux)
    press(tmux, "q", shows="quit trainmon?")
    press(tmux, "Escape", hides="quit trainmon?")
    assert exit_status(statuses) is None
    press(tmux, "q", shows="quit trainmon?")
    tmux("send-keys", "-t", "main", "k")
    wait_for(lambda: exit_status(statuses) is not None, "the pipeline to end", tmux)
    writer_status, trainmon_status = exit_status(statuses).split()  # type: ignore[union-attr]
    assert trainmon_status == "0"
    assert writer_status != "0"  # the writer met the closed pipe, as before
    assert drainer_pid(tmux) is None
    assert log.read_text().startswith('{"step": 1,')


def test_sighup_detaches_without_asking(tmux: Tmux, tmp_path: Path) -> None:
    count = 60
    log, statuses = start_pipeline(tmux, tmp_path, count, 0.1)
    wait_for(lambda: "step " in tmux.capture(), "the first records", tmux)
    pid = int((tmp_path / "trainmon.pid").read_text())
    os.kill(pid, signal.SIGHUP)
    wait_for(lambda: drainer_pid(tmux) is not None, "trainmon to detach on SIGHUP", tmux)
    (tmp_path / "go").touch()
    check_detached_run(tmux, log, statuses, count)
    assert exit_status(statuses).split()[1] == str(128 + signal.SIGHUP)  # type: ignore[union-attr]


# -- signals: terminal restored, temporary files removed ----------------------------------------


def terminal_modes(tmux: Tmux) -> str:
    return tmux("display", "-p", "-t", "main", "#{alternate_on} #{mouse_any_flag} #{cursor_flag}")


def start_in_shell(
    tmux: Tmux, tmp_path: Path, args: str, subcommand: str = ""
) -> tuple[Path, Path, Path]:
    """trainmon ARGS in a shell that saves `stty -g` before and after and then stays open
    (a live pane keeps its terminal state to inspect); TMPDIR is private to the test.
    Returns (temp dir, exit status file, pid file)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    status = tmp_path / "exit-status"
    pid_file = tmp_path / "trainmon.pid"
    command = (
        f"stty -g > {tmp_path}/stty.before; "
        f"sh -c 'echo $$ > {pid_file}; "
        f"exec {trainmon_command(args, env=f'TMPDIR={temp}', subcommand=subcommand)}'; "
        f"echo $? > {status}; stty -g > {tmp_path}/stty.after; exec sleep 600"
    )
    start_pane(tmux, (100, 40), "bash", "-c", command, keep=False)
    return temp, status, pid_file


def check_clean_exit(tmux: Tmux, tmp_path: Path, temp: Path, status: Path) -> None:
    wait_for(lambda: exit_status(status) is not None, "trainmon to end", tmux)
    wait_for(lambda: (tmp_path / "stty.after").exists(), "the shell to save the tty mode", tmux)
    assert terminal_modes(tmux).split() == ["0", "0", "1"]  # main screen, no mouse, cursor on
    assert (tmp_path / "stty.after").read_text() == (tmp_path / "stty.before").read_text()
    assert list(temp.iterdir()) == []  # the demo's / replay's copy is gone


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=str)
def test_a_signal_restores_the_terminal_and_removes_temp_files(
    tmux: Tmux, tmp_path: Path, sig: signal.Signals
) -> None:
    temp, status, pid_file = start_in_shell(tmux, tmp_path, "--demo")
    wait_for(lambda: "demo-run.log" in tmux.capture(), "the demo", tmux)
    assert terminal_modes(tmux).split()[:2] == ["1", "1"]  # it did switch them on
    assert any(temp.iterdir())
    os.kill(int(pid_file.read_text()), sig)
    check_clean_exit(tmux, tmp_path, temp, status)
    expected = "0" if sig == signal.SIGINT else str(128 + sig)  # SIGINT quits as Ctrl-C does
    assert exit_status(status) == expected


def test_replay_ended_by_sigterm_leaves_no_copy(tmux: Tmux, tmp_path: Path) -> None:
    old = tmp_path / "old.log"
    old.write_text("".join(f"step={s} loss={3 / s}\n" for s in range(1, 400)))
    temp, status, pid_file = start_in_shell(tmux, tmp_path, f"{old} --speed 1", "replay")
    wait_for(lambda: "step " in tmux.capture(), "the replay", tmux)
    os.kill(int(pid_file.read_text()), signal.SIGTERM)
    check_clean_exit(tmux, tmp_path, temp, status)


def test_a_second_signal_still_ends_it_and_cleans_up(tmux: Tmux, tmp_path: Path) -> None:
    """Two signals delivered together (the process was stopped while they arrived): the
    second takes the last-resort path, and the process dies of it, terminal restored."""
    temp, status, pid_file = start_in_shell(tmux, tmp_path, "--demo")
    wait_for(lambda: "demo-run.log" in tmux.capture(), "the demo", tmux)
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGSTOP)
    os.kill(pid, signal.SIGTERM)
    os.kill(pid, signal.SIGHUP)
    os.kill(pid, signal.SIGCONT)
    check_clean_exit(tmux, tmp_path, temp, status)
    # Python runs pending handlers in signal-number order: SIGHUP asked the app to end,
    # SIGTERM then took the last-resort path and killed the process (a graceful end after
    # SIGHUP would have been 129).
    assert exit_status(status) == str(128 + signal.SIGTERM)


# -- the training process's end ------------------------------------------------------------------

FILE_WRITER = textwrap.dedent(
    """\
    import os, sys, time
    path, finish = sys.argv[1], sys.argv[2]  # writes records until the file `finish` exists
    with open(path, "a", buffering=1) as log:
        step = 0
        while not os.path.exists(finish):
            step += 1
            log.write(f"step={step} loss={3 / step:.4f}\\n")
            time.sleep(0.2)
        log.write("{'train_runtime': 9.5, 'train_loss': 0.5, 'epoch': 1.0}\\n")
        time.sleep(1.0)
    """
)


def spawn_writer(tmp_path: Path, log: Path, *, tee: bool) -> subprocess.Popen[bytes]:
    """A trainer that writes `log` (itself, or through `tee`) until `tmp_path/finish` exists."""
    script = tmp_path / "file_writer.py"
    script.write_text(FILE_WRITER)
    finish = tmp_path / "finish"
    if not tee:
        return subprocess.Popen([sys.executable, str(script), str(log), str(finish)])
    # `python train.py | tee run.log`: the trainer is found behind tee (it writes stdout)
    relay = tmp_path / "relay.py"
    relay.write_text(FILE_WRITER.replace('open(path, "a", buffering=1)', "sys.stdout"))
    return subprocess.Popen(
        f"{sys.executable} -u {relay} - {finish} | tee {log} > /dev/null", shell=True
    )


def trainer_pid(tmux: Tmux) -> int | None:
    found = re.search(r"trainer (\d+) ", tmux.capture())
    return int(found.group(1)) if found else None


@contextmanager
def dashboard_on_a_writer(
    tmux: Tmux, tmp_path: Path, *, tee: bool
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The dashboard on `run.log` while a trainer writes it (`spawn_writer`); yields the
    writer and the trainer's pid once the dashboard names it; the writer is killed after."""
    log = tmp_path / "run.log"
    log.write_text("")
    writer = spawn_writer(tmp_path, log, tee=tee)
    try:
        start_pane(tmux, (170, 48), trainmon_command(str(log)), keep=False)
        wait_for(lambda: trainer_pid(tmux) is not None, "the trainer to be found", tmux)
        pid = trainer_pid(tmux)
        assert pid is not None
        yield writer, pid
    finally:
        writer.kill()
        writer.wait()


@pytest.mark.parametrize("tee", [False, True], ids=["open-for-write", "tee"])
def test_kill_9_of_the_writer_shows_exited_and_a_critical_finding(
    tmux: Tmux, tmp_path: Path, tee: bool
) -> None:
    with dashboard_on_a_writer(tmux, tmp_path, tee=tee) as (_, pid):
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: f"training process {pid} exited" in tmux.capture(), "'exited'", tmux)
        if not tee:  # the test is its parent: the status is known
            assert "killed by SIGKILL" in tmux.capture()
        wait_for(lambda: f"trainer {pid} exited" in tmux.capture(), "the CPU pane", tmux)
        wait_for(lambda: "[process-exited]" in tmux.capture(), "the process-exited finding", tmux)
        assert "it/s" not in tmux.capture().splitlines()[0]  # the rate stopped


def test_a_writer_that_finished_its_run_gets_no_finding(tmux: Tmux, tmp_path: Path) -> None:
    with dashboard_on_a_writer(tmux, tmp_path, tee=False) as (writer, pid):
        (tmp_path / "finish").touch()  # the run ends well: a summary, then exit status 0
        wait_for(lambda: f"training process {pid} exited" in tmux.capture(), "'exited'", tmux)
        assert "exit status 0" in tmux.capture()
        writer.wait(timeout=TIMEOUT_S)
        time.sleep(3)  # past the settle delay and a few advice updates
        screen = tmux.capture()
        assert "finished" in screen
        assert "process-exited" not in screen
