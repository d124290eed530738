"""Training-process discovery against real processes started by the tests."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from trainmon import i18n
from trainmon.sources.process import MAX_RESCAN_S, TrainingTracker, find_log_writer

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")

WORKER = """\
import os, subprocess, sys, time
n = int(sys.argv[1])
log = sys.argv[3] if len(sys.argv) > 3 else None
out = open(log, "a") if log else sys.stdout
# Workers inherit stdout (and the log fd), like forked DataLoader workers do.
kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
        pass_fds=() if not log else (out.fileno(),)) for _ in range(n)]
ballast = bytearray(8 * 1024 * 1024)
open(sys.argv[2], "w").write(str(os.getpid()))
while True:
    print("{'loss': 1.0, 'step': 1}", file=out, flush=True)
    time.sleep(0.05)
"""


def _wait_for(path: Path, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


class Run:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path, pid: int) -> None:
        self.proc, self.log, self.pid = proc, log, pid


def _start(tmp_path: Path, shell: str) -> Iterator[Run]:
    (tmp_path / "worker.py").write_text(WORKER)
    proc = subprocess.Popen(
        ["sh", "-c", shell],
        cwd=tmp_path,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": "2,3"},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        pid = int(_wait_for(tmp_path / "pid"))
        _wait_for(tmp_path / "run.log")
        yield Run(proc, tmp_path / "run.log", pid)
    finally:
        # The shell, tee, the trainer and its workers share the session's process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture
def tee_run(tmp_path: Path) -> Iterator[Run]:
    """`python worker.py 3 | tee run.log` with three worker children."""
    yield from _start(tmp_path, f"{sys.executable} -u worker.py 3 pid | tee run.log > /dev/null")


@pytest.fixture
def direct_run(tmp_path: Path) -> Iterator[Run]:
    """The trainer appends to run.log itself; its two workers inherit the open log."""
    yield from _start(tmp_path, f"{sys.executable} -u worker.py 2 pid run.log")


def _tree_rss(pid: int) -> int:
    root = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])


def test_writer_behind_tee_is_found_not_tee(tee_run: Run) -> None:
    found = find_log_writer([str(tee_run.log)])
    assert found.pid == tee_run.pid
    assert found.found_by == "tee"
    assert psutil.Process(found.pid).name() != "tee"


def test_tree_of_the_writer_behind_tee(tee_run: Run) -> None:
    tracker = TrainingTracker([str(tee_run.log)])
    tp, reason = tracker.sample()
    assert tp is not None, reason
    assert tp.pid == tee_run.pid
    assert tp.found_by == "tee"
    assert tp.workers == 3
    assert tp.threads >= 4
    assert "worker.py" in tp.command
    expected = _tree_rss(tee_run.pid)
    assert tp.rss_bytes == pytest.approx(expected, rel=0.1)
    assert tp.rss_bytes > psutil.Process(tee_run.pid).memory_info().rss
    assert tp.cuda_visible_devices == "2,3"  # which GPUs, even without matching host PIDs
    assert tracker.tree_pids() >= {tee_run.pid}
    assert len(tracker.tree_pids()) == 4


def test_direct_writer_with_workers_holding_the_log(direct_run: Run) -> None:
    tracker = TrainingTracker([str(direct_run.log)])
    tp, reason = tracker.sample()
    assert tp is not None, reason
    assert tp.pid == direct_run.pid  # the root, not a worker that inherited the fd
    assert tp.found_by == "log-writer"
    assert tp.workers == 2


def test_cpu_percent_is_measured_between_samples(tee_run: Run) -> None:
    clock = [0.0]
    tracker = TrainingTracker([str(tee_run.log)], clock=lambda: clock[0])
    tracker.sample()
    time.sleep(0.3)
    clock[0] = 0.3
    tp, _ = tracker.sample()
    assert tp is not None
    assert tp.cpu_pct >= 0.0
    assert tp.io_wait_pct is not None and 0.0 <= tp.io_wait_pct <= 100.0


def test_explicit_pid(tee_run: Run) -> None:
    tp, _ = TrainingTracker([], pid=tee_run.pid).sample()
    assert tp is not None and tp.found_by == "pid" and tp.workers == 3


def test_trainer_exit_is_reported(tee_run: Run) -> None:
    clock = [0.0]
    tracker = TrainingTracker([str(tee_run.log)], clock=lambda: clock[0])
    assert tracker.sample()[0] is not None
    os.killpg(tee_run.proc.pid, signal.SIGKILL)
    tee_run.proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(tee_run.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    tp, reason = tracker.sample()
    assert tp is None
    assert f"training process {tee_run.pid} exited" in reason
    assert tracker.tree_pids() == frozenset()


def test_no_writer(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("done\n")
    clock = [0.0]
    tracker = TrainingTracker([str(log)], clock=lambda: clock[0], rescan_s=30.0)
    for _ in range(5):
        tp, reason = tracker.sample()
        clock[0] += 2.0
    assert tp is None
    assert "no process has run.log open for writing" in reason and "--pid" in reason
    assert tracker.scans == 1  # rescans are rare
    clock[0] = 31.0
    tracker.sample()
    assert tracker.scans == 2


def test_searches_back_off_while_the_log_is_unchanged(tmp_path: Path) -> None:
    """A finished log nobody writes: the waits double (30, 60, 120, ...) up to the cap."""
    log = tmp_path / "run.log"
    log.write_text("done\n")
    clock = [0.0]
    tracker = TrainingTracker([str(log)], clock=lambda: clock[0], rescan_s=30.0)
    scan_times: list[float] = []
    while clock[0] < 3600.0:
        before = tracker.scans
        tracker.sample()
        if tracker.scans > before:
            scan_times.append(clock[0])
        clock[0] += 2.0
    gaps = [b - a for a, b in itertools.pairwise(scan_times)]
    assert gaps[:4] == [30.0, 60.0, 120.0, 240.0]
    assert max(gaps) == MAX_RESCAN_S
    assert len(scan_times) <= 12  # against 120 scans at a fixed 30 s


def test_a_changing_log_brings_the_search_back_to_the_short_wait(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("done\n")
    clock = [0.0]
    tracker = TrainingTracker([str(log)], clock=lambda: clock[0], rescan_s=30.0)
    for _ in range(200):  # 400 s unchanged: the wait has grown past 30 s
        tracker.sample()
        clock[0] += 2.0
    scans = tracker.scans
    with log.open("a") as f:
        f.write("{'loss': 1.0}\n")  # a writer we cannot see (another container, say)
    for _ in range(16):  # 32 s
        tracker.sample()
        clock[0] += 2.0
    assert tracker.scans == scans + 1
    for _ in range(16):  # unchanged again: no search 30 s later
        tracker.sample()
        clock[0] += 2.0
    assert tracker.scans == scans + 1


def test_reader_is_not_a_writer(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("x\n")
    with open(log) as reader:
        child = subprocess.Popen(["sleep", "30"], stdin=reader)
        try:
            assert find_log_writer([str(log)]).pid is None
        finally:
            child.kill()
            child.wait()


def test_stdin_and_dead_pid_reasons() -> None:
    assert "standard input" in find_log_writer(["-"]).reason
    tp, reason = TrainingTracker([], pid=2**22 + 777).sample()
    assert tp is None and "no such process" in reason


def test_reasons_are_in_the_chosen_language(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("done\n")
    assert i18n.set_language("zh_CN") == "zh_CN"
    try:
        _, no_writer = TrainingTracker([str(log)]).sample()
        _, no_pid = TrainingTracker([], pid=2**22 + 777).sample()
    finally:
        i18n.set_language(i18n.ENGLISH)
    assert no_writer.startswith("没有进程以写方式打开 run.log") and no_writer.endswith("请用 --pid")
    assert no_pid == f"--pid {2**22 + 777}：没有这个进程"


THREADED = """\
import os, subprocess, sys, threading, time
def spawn():
    kids.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]))
    time.sleep(120)  # the child stays on this thread's children list while it lives
kids = []
threading.Thread(target=spawn, daemon=True).start()
while len(kids) < 1:
    time.sleep(0.01)
log = open(sys.argv[1], "a")
time.sleep(0.3)
open(sys.argv[2], "w").write(str(os.getpid()))
while True:
    print("step", file=log, flush=True)
    time.sleep(0.05)
"""


@pytest.fixture
def threaded_run(tmp_path: Path) -> Iterator[Run]:
    """A trainer whose worker was started from a non-main thread."""
    (tmp_path / "threaded.py").write_text(THREADED)
    proc = subprocess.Popen(
        [sys.executable, "threaded.py", "run.log", "pid"], cwd=tmp_path, start_new_session=True
    )
    try:
        pid = int(_wait_for(tmp_path / "pid"))
        yield Run(proc, tmp_path / "run.log", pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_worker_started_from_a_thread_is_in_the_tree(threaded_run: Run) -> None:
    tracker = TrainingTracker([str(threaded_run.log)])
    for _ in range(3):  # the first tick walks every thread; later ticks keep what it found
        tp, reason = tracker.sample()
        assert tp is not None, reason
        assert tp.pid == threaded_run.pid
        assert tp.workers == 1


def test_a_log_trainmon_writes_itself_is_named_as_its_own_playback(tmp_path: Path) -> None:
    """--demo and replay write the followed log from trainmon's own process: that is not a
    training process that went missing."""
    log = tmp_path / "demo-run.log"
    with log.open("a") as f:
        f.write("step=1 loss=2.0\n")
        f.flush()
        found = find_log_writer([str(log)])
        assert found.pid is None and "trainmon's own playback" in found.reason
    assert "no process has demo-run.log open" in find_log_writer([str(log)]).reason
