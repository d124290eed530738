"""The wrapped command on its own: a real child in a real pseudo-terminal, no screen."""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from pathlib import Path

import pytest

from trainmon.cli import main
from trainmon.sources.process import is_gone
from trainmon.sources.samples import ExitStatus
from trainmon.wrap import CommandEnd, WrappedCommand, command_problem, default_command_log

TIMEOUT_S = 30.0


def run_to_end(code: str, log: Path, size: tuple[int, int] = (100, 30)) -> CommandEnd:
    command = WrappedCommand([sys.executable, "-c", code], str(log), size=size).start()
    end = command.wait(TIMEOUT_S)
    assert end is not None, "the command did not end"
    assert command.wait_output(), "the output did not end"
    command.reap()
    command.close()
    return end


def test_the_command_sees_a_terminal_of_the_given_size_and_its_bytes_are_kept(
    tmp_path: Path,
) -> None:
    code = (
        "import os, sys; s = os.get_terminal_size(1);"
        "sys.stdout.buffer.write(b'%d %d %s\\n' % (s.columns, s.lines, "
        "str(sys.stdout.isatty() and sys.stderr.isatty()).encode()));"
        "sys.stdout.buffer.write(b'a\\nb\\r\\nc\\rd\\x1b[1m\\xff\\x00end')"
    )
    log = tmp_path / "deep" / "run.log"
    end = run_to_end(code, log, size=(123, 45))
    assert end == CommandEnd(0)
    assert log.read_bytes() == b"123 45 True\na\nb\r\nc\rd\x1b[1m\xff\x00end"


def test_exit_status_and_signal(tmp_path: Path) -> None:
    assert run_to_end("raise SystemExit(3)", tmp_path / "a.log").exit_code == 3
    killed = run_to_end("import os; os.kill(os.getpid(), 9)", tmp_path / "b.log")
    assert (killed.signal_number, killed.exit_code, killed.text) == (9, 137, "killed by SIGKILL")


def test_the_end_is_known_while_the_zombie_still_holds_its_status(tmp_path: Path) -> None:
    from trainmon.sources.process import exit_how

    command = WrappedCommand([sys.executable, "-c", "raise SystemExit(5)"], str(tmp_path / "l"))
    command.start()
    assert command.wait(TIMEOUT_S) == CommandEnd(5)
    assert command.pid is not None
    assert exit_how(command.pid) == ExitStatus(code=5)  # not reaped yet: the tracker reads it
    command.reap()
    command.close()


def test_interrupt_reaches_the_whole_process_group(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        "print('child', child.pid, flush=True);"
        "time.sleep(60)"
    )
    log = tmp_path / "run.log"
    command = WrappedCommand([sys.executable, "-c", code], str(log)).start()
    for _ in range(int(TIMEOUT_S * 20)):
        if b"child" in (log.read_bytes() if log.exists() else b""):
            break
        command.ended.wait(0.05)
    grandchild = int(log.read_bytes().split()[1])
    command.interrupt()
    end = command.wait(TIMEOUT_S)
    assert end is not None and end.signal_number == signal.SIGINT
    for _ in range(int(TIMEOUT_S * 20)):  # the grandchild got SIGINT too (a zombie is gone)
        if is_gone(grandchild, None):
            break
        command.ended.wait(0.05)
    else:
        pytest.fail("the grandchild was not interrupted")
    command.reap()
    command.close()


def test_default_log_names_do_not_collide(tmp_path: Path) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5)
    first = default_command_log(["/usr/bin/python3", "x"], now, directory=str(tmp_path))
    assert first == str(tmp_path / "python3-20260102-030405.log")
    Path(first).touch()
    second = default_command_log(["/usr/bin/python3"], now, directory=str(tmp_path))
    assert second == str(tmp_path / "python3-20260102-030405-2.log")
    odd = default_command_log(["a b;\x1b"], now, directory=str(tmp_path))
    assert os.path.basename(odd) == "a_b__-20260102-030405.log"


def test_command_problems(tmp_path: Path) -> None:
    assert command_problem([]) == "no command after --"
    assert command_problem(["no-such-program-here"]) == "no-such-program-here: command not found"
    assert command_problem([str(tmp_path / "missing")]) == f"{tmp_path / 'missing'}: no such file"
    plain = tmp_path / "plain"
    plain.write_text("")
    assert command_problem([str(plain)]) == f"{plain}: not executable"
    assert command_problem([sys.executable]) is None


def test_cli_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--headless", "run.log"]) == 2
    assert "--headless runs a command" in capsys.readouterr().err
    assert main(["run.log", "--", "python"]) == 2
    assert "cannot be combined" in capsys.readouterr().err
    assert main(["--"]) == 127
    assert capsys.readouterr().err == "trainmon: no command after --\n"
