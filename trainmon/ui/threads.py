"""The dashboard's own threads: one polls every followed log in turn, one samples the system.

Textual's thread workers run on asyncio's default executor, a pool shared by everything in the
process and sized from the core count (6 threads on 2 cores): with one worker per log, the
seventh log was never read and the sampler never started. These threads belong to trainmon
alone, are started on mount, stopped (an Event) and joined on exit, and are daemons, so a call
stuck in the kernel or a driver can never hold up the exit.

A big history at start (a regular log of 16 MB or more) is read apart, as `report` reads a
file (`trainmon.history`: the same cuts, helper processes and checks), by a third thread,
`HistoryLoader`, one log at a time, while the poller follows the others; the poller then
posts it whole and follows that log on from where the read stopped.

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
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from textual.message import Message

from trainmon.follow import Follower
from trainmon.heap import map_large_blocks
from trainmon.history import HistoryOptions, HistoryRead, load_history, wants_history
from trainmon.i18n import _
from trainmon.parsing import LogParser
from trainmon.records import FollowEvent
from trainmon.run import ParserProgress, Run
from trainmon.sources import CpuSource, GpuSource
from trainmon.sources.nvml import DisabledGpuSource
from trainmon.sources.runner import SamplerRunner
from trainmon.store import MetricStore
from trainmon.ui.messages import (
    CpuSampled,
    FollowStateChanged,
    GpuSampled,
    HistoryLoaded,
    HistoryProgress,
    RecordsParsed,
)
from trainmon.ui.workers import FollowStep, idle_poll_interval

Post = Callable[[Message], object]
"""Hands a message to the UI thread (thread-safe)."""

JOIN_TIMEOUT_S: Final = 1.0
"""How long `stop()` waits for a thread to end; a daemon still busy after that is left behind
(it cannot hold up the exit) rather than making the quit key slow."""

MIN_SAMPLE_WAIT_S: Final = 0.05

MAX_SLEEP_S: Final = 5.0
"""The longest single sleep (when nothing is due: every log waits for the UI thread)."""

Judge = Callable[[str, MetricStore, ParserProgress], tuple[Run, bool]]
"""(path, history, parser state) -> the run of it, advised, and whether to ring the bell."""

PROGRESS_EVERY_S: Final = 0.25
"""How often a history read's progress is posted (the status line is redrawn on each)."""


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
    loading: LoadJob | None = None
    """Its history is being read by the `HistoryLoader`, which owns the ingest meanwhile."""
    history_checked: bool = False


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
        history: HistoryOptions | None = None,
        wall_clock: Callable[[], float] = time.time,
        judge: Judge | None = None,
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
            history: how a big history at start is read apart (None: by polls, as the rest).
            wall_clock: wall-clock seconds (the arrival time of a history read apart).
            judge: runs the first advice pass over a history read apart, on the history
                thread (None: the UI thread does, at its next tick).
        """
        super().__init__(name)
        self._logs = [_Log(run, path) for run, path in enumerate(paths)]
        self._loader = (
            None
            if history is None
            else HistoryLoader(
                history, post=post, on_done=lambda job: self._wake.set(), judge=judge
            )
        )
        self._wall_clock = wall_clock
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

    def stop(self, timeout_s: float = JOIN_TIMEOUT_S) -> bool:
        """Ask the poller (and the history loader) to end and wait for them."""
        if self._loader is not None:
            self._loader.stop(timeout_s=0)
        stopped = super().stop(timeout_s)
        if self._loader is not None:
            stopped = self._loader.stop(timeout_s) and stopped
        return stopped

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
                if log.step is not None and _owned_again(log):
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
            if log.loading is not None:
                if not log.loading.done:
                    continue  # the loader wakes the loop when it is done
                self._history_read(log)
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
                    self._give_up(
                        log,
                        _("follower failed: {error}").format(error=f"{type(exc).__name__}: {exc}"),
                    )
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
        if self._loader is not None and not log.history_checked and self._load_history(log):
            return
        if step.caught_up:
            interval = self._interval_s
            if interval is None:
                interval = step.follower.poll_interval_s
            log.due_s = now + idle_poll_interval(interval, now - log.last_news_s)
        else:
            log.due_s = now  # more to read: its next turn comes after the others'

    def _load_history(self, log: _Log) -> bool:
        """Hand a log that has just opened a big regular file to the loader; True if so."""
        assert self._loader is not None and log.step is not None
        follower = log.step.follower
        if not isinstance(follower, Follower) or not follower.regular:
            return False  # not opened yet (waiting for it), or a stream: never
        log.history_checked = True
        if not wants_history(log.step.ingest, self._loader.options):
            return False
        log.loading = LoadJob(log.run, log.step, self._wall_clock())
        self._loader.submit(log.loading)
        return True

    def _history_read(self, log: _Log) -> None:
        """The loader is done with a log: post its history and follow on."""
        job, log.loading = log.loading, None
        assert job is not None and log.step is not None
        if job.error is not None:
            self._give_up(log, job.error)
            return
        if job.read is None:  # cancelled: the poller is stopping too
            return
        messages = log.step.history_messages(job.read, job.judged)
        job.read = job.judged = None  # they belong to the message now (and the UI thread)
        batches = sum(isinstance(m, RecordsParsed | HistoryLoaded) for m in messages)
        with self._lock:
            log.pending += batches
        for message in messages:
            self._post(message)
        log.last_news_s = log.due_s = self._clock()

    def _give_up(self, log: _Log, detail: str) -> None:
        """End one log's following and say why in its status row; the others go on."""
        log.done = True
        if log.step is not None:
            with contextlib.suppress(Exception):
                log.step.follower.close()
        self._post(FollowStateChanged(log.run, FollowEvent("error", log.path, detail)))


def _owned_again(log: _Log) -> bool:
    """True when the poller may close the log's follower as it stops: the loader is not
    reading it, or is done (if it is still reading, it closes the follower itself)."""
    job = log.loading
    if job is None:
        return True
    with job.lock:
        job.abandoned = not job.done
        return job.done


@dataclass(slots=True)
class LoadJob:
    """One log's history to read apart; `done` (under `lock`) hands the ingest back."""

    run: int
    step: FollowStep
    arrival_s: float
    """When the history's records arrived (for those that print no time of their own)."""
    read: HistoryRead | None = None
    """What was read (None: cancelled, or failed)."""
    judged: tuple[Run, bool] | None = None
    """The run of what was read, advised, and whether a critical finding came up."""
    error: str | None = None
    done: bool = False
    abandoned: bool = False
    """The poller stopped while the loader still read: closing the follower is the loader's."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class HistoryLoader(OwnedThread):
    """Reads the big histories the poller hands it, one at a time (`trainmon.history`).

    Each read already uses as many processes as `--jobs` allows. Its progress goes straight
    to the UI thread (`HistoryProgress`, a few per second), so the status line says how far
    it got; the screen stays alive, as the UI thread only takes the history once it is read.
    Started by the first `submit`; a stop cancels the read in progress (helpers reaped).
    """

    def __init__(
        self,
        options: HistoryOptions,
        *,
        post: Post,
        on_done: Callable[[LoadJob], object],
        clock: Callable[[], float] = time.monotonic,
        name: str = "trainmon-history",
        judge: Judge | None = None,
    ) -> None:
        super().__init__(name)
        self.options = options
        self._judge = judge
        self._post = post
        self._on_done = on_done
        self._clock = clock
        self._jobs: deque[LoadJob] = deque()
        self._started = False

    def submit(self, job: LoadJob) -> None:
        """Queue a job (from the poller thread)."""
        self._jobs.append(job)
        if not self._started:
            self._started = True
            map_large_blocks()  # a big history's temporaries must not grow the heap for good
            self.start()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                job = self._jobs.popleft()
            except IndexError:
                self._sleep(MAX_SLEEP_S)
                continue
            self._load(job)

    def _load(self, job: LoadJob) -> None:
        last = -PROGRESS_EVERY_S

        def progress(done: int, size: int) -> None:
            nonlocal last
            now = self._clock()
            if now - last >= PROGRESS_EVERY_S:
                last = now
                self._post(HistoryProgress(job.run, done, size))

        try:
            job.read = load_history(
                job.step.ingest,
                self.options,
                job.arrival_s,
                progress=progress,
                cancelled=self._stop.is_set,
            )
            read = job.read
            if read is not None and read.store is not None and self._judge is not None:
                path = job.step.ingest.path
                job.judged = self._judge(path, read.store, job.step.ingest.progress())
        except Exception as exc:  # a bug in the read ends that log only, and says so
            job.error = f"reading its history failed: {type(exc).__name__}: {exc}"
        with job.lock:
            job.done = True
            abandoned = job.abandoned
        if abandoned:
            with contextlib.suppress(Exception):
                job.step.follower.close()
        self._on_done(job)


class SystemSampler(OwnedThread):
    """Samples CPU and GPU on one thread, so a slow driver never blocks the keys or the logs.

    `SamplerRunner` sets the cadence (a slow driver stretches it) and links the trainer's
    processes to GPU rows. Without a GPU source it samples a disabled one, whose first
    snapshot keeps the GPU pane hidden (it is posted once: the next ones would say the same).
    NVML is initialised, used and shut down on this thread only.
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
        said_disabled = False
        try:
            while not self._stop.is_set():
                self._wake.clear()
                update = runner.step()
                if update.cpu is not None:
                    self._post(CpuSampled(update.cpu))
                if update.gpu is not None and not said_disabled:
                    # --no-gpu: the first sample says the pane is off; the next ones would
                    # only wake the UI thread to say it again.
                    said_disabled = update.gpu.status == "disabled"
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
