"""The dashboard's own threads, without an app: real log files, real followers and parsers.

Each test collects what the threads post and polls for it with a generous timeout, so a
loaded machine makes them slower, not flaky.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.message import Message

from tests.fakes.fake_cpu import CountingCpu
from trainmon.follow import Follower as LogFollower
from trainmon.parsing import LogParser
from trainmon.records import FollowEvent
from trainmon.sources.samples import GpuSnapshot
from trainmon.ui.messages import CpuSampled, FollowStateChanged, GpuSampled, RecordsParsed
from trainmon.ui.threads import LogPoller, SystemSampler
from trainmon.ui.workers import Follower

TIMEOUT_S = 20.0


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {TIMEOUT_S:.0f} s waiting for {what}")
        time.sleep(0.01)


def write_log(path: Path, steps: range) -> None:
    path.write_text("".join(f'{{"step": {s}, "loss": {1.0 + 1 / s:.6f}}}\n' for s in steps))


class Inbox:
    """Stands in for the UI thread: keeps every message; takes batches when told to."""

    def __init__(self, take: bool = True) -> None:
        self.messages: list[Message] = []
        self.take = take
        self.poller: LogPoller | None = None
        self._lock = threading.Lock()

    def post(self, message: Message) -> bool:
        with self._lock:
            self.messages.append(message)
        if self.take and isinstance(message, RecordsParsed) and self.poller is not None:
            self.poller.batch_taken(message.run)
        return True

    def batches(self, run: int) -> list[RecordsParsed]:
        with self._lock:
            return [m for m in self.messages if isinstance(m, RecordsParsed) and m.run == run]

    def records(self, run: int) -> int:
        return sum(len(m.records) for m in self.batches(run))

    def states(self, run: int) -> list[FollowEvent]:
        with self._lock:
            found = [m for m in self.messages if isinstance(m, FollowStateChanged)]
        return [m.event for m in found if m.run == run]


def start_poller(
    paths: list[Path],
    inbox: Inbox,
    *,
    chunk_bytes: int = 1 << 20,
    following: threading.Event | None = None,
    open_follower: Callable[[str], Follower] | None = None,
) -> LogPoller:
    if following is None:
        following = threading.Event()
        following.set()

    def real_follower(path: str) -> Follower:
        return LogFollower(path, chunk_bytes=chunk_bytes)

    poller = LogPoller(
        [str(p) for p in paths],
        open_follower=open_follower or real_follower,
        parser_factory=LogParser,
        post=inbox.post,
        following=following,
        poll_interval_s=0.02,
    )
    inbox.poller = poller
    poller.start()
    return poller


@pytest.fixture
def stopped() -> Iterator[list[LogPoller]]:
    """Pollers a test started; stopped at its end even when it fails."""
    started: list[LogPoller] = []
    yield started
    for poller in started:
        poller.stop()


def test_every_one_of_forty_logs_is_read_on_one_thread(
    tmp_path: Path, stopped: list[LogPoller]
) -> None:
    paths = [tmp_path / f"r{i}.log" for i in range(40)]
    for i, path in enumerate(paths):
        write_log(path, range(1, 11 + i))
    before = threading.active_count()
    inbox = Inbox()
    stopped.append(start_poller(paths, inbox))
    wait_for(lambda: all(inbox.records(i) == 10 + i for i in range(40)), "every log's records")
    assert threading.active_count() == before + 1


def test_a_big_history_is_read_in_turns_with_the_other_logs(
    tmp_path: Path, stopped: list[LogPoller]
) -> None:
    big, small = tmp_path / "big.log", tmp_path / "small.log"
    write_log(big, range(1, 5001))  # ~150 KB: about 40 chunks of 4 KiB
    write_log(small, range(1, 4))
    inbox = Inbox()
    poller = start_poller([big, small], inbox, chunk_bytes=4096)
    stopped.append(poller)
    wait_for(lambda: inbox.records(0) == 5000 and inbox.records(1) == 3, "both logs")
    with inbox._lock:
        order = [m.run for m in inbox.messages if isinstance(m, RecordsParsed) and m.records]
    # The small log's records came with the big log's first chunk, not after its last.
    assert order.index(1) <= 1
    assert len(inbox.batches(0)) > 30


def test_a_run_is_never_more_than_one_batch_ahead_of_the_ui_thread(
    tmp_path: Path, stopped: list[LogPoller]
) -> None:
    log = tmp_path / "big.log"
    write_log(log, range(1, 2001))
    inbox = Inbox(take=False)
    poller = start_poller([log], inbox, chunk_bytes=4096)
    stopped.append(poller)
    for taken in range(1, 4):
        wait_for(lambda: len(inbox.batches(0)) == taken, f"batch {taken}")  # noqa: B023
        turns = poller.turns()[0]
        time.sleep(0.2)  # ten poll intervals: a poller that ignores back-pressure reads on
        assert len(inbox.batches(0)) == taken
        assert poller.turns()[0] == turns
        poller.batch_taken(0)


def test_pause_stops_every_poll_and_resume_reads_what_was_written(
    tmp_path: Path, stopped: list[LogPoller]
) -> None:
    log = tmp_path / "run.log"
    write_log(log, range(1, 4))
    following = threading.Event()
    following.set()
    inbox = Inbox()
    poller = start_poller([log], inbox, following=following)
    stopped.append(poller)
    wait_for(lambda: inbox.records(0) == 3, "the first records")
    following.clear()
    time.sleep(0.1)  # let a poll in progress end
    turns = poller.turns()[0]
    write_log(log, range(1, 7))
    time.sleep(0.3)
    assert poller.turns()[0] == turns
    assert inbox.records(0) == 3
    following.set()
    wait_for(lambda: inbox.records(0) == 6, "the records written while paused")


def test_a_follower_that_cannot_be_built_ends_only_its_run(
    tmp_path: Path, stopped: list[LogPoller]
) -> None:
    good = tmp_path / "good.log"
    write_log(good, range(1, 3))

    def open_follower(path: str) -> Follower:
        if path.endswith("bad.log"):
            raise PermissionError("not allowed")
        return LogFollower(path)

    inbox = Inbox()
    stopped.append(start_poller([tmp_path / "bad.log", good], inbox, open_follower=open_follower))
    wait_for(lambda: inbox.records(1) == 2, "the good log's records")
    wait_for(lambda: bool(inbox.states(0)), "the bad log's state")
    assert [(e.kind, e.detail) for e in inbox.states(0)] == [("error", "not allowed")]


def test_stop_ends_the_thread_and_closes_every_follower(tmp_path: Path) -> None:
    paths = [tmp_path / f"r{i}.log" for i in range(3)]
    for path in paths:
        write_log(path, range(1, 3))
    followers: list[LogFollower] = []

    def open_follower(path: str) -> Follower:
        followers.append(LogFollower(path))
        return followers[-1]

    inbox = Inbox()
    poller = start_poller(paths, inbox, open_follower=open_follower)
    wait_for(lambda: all(inbox.records(i) == 2 for i in range(3)), "the records")
    assert poller.alive and poller.name == "trainmon-follow"
    assert poller.stop()
    assert not poller.alive and poller.stopping
    assert len(followers) == 3 and all(f._fd is None for f in followers)


def test_the_poller_thread_is_a_daemon_so_it_never_holds_up_the_exit() -> None:
    poller = LogPoller(
        [],
        open_follower=LogFollower,
        parser_factory=LogParser,
        post=Inbox().post,
        following=threading.Event(),
    )
    assert poller._thread.daemon


def test_the_sampler_posts_cpu_and_gpu_snapshots_until_stopped() -> None:
    inbox = Inbox()
    cpu = CountingCpu()
    sampler = SystemSampler(None, cpu, post=inbox.post, interval_s=0.05)
    sampler.start()
    try:
        wait_for(lambda: cpu.samples >= 3, "three CPU samples")
    finally:
        assert sampler.stop()
    with inbox._lock:
        kinds = {type(m) for m in inbox.messages}
        gpu = [m.snapshot for m in inbox.messages if isinstance(m, GpuSampled)]
    assert kinds == {CpuSampled, GpuSampled}
    # No GPU source: the pane is off, said once (not with every CPU sample).
    assert len(gpu) == 1 and isinstance(gpu[0], GpuSnapshot) and gpu[0].status == "disabled"
    after = cpu.samples
    time.sleep(0.2)
    assert cpu.samples == after


def test_a_follower_bug_outside_its_poll_ends_only_its_run(
    tmp_path: Path, stopped: list[LogPoller]
) -> None:
    """`FollowStep` turns a failing poll or parser into a state; a bug anywhere else in one
    log's turn (here: the follower's `offset`) must not end the thread that serves them all."""
    good = tmp_path / "good.log"
    write_log(good, range(1, 3))
    (tmp_path / "bad.log").write_text('{"step": 1, "loss": 1.0}\n')

    class BrokenOffset(LogFollower):
        @property
        def offset(self) -> int:
            raise RuntimeError("offset is broken")

    def open_follower(path: str) -> Follower:
        return BrokenOffset(path) if path.endswith("bad.log") else LogFollower(path)

    inbox = Inbox()
    poller = start_poller([tmp_path / "bad.log", good], inbox, open_follower=open_follower)
    stopped.append(poller)
    wait_for(lambda: inbox.records(1) == 2, "the good log's records")
    wait_for(lambda: any(e.kind == "error" for e in inbox.states(0)), "the bad log's error")
    errors = [e.detail for e in inbox.states(0) if e.kind == "error"]
    assert errors == ["follower failed: RuntimeError: offset is broken"]
    write_log(good, range(1, 5))
    wait_for(lambda: inbox.records(1) == 4, "records appended to the good log")
    assert poller.alive
