"""The bodies of the app's worker threads: plain step functions that produce messages.

A thread worker in the app is a thin loop (`while not cancelled: post(step()); wait`) around
these steps, so what they do is testable without threads or an app. The follower and the
parser live on the worker thread; only immutable messages cross over to the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Final, Protocol

from textual.message import Message

from trainmon.records import FollowEvent, MetricRecord
from trainmon.ui.messages import FollowStateChanged, RecordsParsed

POLL_INTERVAL_S: Final = 0.2
"""How long a follower sleeps after a poll that found nothing new: a stat() five times a
second costs microseconds, and keeps the latency from write to screen well under a second."""

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


class Parser(Protocol):
    """What the follow loop needs from `trainmon.parsing.LogParser` (tests pass doubles)."""

    @property
    def format(self) -> str: ...

    @property
    def total_steps(self) -> int | None: ...

    @property
    def lines(self) -> int: ...

    @property
    def unparsed_lines(self) -> int: ...

    @property
    def context(self) -> Mapping[str, object]: ...

    def feed(self, data: bytes) -> list[MetricRecord]: ...

    def finish(self) -> list[MetricRecord]: ...


class Follower(Protocol):
    """What the follow loop needs from `trainmon.follow.Follower` (tests pass doubles)."""

    @property
    def caught_up(self) -> bool: ...

    @property
    def finished(self) -> bool: ...

    @property
    def poll_interval_s(self) -> float: ...

    @property
    def offset(self) -> int: ...

    @property
    def size(self) -> int: ...

    def poll(self) -> list[FollowEvent | bytes]: ...

    def close(self) -> None: ...


class FollowStep:
    """One run's follower + parser: each `step()` polls once and returns the messages to post.

    A truncated or rotated file starts a new parser (the new segment is a new run of the
    trainer); the event is posted before the records of the new segment, so the UI thread
    resets the store first.
    """

    def __init__(
        self,
        run: int,
        follower: Follower,
        parser_factory: Callable[[], Parser],
    ) -> None:
        self.run = run
        self.follower = follower
        self._parser_factory = parser_factory
        self.parser = parser_factory()
        self.caught_up = False
        """True when the last step found nothing more to read right now: sleep before the next."""
        self.finished = False
        """True when nothing more will ever come (stdin closed, or a one-shot read ended)."""
        self.reading_history = True
        """Still reading what the log held at start: true until the follower first catches
        up. Records read meanwhile arrive in bursts, so their arrival times say nothing."""
        self._errors: list[str] = []

    def _parsed(self, records: list[MetricRecord]) -> RecordsParsed:
        parser = self.parser
        renamed = [f"{k} = {v}" for k, v in getattr(parser, "series_sources", {}).items() if k != v]
        return RecordsParsed(
            self.run,
            tuple(records),
            # the status line shows which printed series became the loss (`loss = lm_loss`)
            log_format=parser.format + (f" ({', '.join(renamed)})" if renamed else ""),
            total_steps=parser.total_steps,
            lines=parser.lines,
            unparsed_lines=parser.unparsed_lines,
            context=tuple(sorted(parser.context.items())),
            backlog=(self.follower.offset, self.follower.size) if self.reading_history else None,
        )

    def step(self) -> list[Message]:
        """Poll once; return what to post (empty when nothing happened)."""
        try:
            items = self.follower.poll()
        except Exception as exc:  # a follower bug must not end the worker: show it instead
            self.caught_up = True
            event = FollowEvent("error", "", f"{type(exc).__name__}: {exc}")
            return [FollowStateChanged(self.run, event)]
        self.caught_up = self.follower.caught_up
        self.finished = self.follower.finished
        out: list[Message] = []
        pending: list[MetricRecord] = []
        counters_changed = False
        if self.reading_history and (self.caught_up or self.finished):
            self.reading_history = False
            counters_changed = True  # post once, so the UI learns that the history is read
        for item in items:
            if isinstance(item, FollowEvent):
                rewritable = getattr(self.parser, "rewritable", False)
                if item.kind == "truncated" and rewritable:  # rewritten in place: same run
                    pending.extend(self._safe(self.parser.reread_rewritten))  # type: ignore[attr-defined]
                    counters_changed = True
                    continue
                if item.kind in ("truncated", "rotated"):
                    if item.kind == "rotated":
                        pending.extend(self._safe(self.parser.finish))
                    if pending or counters_changed:
                        out.append(self._parsed(pending))
                        pending = []
                        counters_changed = False
                    self.parser = self._parser_factory()
                elif item.kind == "eof":
                    pending.extend(self._safe(self.parser.finish))
                    counters_changed = True
                out.append(FollowStateChanged(self.run, item))
            elif item:
                pending.extend(self._safe(partial(self.parser.feed, item)))
                counters_changed = True
        release = getattr(self.parser, "release", None)  # a record held for a next line
        if self.caught_up and release is not None:
            pending.extend(self._safe(release))
        if pending or counters_changed:
            out.append(self._parsed(pending))
        out.extend(FollowStateChanged(self.run, FollowEvent("error", "", e)) for e in self._errors)
        self._errors.clear()
        return out

    def _safe(self, call: Callable[[], list[MetricRecord]]) -> list[MetricRecord]:
        """Run a parser call; a parser bug becomes an error state instead of ending the worker.

        The parser is tested never to raise on any input, so this only catches its bugs, and
        those must be seen: the message is posted after this step's records.
        """
        try:
            return list(call())
        except Exception as exc:
            self._errors.append(f"parser failed: {type(exc).__name__}: {exc}")
            return []
