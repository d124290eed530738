"""Follower → parser → records, in order: the one loop from a log's bytes to its records.

`report`, `stream` and the dashboard's follow worker all drive an `Ingest`. One place decides
what a follower event means for the parsed history: `truncated` and `rotated` end the parser's
segment (its held tail is parsed first) and start a new parser, because the file now holds a
restarted run; the caller starts a new store segment on the same event (`apply`,
`Run.new_segment`). Everything stays headless and thread-free; a caller decides when to sleep
(`caught_up`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from trainmon.follow import CHUNK_BYTES, MAX_LINE_BYTES, POLL_INTERVAL_S, Follower
from trainmon.inputs import open_follower, parser_for
from trainmon.parsing import LogParser
from trainmon.records import FollowEvent, MetricRecord
from trainmon.run import ParserProgress
from trainmon.store import MetricStore

NEW_SEGMENT_EVENTS: Final = frozenset({"truncated", "rotated"})
"""Follower events after which the records belong to a new run segment."""

Item = tuple[MetricRecord, ...] | FollowEvent
"""One ingest item: a batch of records, or an event, in the order they happened."""


class Ingest:
    """Drives one `Follower` and one `LogParser`; `poll()` returns ordered items."""

    def __init__(
        self,
        path: str,
        *,
        from_end: bool = False,
        follow: bool = True,
        chunk_bytes: int = CHUNK_BYTES,
        max_line_bytes: int = MAX_LINE_BYTES,
        poll_interval_s: float = POLL_INTERVAL_S,
        start: int = 0,
        stop: int | None = None,
        parser_factory: Callable[[], LogParser] = LogParser,
        follower: Follower | None = None,
    ) -> None:
        """Follow `path` (or drive the given `follower`) into parsers from `parser_factory`."""
        self.path = path
        self.follower = follower or open_follower(
            path,
            from_end=from_end,
            follow=follow,
            chunk_bytes=chunk_bytes,
            max_line_bytes=max_line_bytes,
            poll_interval_s=poll_interval_s,
            start=start,
            stop=stop,
        )
        self._parser_factory = parser_for(self.follower, parser_factory)
        self.parser = self._parser_factory()

    @property
    def caught_up(self) -> bool:
        """Nothing more to read right now: sleep `follower.poll_interval_s`."""
        return self.follower.caught_up

    @property
    def finished(self) -> bool:
        """Nothing more will ever come (end of a non-followed file, stdin closed)."""
        return self.follower.finished

    def poll(self) -> list[Item]:
        """One follower step, parsed: record batches and events, oldest first.

        The parser is tested never to raise on any input; should it still (a bug), the
        records parsed so far are kept and an `error` event naming the failure follows them.
        """
        out: list[Item] = []
        errors: list[FollowEvent] = []
        for item in self.follower.poll():
            if isinstance(item, bytes):
                if item:
                    self._parse(out, errors, self.parser.feed, item)
                continue
            if item.kind == "truncated" and self.parser.rewritable:
                # a table or trainer_state rewritten in place: the same run, new rows only
                self._parse(out, errors, self.parser.reread_rewritten)
                continue
            if item.kind in NEW_SEGMENT_EVENTS or item.kind == "eof":
                self._parse(out, errors, self.parser.finish)
            if item.kind in NEW_SEGMENT_EVENTS:
                self.parser = self._parser_factory()
            out.append(item)
        if self.follower.caught_up:  # a record held for a continuation line is complete
            self._parse(out, errors, self.parser.release)
        out.extend(errors)
        return out

    def _parse(
        self,
        out: list[Item],
        errors: list[FollowEvent],
        call: Callable[..., list[MetricRecord]],
        *args: bytes,
    ) -> None:
        try:
            records = call(*args)
        except Exception as exc:
            detail = f"parser failed: {type(exc).__name__}: {exc}"
            errors.append(FollowEvent("error", self.path, detail))
            return
        if records:
            out.append(tuple(records))

    def progress(self) -> ParserProgress:
        """The parser's state now, as one immutable value."""
        return parser_progress(self.parser)

    def close(self) -> None:
        self.follower.close()


def parser_progress(parser: LogParser) -> ParserProgress:
    """A parser's state (format, counters, total, revealed facts) as one immutable value."""
    return ParserProgress(
        log_format=parser.format,
        lines=parser.lines,
        unparsed_lines=parser.unparsed_lines,
        total_steps=parser.total_steps,
        context=tuple(sorted(parser.context.items())),
        series_sources=tuple((k, v) for k, v in parser.series_sources.items() if k != v),
        text_events=tuple(parser.text_events.events),
        records=parser.records,
    )


def apply(store: MetricStore, items: list[Item], arrival_s: float) -> list[FollowEvent]:
    """Put ingest items into `store` (new segments included); returns the events seen."""
    events: list[FollowEvent] = []
    for item in items:
        if isinstance(item, FollowEvent):
            if item.kind in NEW_SEGMENT_EVENTS:
                store.new_segment()
            events.append(item)
        else:
            store.extend(item, arrival_s)
    return events
