"""The robust statistics the rules are built on: a median equal to numpy's bit for bit
(NaN and infinities included), and the short-history helpers that resist one outlier.
"""

from __future__ import annotations

import warnings

import numpy as np

from trainmon.advice.shorthistory import median3, theil_sen_slope
from trainmon.advice.stats import middle


def test_middle_equals_numpy_median_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    for _ in range(3000):
        n = int(rng.integers(0, 30))
        x = rng.normal(size=n) * 10.0 ** int(rng.integers(-6, 6))
        for special in (np.nan, np.inf, -np.inf):
            if n and rng.random() < 0.15:
                x[int(rng.integers(0, n))] = special
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = float(np.median(x))
        got = middle(x)
        assert got == want or (got != got and want != want), (x, got, want)


def test_median3_is_causal_and_ignores_one_outlier() -> None:
    out = median3(np.array([1.0, 3.0, 1.0, 100.0, 1.0, 1.0]))
    assert out.tolist() == [1.0, 2.0, 1.0, 3.0, 1.0, 1.0]


def test_theil_sen_slope_resists_one_outlier() -> None:
    y = np.arange(10, dtype=float) * 0.5
    y[4] = 50.0
    assert theil_sen_slope(y) == 0.5
