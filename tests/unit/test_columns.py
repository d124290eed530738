"""Compact per-record columns read back exactly what was appended, however it was sealed."""

from __future__ import annotations

import bisect
import itertools
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainmon.columns import CHUNK, Column

steps = st.lists(
    st.one_of(
        st.integers(-(2**62), 2**62),
        st.integers(0, 50),
    ),
    max_size=80,
)
regular_steps = st.builds(
    lambda start, stride, n: list(range(start, start + stride * n, stride) or [start])[:n],
    st.integers(0, 1000),
    st.integers(1, 30),
    st.integers(0, 80),
)
times = st.lists(
    st.one_of(st.sampled_from([5.0, 7.5, 1e9 + 0.25]), st.floats(allow_nan=False)), max_size=80
)


def check(column: Column, expected: list[float] | list[int]) -> None:
    assert len(column) == len(expected)
    assert bool(column) == bool(expected)
    assert list(column) == expected
    for i in range(-len(expected), len(expected)):
        assert column[i] == expected[i]
    assert column.span().tolist() == expected
    if expected:
        assert column.min() == min(expected)
        assert column.max() == max(expected)
        rng = np.random.default_rng(len(expected))
        index = rng.integers(0, len(expected), size=20)
        assert column.take(index).tolist() == [expected[i] for i in index]
        ordered = np.sort(index)
        assert column.take(ordered).tolist() == [expected[i] for i in ordered]
        lo, hi = sorted(rng.integers(0, len(expected) + 1, size=2).tolist())
        assert column.span(lo, hi).tolist() == expected[lo:hi]


@settings(max_examples=200)
@given(st.one_of(steps, regular_steps), st.integers(1, 4))
def test_int_columns_are_exact(values: list[int], shift: int) -> None:
    column = Column("q", chunk_shift=shift)
    for i in range(0, len(values), 7):
        column.fromlist(values[i : i + 7])
    check(column, values)


@settings(max_examples=200)
@given(times, st.integers(1, 4))
def test_float_columns_are_exact(values: list[float], shift: int) -> None:
    column = Column("d", chunk_shift=shift)
    column.fromlist(values)
    check(column, values)


@settings(max_examples=200)
@given(
    st.lists(st.integers(0, 3), max_size=80),
    st.integers(-3, 3),
    st.integers(1, 4),
    st.lists(st.integers(-5, 300), max_size=20),
)
def test_bisect_left_in_a_non_decreasing_column_matches_bisect(
    gaps: list[int], first: int, shift: int, probes: list[int]
) -> None:
    """A record index (never decreasing: strides, gaps and repeats) answers `bisect_left`
    as the standard library does over the same list."""
    values = list(itertools.accumulate(gaps, initial=first))
    column = Column("i", chunk_shift=shift)
    column.fromlist(values)
    for probe in [*probes, first, values[-1], values[-1] + 1]:
        assert column.bisect_left(probe) == bisect.bisect_left(values, probe)


@given(st.one_of(steps, regular_steps), st.one_of(steps, regular_steps))
def test_extend_appends_another_column(first: list[int], second: list[int]) -> None:
    a, b = Column("q", chunk_shift=2), Column("q", chunk_shift=3)
    a.fromlist(first)
    b.fromlist(second)
    a.extend(b)
    check(a, first + second)
    check(pickle.loads(pickle.dumps(a)), first + second)


def test_regular_columns_take_a_few_bytes_per_chunk() -> None:
    n = 1_000_000
    column = Column("q")
    column.fromlist(list(range(0, 20 * n, 20)))
    stamps = Column("d")
    for batch in range(n // 1000):
        stamps.fromlist([1.7e9 + batch] * 1000)
    # Under a byte per value, the unsealed tail (at most one chunk of 8-byte values) included.
    assert column.nbytes < n
    assert stamps.nbytes < n
    assert column[n - 1] == 20 * (n - 1)
    assert stamps[n - 1] == 1.7e9 + n // 1000 - 1


def _bits(values: np.ndarray) -> list[int]:
    return np.asarray(values, dtype=np.float64).view(np.int64).tolist()


logged_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(width=32),  # `loss.item()` of a float32 tensor
    st.builds(lambda n, k: round(n / 10**k, k), st.integers(-(10**9), 10**9), st.integers(0, 8)),
    st.sampled_from([0.0, -0.0, float("nan"), float("inf"), -float("inf"), 5e-324]),
)


@settings(max_examples=300)
@given(st.lists(logged_values, max_size=120), st.integers(1, 5))
def test_sealed_floats_give_back_the_very_bits(values: list[float], shift: int) -> None:
    """Every sealed form is exact to the bit: NaN, ±inf, -0.0 and subnormals included."""
    column = Column("d", chunk_shift=shift)
    column.fromlist(values)
    assert _bits(column.span()) == _bits(np.array(values, dtype=np.float64))
    assert _bits(list(column)) == _bits(np.array(values, dtype=np.float64))
    copy = pickle.loads(pickle.dumps(column))
    assert _bits(copy.span()) == _bits(np.array(values, dtype=np.float64))


def _sealed_bytes_per_value(values: np.ndarray) -> float:
    column = Column("d")
    column.fromlist(values.tolist())
    assert _bits(column.span()) == _bits(values)
    sealed = len(values) // CHUNK * CHUNK
    tail = (len(values) - sealed) * 8
    return (column.nbytes - tail) / sealed


def test_logged_values_seal_into_a_few_bytes_each() -> None:
    """What trainers print: short decimals, float32 numbers, smooth schedules."""
    n = 4 * CHUNK
    rng = np.random.default_rng(0)
    s = np.arange(1, n + 1)
    noise = rng.random(n)
    assert _sealed_bytes_per_value(np.round(3.0 / (1 + s / 1e5) + 0.05 * noise, 4)) <= 2.1
    assert _sealed_bytes_per_value(2e-5 * (1 - s / (n + 1))) <= 1.1  # a linear schedule
    assert _sealed_bytes_per_value(1e-4 * 0.5 * (1 + np.cos(np.pi * s / n))) <= 4.6  # cosine
    assert _sealed_bytes_per_value(rng.standard_normal(n).astype(np.float32) * 1.0) <= 4.1
    assert _sealed_bytes_per_value(np.round(s / 50_000, 2)) <= 0.1  # epochs: runs
    with_nan = np.where(noise < 0.01, np.nan, np.round(noise, 3))
    assert _sealed_bytes_per_value(with_nan) <= 2.2
    # Noise in all 64 bits has no smaller exact form: raw, never larger.
    assert _sealed_bytes_per_value(rng.standard_normal(n)) <= 8.01


def test_a_window_over_two_chunks_read_again_is_not_decoded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rule after rule reads the same window across a chunk boundary: the two chunks stay
    decoded, and the values read are the same each time."""
    from trainmon import columns

    column = Column("d", chunk_shift=4)
    values = [float(i % 7) / 3 for i in range(16 * 5)]
    column.fromlist(values)
    decoded: list[int] = []
    real = columns._Sealed.decode

    def counted(self: object, dtype: object) -> object:
        decoded.append(id(self))
        return real(self, dtype)  # type: ignore[arg-type]

    monkeypatch.setattr(columns._Sealed, "decode", counted)
    for _ in range(5):
        assert column.span(10, 22).tolist() == values[10:22]
    assert len(decoded) == 2
    assert column.span(34, 40).tolist() == values[34:40]  # a third chunk: decoded once more
    assert len(decoded) == 3
