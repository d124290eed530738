"""Messages that worker threads post to the app: past-tense facts carrying immutable values.

Workers never touch widgets or stores; they post one of these (thread-safe) and the UI
thread applies it. Data messages (`RecordsParsed`) are never coalesced; sample messages
(`GpuSampled`, `CpuSampled`) are: only the latest sample matters.
"""

from __future__ import annotations

from textual.message import Message

from trainmon.records import FollowEvent, MetricRecord
from trainmon.run import ParserProgress
from trainmon.sources.samples import CpuSnapshot, GpuSnapshot


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
