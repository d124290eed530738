"""Debiased EMA: equals the TensorBoard recurrence, skips non-finite values, extends cheaply."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from trainmon.smoothing import IncrementalEma, clamp_weight, debiased_ema


def reference(values: list[float], weight: float) -> list[float]:
    """TensorBoard's loop, written plainly."""
    last = 0.0
    count = 0
    out = []
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out.append(v if weight == 0 else last / (1 - weight**count))
    return out


def assert_close(a: np.ndarray, b: list[float]) -> None:
    ref = np.array(b, dtype=np.float64)
    assert a.shape == ref.shape
    fin = np.isfinite(ref)
    assert np.array_equal(np.isfinite(a), fin)
    assert np.array_equal(a[~fin], ref[~fin], equal_nan=True)
    np.testing.assert_allclose(a[fin], ref[fin], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("weight", [0.0, 0.1, 0.6, 0.9, 0.99, 0.999])
def test_matches_reference_loop(weight: float) -> None:
    rng = np.random.default_rng(3)
    values = (np.linspace(3, 1, 4000) + rng.random(4000)).tolist()
    values[7] = math.nan
    values[100] = math.inf
    values[2500] = -math.inf
    assert_close(debiased_ema(np.array(values), weight), reference(values, weight))


@settings(max_examples=150, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        st.integers(0, 400),
        elements=st.one_of(st.floats(-1e6, 1e6), st.sampled_from([math.nan, math.inf, -math.inf])),
    ),
    weight=st.floats(0.0, 0.999),
    cuts=st.lists(st.integers(0, 400), max_size=6),
)
def test_incremental_equals_batch(values: np.ndarray, weight: float, cuts: list[int]) -> None:
    inc = IncrementalEma(weight)
    edges = sorted({0, len(values), *(c for c in cuts if c <= len(values))})
    for a, b in itertools.pairwise(edges):
        inc.extend(values[a:b])
    assert len(inc) == len(values)
    assert_close(inc.values_np(), reference(values.tolist(), clamp_weight(weight)))


def test_first_point_is_not_dragged_to_zero() -> None:
    out = debiased_ema(np.array([5.0, 5.0, 5.0]), 0.99)
    np.testing.assert_allclose(out, [5.0, 5.0, 5.0])


def test_weights_are_clamped() -> None:
    assert clamp_weight(-1) == 0.0
    assert clamp_weight(math.nan) == 0.0
    assert clamp_weight(1.0) == 0.999
    assert clamp_weight(0.6) == 0.6


def test_empty_and_all_nan() -> None:
    assert len(debiased_ema(np.array([]), 0.6)) == 0
    out = debiased_ema(np.array([math.nan, math.inf]), 0.6)
    assert math.isnan(out[0]) and out[1] == math.inf


def test_view_does_not_block_a_later_extend_once_dropped() -> None:
    inc = IncrementalEma(0.5)
    inc.extend(np.array([1.0, 2.0]))
    v = inc.view()
    assert list(v) == list(inc.values_np())
    del v
    inc.extend(np.array([3.0]))
    assert len(inc) == 3
