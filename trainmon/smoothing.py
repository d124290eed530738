"""TensorBoard-style debiased exponential moving average, vectorised and incremental.

People read a noisy loss through TensorBoard's smoothing slider, so trainmon draws the same
curve: `last = last * w + (1 - w) * x`, divided by `1 - w^k` (k = finite points seen) so the
start of the run is not dragged towards zero. Non-finite values are skipped (they keep their
raw value and do not disturb the average), as TensorBoard does.

The recurrence is evaluated with a log-depth doubling scan in numpy instead of a Python loop
over every point, and `IncrementalEma` carries the state so that a live run only smooths what
was appended since the last redraw.
"""

from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

MAX_WEIGHT = 0.999
"""The largest weight accepted, as in TensorBoard's slider."""

_NEGLIGIBLE = 1e-18
"""Below this, `w^d` no longer changes a float64 sum: the doubling scan can stop."""


def clamp_weight(weight: float) -> float:
    """The weight limited to 0..0.999 (NaN counts as 0: no smoothing)."""
    if not math.isfinite(weight) or weight <= 0.0:
        return 0.0
    return min(float(weight), MAX_WEIGHT)


def _scan(b: FloatArray, w: float) -> FloatArray:
    """`y[t] = sum_{j<=t} w^(t-j) * b[j]`, in O(n log(1/(1-w))) vectorised work."""
    y = b.copy()
    n = len(y)
    d = 1
    factor = w
    while d < n and factor > _NEGLIGIBLE:
        # numpy buffers overlapping operands, so the right-hand side reads the old values.
        y[d:] += factor * y[:-d]
        d *= 2
        factor *= factor
    return y


def _decay_length(weight: float) -> int:
    """How many steps until `weight^i` is negligible next to 1."""
    return math.ceil(math.log(_NEGLIGIBLE) / math.log(weight)) + 1


def _ema_tail(
    values: FloatArray, weight: float, last: float, count: int
) -> tuple[FloatArray, float, int]:
    """Smooth `values` continuing from the state (last, count); return (out, last, count)."""
    out = values.astype(np.float64, copy=True)
    finite = np.isfinite(out)
    m = int(np.count_nonzero(finite))
    if m == 0:
        return out, last, count
    if weight == 0.0:
        return out, float(out[finite][-1]), count + m
    all_finite = m == len(out)
    x = out if all_finite else out[finite]
    acc = _scan((1.0 - weight) * x, weight)
    # w^i and 1 - w^(count+i) differ from 0 and 1 only over a prefix; computing them for
    # every point would be slow (underflow to subnormals) and pointless.
    span = min(m, _decay_length(weight))
    head = np.arange(1, span + 1, dtype=np.float64)
    if last != 0.0:
        acc[:span] += weight**head * last
    last_acc = float(acc[-1])
    debias = 1.0 - weight ** (count + head)
    acc[:span] /= debias
    if all_finite:
        out = acc
    else:
        out[finite] = acc
    return out, last_acc, count + m


def debiased_ema(values: FloatArray, weight: float) -> FloatArray:
    """The debiased EMA of `values` (a new array; non-finite positions keep their raw value).

    Args:
        values: the raw series, NaN/inf allowed.
        weight: 0..0.999; 0 returns a copy of the raw values.
    """
    out, _, _ = _ema_tail(np.asarray(values, dtype=np.float64), clamp_weight(weight), 0.0, 0)
    return out


class IncrementalEma:
    """A debiased EMA over a growing series: each `extend` smooths only the new points.

    The smoothed history is kept in an `array('d')`; `values_np()` returns a copy. A reader
    that summarised the oldest points can `forget` them: only the points from `start` on
    are then kept, and the state (last, count) still continues the average exactly.
    """

    __slots__ = ("_count", "_last", "_smoothed", "start", "weight")

    def __init__(self, weight: float) -> None:
        self.weight = clamp_weight(weight)
        self._smoothed: array[float] = array("d")
        self._last = 0.0
        self._count = 0
        self.start = 0
        """Index of the first point still kept (0 until `forget`)."""

    def __len__(self) -> int:
        """Points smoothed so far (kept or forgotten)."""
        return self.start + len(self._smoothed)

    def forget(self, before: int) -> None:
        """Drop the smoothed points before index `before` (no view may be alive)."""
        drop = min(before, len(self)) - self.start
        if drop > 0:
            del self._smoothed[:drop]
            self.start += drop

    @property
    def nbytes(self) -> int:
        """Bytes held by the kept points."""
        return self._smoothed.buffer_info()[1] * self._smoothed.itemsize

    def extend(self, new_values: FloatArray) -> None:
        """Smooth the points appended to the raw series since the previous call."""
        if not len(new_values):
            return
        out, self._last, self._count = _ema_tail(
            np.asarray(new_values, dtype=np.float64), self.weight, self._last, self._count
        )
        self._smoothed.frombytes(out.tobytes())

    def values_np(self) -> FloatArray:
        """The kept smoothed points (from `start` on), as a numpy copy."""
        return np.array(self._smoothed, dtype=np.float64)

    def view(self) -> FloatArray:
        """The kept smoothed points (from `start` on) without a copy.

        The view pins the buffer: drop it before the next `extend`, which would otherwise
        raise BufferError.
        """
        return np.frombuffer(self._smoothed, dtype=np.float64)
