"""Min/max decimation: bounded output that keeps extremes, endpoints and order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from trainmon.decimate import BlockExtremes, minmax_indices, summarize_nonfinite

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


def test_single_spike_survives_a_million_points() -> None:
    y = np.ones(1_000_000)
    y[654_321] = 50.0
    idx = minmax_indices(y, 640)
    assert len(idx) <= 640
    assert 654_321 in idx


def test_nonfinite_summary_counts_kinds_and_bounds_markers() -> None:
    y = np.ones(100_000)
    y[10:20_000] = np.nan
    y[50_000] = np.inf
    y[60_000] = -np.inf
    x = np.arange(len(y), dtype=np.float64)
    bad = ~np.isfinite(y)
    s = summarize_nonfinite(x[bad], y[bad], 0.0, float(len(y) - 1), max_markers=50)
    assert (s.nan, s.posinf, s.neginf, s.total) == (19_990, 1, 1, 19_992)
    assert 1 <= len(s.positions) <= 50
    assert list(s.positions) == sorted(s.positions)
    assert 50_000.0 in s.positions and 60_000.0 in s.positions


def test_nonfinite_summary_of_clean_series_is_falsy() -> None:
    s = summarize_nonfinite(np.array([]), np.array([]), 0.0, 2.0, 10)
    assert not s and s.total == 0 and s.positions == ()


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
