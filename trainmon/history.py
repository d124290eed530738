"""A big log's history at start, read as `report` reads a file, then followed live.

The dashboard follows each log with an `Ingest` (a follower and a parser). When the file it
opens is a regular log of `SPLIT_BYTES` or more, what the file holds is first read the way
`trainmon report` reads a file (`trainmon.parts`): the same cuts at record boundaries, the same
helper processes (`--jobs`, default one fewer than the cores, at most 8), the same checks that
the parts give the records and steps of a single read, and the parts merged into one store in
file order (`MetricStore.absorb`).

One difference makes the hand-over to following exact: the last part is read in this
process by the run's own ingest, from the last cut until it has caught up with the file, and
that ingest then simply goes on following. Nothing at the boundary is read twice or skipped
(lines appended during the load belong to the last part; a partial last line waits in the
follower, as always), and the follower keeps watching the very file the parts were cut in: a
truncation or a replacement during the load is its usual `truncated` or `rotated` event,
after which nothing of the old history is kept (the restarted run is a new segment, as it
would be on screen).

The counters of the parts before the last become the ingest's `ReadBefore`, so what it
reports from then on (lines, records, the line numbers of text events) counts from the
file's start. When the split cannot be trusted (inferred steps, a header-bound format, a
record across a cut, a helper that failed, the file rewritten under the helpers), the ingest
reads the file again from its start in this process, as `report` does.

Headless and thread-free: the dashboard calls `load_history` on a thread of its own
(`trainmon.ui.history_loader`); progress and cancellation are callbacks.
"""

from __future__ import annotations

import mmap
import select
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from trainmon import parts
from trainmon.follow import Follower
from trainmon.ingest import NEW_SEGMENT_EVENTS, Ingest, Item, ReadBefore
from trainmon.parsing import LogParser
from trainmon.records import FollowEvent, MetricRecord
from trainmon.store import DEFAULT_MAX_SERIES, MetricStore

WAIT_S: Final = 0.1
"""While helpers still read, progress and cancellation are looked at this often."""
_SLOT: Final = struct.Struct("q")
"""One helper's progress (the offset it reached) in the shared page."""


@dataclass(frozen=True, slots=True)
class HistoryOptions:
    """How the dashboard reads a history at start."""

    jobs: int | None = None
    """Processes at most, this one included (None: `default_jobs()`; 1: this one alone)."""
    max_series: int = DEFAULT_MAX_SERIES
    min_bytes: int = parts.SPLIT_BYTES
    """Files at least this big are read this way, and in parts when `jobs` allows (a
    smaller history is read by the live path, a chunk per poll, in well under a second)."""


@dataclass(slots=True)
class HistoryRead:
    """What `load_history` read; the ingest it was given then follows on from there."""

    store: MetricStore | None
    """The history's records in file order (None: the file was truncated or replaced during
    the read, and nothing of the old run is kept). The caller owns it from now on."""
    parts: int = 1
    """How many processes read it."""
    rest: list[Item] = field(default_factory=list)
    """Follower events (and the records after a restart) met during the read, for the live
    path to take in order after the history."""


class _Cancelled(Exception):
    """The caller asked the read to stop (the dashboard is quitting)."""


def wants_history(ingest: Ingest, options: HistoryOptions) -> bool:
    """True when `ingest` has just opened a regular log big enough to read this way."""
    follower = ingest.follower
    return (
        isinstance(follower, Follower)
        and follower.regular
        and follower.offset == 0
        and follower.size >= options.min_bytes
    )


def load_history(
    ingest: Ingest,
    options: HistoryOptions,
    arrival_s: float,
    *,
    progress: Callable[[int, int], object] = lambda done, size: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> HistoryRead | None:
    """Read what the file `ingest` has open holds (see the module doc); None when cancelled.

    Args:
        ingest: a followed regular file, opened and not read yet (`wants_history`).
        options: processes, series cap.
        arrival_s: the arrival time of records that print no time of their own.
        progress: told (bytes read by all processes, file size) after each chunk.
        cancelled: polled between chunks; True stops the read and its helpers.
    """
    loader = _Loader(ingest, options, arrival_s, progress, cancelled)
    try:
        with parts.gc_paused():
            return loader.load()
    except _Cancelled:
        return None


@dataclass(slots=True)
class _Live:
    """The part the ingest read itself."""

    part: parts.Part | None
    """None when the file restarted during the read."""
    rest: list[Item]


@dataclass(slots=True)
class _Loader:
    """One history read: the ingest that goes on following, and the caller's callbacks."""

    ingest: Ingest
    options: HistoryOptions
    arrival_s: float
    progress: Callable[[int, int], object]
    cancelled: Callable[[], bool]

    def load(self) -> HistoryRead:
        ingest, options = self.ingest, self.options
        follower = ingest.follower
        path = follower.path
        jobs = (
            parts.default_jobs()
            if options.jobs is None
            else max(1, min(parts.MAX_JOBS, options.jobs))
        )
        # Helpers parse with `LogParser`: a split only when the ingest's parser is one too.
        split = jobs > 1 and type(ingest.parser) is LogParser
        cuts = parts.cut_points(path, follower.size, options.min_bytes, jobs) if split else []
        marks = [parts.fingerprint(path, cut) for cut in cuts]
        if any(m is None or (m[0], m[1]) != follower.identity for m in marks):
            cuts = []  # the path already names another file than the one followed
        starts = [0, *cuts[:-1]] if cuts else []
        slots = mmap.mmap(-1, _SLOT.size * max(1, len(cuts)))
        requests = [
            parts.PartRequest(path, start, stop, self.arrival_s, options.max_series)
            for start, stop in zip(starts, cuts, strict=True)
        ]
        children: list[parts.Helper] = []
        earlier: list[parts.Part | None] = []
        try:
            writers = [_slot_writer(slots, i) for i in range(len(cuts))]
            children = parts.fork_all(requests, writers)
            if not children:  # no fork here, or no process to spare: this one reads it all
                cuts = []
            live_start = cuts[-1] if cuts else 0
            if live_start:
                follower.resume_at(live_start)

            def tick() -> None:
                done = follower.offset - live_start
                for i in range(len(cuts)):
                    done += max(0, _SLOT.unpack_from(slots, i * _SLOT.size)[0] - starts[i])
                self.progress(done, follower.size)

            live = self.read_live(tick)
            if live.part is None or not cuts:
                return HistoryRead(None if live.part is None else live.part.store, 1, live.rest)
            while children:  # in file order; each is reaped as it is collected
                _wait_for(children[0], tick, self.cancelled)
                earlier.append(parts.collect(children.pop(0)))
            tick()  # everything read: the count says so before the merge
        finally:
            for child in children:  # cancelled, or a bug
                parts.abandon(child)
            slots.close()
        pieces = [*earlier, live.part]
        summary = _merged(path, pieces, [m for m in marks if m is not None])
        if summary is None:
            if not follower.regular:  # deleted meanwhile: no second read (see `reread`)
                return HistoryRead(None, 1, live.rest)
            return self.reread(live.rest)
        ingest.before = _read_before(summary)
        summary.store.absorb(live.part.store)
        return HistoryRead(summary.store, len(pieces), live.rest)

    def reread(self, rest: list[Item]) -> HistoryRead:
        """The whole file again in this process, when the parts could not be trusted.

        Only while the follower still has the file open: a file deleted during the load (its
        `waiting` event is in `rest`) cannot be read again, and its history is then not shown
        rather than shown with steps that may be wrong.
        """
        self.ingest.reread()
        follower = self.ingest.follower
        live = self.read_live(lambda: self.progress(follower.offset, follower.size))
        store = None if live.part is None else live.part.store
        return HistoryRead(store, 1, [*rest, *live.rest])

    def read_live(self, tick: Callable[[], object]) -> _Live:
        """Read with the ingest itself until it has caught up with the file (or the file
        ended).

        Errors and other events are kept for later, in order; a truncation or a replacement
        ends the read, and everything from that event on is left for the live path."""
        ingest = self.ingest
        follower = ingest.follower
        start_mark = follower.mark
        store = MetricStore(self.options.max_series)
        rest: list[Item] = []
        untrusted = 0
        first_key: tuple[str, int] | None = None
        last: MetricRecord | None = None
        while True:
            if self.cancelled():
                raise _Cancelled
            items = ingest.poll()
            tick()
            for k, item in enumerate(items):
                if isinstance(item, FollowEvent):
                    if item.kind in NEW_SEGMENT_EVENTS:
                        return _Live(None, [*rest, *items[k:]])
                    rest.append(item)
                elif item:
                    untrusted += parts.untrusted_records(item, first_key is None)
                    if first_key is None:
                        first_key = (item[0].kind, item[0].step)
                    last = item[-1]
                    store.extend(item, self.arrival_s)
            if ingest.caught_up or ingest.finished:
                break
        errors = [e.detail for e in rest if isinstance(e, FollowEvent) and e.kind == "error"]
        part = parts.Part(
            store,
            ingest.parser,
            follower.long_lines,
            untrusted,
            errors,
            identity=follower.identity,
            head=follower.head,
            start_mark=start_mark,
            first_key=first_key,
            last_key=None if last is None else (last.kind, last.step),
        )
        return _Live(part, rest)


def _merged(
    path: str, pieces: list[parts.Part | None], marks: list[parts.Mark]
) -> parts.LogSummary | None:
    """The parts before the last merged in order (report's checks); None when the split
    cannot be trusted."""
    if parts.changed_under(pieces, marks) or not parts.trusted_split(pieces):
        return None
    ready = [part for part in pieces if part is not None]
    summary = parts.summary_of(path, ready[0])
    for part in ready[1:-1]:
        parts.merge_part(summary, part)
    return summary


def _read_before(summary: parts.LogSummary) -> ReadBefore:
    return ReadBefore(
        lines=summary.lines,
        unparsed_lines=summary.unparsed_lines,
        records=summary.parsed_records,
        format_counts=tuple(summary.format_counts.items()),
        total_steps=summary.total_steps,
        context=tuple(summary.context.items()),
        series_sources=tuple(summary.series_sources.items()),
        text_events=tuple(summary.text_events),
    )


def _slot_writer(slots: mmap.mmap, i: int) -> Callable[[int], None]:
    """A helper's progress callback: the offset it reached, into the page it shares."""

    def write(offset: int) -> None:
        _SLOT.pack_into(slots, i * _SLOT.size, offset)

    return write


def _wait_for(
    child: parts.Helper, tick: Callable[[], object], cancelled: Callable[[], bool]
) -> None:
    """Until a helper starts sending its part (or ends), saying progress as it reads."""
    while not select.select([child[1]], [], [], WAIT_S)[0]:
        if cancelled():
            raise _Cancelled
        tick()
