"""The training process's end: seen by a cheap check on real processes, with how it ended
when that can be known, and handed to the sampler's snapshots within the watch period."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trainmon.sources.cpu import PsutilCpuSource
from trainmon.sources.nvml import DisabledGpuSource
from trainmon.sources.process import (
    TrainingTracker,
    find_pipe_writer,
    is_gone,
    wait_status,
)
from trainmon.sources.runner import WATCH_INTERVAL_S, SamplerRunner
from trainmon.sources.samples import CpuSnapshot, ExitStatus, ProcessExit

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")

TIMEOUT_S = 20.0


def poll(check: object, what: str) -> object:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        found = check()  # type: ignore[operator]
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_wait_status_in_words() -> None:
    assert wait_status(3 << 8) == ExitStatus(code=3)
    assert wait_status(signal.SIGKILL) == ExitStatus(signal="SIGKILL")


def test_kill_9_of_a_child_is_seen_with_its_signal_and_left_to_its_parent(
    child: subprocess.Popen[bytes],
) -> None:
    tracker = TrainingTracker([], pid=child.pid)
    assert tracker.sample()[0] is not None
    assert tracker.watching()
    assert tracker.check_exit() is None  # alive
    child.kill()
    fact = poll(tracker.check_exit, "the exit to be seen")
    assert isinstance(fact, ProcessExit)
    assert fact.pid == child.pid and fact.status == ExitStatus(signal="SIGKILL")
    assert fact.text == f"training process {child.pid} exited (killed by SIGKILL)"
    assert not tracker.watching()
    assert tracker.exit == fact
    tp, reason = tracker.sample()  # a zombie is not found again as the same --pid
    assert tp is None and reason == fact.text
    assert child.wait(TIMEOUT_S) == -signal.SIGKILL  # the status was read, not reaped


def test_an_exit_status_is_read_from_the_zombie_when_not_the_parent(tmp_path: Path) -> None:
    """Another process is the trainer's parent and has not reaped it yet: trainmon reads
    the status from /proc/PID/stat's exit_code."""
    pid_file = tmp_path / "pid"
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time\n"
         "kid = subprocess.Popen([sys.executable, '-c', "
         "'import time; time.sleep(0.5); raise SystemExit(3)'])\n"
         f"open({str(pid_file)!r}, 'w').write(str(kid.pid))\n"
         "time.sleep(60)\n"],
    )  # fmt: skip
    try:
        pid = int(str(poll(lambda: pid_file.exists() and pid_file.read_text().strip(), "pid")))
        tracker = TrainingTracker([], pid=pid)
        assert tracker.sample()[0] is not None
        fact = poll(tracker.check_exit, "the exit to be seen")
        assert isinstance(fact, ProcessExit) and fact.status == ExitStatus(code=3)
    finally:
        parent.kill()
        parent.wait()


def test_a_reused_pid_counts_as_gone(child: subprocess.Popen[bytes]) -> None:
    stat = Path(f"/proc/{child.pid}/stat").read_text()
    start = int(stat[stat.rfind(")") + 2 :].split()[19])
    assert not is_gone(child.pid, start)
    assert is_gone(child.pid, start + 1)  # another process under the same number
    assert is_gone(2**22 + 777, None)


def test_the_writer_into_trainmons_pipe_is_the_trainer() -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], stdout=subprocess.PIPE
    )
    try:
        assert writer.stdout is not None
        name = os.readlink(f"/proc/self/fd/{writer.stdout.fileno()}")
        found = find_pipe_writer(name)
        assert (found.pid, found.found_by) == (writer.pid, "pipe")
        tracker = TrainingTracker([], pipe=name)
        tp, _ = tracker.sample()
        assert tp is not None and tp.pid == writer.pid and tp.found_by == "pipe"
    finally:
        writer.kill()
        writer.wait()


def test_the_exit_reaches_a_snapshot_within_the_watch_period(
    child: subprocess.Popen[bytes],
) -> None:
    """Full samples every 2 s, but the end is checked every WATCH_INTERVAL_S: a runner step
    at most that long after the exit carries it (a fake clock, a real process)."""
    now = [1000.0]
    cpu = PsutilCpuSource(pid=child.pid, clock=lambda: now[0])
    runner = SamplerRunner(
        DisabledGpuSource(), cpu, cpu_interval_s=2.0, gpu_interval_s=2.0, clock=lambda: now[0]
    )
    first = runner.step().cpu
    assert first is not None and first.training is not None
    child.kill()
    poll(lambda: is_gone(child.pid, None), "the kernel to end the child")
    now[0] += runner.seconds_until_due()
    assert runner.seconds_until_due() == 0.0
    assert now[0] - 1000.0 <= WATCH_INTERVAL_S
    update = runner.step()
    assert isinstance(update.cpu, CpuSnapshot)
    assert update.cpu.training is None
    assert update.cpu.training_exit is not None
    assert update.cpu.training_exit.how == "killed by SIGKILL"
