"""Messages that worker threads post to the app: past-tense facts carrying immutable values.

Workers never touch widgets or stores; they post one of these (thread-safe) and the UI
thread applies it. Data messages (`RecordsParsed`) are never coalesced; sample messages
(`GpuSampled`, `CpuSampled`) are: only the latest sample matters.
"""

from __future__ import annotations

from textual.message import Message

from trainmon.records import FollowEvent, MetricRecord
from trainmon.run import ParserProgress, Run
from trainmon.sources.samples import CpuSnapshot, GpuSnapshot
from trainmon.store import MetricStore


class RecordsParsed(Message):
    """A worker parsed new complete lines of run `run` into records."""

    def __init__(
        self,
        run: int,
        records: tuple[MetricRecord, ...],
        *,
        progress: ParserProgress | None = None,
        backlog: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.run = run
        """Index of the run (position on the command line)."""
        self.records = records
        """The new records, oldest first (may be empty when only counters changed)."""
        self.progress = progress if progress is not None else ParserProgress()
        """The parser's state after these records: format, counters, total, revealed facts."""
        self.backlog = backlog
        """(bytes read, file size) while the worker is still reading what the log held at
        start; None from the first time it caught up on (the records are live)."""


class FollowStateChanged(Message):
    """The follower noticed something about run `run`'s file (waiting, truncated, ...)."""

    def __init__(self, run: int, event: FollowEvent) -> None:
        super().__init__()
        self.run = run
        self.event = event


class GpuSampled(Message):
    """A new GPU snapshot; only the newest one matters, so queued ones are replaced."""

    def __init__(self, snapshot: GpuSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        """A newer sample supersedes an older one still in the queue."""
        return isinstance(message, GpuSampled)


class CpuSampled(Message):
    """A new CPU snapshot; only the newest one matters, so queued ones are replaced."""

    def __init__(self, snapshot: CpuSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        """A newer sample supersedes an older one still in the queue."""
        return isinstance(message, CpuSampled)


class HistoryLoaded(Message):
    """A big log's history at start was read in one go (`trainmon.history`).

    The store is handed over whole: the loader thread built it and keeps no reference, so the
    UI thread is its only owner from here on (copying a million records to make the hand-over
    immutable would cost more than the read)."""

    def __init__(
        self,
        run: int,
        store: MetricStore,
        progress: ParserProgress,
        backlog: tuple[int, int],
        *,
        judged: Run | None = None,
        bell: bool = False,
    ) -> None:
        super().__init__()
        self.run = run
        self.store = store
        """The history's records, oldest first (the receiver takes them)."""
        self.progress = progress
        """The parser's state after the history, counted from the file's start."""
        self.backlog = backlog
        """(bytes read, file size) when the history was read."""
        self.judged = judged
        """A run holding `store`, its first advice pass done on the history thread (handed
        over whole, like the store), or None."""
        self.bell = bell
        """That pass found a critical finding: the bell rings once."""


class HistoryProgress(Message):
    """How far the read of a big log's history got; only the newest one matters."""

    def __init__(self, run: int, done: int, size: int) -> None:
        super().__init__()
        self.run = run
        self.done = done
        """Bytes read so far, by every process reading it."""
        self.size = size

    def can_replace(self, message: Message) -> bool:
        """A newer count supersedes an older one of the same run still in the queue."""
        return isinstance(message, HistoryProgress) and message.run == self.run
