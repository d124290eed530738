"""Follower → parser → records, in order: the loop that `report` and `stream` share.

One place decides what a follower event means for the parsed history: `truncated` and
`rotated` end the parser's segment (its held tail is parsed first) and start a new store
segment, because the file now holds a restarted run. Everything stays headless and
thread-free; a caller decides when to sleep (`caught_up`).
"""

from __future__ import annotations

from typing import Final

from trainmon.follow import CHUNK_BYTES, MAX_LINE_BYTES, POLL_INTERVAL_S, Follower
from trainmon.parsing import LogParser
from trainmon.records import FollowEvent, MetricRecord
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
        parser: LogParser | None = None,
    ) -> None:
        self.follower = Follower(
            path,
            from_end=from_end,
            follow=follow,
            chunk_bytes=chunk_bytes,
            max_line_bytes=max_line_bytes,
            poll_interval_s=poll_interval_s,
            start=start,
            stop=stop,
        )
        self.parser = parser if parser is not None else LogParser()

    @property
    def caught_up(self) -> bool:
        """Nothing more to read right now: sleep `follower.poll_interval_s`."""
        return self.follower.caught_up

    @property
    def finished(self) -> bool:
        """Nothing more will ever come (end of a non-followed file, stdin closed)."""
        return self.follower.finished

    def poll(self) -> list[Item]:
        """One follower step, parsed: record batches and events, oldest first."""
        out: list[Item] = []
        parser = self.parser
        for item in self.follower.poll():
            if isinstance(item, bytes):
                records = parser.feed(item)
                if records:
                    out.append(tuple(records))
                continue
            if item.kind == "truncated" and parser.rewritable:
                # a table or trainer_state rewritten in place: the same run, new rows only
                records = parser.reread_rewritten()
                if records:
                    out.append(tuple(records))
                continue
            if item.kind in NEW_SEGMENT_EVENTS or item.kind == "eof":
                records = parser.finish()
                if records:
                    out.append(tuple(records))
            out.append(item)
        if self.follower.caught_up:
            records = parser.release()  # a record held for a continuation line is complete
            if records:
                out.append(tuple(records))
        return out

    def close(self) -> None:
        self.follower.close()


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
