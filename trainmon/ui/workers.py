"""The bodies of the app's worker threads: plain step functions that produce messages.

A thread worker in the app is a thin loop (`while not cancelled: post(step()); wait`) around
these steps, so what they do is testable without threads or an app. The follower and the
parser live on the worker thread; only immutable messages cross over to the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, Final, Protocol

from textual.message import Message

from trainmon.records import FollowEvent, MetricRecord
from trainmon.sources.samples import CpuSnapshot, GpuSnapshot
from trainmon.ui.messages import CpuSampled, FollowStateChanged, GpuSampled, RecordsParsed

POLL_INTERVAL_S: Final = 0.2
"""How long a follower sleeps after a poll that found nothing new: a stat() five times a
second costs microseconds, and keeps the latency from write to screen well under a second."""

SAMPLE_INTERVAL_S: Final = 2.0
"""GPU / CPU sampling period (nvidia-smi's and nvitop's default is 1-2 s)."""


class Parser(Protocol):
    """What the follow loop needs from `trainmon.parsing.LogParser`."""

    def feed(self, data: bytes) -> list[MetricRecord]: ...

    def finish(self) -> list[MetricRecord]: ...

    @property
    def format(self) -> Any: ...

    @property
    def total_steps(self) -> int | None: ...

    @property
    def lines(self) -> int: ...

    @property
    def unparsed_lines(self) -> int: ...


class Follower(Protocol):
    """What the follow loop needs from `trainmon.follow.Follower`."""

    def poll(self) -> Any: ...


class Sampler(Protocol):
    """A GPU or CPU source: `sample()` returns a frozen snapshot and never raises."""

    def sample(self) -> object: ...


def _format_name(value: object) -> str | None:
    if value is None:
        return None
    name = getattr(value, "value", value)
    name = getattr(name, "name", name) if not isinstance(name, str) else name
    return str(name) or None


def _context_items(parser: object) -> tuple[tuple[str, object], ...]:
    context = getattr(parser, "context", None)
    if isinstance(context, Mapping):
        return tuple(sorted((str(k), v) for k, v in context.items()))
    return ()


def poll_items(result: object) -> list[bytes | FollowEvent]:
    """A follower's `poll()` result as an ordered list of byte chunks and events.

    Accepts the shapes a poll may return: `(data, events)`, an object with `data`/`events`
    (or `chunks`) attributes, or an ordered iterable of chunks and events.
    """
    if result is None:
        return []
    if isinstance(result, (bytes, bytearray, memoryview)):
        return [bytes(result)] if result else []
    if isinstance(result, FollowEvent):
        return [result]
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], (bytes, bytearray)):
        data, events = result
        out: list[bytes | FollowEvent] = [e for e in events if isinstance(e, FollowEvent)]
        if data:
            out.append(bytes(data))
        return out
    events_attr = getattr(result, "events", None)
    if events_attr is not None:
        data = getattr(result, "data", None)
        if data is None:
            data = b"".join(getattr(result, "chunks", ()) or ())
        out = [e for e in events_attr if isinstance(e, FollowEvent)]
        if data:
            out.append(bytes(data))
        return out
    if isinstance(result, Iterable):
        items: list[bytes | FollowEvent] = []
        for item in result:
            if isinstance(item, FollowEvent):
                items.append(item)
            elif isinstance(item, (bytes, bytearray, memoryview)) and item:
                items.append(bytes(item))
        return items
    return []


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

    def _parsed(self, records: list[MetricRecord]) -> RecordsParsed:
        parser = self.parser
        return RecordsParsed(
            self.run,
            tuple(records),
            log_format=_format_name(getattr(parser, "format", None)),
            total_steps=getattr(parser, "total_steps", None),
            lines=int(getattr(parser, "lines", 0) or 0),
            unparsed_lines=int(getattr(parser, "unparsed_lines", 0) or 0),
            context=_context_items(parser),
        )

    def step(self) -> list[Message]:
        """Poll once; return what to post (empty when nothing happened)."""
        try:
            items = poll_items(self.follower.poll())
        except Exception as exc:  # a follower bug must not end the worker: show it instead
            self.caught_up = True
            event = FollowEvent("error", "", f"{type(exc).__name__}: {exc}")
            return [FollowStateChanged(self.run, event)]
        self.caught_up = bool(getattr(self.follower, "caught_up", not items))
        self.finished = bool(getattr(self.follower, "finished", False))
        out: list[Message] = []
        pending: list[MetricRecord] = []
        counters_changed = False
        for item in items:
            if isinstance(item, FollowEvent):
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
            else:
                pending.extend(self._safe(partial(self.parser.feed, item)))
                counters_changed = True
        if pending or counters_changed:
            out.append(self._parsed(pending))
        return out

    def _safe(self, call: Callable[[], list[MetricRecord]]) -> list[MetricRecord]:
        try:
            return list(call())
        except Exception:  # bad input never raises: the parser counts what it skipped
            return []


def sample_message(source: Sampler, kind: str) -> Message | None:
    """One sample as its message, or None when the source failed (never raises)."""
    del kind  # the snapshot's type says which pane it is for
    try:
        snapshot = source.sample()
    except Exception:  # a source is documented never to raise; be safe anyway
        return None
    if isinstance(snapshot, GpuSnapshot):
        return GpuSampled(snapshot)
    if isinstance(snapshot, CpuSnapshot):
        return CpuSampled(snapshot)
    return None
