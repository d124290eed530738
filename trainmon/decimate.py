"""Min/max decimation: thin a long series to what a plot of a given width can show.

Plot cost grows with the number of points handed to plotext, so a run with 10^6 records must
be thinned before drawing. Keeping each bucket's minimum and maximum (rather than a mean or
LTTB) guarantees that no loss or grad-norm spike disappears, and it costs one or two vectorised
passes where LTTB costs several times as much at 10^6 points.

Buckets are equal runs of consecutive points (by index), not equal spans of x. Logged metrics
arrive at a near-constant step interval, and index buckets let numpy reduce a reshaped view
without a Python loop or a per-point bucket id.

Non-finite values are never drawn: they are removed before bucketing and reported separately
(counts by kind plus a bounded set of positions) so that the plot can show them as markers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]

MIN_POINTS = 4
"""The smallest useful output: first, last and one bucket's min and max."""


def minmax_indices(y: FloatArray, max_points: int) -> IntArray:
    """Indices of the points to draw: the first, the last, and each bucket's min and max.

    Args:
        y: finite values, in drawing order.
        max_points: upper bound on the number of indices returned (at least 4 is used).

    Returns:
        Strictly increasing int64 indices into `y`; all of them when `y` is short enough.
    """
    n = len(y)
    limit = max(MIN_POINTS, int(max_points))
    if n <= limit:
        return np.arange(n, dtype=np.int64)
    buckets = (limit - 2) // 2
    # Equal buckets over the first `buckets * k` points; the remainder (fewer points than a
    # bucket holds) becomes one more bucket, so the count stays within the limit.
    size = n // buckets
    if n - buckets * size:
        buckets -= 1
        size = n // buckets
    main = buckets * size
    grid = y[:main].reshape(buckets, size)
    offsets = np.arange(buckets, dtype=np.int64) * size
    imin = grid.argmin(axis=1).astype(np.int64) + offsets
    imax = grid.argmax(axis=1).astype(np.int64) + offsets
    parts = [np.minimum(imin, imax), np.maximum(imin, imax)]
    chosen = np.column_stack(parts).ravel()
    if main < n:
        tail = y[main:]
        tmin = main + int(tail.argmin())
        tmax = main + int(tail.argmax())
        chosen = np.concatenate((chosen, [min(tmin, tmax), max(tmin, tmax)]))
    chosen = np.concatenate(([0], chosen, [n - 1])).astype(np.int64)
    keep = np.empty(len(chosen), dtype=bool)
    keep[0] = True
    np.not_equal(chosen[1:], chosen[:-1], out=keep[1:])
    return chosen[keep]


@dataclass(frozen=True, slots=True)
class NonFinite:
    """Where a series held NaN or ±inf, and how many of each kind."""

    positions: tuple[float, ...] = ()
    """x positions to mark, at most one per bucket of the plot (sorted)."""
    nan: int = 0
    posinf: int = 0
    neginf: int = 0

    @property
    def total(self) -> int:
        """All non-finite values, of any kind."""
        return self.nan + self.posinf + self.neginf

    def __bool__(self) -> bool:
        return self.total > 0


NO_NONFINITE = NonFinite()


def summarize_nonfinite(
    bad_x: FloatArray, bad_y: FloatArray, x_lo: float, x_hi: float, max_markers: int
) -> NonFinite:
    """Count non-finite values and place at most `max_markers` markers over [x_lo, x_hi].

    Markers are bucketed over the x span of the whole series, so a run of 10^5 NaNs costs
    one marker per bucket while isolated NaNs far apart each keep their own.

    Args:
        bad_x: positions of the non-finite values.
        bad_y: the non-finite values themselves (NaN, inf or -inf).
        x_lo: smallest x of the whole series.
        x_hi: largest x of the whole series.
        max_markers: upper bound on the positions returned.
    """
    if not len(bad_y):
        return NO_NONFINITE
    nan = int(np.count_nonzero(np.isnan(bad_y)))
    posinf = int(np.count_nonzero(bad_y == np.inf))
    neginf = int(np.count_nonzero(bad_y == -np.inf))
    positions = marker_positions(bad_x, x_lo, x_hi, max_markers)
    return NonFinite(positions=positions, nan=nan, posinf=posinf, neginf=neginf)


def marker_positions(
    bad_x: FloatArray, x_lo: float, x_hi: float, max_markers: int
) -> tuple[float, ...]:
    """At most `max_markers` sorted positions for the given x's: one per bucket of [x_lo, x_hi]."""
    xb = bad_x[np.isfinite(bad_x)]
    if not len(xb):
        return ()
    slots = max(1, int(max_markers))
    if x_hi > x_lo and slots > 1:
        bins = ((xb - x_lo) / (x_hi - x_lo) * (slots - 1)).round().astype(np.int64)
        _, first = np.unique(bins, return_index=True)
        return tuple(float(v) for v in np.sort(xb[first]))
    return (float(xb[0]),)


class BlockExtremes:
    """Per-block extremes of an append-only series, so a redraw need not scan the history.

    Complete blocks of `block` points are summarised once (index of the smallest and largest
    drawable value, first non-finite index, counts by kind); a redraw then picks extremes
    among about 10^3 block summaries plus the unfinished last block. Drawable means finite,
    and positive when `positive_only` (log-y).
    """

    def __init__(self, block: int = 1024, *, positive_only: bool = False) -> None:
        self.block = max(2, int(block))
        self.positive_only = positive_only
        self.blocks = 0
        self._imin = np.empty(0, np.int64)
        self._imax = np.empty(0, np.int64)
        self._vmin = np.empty(0, np.float64)
        self._vmax = np.empty(0, np.float64)
        self._first_bad = np.empty(0, np.int64)
        self._ifirst = np.empty(0, np.int64)
        self._vfirst = np.empty(0, np.float64)
        self._ilast = np.empty(0, np.int64)
        self._vlast = np.empty(0, np.float64)
        self.nan = 0
        self.posinf = 0
        self.neginf = 0
        self.nonpositive = 0
        """Finite values <= 0 in complete blocks (counted only when `positive_only`)."""

    def update(self, y: FloatArray, offset: int = 0) -> None:
        """Summarise the complete blocks not yet seen of the series whose points from
        `offset` on are `y` (`offset` at most the start of the first block not yet seen)."""
        b = self.block
        done = self.blocks * b
        full = ((offset + len(y)) // b) * b
        if full <= done:
            return
        if offset > done:
            raise ValueError("points of unsummarised blocks are missing")
        chunk = y[done - offset : full - offset].reshape(-1, b)
        k = chunk.shape[0]
        finite = np.isfinite(chunk)
        draw = finite & (chunk > 0) if self.positive_only else finite
        has = draw.any(axis=1)
        lows = np.where(draw, chunk, np.inf)
        highs = np.where(draw, chunk, -np.inf)
        rows = np.arange(k)
        base = done + rows * b
        imin = lows.argmin(axis=1)
        imax = highs.argmax(axis=1)
        bad = ~finite
        has_bad = bad.any(axis=1)
        self._imin = np.concatenate((self._imin, np.where(has, base + imin, -1)))
        self._imax = np.concatenate((self._imax, np.where(has, base + imax, -1)))
        self._vmin = np.concatenate((self._vmin, lows[rows, imin]))
        self._vmax = np.concatenate((self._vmax, highs[rows, imax]))
        self._first_bad = np.concatenate(
            (self._first_bad, np.where(has_bad, base + bad.argmax(axis=1), -1))
        )
        ifirst = draw.argmax(axis=1)
        ilast = b - 1 - draw[:, ::-1].argmax(axis=1)
        self._ifirst = np.concatenate((self._ifirst, np.where(has, base + ifirst, -1)))
        self._vfirst = np.concatenate((self._vfirst, chunk[rows, ifirst]))
        self._ilast = np.concatenate((self._ilast, np.where(has, base + ilast, -1)))
        self._vlast = np.concatenate((self._vlast, chunk[rows, ilast]))
        if has_bad.any():
            bad_values = chunk[bad]
            self.nan += int(np.count_nonzero(np.isnan(bad_values)))
            self.posinf += int(np.count_nonzero(bad_values == np.inf))
            self.neginf += int(np.count_nonzero(bad_values == -np.inf))
        if self.positive_only:
            self.nonpositive += int(np.count_nonzero(finite & (chunk <= 0)))
        self.blocks += k

    def select(self, y: FloatArray, max_points: int, offset: int = 0) -> IntArray | None:
        """Sorted indices of the points to draw, as `minmax_indices` would choose them.

        `y` holds the points from `offset` on (see `update`): the summaries stand for the
        rest. Returns None when the series is too short for blocks to help (fewer than two
        blocks per bucket): the caller then scans it directly, which is cheap at that size.
        """
        self.update(y, offset)
        n = offset + len(y)
        b = self.block
        limit = max(MIN_POINTS, int(max_points))
        buckets = (limit - 2) // 2 - 1  # one bucket is kept for the unfinished last block
        if buckets < 1 or self.blocks < 2 * buckets:
            return None
        group = -(-self.blocks // buckets)
        groups = -(-self.blocks // group)
        pad = groups * group - self.blocks
        vmin = np.concatenate((self._vmin, np.full(pad, np.inf))).reshape(groups, group)
        vmax = np.concatenate((self._vmax, np.full(pad, -np.inf))).reshape(groups, group)
        imin_all = np.concatenate((self._imin, np.full(pad, -1, np.int64))).reshape(groups, group)
        imax_all = np.concatenate((self._imax, np.full(pad, -1, np.int64))).reshape(groups, group)
        rows = np.arange(groups)
        picks = [
            imin_all[rows, vmin.argmin(axis=1)],
            imax_all[rows, vmax.argmax(axis=1)],
        ]
        tail = y[self.blocks * b - offset : n - offset]
        if len(tail):
            ok = self._drawable(tail)
            if ok.any():
                where = np.flatnonzero(ok)
                vals = tail[where]
                start = self.blocks * b
                picks.append(np.array([start + where[vals.argmin()], start + where[vals.argmax()]]))
        first = self._first_drawable(tail)
        last = self._last_drawable(tail)
        ends = [i for i in (first, last) if i is not None]
        chosen = np.concatenate([*picks, np.array(ends, dtype=np.int64)])
        return np.unique(chosen[chosen >= 0])

    def nonfinite(self, y: FloatArray, offset: int = 0) -> tuple[IntArray, int, int, int]:
        """(indices to mark: first non-finite per block plus the tail's, nan, +inf, -inf)."""
        tail_start = self.blocks * self.block
        tail = y[tail_start - offset :]
        bad = np.flatnonzero(~np.isfinite(tail))
        tail_bad = tail[bad]
        nan = self.nan + int(np.count_nonzero(np.isnan(tail_bad)))
        posinf = self.posinf + int(np.count_nonzero(tail_bad == np.inf))
        neginf = self.neginf + int(np.count_nonzero(tail_bad == -np.inf))
        marks = np.concatenate((self._first_bad[self._first_bad >= 0], tail_start + bad))
        return marks.astype(np.int64), nan, posinf, neginf

    def nonpositive_total(self, y: FloatArray, offset: int = 0) -> int:
        """Finite values <= 0 in the whole series (0 unless `positive_only`)."""
        if not self.positive_only:
            return 0
        tail = y[self.blocks * self.block - offset :]
        return self.nonpositive + int(np.count_nonzero(np.isfinite(tail) & (tail <= 0)))

    def _drawable(self, values: FloatArray) -> npt.NDArray[np.bool_]:
        ok = np.isfinite(values)
        if self.positive_only:
            ok &= values > 0
        return ok

    def _first_drawable(self, tail: FloatArray) -> int | None:
        """The first drawable index: from the block summaries, else in `tail` (the points
        after the last complete block)."""
        has = np.flatnonzero(self._ifirst >= 0)
        if len(has):
            return int(self._ifirst[has[0]])
        ok = self._drawable(tail)
        return self.blocks * self.block + int(ok.argmax()) if ok.any() else None

    def _last_drawable(self, tail: FloatArray) -> int | None:
        """The last drawable index: in `tail`, else from the block summaries."""
        ok = self._drawable(tail)
        if ok.any():
            return self.blocks * self.block + len(ok) - 1 - int(ok[::-1].argmax())
        has = np.flatnonzero(self._ilast >= 0)
        return int(self._ilast[has[-1]]) if len(has) else None

    def values_at(self, idx: IntArray, y: FloatArray, offset: int = 0) -> FloatArray:
        """The values at indices `select` chose, `y` holding the points from `offset` on:
        indices in complete blocks are answered by the summaries (extremes, first and last
        drawable point of each block), so the points before `offset` need not be kept."""
        out = np.empty(len(idx), dtype=np.float64)
        late = idx >= offset
        out[late] = y[idx[late] - offset]
        early = idx[~late]
        if len(early):
            known_i = np.concatenate((self._imin, self._imax, self._ifirst, self._ilast))
            known_v = np.concatenate((self._vmin, self._vmax, self._vfirst, self._vlast))
            order = np.argsort(known_i, kind="stable")
            known_i, known_v = known_i[order], known_v[order]
            pos = np.minimum(np.searchsorted(known_i, early), len(known_i) - 1)
            if not bool(np.all(known_i[pos] == early)):
                raise ValueError("an index not chosen from the block summaries")
            out[~late] = known_v[pos]
        return out
