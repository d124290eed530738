"""Standard input saved to a file, and handed to a detached drainer: real pipes, real processes.

The handover must lose and duplicate nothing while the writer keeps writing; the drainer must
hold no terminal and end by itself when the writer closes the pipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from trainmon import i18n
from trainmon.pipe import StdinCopy, default_log_path, drain

TIMEOUT_S = 30.0


def wait_for(predicate: object, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # our child until reaped: a zombie counts as gone
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


def test_default_log_path_names_the_start_time() -> None:
    path = default_log_path(datetime(2026, 3, 4, 5, 6, 7))
    assert path == os.path.join("trainmon-logs", "stdin-20260304-050607.log")


def test_the_copy_appends_to_an_existing_file_and_notes_the_end(tmp_path: Path) -> None:
    log = tmp_path / "sub" / "in.log"
    log.parent.mkdir()
    log.write_bytes(b"old\n")
    read_fd, write_fd = os.pipe()
    copy = StdinCopy(read_fd, str(log)).start()
    os.write(write_fd, b"step=1 loss=2\n")
    os.close(write_fd)
    wait_for(lambda: copy.closed, "the end of input")
    assert log.read_bytes() == b"old\nstep=1 loss=2\n"
    assert copy.detach() is None  # nothing left to drain
    copy.close()


def test_the_handover_loses_and_duplicates_nothing_while_the_writer_writes(
    tmp_path: Path,
) -> None:
    log = tmp_path / "trainmon-logs" / "stdin.log"  # the folder is created
    read_fd, write_fd = os.pipe()
    copy = StdinCopy(read_fd, str(log)).start()
    lines = [f"step={i} loss={1 / i:.6f} {'x' * (i % 300)}\n".encode() for i in range(1, 20_001)]
    sent = b"".join(lines)

    def write() -> None:
        for i in range(0, len(lines), 50):
            os.write(write_fd, b"".join(lines[i : i + 50]))  # blocks while the pipe is full
            if i > len(lines) // 4:
                time.sleep(0.002)  # a training run's pace: the rest comes during the handover
        os.close(write_fd)

    writer = threading.Thread(target=write)
    writer.start()
    wait_for(lambda: copy.bytes_copied > len(sent) // 4, "a quarter to be copied")
    pid = copy.detach()  # mid-stream
    assert pid is not None
    assert copy.bytes_copied < len(sent)  # the drainer has the rest to do
    copy.close()
    writer.join(TIMEOUT_S)
    assert not writer.is_alive(), "the writer blocked: nobody drained the pipe"
    wait_for(lambda: gone(pid), "the drainer to exit at the end of input")
    assert log.read_bytes() == sent


def test_the_drainer_holds_no_terminal_and_runs_in_its_own_session(tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    copy = StdinCopy(read_fd, str(tmp_path / "in.log")).start()
    pid = copy.detach()
    assert pid is not None
    copy.close()
    try:
        assert os.getsid(pid) == pid  # a session leader, with no controlling terminal
        stat = Path(f"/proc/{pid}/stat").read_text()
        tty_nr = int(stat[stat.rfind(")") + 2 :].split()[4])
        assert tty_nr == 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                continue  # a file its start-up opened and closed meanwhile
            assert not target.startswith(("/dev/pts", "/dev/tty")), target
    finally:
        os.close(write_fd)
    wait_for(lambda: gone(pid), "the drainer to exit")


def test_close_makes_the_writer_meet_a_broken_pipe(tmp_path: Path) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", "import time\nwhile True:\n print('step=1 loss=1', flush=True)\n"
         " time.sleep(0.01)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert writer.stdout is not None
    copy = StdinCopy(os.dup(writer.stdout.fileno()), str(tmp_path / "in.log")).start()
    writer.stdout.close()
    wait_for(lambda: copy.bytes_copied > 0, "the first bytes")
    copy.close()
    assert writer.wait(TIMEOUT_S) != 0  # BrokenPipeError ended it


def test_drain_reads_to_the_end_even_when_the_log_cannot_be_written(tmp_path: Path) -> None:
    source_r, source_w = os.pipe()
    os.write(source_w, b"a" * 1000)
    os.close(source_w)
    target = tmp_path / "ok.log"
    with target.open("wb") as out:
        assert drain(source_r, out.fileno()) == 1000
    os.close(source_r)
    source_r, source_w = os.pipe()
    os.write(source_w, b"b" * 1000)
    os.close(source_w)
    broken_r, broken_w = os.pipe()
    os.close(broken_r)  # every write fails (EPIPE); the reading must still reach the end
    assert drain(source_r, broken_w) == 0
    os.close(source_r)
    os.close(broken_w)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (every write fails)")
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_log_that_cannot_be_written_counts_and_says_the_bytes_lost(lang: str) -> None:
    # GIVEN a copy into a file where every write fails (a full disk), in the user's language
    i18n.set_language(lang)
    try:
        read_fd, write_fd = os.pipe()
        copy = StdinCopy(read_fd, "/dev/full").start()
        os.write(write_fd, b"step=1 loss=2\n")
        os.close(write_fd)
        # WHEN the writer ends THEN the reading reached the end, and the error names the
        # file and the 14 bytes lost, translated
        wait_for(lambda: copy.closed, "the end of input")
        assert copy.bytes_lost == 14 and copy.error is not None
        assert copy.error.startswith("/dev/full: ") and "14" in copy.error
        assert ("bytes lost" in copy.error) == (lang == "en")
        copy.close()
    finally:
        i18n.set_language(i18n.ENGLISH)
