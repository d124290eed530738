"""The metric history: one growable series per metric name, on the shared step axis.

Values live in `array('d')` (8 bytes each, appends in C) rather than lists of floats (40 bytes
each). Readers get numpy copies, because a live numpy view would pin the array's buffer and
make the next append fail. The store is single-threaded: in the dashboard only the UI thread
touches it; workers hand it immutable `MetricRecord`s.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from operator import eq, itemgetter
from typing import TYPE_CHECKING, Any, Final, overload

from trainmon.columns import Column
from trainmon.i18n import _
from trainmon.records import MetricRecord, Progress, RecordKind

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IndexArray = npt.NDArray[np.int32]

DEFAULT_MAX_SERIES: Final = 256
"""Series kept per run (`--max-series`): a log that prints thousands of distinct names (ids
in the key, a per-sample dict) would otherwise grow a series, and a row, per name."""

IGNORED_COUNTED: Final = 100_000
"""Distinct ignored names are remembered (by hash) up to this many, so counting them never
costs unbounded memory; beyond it the note says `100,000+`."""

INDEX_TYPECODE: Final = "i"
"""`Column` typecode of a series' record index: int32 (2^31 records); sealed chunks of a
series on every record, or every k-th, cost a few bytes each."""
INDEX_DTYPE: Final = "int32"
"""The numpy dtype of the same, for readers that view the index with `np.frombuffer`."""

KIND_NAMES: Final[tuple[RecordKind, ...]] = ("train", "eval", "summary")
_KIND_CODES: Final[dict[RecordKind, int]] = {kind: code for code, kind in enumerate(KIND_NAMES)}

_KIND = itemgetter(0)
_STEP = itemgetter(1)
_VALUES = itemgetter(2)
_TIME = itemgetter(5)
"""Fields of `MetricRecord` (a NamedTuple) by position, read in C by `map`."""


@dataclass(frozen=True, slots=True)
class SeriesStats:
    """Summary of one series, as `trainmon report` prints it."""

    count: int
    nonfinite: int
    first: float | None
    last: float | None
    min: float | None
    max: float | None

    def as_json(self) -> dict[str, object]:
        """The stats in the `trainmon report --json` schema."""
        return {
            "count": self.count,
            "nonfinite": self.nonfinite,
            "first": self.first,
            "last": self.last,
            "min": self.min,
            "max": self.max,
        }


def index_array(index: array[int]) -> IndexArray:
    """A numpy view of a slice of a record index (`Series.record_index[lo:hi]`)."""
    import numpy as np

    return np.frombuffer(index, dtype=np.int32)


class KindColumn:
    """The kind of each record, one byte each (a list of `str` references costs eight).

    Reads like the list it replaces: an index gives the kind, a slice a list of kinds.
    """

    __slots__ = ("codes",)

    def __init__(self) -> None:
        self.codes: array[int] = array("b")

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, index: int) -> RecordKind: ...

    @overload
    def __getitem__(self, index: slice) -> list[RecordKind]: ...

    def __getitem__(self, index: int | slice) -> RecordKind | list[RecordKind]:
        if isinstance(index, slice):
            return [KIND_NAMES[code] for code in self.codes[index]]
        return KIND_NAMES[self.codes[index]]

    def __iter__(self) -> Iterator[RecordKind]:
        return map(KIND_NAMES.__getitem__, self.codes)

    def extend(self, kinds: list[RecordKind]) -> None:
        """Append kinds (converted in one C loop)."""
        self.codes.fromlist(list(map(_KIND_CODES.__getitem__, kinds)))


class Series:
    """The history of one metric: its values, and for each the index of its record.

    Only two C-level appends happen per value (value, record index): a gigabyte of log holds
    millions of values. Steps and times are looked up through the record index on read. Both
    are `Column`s: the record index seals into (start, stride) chunks for runs of consecutive
    records (or every k-th), and the values into exact compact forms (short decimals as small
    integer deltas, float32 numbers in four bytes), so a dense series holds a few bytes a point.
    """

    __slots__ = ("_owner", "name", "record_index", "values")

    def __init__(self, name: str, owner: MetricStore) -> None:
        self.name = name
        self._owner = owner
        self.values = Column("d")
        self.record_index = Column(INDEX_TYPECODE)
        """Index into the store's per-record arrays (kind, step, time) for each point."""

    def __len__(self) -> int:
        return len(self.values)

    def last(self) -> float | None:
        """The newest value (finite or not), or None when empty."""
        return self.values[-1] if self.values else None

    def last_step(self) -> int | None:
        """The step of the newest value, or None when empty."""
        if not self.record_index:
            return None
        return int(self._owner.record_steps[self.record_index[-1]])

    def values_np(self, start: int = 0, stop: int | None = None) -> FloatArray:
        """Values [start, stop) as a numpy copy (NaN/inf included)."""

        return self.values.span(start, stop)

    def steps_np(self, start: int = 0) -> FloatArray:
        """Steps of the points from `start` on, as a float64 numpy array."""
        import numpy as np

        index = self.record_index.span(start)
        return self._owner.record_steps.take(index).astype(np.float64)

    def times_np(self, start: int = 0) -> FloatArray:
        """Timestamps (printed, else arrival) of the points from `start` on."""
        import numpy as np

        index = self.record_index.span(start)
        return self._owner.record_times.take(index).astype(np.float64)

    @property
    def nonfinite(self) -> int:
        """How many points are NaN or ±inf."""
        import numpy as np

        return sum(int(np.count_nonzero(~np.isfinite(c))) for c in self.values.chunks())

    def stats(self) -> SeriesStats:
        """count / nonfinite / first / last / min / max, the last four over finite values.

        Reduced one decoded chunk at a time: the whole series decoded at once would cost
        8 bytes per point (80 MB for a series of 10^7).
        """
        import numpy as np

        n = nonfinite = 0
        first = last = None
        low, high = np.inf, -np.inf
        for chunk in self.values.chunks():
            finite = np.isfinite(chunk)
            good = int(np.count_nonzero(finite))
            n += len(chunk)
            nonfinite += len(chunk) - good
            if not good:
                continue
            if first is None:
                first = float(chunk[int(finite.argmax())])
            last = float(chunk[len(chunk) - 1 - int(finite[::-1].argmax())])
            low = min(low, float(np.min(chunk, where=finite, initial=np.inf)))
            high = max(high, float(np.max(chunk, where=finite, initial=-np.inf)))
        if first is None:
            return SeriesStats(n, nonfinite, None, None, None, None)
        return SeriesStats(n, nonfinite, first, last, low, high)


class MetricStore:
    """All metric history of one run (one followed log), plus what it reveals about progress.

    A truncated or replaced log starts a new segment: the history is cleared and
    `segment` increases, because the records that follow belong to a restarted run.
    """

    def __init__(self, max_series: int = DEFAULT_MAX_SERIES) -> None:
        self.max_series = max_series
        """New metric names beyond this many series are dropped and counted."""
        self._series: dict[str, Series] = {}
        self._ignored: set[int] = set()
        """Hashes of the names dropped for the series cap."""
        self.segment = 0
        """0 for the first segment; +1 each time the log was truncated or replaced."""
        self.record_kinds = KindColumn()
        self.record_steps = Column("q")
        self.record_times = Column("d")
        """Per record: the timestamp printed in the log, else the time it arrived."""
        self.kind_counts: dict[RecordKind, int] = {"train": 0, "eval": 0, "summary": 0}
        self.total_steps: int | None = None
        self.last_arrival_s: float | None = None
        """When the newest record arrived (the caller's clock)."""
        self.live_from = 0
        """Records before this index were read as a backlog (the log's history at start):
        they arrived in bursts, so their arrival times do not measure the trainer's speed."""
        self.times_printed = False
        """Some record carried a timestamp printed in the log (then every time is usable)."""

    # -- writing -----------------------------------------------------------------------------

    def extend(self, records: Iterable[MetricRecord], arrival_s: float) -> int:
        """Append records in order; returns how many were added.

        Args:
            records: parsed records, oldest first.
            arrival_s: when they arrived, on the caller's clock (used when a record carries
                no timestamp of its own).
        """
        batch = records if isinstance(records, (list, tuple)) else list(records)
        n = len(batch)
        if not n:
            return 0
        start = len(self.record_kinds)
        # Column-wise: a gigabyte of log is ~10^6 records, so every column is filled by C
        # loops (`map`, `list.count`, `array.fromlist`) instead of one Python call per value.
        kinds = list(map(_KIND, batch))
        self.record_kinds.extend(kinds)
        self.record_steps.fromlist(list(map(_STEP, batch)))
        times = list(map(_TIME, batch))
        if times.count(None) == n:
            self.record_times.fromlist([arrival_s] * n)
        else:
            self.times_printed = True
            self.record_times.fromlist([arrival_s if t is None else t for t in times])
        counts = self.kind_counts
        for kind in counts:
            counts[kind] += kinds.count(kind)
        # Values: runs of records with the same metric names (a train dict repeats its keys
        # for hundreds of records) are transposed into columns; `list.index` finds the end
        # of each run in C.
        dicts = list(map(_VALUES, batch))
        names = list(map(tuple, dicts))
        same = list(map(eq, names, names[1:]))
        a = 0
        while a < n:
            try:
                b = same.index(False, a) + 1
            except ValueError:
                b = n
            self._append_run(dicts[a:b], start + a)
            a = b
        self.last_arrival_s = arrival_s
        return n

    def _append_run(self, dicts: list[Mapping[str, float]], first_index: int) -> None:
        """Append the values of consecutive records that all carry the same metric names."""
        names = list(dicts[0])
        if not names:
            return
        series = self._series
        index = list(range(first_index, first_index + len(dicts)))
        if len(names) == 1:
            columns: Iterable[list[float]] = (list(map(itemgetter(names[0]), dicts)),)
        else:
            columns = map(list, zip(*map(itemgetter(*names), dicts), strict=True))
        # `fromlist` converts in one C loop, 2.5x faster than `extend` or appends per value
        for name, column in zip(names, columns, strict=True):
            s = series.get(name)
            if s is None:
                s = self._new_series(name)
                if s is None:
                    continue
            s.values.fromlist(column)
            s.record_index.fromlist(index)

    def _new_series(self, name: str) -> Series | None:
        """A new series for `name`, or None (and the name counted) when the cap is reached."""
        if len(self._series) >= self.max_series:
            if len(self._ignored) < IGNORED_COUNTED:
                self._ignored.add(hash(name))
            return None
        s = self._series[name] = Series(name, self)
        return s

    def absorb(self, other: MetricStore) -> int:
        """Append all of `other`'s records after ours, in order; returns how many.

        For a file read in parts by several processes: each part fills its own store and the
        parts are merged in file order. Costs array copies, not a Python loop per value.
        `other`'s series are emptied as they are copied, so a merge never holds two copies
        of the whole history at once.
        """
        offset = len(self.record_kinds)
        self.record_kinds.codes.extend(other.record_kinds.codes)
        self.record_steps.extend(other.record_steps)
        self.record_times.extend(other.record_times)
        self.times_printed = self.times_printed or other.times_printed
        for kind, count in other.kind_counts.items():
            self.kind_counts[kind] += count
        for name in list(other._series):
            theirs = other._series.pop(name)
            mine = self._series.get(name)
            if mine is None:
                mine = self._new_series(name)
                if mine is None:
                    continue
            mine.values.extend(theirs.values)
            mine.record_index.extend(theirs.record_index, offset)
            del theirs
        room = IGNORED_COUNTED - len(self._ignored)
        self._ignored.update(list(other._ignored)[: max(0, room)])
        if self.total_steps is None:
            self.total_steps = other.total_steps
        if other.last_arrival_s is not None:
            self.last_arrival_s = max(
                self.last_arrival_s or other.last_arrival_s, other.last_arrival_s
            )
        return len(other.record_kinds)

    def mark_backlog(self) -> None:
        """Every record so far was read as a backlog (the log's history at start), not as
        the trainer wrote it: rates must not use their arrival times."""
        self.live_from = len(self.record_kinds)

    def new_segment(self) -> None:
        """Forget the history: the log was truncated or replaced by a restarted run."""
        total, segment = self.total_steps, self.segment
        self.__init__(self.max_series)  # type: ignore[misc]
        self.total_steps = total
        self.segment = segment + 1

    # -- reading -----------------------------------------------------------------------------

    def __contains__(self, name: object) -> bool:
        return name in self._series and len(self._series[name]) > 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._series)

    def get(self, name: str) -> Series | None:
        """The series called `name`, or None if no record carried it."""
        return self._series.get(name)

    def names(self) -> list[str]:
        """Every metric name seen, in order of first appearance."""
        return list(self._series)

    @property
    def nbytes(self) -> int:
        """Bytes held by the history's arrays (allocated, not only used)."""

        def held(a: array[Any]) -> int:
            return a.buffer_info()[1] * a.itemsize

        total = self.record_steps.nbytes + self.record_times.nbytes + held(self.record_kinds.codes)
        for s in self._series.values():
            total += s.values.nbytes + s.record_index.nbytes
        return total

    @property
    def ignored_series(self) -> int:
        """How many distinct names were dropped for the series cap (at most
        `IGNORED_COUNTED`)."""
        return len(self._ignored)

    @property
    def records(self) -> int:
        """Number of records stored (train + eval + summary)."""
        return len(self.record_kinds)

    @property
    def first_step(self) -> int | None:
        """The lowest step of any record, or None when empty."""
        # Sealed chunks keep their extremes: the status line asks on every redraw.
        return int(self.record_steps.min()) if self.record_steps else None

    @property
    def last_step(self) -> int | None:
        """The highest step of any record, or None when empty."""
        return int(self.record_steps.max()) if self.record_steps else None

    def stats(self) -> dict[str, SeriesStats]:
        """Per-series statistics for the report."""
        return {name: s.stats() for name, s in self._series.items() if len(s)}

    def progress(self, now_s: float | None = None) -> Progress:
        """Step, total, epoch, steps/s and ETA, from what the log revealed.

        Steps per second come from the timestamps of the train records (printed or arrival)
        over the recent window, so a log read all at once (no spread in arrival times and no
        printed timestamps) honestly reports None rather than an absurd rate.
        """
        del now_s  # reserved: a future version may extrapolate the current step
        step = self.last_step
        epoch_series = self._series.get("epoch")
        epoch = epoch_series.last() if epoch_series is not None else None
        rate = self._steps_per_second()
        eta = None
        if rate and step is not None and self.total_steps and self.total_steps > step:
            eta = (self.total_steps - step) / rate
        return Progress(
            step=step, total_steps=self.total_steps, epoch=epoch, steps_per_s=rate, eta_s=eta
        )

    def _steps_per_second(self, window: int = 50) -> float | None:
        """Median-free rate over the last `window` train records: Δstep / Δtime.

        Without printed timestamps only records that arrived live count: a backlog read in
        a burst would otherwise make the rate look 50x too fast right after start-up.
        """
        steps: list[int] = []
        times: list[float] = []
        kinds = self.record_kinds
        i = len(kinds) - 1
        first = 0 if self.times_printed else self.live_from
        while i >= first and len(steps) < window:
            if kinds[i] == "train":
                steps.append(self.record_steps[i])
                times.append(self.record_times[i])
            i -= 1
        if len(steps) < 2:
            return None
        d_step = steps[0] - steps[-1]
        d_time = times[0] - times[-1]
        if d_step <= 0 or d_time <= 1e-6:
            return None
        return d_step / d_time


def ignored_series_note(ignored: int, max_series: int) -> str:
    """The one line that says series beyond the cap were dropped."""
    more = f"{ignored:,}+" if ignored >= IGNORED_COUNTED else f"{ignored:,}"
    return _("{count} more series ignored (--max-series {max})").format(count=more, max=max_series)
