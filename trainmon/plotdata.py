"""From the metric store to what the plot widgets draw: immutable, finite, decimated values.

The widgets never see the history itself. Each redraw asks for at most a few points per
screen column, so the cost of drawing does not grow with the run: the only work that grows
is a handful of vectorised numpy passes over the stored arrays, read in place (no copy).
Work that would otherwise be repeated over the whole history on every redraw (the smoothing
EMA, the check that steps only grow) is cached per store and extended with the new points.

Everything returned is a frozen dataclass of tuples, safe to hand to the UI thread and cheap
to compare, so a widget can skip a redraw when its input did not change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

import numpy as np

from trainmon.decimate import (
    NO_NONFINITE,
    BlockExtremes,
    NonFinite,
    marker_positions,
    minmax_indices,
    summarize_nonfinite,
)
from trainmon.i18n import N_
from trainmon.smoothing import IncrementalEma, clamp_weight, debiased_ema

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from trainmon.columns import Column
    from trainmon.store import MetricStore, Series

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]

XAxis = Literal["step", "epoch", "time"]
X_AXES: Final[tuple[XAxis, ...]] = ("step", "epoch", "time")
"""The x axes in the order the `x` key cycles through them."""

LOSS: Final = "loss"
EVAL_LOSS: Final = "eval_loss"
LEARNING_RATE: Final = "learning_rate"
GRAD_NORM: Final = "grad_norm"
EPOCH: Final = "epoch"

POINTS_PER_COLUMN: Final = 2
"""One min/max bucket per screen column. Two buckets per column (braille has two dot columns
per cell) looked no different but made plotext draw twice the segments: at 10^6 noisy records
a 160x48 update cost 1.6x the 10^3 one, against 1.05x with one bucket (bench_dashboard.py)."""

SPIKE_RATIO: Final = 10.0
SPIKE_SIGMAS: Final = 10.0
"""A grad-norm value is a spike above max(10 x median, median + 10 sigma): the same test as
the advice engine's grad-norm spike rule, so what the sparkline marks is what it reports."""

MEDIAN_WINDOW: Final = 1000
"""The grad-norm median is taken over the newest finite values: a median over the whole
history would cost a partition of every value on every redraw."""


@dataclass(frozen=True, slots=True)
class XY:
    """Points to draw: finite, x non-decreasing."""

    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    def __len__(self) -> int:
        return len(self.x)

    def __bool__(self) -> bool:
        return bool(self.x)

    @classmethod
    def of(cls, x: FloatArray, y: FloatArray) -> XY:
        """Freeze two numpy arrays into tuples of Python floats."""
        return cls(tuple(x.tolist()), tuple(y.tolist()))


EMPTY_XY: Final = XY()


@dataclass(frozen=True, slots=True)
class LossPlotData:
    """Everything the loss/LR plot shows for one run."""

    x_axis: XAxis = "step"
    x_label: str = N_("step")
    """The x axis in English (marked for the catalogue); the plot translates it."""
    y_label: str = "loss"
    series: str = "loss"
    """The series drawn raw and smoothed (its name in the legend)."""
    log_y: bool = False
    smoothing: float = 0.0
    train_raw: XY = EMPTY_XY
    """Train loss, decimated (log10 values when `log_y`)."""
    train_smooth: XY = EMPTY_XY
    """The debiased EMA of the train loss, decimated; empty when smoothing is 0."""
    eval: XY = EMPTY_XY
    """Eval loss points (empty when eval is hidden)."""
    lr: XY = EMPTY_XY
    """Learning rate, for the right-hand axis (never log-transformed)."""
    train_nonfinite: NonFinite = NO_NONFINITE
    eval_nonfinite: NonFinite = NO_NONFINITE
    nonpositive: int = 0
    """Loss values <= 0 left out because the y axis is logarithmic."""
    train_count: int = 0
    eval_count: int = 0
    lr_count: int = 0
    step_map: XY = EMPTY_XY
    """A sample of (step, x) pairs, to place markers given by step on epoch or time axes."""

    @property
    def empty(self) -> bool:
        """True when there is nothing to draw at all."""
        return not (
            self.train_raw or self.eval or self.lr or self.train_nonfinite or self.eval_nonfinite
        )

    def x_for_step(self, step: float) -> float | None:
        """Where `step` falls on this plot's x axis (None when it cannot be placed)."""
        if self.x_axis == "step":
            return float(step)
        xs, ys = self.step_map.x, self.step_map.y
        if not xs:
            return None
        if len(xs) == 1:
            return ys[0] if step == xs[0] else None
        if step < xs[0] or step > xs[-1]:
            return None
        return float(np.interp(step, xs, ys))


@dataclass(frozen=True, slots=True)
class GradNormData:
    """What the grad-norm pane shows: one finite value per cell and summary numbers."""

    present: bool = False
    """False when the log carries no grad_norm at all."""
    values: tuple[float, ...] = ()
    """One value per cell, oldest first: the largest finite value of each bucket."""
    spikes: tuple[int, ...] = ()
    """Indices into `values` of cells that hold a spike."""
    count: int = 0
    nonfinite: int = 0
    last: float | None = None
    min: float | None = None
    max: float | None = None
    median: float | None = None
    """Median of the newest `MEDIAN_WINDOW` finite values."""
    spike_threshold: float | None = None
    clip: float | None = None
    """`max_grad_norm` when known: values above it were clipped by the trainer."""
    clipped: int = 0
    """How many finite values exceed `clip`."""
    scale_top: float | None = None
    """The value drawn as a full column when a few cells tower over the rest (the
    `SCALE_PERCENTILE` of the cells); cells above it are marked. None: scaled to the max."""


# -- per-run caches --------------------------------------------------------------------------


@dataclass(slots=True)
class _SeriesState:
    checked: int = 0
    """Points whose step order has been checked."""
    last_step: int = -(2**63)
    steps_sorted: bool = True
    ema: IncrementalEma | None = None
    ema_log_y: bool = False
    """The log-y setting whose block summaries stand for the points the EMA forgot."""
    blocks: dict[tuple[str, bool], BlockExtremes] = field(default_factory=dict)
    """Block summaries of the raw ("raw") or smoothed ("ema") values, per log-y setting."""
    grad_chunks: list[_ChunkSummary] = field(default_factory=list)
    """The grad-norm pane's summary of each sealed chunk (for `grad_clip`)."""
    grad_clip: float | None = None

    def block_cache(self, variant: str, log_y: bool) -> BlockExtremes:
        """The block summaries for one variant of the series, created on first use."""
        key = (variant, log_y)
        cache = self.blocks.get(key)
        if cache is None:
            cache = self.blocks[key] = BlockExtremes(positive_only=log_y)
        return cache


@dataclass(slots=True)
class PlotCache:
    """What the plot keeps between redraws of one run: the EMA so far, block summaries and
    step-order checks per series, so a redraw costs the new records, not the whole history.

    A `Run` owns one (the dashboard passes it with each redraw); without one, each call
    starts from scratch. It resets itself on a new store segment or a series that shrank.
    """

    segment: int = -1
    series: dict[str, _SeriesState] = field(default_factory=dict)

    def state(self, store: MetricStore, name: str, length: int) -> _SeriesState:
        """The cached state of one series of `store`."""
        if self.segment != store.segment:
            self.segment = store.segment
            self.series.clear()
        s = self.series.get(name)
        if s is None or s.checked > length or (s.ema is not None and len(s.ema) > length):
            s = self.series[name] = _SeriesState()
        return s


def _steps_sorted(store: MetricStore, series: Series, state: _SeriesState) -> bool:
    """Whether the series' steps never decrease, checking only points not seen before."""
    n = len(series)
    while state.checked < n and state.steps_sorted:  # a block at a time: a whole history
        stop = min(n, state.checked + EMA_BLOCK)  # read at once is never taken whole
        new = store.record_steps.take(series.record_index.span(state.checked, stop))
        ok = new[0] >= state.last_step and bool(np.all(new[1:] >= new[:-1]))
        state.steps_sorted = ok
        state.last_step = int(new[-1])
        state.checked = stop
    state.checked = n
    return state.steps_sorted


def _smoothed(series: Series, state: _SeriesState, weight: float, log_y: bool) -> IncrementalEma:
    """The debiased EMA of the whole series, extending the cached one with new points.

    Past `EMA_KEPT_WHOLE` points only the block summaries of the EMA (for the current log-y
    setting) and its points after the last complete block are kept: a change of weight or
    of log-y then smooths the raw values again.
    """
    ema = state.ema
    if ema is None or ema.weight != weight or (ema.start and state.ema_log_y != log_y):
        ema = state.ema = IncrementalEma(weight)
        for key in [k for k in state.blocks if k[0] == "ema"]:
            del state.blocks[key]
    state.ema_log_y = log_y
    blocks = state.block_cache("ema", log_y)
    n = len(series)
    while len(ema) < n:  # in blocks: a long history is not copied out whole at once
        ema.extend(series.values_np(len(ema), len(ema) + EMA_BLOCK))
        if len(ema) >= EMA_KEPT_WHOLE:
            kept = ema.view()
            blocks.update(kept, ema.start)
            del kept  # a live view would block `forget`
            ema.forget(blocks.blocks * blocks.block)
    return ema


EMA_BLOCK: Final = 1 << 20
"""Raw values smoothed per step when the smoothed history catches up with a long log."""

EMA_KEPT_WHOLE: Final = 1 << 20
"""Below this many points the smoothed history is kept whole (8 MB at most)."""


# -- x axes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Axis:
    """How to turn record indices into x positions on the chosen axis."""

    kind: XAxis
    label: str
    t0: float = 0.0
    time_unit_s: float = 1.0
    epoch_index: IntArray | None = None
    epoch_values: FloatArray | None = None

    def x_of(self, store: MetricStore, record_index: IntArray) -> FloatArray:
        """x positions (float, maybe NaN where unknown) of the given records."""
        if self.kind == "step":
            return store.record_steps.take(record_index).astype(np.float64)
        if self.kind == "time":
            times = store.record_times.take(record_index)
            return (times.astype(np.float64) - self.t0) / self.time_unit_s
        assert self.epoch_index is not None and self.epoch_values is not None
        return _interp_sorted(record_index, self.epoch_index, self.epoch_values)


def _interp_sorted(at: IntArray, xp: IntArray, fp: FloatArray) -> FloatArray:
    """Linear interpolation at integer positions over sorted integer `xp` (NaN outside)."""
    out = np.full(len(at), np.nan)
    if not len(xp):
        return out
    pos = np.searchsorted(xp, at)
    inside = (pos < len(xp)) & (at >= xp[0])
    p = pos[inside]
    a = at[inside]
    exact = xp[np.minimum(p, len(xp) - 1)] == a
    res = np.empty(len(p))
    res[exact] = fp[p[exact]]
    q = p[~exact]
    lo_x = xp[q - 1].astype(np.float64)
    hi_x = xp[q].astype(np.float64)
    frac = (a[~exact] - lo_x) / (hi_x - lo_x)
    res[~exact] = fp[q - 1] + frac * (fp[q] - fp[q - 1])
    out[inside] = res
    return out


def _time_unit(span_s: float) -> tuple[float, str]:
    if span_s >= 3 * 3600:
        return 3600.0, N_("time (h)")
    if span_s >= 3 * 60:
        return 60.0, N_("time (min)")
    return 1.0, N_("time (s)")


def _axis(store: MetricStore, x_axis: XAxis) -> _Axis:
    if x_axis == "time":
        times = store.record_times
        if not times:
            return _Axis("time", N_("time (s)"))
        t0 = float(times[0])
        unit, label = _time_unit(float(times.max()) - t0)
        return _Axis("time", label, t0=t0, time_unit_s=unit)
    if x_axis == "epoch":
        epoch = store.get(EPOCH)
        if epoch is None or not len(epoch):
            # Saying so beats an empty plot: the log simply never printed an epoch.
            return _Axis("step", N_("step (no epoch in log)"))
        # The axis lives only for one call (non-finite epochs give NaN x,
        # and those points are dropped).
        index = epoch.record_index.span()
        values = epoch.values.span()
        return _Axis("epoch", N_("epoch"), epoch_index=index, epoch_values=values)
    return _Axis("step", N_("step"))


# -- one series --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Points:
    xy: XY = EMPTY_XY
    nonfinite: NonFinite = NO_NONFINITE
    count: int = 0
    nonpositive: int = 0
    steps: tuple[float, ...] = ()


_NO_POINTS: Final = _Points()


def _points(
    store: MetricStore,
    series: Series,
    values: FloatArray,
    axis: _Axis,
    max_points: int,
    *,
    log_y: bool,
    sorted_steps: bool,
    want_steps: bool = False,
    blocks: BlockExtremes | None = None,
    offset: int = 0,
    whole: Callable[[], FloatArray] | None = None,
) -> _Points:
    """Decimate one series (given as `values`, aligned with `series`) for drawing.

    With `blocks` (and steps in order), the extremes come from cached block summaries and
    only the unfinished last block is scanned; otherwise the whole series is scanned.
    `values` may hold only the points from `offset` on, the blocks standing for the rest;
    `whole` then gives all of them when the blocks cannot answer.
    """
    n = offset + len(values)
    if n == 0:
        return _NO_POINTS
    ri_all = series.record_index  # indexed by position arrays: decodes only what is drawn
    try:
        if blocks is not None and sorted_steps:
            idx = blocks.select(values, max_points, offset)
            if idx is not None:
                return _points_from_blocks(
                    store, values, offset, ri_all, idx, blocks, axis, max_points, log_y, want_steps
                )
        if offset:
            assert whole is not None
            values = whole()
        drawable = np.isfinite(values)
        nonpositive = 0
        if log_y:
            positive = values > 0
            nonpositive = int(np.count_nonzero(drawable & ~positive))
            drawable &= positive
        all_drawable = bool(drawable.all())
        keep: IntArray | None = None
        bad_idx = np.empty(0, np.int64)
        if not all_drawable:
            keep = np.flatnonzero(drawable)
            bad_idx = np.flatnonzero(~np.isfinite(values))
        order: IntArray | None = None
        if not sorted_steps and axis.kind == "step":
            # Steps went backwards (a resumed run appended to the same log): draw by step.
            x_full = axis.x_of(store, ri_all.span(0, n) if keep is None else ri_all[keep])
            order = np.argsort(x_full, kind="stable")
            keep = order if keep is None else keep[order]
        y = values if keep is None else values[keep]
        chosen = minmax_indices(y, max_points)
        idx = chosen if keep is None else keep[chosen]
        x, yv, ri = _drawable(store, values[idx], ri_all, idx, axis, log_y)
        nonfinite = NO_NONFINITE
        if len(bad_idx):
            bx = axis.x_of(store, ri_all[bad_idx])
            lo = float(x[0]) if len(x) else float(np.nanmin(bx)) if np.isfinite(bx).any() else 0.0
            hi = float(x[-1]) if len(x) else float(np.nanmax(bx)) if np.isfinite(bx).any() else 0.0
            nonfinite = summarize_nonfinite(bx, values[bad_idx], lo, hi, max(1, max_points // 4))
        steps = _steps_of(store, ri) if want_steps else ()
        return _Points(XY.of(x, yv), nonfinite, n, nonpositive, steps)
    finally:
        # Views of the store's arrays must not outlive this call: they would pin the
        # buffers and make the next append raise BufferError.
        del ri_all


def _drawable(
    store: MetricStore,
    yv: FloatArray,
    ri_all: Column,
    idx: IntArray,
    axis: _Axis,
    log_y: bool,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """x, y and record indices of the chosen points (`yv`: their values): finite x only, in
    x order, y in log10 when asked (a resumed run can make steps go backwards; plotext wants
    them sorted)."""
    ri = ri_all[idx]
    x = axis.x_of(store, ri)
    ok = np.isfinite(x)
    if not ok.all():
        x, yv, ri = x[ok], yv[ok], ri[ok]
    if len(x) > 1 and not bool(np.all(x[1:] >= x[:-1])):
        o = np.argsort(x, kind="stable")
        x, yv, ri = x[o], yv[o], ri[o]
    if log_y:
        yv = np.log10(yv)
    return x, yv, ri


def _steps_of(store: MetricStore, ri: IntArray) -> tuple[float, ...]:
    """The steps of records `ri` (copied out, so no view of the store's buffer survives)."""
    if not len(ri):
        return ()
    return tuple(store.record_steps.take(ri).astype(np.float64).tolist())


def _points_from_blocks(
    store: MetricStore,
    values: FloatArray,
    offset: int,
    ri_all: Column,
    idx: IntArray,
    blocks: BlockExtremes,
    axis: _Axis,
    max_points: int,
    log_y: bool,
    want_steps: bool,
) -> _Points:
    """`_points` for indices chosen from block summaries (drawable values only)."""
    yv = blocks.values_at(idx, values, offset)
    x, yv, ri = _drawable(store, yv, ri_all, idx, axis, log_y)
    marks, nan, posinf, neginf = blocks.nonfinite(values, offset)
    nonfinite = NO_NONFINITE
    if len(marks):
        bx = axis.x_of(store, ri_all[marks])
        lo = float(x[0]) if len(x) else 0.0
        hi = float(x[-1]) if len(x) else 0.0
        positions = marker_positions(bx, lo, hi, max(1, max_points // 4))
        nonfinite = NonFinite(positions=positions, nan=nan, posinf=posinf, neginf=neginf)
    steps = _steps_of(store, ri) if want_steps else ()
    nonpositive = blocks.nonpositive_total(values, offset) if log_y else 0
    return _Points(XY.of(x, yv), nonfinite, offset + len(values), nonpositive, steps)


def _unsummarised(
    series: Series, blocks: BlockExtremes, sorted_steps: bool
) -> tuple[FloatArray, int]:
    """(the points the block summaries do not stand for yet, where they start).

    The summaries are first brought up to date one `EMA_BLOCK` at a time, so a long history
    is decoded a piece at a time, never whole. Out-of-order steps cannot use the summaries:
    then the whole series comes back.
    """
    n = len(series)
    if not sorted_steps:
        return series.values.span(), 0
    while n - blocks.blocks * blocks.block > EMA_BLOCK:
        done = blocks.blocks * blocks.block
        blocks.update(series.values.span(done, done + EMA_BLOCK), done)
    done = blocks.blocks * blocks.block
    return series.values.span(done, n), done


# -- public API --------------------------------------------------------------------------------


def loss_plot_data(
    store: MetricStore,
    *,
    width: int,
    x_axis: XAxis = "step",
    smoothing: float = 0.6,
    log_y: bool = False,
    show_eval: bool = True,
    cache: PlotCache | None = None,
    series_name: str = LOSS,
    show_lr: bool = True,
) -> LossPlotData:
    """The loss/LR plot's input for one run, decimated to the plot's width.

    Args:
        store: the run's metric history.
        width: the plot's width in cells; at most 2 points per cell are returned per series.
        x_axis: `step`, `epoch` (from the log's `epoch` metric) or `time` (since the first
            record, in s / min / h depending on the span).
        smoothing: weight of the debiased EMA drawn over the train loss (0 = none).
        log_y: plot log10 of the losses (values <= 0 are left out and counted).
        show_eval: include the eval loss.
        cache: the run's plot cache (a redraw then costs only what is new).
        series_name: the series drawn raw and smoothed (the metric plot draws any series).
        show_lr: include the learning rate (right axis).

    Returns:
        A frozen `LossPlotData`; every number in it is finite.
    """
    max_points = max(8, int(width) * POINTS_PER_COLUMN)
    cache = cache if cache is not None else PlotCache()
    weight = clamp_weight(smoothing)
    axis = _axis(store, x_axis)
    y_label = f"log10 {series_name}" if log_y else series_name
    train = smooth = evals = lr = _NO_POINTS

    series = store.get(series_name)
    if series is not None and len(series):
        train = _named_points(
            store, cache, series_name, axis, max_points, log_y=log_y, want_steps=axis.kind != "step"
        )
        state = cache.state(store, series_name, len(series))
        sorted_steps = state.steps_sorted
        if weight > 0.0:
            ema = _smoothed(series, state, weight, log_y)
            smoothed = ema.view()
            try:
                smooth = _points(
                    store,
                    series,
                    smoothed,
                    axis,
                    max_points,
                    log_y=log_y,
                    sorted_steps=sorted_steps,
                    blocks=state.block_cache("ema", log_y),
                    offset=ema.start,
                    whole=lambda: debiased_ema(series.values_np(), weight),
                )
            finally:
                del smoothed

    if show_eval:
        evals = _named_points(store, cache, EVAL_LOSS, axis, max_points, log_y=log_y)
    if show_lr:
        lr = _named_points(store, cache, LEARNING_RATE, axis, max_points, log_y=False)

    step_map = EMPTY_XY
    if train.steps:
        step_map = XY(train.steps, train.xy.x)

    return LossPlotData(
        series=series_name,
        x_axis=axis.kind,
        x_label=axis.label,
        y_label=y_label,
        log_y=log_y,
        smoothing=weight,
        train_raw=train.xy,
        train_smooth=smooth.xy,
        eval=evals.xy,
        lr=lr.xy,
        train_nonfinite=train.nonfinite,
        eval_nonfinite=evals.nonfinite,
        nonpositive=train.nonpositive + evals.nonpositive,
        train_count=train.count,
        eval_count=evals.count,
        lr_count=lr.count,
        step_map=step_map,
    )


def _named_points(
    store: MetricStore,
    cache: PlotCache,
    name: str,
    axis: _Axis,
    max_points: int,
    *,
    log_y: bool,
    want_steps: bool = False,
) -> _Points:
    """The drawable points of one raw series, its block summaries brought up to date."""
    series = store.get(name)
    if series is None or not len(series):
        return _NO_POINTS
    state = cache.state(store, name, len(series))
    sorted_steps = _steps_sorted(store, series, state)
    blocks = state.block_cache("raw", log_y)
    values, start = _unsummarised(series, blocks, sorted_steps)
    return _points(
        store,
        series,
        values,
        axis,
        max_points,
        log_y=log_y,
        sorted_steps=sorted_steps,
        want_steps=want_steps,
        blocks=blocks,
        offset=start,
        whole=series.values_np,
    )


def has_wall_times(store: MetricStore) -> bool:
    """Whether a wall-time x axis means something: the log prints timestamps, or records
    arrived live (a history read at start without timestamps arrived all at once)."""
    return store.times_printed or len(store.record_times) > store.live_from


SCALE_PERCENTILE: Final = 95.0
SCALE_OUTLIER_RATIO: Final = 1.5
"""The sparkline is scaled to the 95th percentile of its cells when the max is more than 1.5x
that: the few cells above are marked, and the caption keeps the true max."""


def grad_norm_data(
    store: MetricStore,
    width: int,
    *,
    max_grad_norm: float | None = None,
    median_window: int = MEDIAN_WINDOW,
    cache: PlotCache | None = None,
) -> GradNormData:
    """The grad-norm pane's input: one value per cell (bucket maxima) and summary numbers.

    Args:
        store: the run's metric history.
        width: cells available for the sparkline; fewer values come back for short runs.
        max_grad_norm: the trainer's clipping threshold, when known.
        median_window: how many of the newest finite values the median covers.
        cache: the run's plot cache: sealed chunks are then summarised once, so a redraw
            reads only the values after the last sealed chunk.
    """
    clip = max_grad_norm if max_grad_norm is not None and math.isfinite(max_grad_norm) else None
    series = store.get(GRAD_NORM)
    if series is None or not len(series):
        return GradNormData(present=False, clip=clip)
    summaries: list[_ChunkSummary] = []
    if cache is not None:
        state = cache.state(store, GRAD_NORM, len(series))
        if state.grad_clip != clip or len(state.grad_chunks) > series.values.sealed_chunks:
            state.grad_chunks, state.grad_clip = [], clip
        summaries = state.grad_chunks
    return _grad_norm(series.values, max(1, int(width)), clip, max(1, median_window), summaries)


GRAD_BLOCK: Final = 64
"""Values per block maximum kept for each sealed chunk of a long grad-norm history."""
GRAD_BLOCKS_PER_CELL: Final = 4
"""Cells are drawn from the block maxima once each spans this many blocks (the cell edges then
move by at most one block, invisible at that width); shorter histories are read whole."""


@dataclass(frozen=True, slots=True)
class _ChunkSummary:
    """One chunk of grad-norm values as the pane needs it."""

    finite: int
    low: float
    high: float
    clipped: int
    block_max: FloatArray
    """The max of each `GRAD_BLOCK` values (NaN where none is finite)."""


def _summarise(chunk: FloatArray, clip: float | None) -> _ChunkSummary:
    ok = np.isfinite(chunk)
    good = chunk[ok]
    blocks = -(-len(chunk) // GRAD_BLOCK)
    padded = np.full(blocks * GRAD_BLOCK, np.nan)
    padded[: len(chunk)] = np.where(ok, chunk, np.nan)
    return _ChunkSummary(
        finite=len(good),
        low=float(good.min()) if len(good) else math.inf,
        high=float(good.max()) if len(good) else -math.inf,
        clipped=int(np.count_nonzero(good > clip)) if clip is not None else 0,
        block_max=np.fmax.reduce(padded.reshape(blocks, GRAD_BLOCK), axis=1),
    )


def _grad_norm(
    values: Column,
    width: int,
    clip: float | None,
    median_window: int,
    summaries: list[_ChunkSummary],
) -> GradNormData:
    """Cells split the records evenly by position (as the loss plot's x axis does); a cell
    holding only NaN/inf is left out. Sealed chunks are summarised once into `summaries`
    (the caller's cache); the values are never decoded all at once."""
    n = len(values)
    sealed = values.sealed_chunks
    while len(summaries) < sealed:
        summaries.append(_summarise(values.chunk(len(summaries)), clip))
    parts = [*summaries, _summarise(values.chunk(sealed), clip)]
    finite_count = sum(p.finite for p in parts)
    if finite_count == 0:
        return GradNormData(present=True, count=n, nonfinite=n, clip=clip)
    low, high = min(p.low for p in parts), max(p.high for p in parts)
    clipped = sum(p.clipped for p in parts)
    cells = min(width, n)
    if n >= cells * GRAD_BLOCK * GRAD_BLOCKS_PER_CELL:
        blocks = np.concatenate([p.block_max for p in parts])
        edges = (np.arange(cells, dtype=np.int64) * len(blocks)) // cells
        cell_max = np.fmax.reduceat(blocks, edges)
    else:
        cell_max = _cell_maxima(values, cells)
    cell_max = cell_max[~np.isnan(cell_max)]
    recent = _newest_finite(values, median_window)
    median = float(np.median(recent))
    sigma = 1.4826 * float(np.median(np.abs(recent - median)))
    threshold = max(SPIKE_RATIO * median, median + SPIKE_SIGMAS * sigma)
    spikes = np.flatnonzero(cell_max > threshold) if threshold > 0 else np.empty(0, np.int64)
    # One spike of 18.7 among values near 1 flattened the whole line to its lowest block:
    # scale to a high percentile instead, when the max stands that far above it.
    top = float(np.percentile(cell_max, SCALE_PERCENTILE))
    scale_top = top if top > 0 and float(cell_max.max()) > SCALE_OUTLIER_RATIO * top else None
    return GradNormData(
        present=True,
        values=tuple(cell_max.tolist()),
        spikes=tuple(int(i) for i in spikes),
        count=n,
        nonfinite=n - finite_count,
        last=float(recent[-1]),
        min=low,
        max=high,
        median=median,
        spike_threshold=threshold if threshold > 0 else None,
        clip=clip,
        clipped=clipped,
        scale_top=scale_top,
    )


def _cell_maxima(values: Column, cells: int) -> FloatArray:
    """The max of each of `cells` equal runs of positions, read a chunk at a time."""
    n = len(values)
    edges = (np.arange(cells + 1, dtype=np.int64) * n) // cells
    cell_max = np.full(cells, np.nan)
    lo = 0
    for chunk in values.chunks():
        hi = lo + len(chunk)
        first, last = np.searchsorted(edges, lo, "right") - 1, np.searchsorted(edges, hi, "left")
        starts = np.clip(edges[first:last], lo, hi) - lo
        finite = np.where(np.isfinite(chunk), chunk, np.nan)
        cell_max[first:last] = np.fmax(cell_max[first:last], np.fmax.reduceat(finite, starts))
        lo = hi
    return cell_max


def _newest_finite(values: Column, count: int) -> FloatArray:
    """The newest `count` finite values (fewer when the column has fewer), read from the end
    in widening spans so a NaN-free tail costs one small decode."""
    n = len(values)
    span = 2 * count
    while True:
        tail = values.span(max(0, n - span), n)
        finite = tail[np.isfinite(tail)]
        if len(finite) >= count or span >= n:
            return finite[-count:]
        span *= 4
