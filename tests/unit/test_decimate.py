"""Min/max decimation: bounded output that keeps extremes, endpoints and order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from trainmon.decimate import BlockExtremes, decimate, minmax_indices, nonfinite_summary

finite_floats = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
any_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=200, deadline=None)
@given(
    y=hnp.arrays(np.float64, st.integers(0, 3000), elements=finite_floats),
    max_points=st.integers(0, 400),
)
def test_minmax_indices_bounded_sorted_and_keeps_extremes(y: np.ndarray, max_points: int) -> None:
    idx = minmax_indices(y, max_points)
    assert len(idx) <= max(4, max_points)
    assert np.all(np.diff(idx) > 0)
    if len(y):
        assert idx[0] == 0 and idx[-1] == len(y) - 1
        kept = y[idx]
        assert kept.min() == y.min()
        assert kept.max() == y.max()
    else:
        assert len(idx) == 0


@settings(max_examples=200, deadline=None)
@given(
    data=hnp.arrays(np.float64, st.integers(0, 2000), elements=any_floats),
    max_points=st.integers(4, 300),
    shuffle=st.booleans(),
)
def test_decimate_finite_sorted_bounded(data: np.ndarray, max_points: int, shuffle: bool) -> None:
    x = np.arange(len(data), dtype=np.float64)
    if shuffle:
        x = np.random.default_rng(0).permutation(x)
    xs, ys = decimate(x, data, max_points)
    assert len(xs) == len(ys) <= max_points
    assert np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))
    assert np.all(np.diff(xs) >= 0)
    finite = np.isfinite(data)
    if finite.any():
        assert ys.min() == data[finite].min()
        assert ys.max() == data[finite].max()
        order = np.argsort(x[finite], kind="stable")
        fx = x[finite][order]
        assert xs[0] == fx[0] and xs[-1] == fx[-1]
    else:
        assert len(xs) == 0


def test_decimate_returns_copies_not_views() -> None:
    x = np.arange(10.0)
    y = np.arange(10.0)
    xs, ys = decimate(x, y, 100)
    xs[0] = 99.0
    ys[0] = 99.0
    assert x[0] == 0.0 and y[0] == 0.0


def test_single_spike_survives_a_million_points() -> None:
    y = np.ones(1_000_000)
    y[654_321] = 50.0
    x = np.arange(len(y), dtype=np.float64)
    xs, ys = decimate(x, y, 640)
    assert len(xs) <= 640
    assert 50.0 in ys
    assert xs[list(ys).index(50.0)] == 654_321.0


def test_nonfinite_summary_counts_kinds_and_bounds_markers() -> None:
    y = np.ones(100_000)
    y[10:20_000] = np.nan
    y[50_000] = np.inf
    y[60_000] = -np.inf
    x = np.arange(len(y), dtype=np.float64)
    s = nonfinite_summary(x, y, max_markers=50)
    assert (s.nan, s.posinf, s.neginf, s.total) == (19_990, 1, 1, 19_992)
    assert 1 <= len(s.positions) <= 50
    assert list(s.positions) == sorted(s.positions)
    assert 50_000.0 in s.positions and 60_000.0 in s.positions


def test_nonfinite_summary_of_clean_series_is_falsy() -> None:
    s = nonfinite_summary(np.arange(3.0), np.array([1.0, 2.0, 3.0]), 10)
    assert not s and s.total == 0 and s.positions == ()


def test_mismatched_lengths_are_refused() -> None:
    try:
        decimate(np.arange(3.0), np.arange(4.0), 10)
    except ValueError as exc:
        assert "length" in str(exc)
    else:
        raise AssertionError("expected ValueError")


@settings(max_examples=60, deadline=None)
@given(
    data=hnp.arrays(
        np.float64,
        st.integers(0, 6000),
        elements=st.one_of(st.floats(-1e6, 1e6), st.sampled_from([np.nan, np.inf, -np.inf, 0.0])),
    ),
    max_points=st.integers(4, 60),
    positive_only=st.booleans(),
    cut=st.integers(0, 6000),
)
def test_block_extremes_keep_what_a_full_scan_keeps(
    data: np.ndarray, max_points: int, positive_only: bool, cut: int
) -> None:
    blocks = BlockExtremes(block=16, positive_only=positive_only)
    blocks.select(data[: min(cut, len(data))], max_points)  # summaries built in two steps
    idx = blocks.select(data, max_points)
    drawable = np.isfinite(data) & ((data > 0) if positive_only else True)
    if idx is None:  # too short (or too narrow) for blocks: the caller scans directly
        buckets = (max(4, max_points) - 2) // 2 - 1
        assert buckets < 1 or blocks.blocks < 2 * buckets
        return
    assert len(idx) <= max_points
    assert np.all(np.diff(idx) > 0)
    assert drawable[idx].all()
    if drawable.any():
        kept = data[idx]
        assert kept.min() == data[drawable].min() and kept.max() == data[drawable].max()
        where = np.flatnonzero(drawable)
        assert idx[0] == where[0] and idx[-1] == where[-1]
    marks, nan, posinf, neginf = blocks.nonfinite(data)
    assert (nan, posinf, neginf) == (
        int(np.isnan(data).sum()),
        int((data == np.inf).sum()),
        int((data == -np.inf).sum()),
    )
    assert not np.isfinite(data[marks]).any()
    if positive_only:
        assert blocks.nonpositive_total(data) == int((np.isfinite(data) & (data <= 0)).sum())


def test_block_extremes_scan_only_new_blocks() -> None:
    blocks = BlockExtremes(block=100)
    y = np.arange(10_000, dtype=np.float64)
    blocks.update(y)
    assert blocks.blocks == 100
    blocks.update(np.concatenate((y, [5.0] * 150)))
    assert blocks.blocks == 101  # one more complete block; the rest is the unfinished tail
