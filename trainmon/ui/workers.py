"""The bodies of the app's threads: plain step functions that produce messages.

The threads (`trainmon.ui.threads`) are thin loops (`while not stopped: post(step()); wait`)
around these steps, so what they do is testable without threads or an app. The followers and
parsers live on the poller thread; only immutable messages cross over to the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from textual.message import Message

from trainmon.follow import Follower
from trainmon.history import HistoryRead
from trainmon.ingest import Ingest, Item
from trainmon.parsing import LogParser
from trainmon.records import FollowEvent, MetricRecord
from trainmon.run import ParserProgress, Run
from trainmon.ui.messages import FollowStateChanged, HistoryLoaded, RecordsParsed

IDLE_AFTER_S: Final = 10.0
"""A log that brought nothing for this long is polled half as often (`idle_poll_interval`)."""

IDLE_POLL_FACTOR: Final = 2.0


def idle_poll_interval(interval_s: float, quiet_s: float) -> float:
    """The sleep after an empty poll: `interval_s`, doubled once the log has been quiet a while.

    A quiet log then costs half the wake-ups, and the first record after a pause still shows
    within twice the interval (0.5 s by default), well inside the 1 s latency target.
    """
    return interval_s * IDLE_POLL_FACTOR if quiet_s >= IDLE_AFTER_S else interval_s


SAMPLE_INTERVAL_S: Final = 2.0
"""GPU / CPU sampling period (nvidia-smi's and nvitop's default is 1-2 s)."""


class FollowStep:
    """One run's ingest (follower + parser): each `step()` polls once and returns the messages
    to post to the UI thread.

    The ingest decides what an event means for parsing (a truncated or rotated file starts a
    new parser); events are posted in order with the records around them, so the UI thread
    starts a new store segment before it takes the records of the new segment.
    """

    def __init__(
        self,
        run: int,
        follower: Follower,
        parser_factory: Callable[[], LogParser],
    ) -> None:
        self.run = run
        self.follower = follower
        path = getattr(follower, "path", "")  # test doubles may not name one
        self.ingest = Ingest(path, follower=follower, parser_factory=parser_factory)
        self.caught_up = False
        """True when the last step found nothing more to read right now: sleep before the next."""
        self.finished = False
        """True when nothing more will ever come (stdin closed, or a one-shot read ended)."""
        self._posted = ParserProgress()
        """The parser state last posted: counters that changed without records are posted too."""
        self.reading_history = True
        """Still reading what the log held at start: true until the follower first catches
        up. Records read meanwhile arrive in bursts, so their arrival times say nothing."""

    @property
    def parser(self) -> LogParser:
        """The parser of the current segment."""
        return self.ingest.parser

    def _parsed(self, records: list[MetricRecord]) -> RecordsParsed:
        progress = self._posted = self.ingest.progress()
        return RecordsParsed(
            self.run,
            tuple(records),
            progress=progress,
            backlog=(self.follower.offset, self.follower.size) if self.reading_history else None,
        )

    def step(self) -> list[Message]:
        """Poll once; return what to post (empty when nothing happened)."""
        try:
            items = self.ingest.poll()
        except Exception as exc:  # a follower bug must not end the worker: show it instead
            self.caught_up = True
            event = FollowEvent("error", "", f"{type(exc).__name__}: {exc}")
            return [FollowStateChanged(self.run, event)]
        return self.messages(items)

    def history_messages(
        self, read: HistoryRead, judged: tuple[Run, bool] | None = None
    ) -> list[Message]:
        """What to post after the history was read in one go (`trainmon.history`): the
        history whole (with its advised run, when there is one), then what the read left for
        the live path, in order."""
        out: list[Message] = []
        if read.store is not None:
            self._posted = self.ingest.progress()
            backlog = (self.follower.offset, self.follower.size)
            run, bell = judged if judged is not None else (None, False)
            loaded = HistoryLoaded(
                self.run, read.store, self._posted, backlog, judged=run, bell=bell
            )
            out.append(loaded)
        return [*out, *self.messages(read.rest)]

    def messages(self, items: list[Item]) -> list[Message]:
        """What to post for ingest items (a poll's), given the follower's state after them."""
        self.caught_up = self.follower.caught_up
        self.finished = self.follower.finished
        history_read = self.reading_history and (self.caught_up or self.finished)
        if history_read:
            self.reading_history = False  # posted once, so the UI learns the history is read
        out: list[Message] = []
        pending: list[MetricRecord] = []
        for item in items:
            if isinstance(item, FollowEvent):
                if pending:
                    out.append(self._parsed(pending))
                    pending = []
                out.append(FollowStateChanged(self.run, item))
            else:
                pending.extend(item)
        if pending or history_read or self.ingest.progress() != self._posted:
            out.append(self._parsed(pending))
        return out
