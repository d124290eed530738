"""The dashboard's own threads: one polls every followed log in turn, one samples the system.

Textual's thread workers run on asyncio's default executor, a pool shared by everything in the
process and sized from the core count (6 threads on 2 cores): with one worker per log, the
seventh log was never read and the sampler never started. These threads belong to trainmon
alone, are started on mount, stopped (an Event) and joined on exit, and are daemons, so a call
stuck in the kernel or a driver can never hold up the exit.

One poller serves every log, whatever their number: each log is polled when it is due (its own
interval, backed off while the log is quiet), at most one chunk per turn, so a big history in
one log is read in turns with the others instead of starving them, and 40 idle logs cost one
thread's wake-ups, not 40. Only immutable messages leave these threads (`post`, which for a
Textual app is the thread-safe `post_message`). The price of one thread: a poll that blocked in
the kernel would hold up every log, so a follower's `poll()` must never block (it reads at
most one chunk of what is there and returns).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from textual.message import Message

from trainmon.follow import Follower
from trainmon.parsing import LogParser
from trainmon.records import FollowEvent
from trainmon.sources import CpuSource, GpuSource
from trainmon.sources.nvml import DisabledGpuSource
from trainmon.sources.runner import SamplerRunner
from trainmon.ui.messages import CpuSampled, FollowStateChanged, GpuSampled, RecordsParsed
from trainmon.ui.workers import FollowStep, idle_poll_interval

Post = Callable[[Message], object]
"""Hands a message to the UI thread (thread-safe)."""

JOIN_TIMEOUT_S: Final = 1.0
"""How long `stop()` waits for a thread to end; a daemon still busy after that is left behind
(it cannot hold up the exit) rather than making the quit key slow."""

MIN_SAMPLE_WAIT_S: Final = 0.05

MAX_SLEEP_S: Final = 5.0
"""The longest single sleep (when nothing is due: every log waits for the UI thread)."""


class OwnedThread:
    """A daemon thread running `_run()` until `stop()`; the base of the dashboard's threads."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        """Set to end a wait early: on stop, and when the UI thread has news for the loop."""
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def name(self) -> str:
        """The thread's name (shown by debuggers and `py-spy`)."""
        return self._thread.name

    @property
    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        """True once `stop()` was called."""
        return self._stop.is_set()

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout_s: float = JOIN_TIMEOUT_S) -> bool:
        """Ask the thread to end and wait for it; True when it ended within `timeout_s`."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _sleep(self, seconds: float) -> None:
        """Sleep until `seconds` passed, `stop()` was called or the UI thread woke the loop.

        A wake-up that came since the last `_wake.clear()` (at the top of the loop) ends the
        sleep at once, so none is lost while the loop was busy.
        """
        if seconds > 0 and not self._stop.is_set():
            self._wake.wait(min(seconds, MAX_SLEEP_S))

    def _run(self) -> None:
        raise NotImplementedError


@dataclass(slots=True)
class _Log:
    """One followed log, owned by the poller thread (`pending` is shared, under its lock)."""

    run: int
    path: str
    step: FollowStep | None = None
    due_s: float = 0.0
    last_news_s: float = 0.0
    pending: int = 0
    """Batches of records posted and not yet taken by the UI thread."""
    done: bool = False
    served: int = 0
    """Turns this log has had (for tests: the round-robin is fair)."""


class LogPoller(OwnedThread):
    """Follows every log on one thread: each due log gets one poll (one chunk) per turn.

    Back-pressure: a log whose last batch of records the UI thread has not taken yet is not
    polled (`batch_taken()` wakes the poller), so a long history never floods the UI thread's
    queue, and the screen repaints and the status line counts the reading as it goes. Pausing
    (`following` cleared) stops every poll; records written meanwhile are read on resume.
    A follower or parser that fails becomes that run's error state (`FollowStep`); a follower
    that cannot even be built ends that run only.
    """

    def __init__(
        self,
        paths: Sequence[str],
        *,
        open_follower: Callable[[str], Follower],
        parser_factory: Callable[[], LogParser],
        post: Post,
        following: threading.Event,
        poll_interval_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "trainmon-follow",
    ) -> None:
        """Prepare the poller; nothing is opened before `start()`.

        Args:
            paths: the logs, in run order (the run index is the position).
            open_follower: builds the follower of a path (called on the poller thread).
            parser_factory: builds a parser for a log (and for each new segment).
            post: hands a message to the UI thread.
            following: set while following, cleared while paused.
            poll_interval_s: the sleep after an empty poll (default: each follower's own).
            clock: monotonic seconds (the cadence).
            name: the thread's name.
        """
        super().__init__(name)
        self._logs = [_Log(run, path) for run, path in enumerate(paths)]
        self._open_follower = open_follower
        self._parser_factory = parser_factory
        self._post = post
        self._following = following
        self._interval_s = poll_interval_s
        self._clock = clock
        self._lock = threading.Lock()

    def batch_taken(self, run: int) -> None:
        """The UI thread handled one `RecordsParsed` of `run` (call from the UI thread)."""
        if not 0 <= run < len(self._logs):
            return
        log = self._logs[run]
        with self._lock:
            log.pending = max(0, log.pending - 1)
            free = log.pending == 0
        if free:
            self._wake.set()

    def turns(self) -> list[int]:
        """How many polls each run has had so far (for tests and benches)."""
        return [log.served for log in self._logs]

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not all(log.done for log in self._logs):
                self._wake.clear()
                if not self._following.is_set():
                    self._sleep(self._pause_wait_s())
                    continue
                self._sleep(self._one_round() - self._clock())
        finally:
            for log in self._logs:
                if log.step is not None:
                    log.step.follower.close()

    def _pause_wait_s(self) -> float:
        if self._interval_s is not None:
            return self._interval_s
        intervals = [log.step.follower.poll_interval_s for log in self._logs if log.step]
        return min(intervals, default=0.25)

    def _one_round(self) -> float:
        """Poll each due log once, in run order; return when the next one is due."""
        next_due = float("inf")
        for log in self._logs:
            if self._stop.is_set() or not self._following.is_set():
                return self._clock()
            if log.done:
                continue
            with self._lock:
                waiting_for_ui = log.pending > 0
            if waiting_for_ui:
                continue  # `batch_taken()` wakes the loop
            if log.due_s <= self._clock():
                try:
                    self._turn(log)
                except Exception as exc:  # a bug in one log's follower ends that log only
                    self._give_up(log, f"follower failed: {type(exc).__name__}: {exc}")
            if not log.done:
                next_due = min(next_due, log.due_s)
        return next_due

    def _turn(self, log: _Log) -> None:
        """One poll of one log; what it found goes to the UI thread."""
        now = self._clock()
        log.served += 1
        if log.step is None:
            try:
                follower = self._open_follower(log.path)
            except Exception as exc:  # a path that cannot be followed is a state, not a crash
                self._give_up(log, str(exc))
                return
            log.step = FollowStep(log.run, follower, self._parser_factory)
            log.last_news_s = now
        step = log.step
        messages = step.step()
        batches = sum(isinstance(m, RecordsParsed) for m in messages)
        if batches:
            with self._lock:
                log.pending += batches  # before posting: the UI thread may take it at once
        for message in messages:
            self._post(message)
        if step.finished:
            log.done = True
            step.follower.close()
            return
        if messages:
            log.last_news_s = now
        if step.caught_up:
            interval = self._interval_s
            if interval is None:
                interval = step.follower.poll_interval_s
            log.due_s = now + idle_poll_interval(interval, now - log.last_news_s)
        else:
            log.due_s = now  # more to read: its next turn comes after the others'

    def _give_up(self, log: _Log, detail: str) -> None:
        """End one log's following and say why in its status row; the others go on."""
        log.done = True
        if log.step is not None:
            with contextlib.suppress(Exception):
                log.step.follower.close()
        self._post(FollowStateChanged(log.run, FollowEvent("error", log.path, detail)))


class SystemSampler(OwnedThread):
    """Samples CPU and GPU on one thread, so a slow driver never blocks the keys or the logs.

    `SamplerRunner` sets the cadence (a slow driver stretches it) and links the trainer's
    processes to GPU rows. Without a GPU source it samples a disabled one, whose snapshots
    keep the GPU pane hidden. NVML is initialised, used and shut down on this thread only.
    """

    def __init__(
        self,
        gpu: GpuSource | None,
        cpu: CpuSource | None,
        *,
        post: Post,
        interval_s: float,
        name: str = "trainmon-sample",
    ) -> None:
        super().__init__(name)
        self._gpu = gpu
        self._cpu = cpu
        self._post = post
        self._interval_s = interval_s

    def _run(self) -> None:
        runner = SamplerRunner(
            self._gpu if self._gpu is not None else DisabledGpuSource(),
            self._cpu,
            gpu_interval_s=self._interval_s,
            cpu_interval_s=self._interval_s,
        )
        try:
            while not self._stop.is_set():
                self._wake.clear()
                update = runner.step()
                if update.cpu is not None:
                    self._post(CpuSampled(update.cpu))
                if update.gpu is not None:
                    self._post(GpuSampled(update.gpu))
                wait = min(runner.seconds_until_due(), self._interval_s)
                self._sleep(max(MIN_SAMPLE_WAIT_S, wait))
        finally:
            runner.close()


class Workers:
    """The dashboard's threads: the log poller, and the sampler when anything is sampled."""

    def __init__(self, poller: LogPoller, sampler: SystemSampler | None) -> None:
        self.poller = poller
        self.threads: list[OwnedThread] = [poller] if sampler is None else [poller, sampler]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def batch_taken(self, run: int) -> None:
        """The UI thread took run `run`'s last batch: its log may be polled again."""
        self.poller.batch_taken(run)

    def stop(self) -> None:
        """Ask every thread to stop, then join each (daemons: a stuck one is left behind)."""
        for thread in self.threads:
            thread.stop(timeout_s=0)
        for thread in self.threads:
            thread.stop()
