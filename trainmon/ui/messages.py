"""Messages that worker threads post to the app: past-tense facts carrying immutable values.

Workers never touch widgets or stores; they post one of these (thread-safe) and the UI
thread applies it. Data messages (`RecordsParsed`) are never coalesced; sample messages
(`GpuSampled`, `CpuSampled`) are: only the latest sample matters. The others are dataclasses,
as Textual's own messages are (`Message.__post_init__` sets up the message).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from textual.message import Message

from trainmon.records import FollowEvent, MetricRecord
from trainmon.run import ParserProgress, Run
from trainmon.sources.samples import CpuSnapshot, GpuSnapshot
from trainmon.store import MetricStore


class RecordsParsed(Message):
    """A worker parsed new complete lines of run `run` into records (its own `__init__`:
    a `progress` of None stands for a parser that has read nothing)."""

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


@dataclass(eq=False)
class FollowStateChanged(Message):
    """The follower noticed something about run `run`'s file (waiting, truncated, ...)."""

    run: int
    event: FollowEvent


@dataclass(eq=False)
class GpuSampled(Message):
    """A new GPU snapshot; only the newest one matters, so queued ones are replaced."""

    snapshot: GpuSnapshot

    def can_replace(self, message: Message) -> bool:
        """A newer sample supersedes an older one still in the queue."""
        return isinstance(message, GpuSampled)


@dataclass(eq=False)
class CpuSampled(Message):
    """A new CPU snapshot; only the newest one matters, so queued ones are replaced."""

    snapshot: CpuSnapshot

    def can_replace(self, message: Message) -> bool:
        """A newer sample supersedes an older one still in the queue."""
        return isinstance(message, CpuSampled)


@dataclass(eq=False)
class HistoryLoaded(Message):
    """A big log's history at start was read in one go (`trainmon.history`).

    The store is handed over whole: the loader thread built it and keeps no reference, so the
    UI thread is its only owner from here on (copying a million records to make the hand-over
    immutable would cost more than the read)."""

    run: int
    store: MetricStore
    """The history's records, oldest first (the receiver takes them)."""
    progress: ParserProgress
    """The parser's state after the history, counted from the file's start."""
    backlog: tuple[int, int]
    """(bytes read, file size) when the history was read."""
    _: KW_ONLY
    judged: Run | None = None
    """A run holding `store`, its first advice pass done on the history thread (handed
    over whole, like the store), or None."""
    bell: bool = False
    """That pass found a critical finding: the bell rings once."""


@dataclass(eq=False)
class HistoryProgress(Message):
    """How far the read of a big log's history got; only the newest one matters."""

    run: int
    done: int
    """Bytes read so far, by every process reading it."""
    size: int

    def can_replace(self, message: Message) -> bool:
        """A newer count supersedes an older one of the same run still in the queue."""
        return isinstance(message, HistoryProgress) and message.run == self.run
