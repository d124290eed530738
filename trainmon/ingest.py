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
from dataclasses import dataclass
from typing import Any, Final

from trainmon.follow import Follower
from trainmon.i18n import _
from trainmon.inputs import open_follower, parser_for
from trainmon.parsing import LogParser
from trainmon.parsing.text_events import TextEvent
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
        parser_factory: Callable[[], LogParser] = LogParser,
        follower: Follower | None = None,
        **follow_options: Any,
    ) -> None:
        """Follow `path` (or drive the given `follower`) into parsers from `parser_factory`;
        `follow_options` are `Follower`'s (from_end, follow, chunk_bytes, start, stop, ...)."""
        self.path = path
        self.follower = follower or open_follower(path, **follow_options)
        self._parser_factory = parser_for(self.follower, parser_factory)
        self.parser = self._parser_factory()
        self.before: ReadBefore | None = None
        """What other processes read of this segment before the parser's first byte (a
        history read in parts, `trainmon.history`); None once a new segment starts."""

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
                self.before = None
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
            detail = _("parser failed: {error}").format(error=f"{type(exc).__name__}: {exc}")
            errors.append(FollowEvent("error", self.path, detail))
            return
        if records:
            out.append(tuple(records))

    def progress(self) -> ParserProgress:
        """The parser's state now (after what was read before it), as one immutable value."""
        return parser_progress(self.parser, self.before)

    def reread(self) -> None:
        """Read the open file again from its start, with a fresh parser."""
        self.follower.resume_at(0)
        self.parser = self._parser_factory()
        self.before = None

    def close(self) -> None:
        self.follower.close()


@dataclass(frozen=True, slots=True)
class ReadBefore:
    """A parser's counters, for the parser that reads on after it in the same segment: the
    parts of a history read by other processes (`trainmon.history`), merged in file order
    as `report` merges them."""

    lines: int = 0
    unparsed_lines: int = 0
    records: int = 0
    format_counts: tuple[tuple[str, int], ...] = ()
    total_steps: int | None = None
    context: tuple[tuple[str, object], ...] = ()
    series_sources: tuple[tuple[str, str], ...] = ()
    text_events: tuple[TextEvent, ...] = ()


def parser_progress(parser: LogParser, before: ReadBefore | None = None) -> ParserProgress:
    """A parser's state (format, counters, total, revealed facts) as one immutable value,
    after `before` when it did not read the segment from its start."""
    if before is not None:
        return _after(before, parser)
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


def _after(before: ReadBefore, parser: LogParser) -> ParserProgress:
    """`before` and then `parser`: counters add up, line numbers and record counts of the
    parser's text events move past what came before, and, as in `report`'s merge, the total,
    facts and renamed series read first are kept."""
    counts = dict(before.format_counts)
    for name, count in parser.format_counts.items():
        counts[name] = counts.get(name, 0) + count
    log_format = max(counts.items(), key=lambda item: item[1])[0] if counts else "unknown"
    context, sources = dict(before.context), dict(before.series_sources)
    for key, value in parser.context.items():
        context.setdefault(key, value)
    for name, printed in parser.series_sources.items():
        sources.setdefault(name, printed)
    shifted = (
        e._replace(
            line_no=e.line_no + before.lines, records_before=e.records_before + before.records
        )
        for e in parser.text_events.events
    )
    return ParserProgress(
        log_format=log_format,
        lines=before.lines + parser.lines,
        unparsed_lines=before.unparsed_lines + parser.unparsed_lines,
        total_steps=before.total_steps if before.total_steps is not None else parser.total_steps,
        context=tuple(sorted(context.items())),
        series_sources=tuple((k, v) for k, v in sources.items() if k != v),
        text_events=(*before.text_events, *shifted),
        records=before.records + parser.records,
    )
