"""Robust statistics shared by the rules: medians and MADs instead of means and deviations.

Training curves carry heavy-tailed noise (one bad batch, one clipped step), so every rule
judges a value against the run's own median and median absolute deviation, usually in log
space for the loss, whose noise is multiplicative.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

MAD_SCALE: Final = 1.4826
"""Makes the MAD an estimate of the standard deviation for Gaussian noise."""

TINY: Final = 1e-12


def finite(values: FloatArray) -> FloatArray:
    """The finite values only, in order."""
    return values[np.isfinite(values)]


def safe_log(values: FloatArray) -> FloatArray:
    """Natural log with zero and negative values floored (they are numerics findings)."""
    return np.log(np.maximum(values, TINY))


def middle(values: FloatArray) -> float:
    """`np.median` of a 1-D array, bit for bit (NaN when it holds a NaN or nothing).

    The rules take thousands of medians of short windows per run, and `np.median`'s dispatch
    costs several times the sort of a short array.
    """
    a = np.asarray(values, dtype=np.float64).ravel()
    n = a.size
    if n == 0:
        return float("nan")
    s = np.sort(a)
    top = float(s[n - 1])
    if top != top:  # NaN sorts last
        return top
    half = n // 2
    if n % 2:
        return float(s[half])
    return (float(s[half - 1]) + float(s[half])) / 2


def median(values: FloatArray) -> float:
    """Median of the finite values, NaN when there are none."""
    return middle(finite(values))


def robust_sigma(values: FloatArray) -> float:
    """1.4826 x MAD of the finite values (0 when fewer than two)."""
    f = finite(values)
    if len(f) < 2:
        return 0.0
    return MAD_SCALE * middle(np.abs(f - middle(f)))


def frac_greater(b: FloatArray, a: FloatArray) -> float:
    """Share of pairs (x in b, y in a) with x > y: the Mann-Whitney effect size, O(n log n)."""
    if not len(a) or not len(b):
        return 0.5
    sa = np.sort(a)
    below = np.searchsorted(sa, b, side="left")
    ties = np.searchsorted(sa, b, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (len(a) * len(b)))


def thin(values: FloatArray, limit: int) -> FloatArray:
    """Every k-th value so that at most `limit` remain: keeps window costs bounded."""
    if len(values) <= limit:
        return values
    stride = -(-len(values) // limit)
    return values[::stride]


def block_baseline(values: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Median and robust sigma of the previous complete block of `window` values, per value.

    `values` must start at a block boundary. The first block gets NaN. Blocks instead of a
    rolling window keep the cost at one median per `window` values (O(n), not O(n x window)),
    and a spike never contaminates its own baseline.
    """
    n = len(values)
    med = np.full(n, np.nan)
    sig = np.full(n, np.nan)
    full = n // window
    if full == 0:
        return med, sig
    blocks = values[: full * window].reshape(full, window)
    bmed = np.median(blocks, axis=1)
    bsig = MAD_SCALE * np.median(np.abs(blocks - bmed[:, None]), axis=1)
    idx = np.arange(n) // window - 1
    ok = idx >= 0
    med[ok] = bmed[idx[ok]]
    sig[ok] = bsig[idx[ok]]
    return med, sig


def fmt(value: float | None) -> str:
    """A number for evidence text: 4 significant digits, no exponent below 1e4 when avoidable."""
    if value is None or not np.isfinite(value):
        return str(value)
    a = abs(value)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return f"{value:.3g}"
    return f"{value:.4g}"


def figures(**values: float) -> dict[str, str]:
    """Evidence's numbers, each as `fmt` writes it, to fill a message: `.format(**figures(...))`."""
    return {name: fmt(value) for name, value in values.items()}
