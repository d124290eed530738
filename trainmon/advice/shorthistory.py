"""Rules for the first records of a run, before the windowed trend rules have enough history.

`not-learning` and `loss-rising` need 20+ records after burn-in. Short excerpts and runs that
go wrong right after warm-up never get there. These two rules look at the few records there
are, with conditions strict enough that a healthy start (a falling loss, or a noisy one) stays
quiet: a flat excerpt must be flat relative to its own noise, and a divergence must be a large,
sustained rise above the lowest level the run has reached.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from trainmon.advice.base import LOSS, LR, Facts, Hit, Rule, RuleInfo, View
from trainmon.advice.stats import fmt, middle, robust_sigma, safe_log
from trainmon.i18n import _

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

SHORT_MIN = 8
"""Fewest records a flat-loss verdict is based on."""
SHORT_MAX = 20
"""From here on `not-learning` has enough history and takes over."""
FLAT_STEPS = 100
"""Fewest optimizer steps the window must span: over a few steps no loss is expected to move."""
FLAT_SHARE = 0.05
"""Smallest share of a planned run the window must span: the first records of a long
fine-tune (a pre-trained model starts near its floor) say nothing of a stall; `not-learning`
judges it once it has history."""
FLAT_CHANGE = 0.02
"""Largest fitted relative change over the window that still counts as flat."""
FLAT_NOISE = 0.03
"""Largest record-to-record noise (log units) of a flat excerpt: a noisy loss hides trends."""
LR_DECAYED = 0.5
"""An LR that fell under this share of its window-start value: a schedule's end, where a flat
loss is convergence (the tail of a cosine or linear decay), not a stall."""
RISE_RATIO = 2.0
"""Smoothed loss this many times above its running minimum is a divergence."""
RISE_RECORDS = 3
"""Consecutive smoothed records above the limit before it counts (one bad batch is a spike)."""
RETURN_RATIO = 1.3
"""A rise back above the starting loss counts once it is this many times above the low."""
LR_JUMP = 5.0
"""An LR this many times above its value at the loss low explains a rise near a low loss."""
RISE_HORIZON = 40
"""Records after burn-in during which the early divergence check runs (then loss-rising)."""


def theil_sen_slope(y: FloatArray) -> float:
    """Median of pairwise slopes per record: a trend that one outlier cannot bend."""
    n = len(y)
    i, j = np.triu_indices(n, k=1)
    return middle((y[j] - y[i]) / (j - i))


def median3(values: FloatArray) -> FloatArray:
    """Causal median of the newest three points (two, one at the very start)."""
    out = values.astype(np.float64, copy=True)
    if len(values) >= 2:
        out[1] = 0.5 * (values[0] + values[1])
    if len(values) >= 3:
        stacked = np.stack([values[:-2], values[1:-1], values[2:]])
        out[2:] = np.median(stacked, axis=0)
    return out


def held_level(values: FloatArray) -> FloatArray:
    """Causal median of the newest five points (`median3` for the first four): a level the
    run held. A classifier's batch loss on noisy labels dips for a record or two far below
    its level (0.17 among 0.3s); the running minimum of a three-point median still finds
    such a dip, and a return to the level would read as a doubling."""
    out = median3(values)
    if len(values) >= 5:
        n = len(values)
        stacked = np.stack([values[k : n - 4 + k] for k in range(5)])
        out[4:] = np.sort(stacked, axis=0)[2]
    return out


def _lr_ends(view: View, lo: int, hi: int) -> tuple[float, float] | None:
    """The LR in force at the loss positions lo and hi - 1, when the log prints one."""
    if not view.count(LR):
        return None
    first = view.last_before(LR, view.record_of(LOSS, lo) + 1)
    last = view.last_before(LR, view.record_of(LOSS, hi - 1) + 1)
    if first is None or last is None:
        return None
    return first, last


def lr_rising(view: View, lo: int, hi: int) -> bool:
    """Whether the LR rose over the loss positions [lo, hi) (warm-up: flat loss is normal)."""
    ends = _lr_ends(view, lo, hi)
    return ends is not None and ends[1] > 1.01 * ends[0]


def lr_decayed(view: View, lo: int, hi: int) -> bool:
    """Whether the LR fell under half its value over the loss positions [lo, hi)."""
    ends = _lr_ends(view, lo, hi)
    return ends is not None and ends[0] > 0 and ends[1] < LR_DECAYED * ends[0]


def short_losses(view: View, least: int, most: int) -> FloatArray | None:
    """The losses of a history of `least` to `most - 1` records that a flatness rule may
    judge: all finite and positive, not in warm-up or at the end of a decay (a flat loss is
    normal there), and the LR not zero (lr-zero-early's finding). None otherwise."""
    n = view.count(LOSS)
    if not least <= n < most:
        return None
    values = view.values(LOSS, 0, n)
    if not bool(np.all(np.isfinite(values))) or float(values.min()) <= 0:
        return None
    if lr_rising(view, 0, n) or lr_decayed(view, 0, n):
        return None
    lr = view.last(LR)
    if lr is not None and lr <= 0:
        return None
    return values


def trend_fields(values: FloatArray, change: float, noise: float) -> dict[str, object]:
    """The placeholders every fitted loss trend's evidence fills the same way: the first and
    last loss, the record count, the fitted change and the noise per record."""
    return {
        "first": fmt(float(values[0])),
        "last": fmt(float(values[-1])),
        "count": len(values),
        "change": change,
        "noise": noise,
    }


class FlatExcerpt(Rule):
    """L6 for short histories: a loss that sits flat, well inside its noise, for 8+ records."""

    info = RuleInfo("flat-loss", "plateau", "warning", "loss flat from the first records")
    persist = 1  # the 8-record minimum is the persistence

    def check(self, view: View, facts: Facts) -> Hit | None:
        values = short_losses(view, SHORT_MIN, SHORT_MAX)
        if values is None:
            return None
        n = len(values)
        span = view.step_of(LOSS, n - 1) - view.step_of(LOSS, 0)
        planned = facts.planned()
        if span < FLAT_STEPS or (planned and span < FLAT_SHARE * planned):
            return None
        logs = safe_log(values)
        change = theil_sen_slope(logs) * (n - 1)
        noise = robust_sigma(np.diff(logs)) / math.sqrt(2)
        if abs(change) >= FLAT_CHANGE or noise >= FLAT_NOISE:
            return None
        # the trend must also be small against the noise: a slow steady fall is learning
        if change < 0 and -change > noise:
            return None
        step = view.step_of(LOSS, 0)
        frozen = float(np.ptp(values[-5:])) == 0.0
        return Hit(
            "warning",
            step,
            _("Loss is flat (identical values: frozen)") if frozen else _("Loss is flat"),
            _(
                "loss {first} → {last} over {count} records (fitted change {change:+.1%}, "
                "noise {noise:.1%} per record)"
            ).format(**trend_fields(values, change, noise)),
            _(
                "A loss that does not move at all is not learning: check that parameters are "
                "trainable, the LR is not tiny, and the loss is computed from this batch's "
                "outputs."
            ),
        )


class EarlyDivergence(Rule):
    """L5 before the halves test can run: the smoothed loss doubles over its running minimum."""

    info = RuleInfo("early-divergence", "dynamics", "warning", "loss climbed far above its low")
    persist = 1

    def check(self, view: View, facts: Facts) -> Hit | None:
        n = view.count(LOSS)
        if n < 5:
            return None
        if facts.burn_in_pos is not None and n > facts.burn_in_pos + RISE_HORIZON:
            return None
        lo = max(0, n - 2 * RISE_HORIZON - 40)
        values = view.values(LOSS, lo, n)
        if not bool(np.all(np.isfinite(values))) or float(values.min()) <= 0:
            return None
        smooth = median3(values)
        held = held_level(values)
        low = np.minimum.accumulate(held)
        # where the run started: climbing back above it undoes all training so far
        begin = middle(view.values(LOSS, 0, 3))
        low_pos = lo + int(np.argmin(held))
        lr_low = view.last_before(LR, view.record_of(LOSS, low_pos) + 1)
        lr_now = view.last(LR)
        jumped = lr_low is not None and lr_now is not None and lr_now >= LR_JUMP * lr_low > 0
        floor = max(0.05, 0.02 * float(low[-1]))
        # a doubling far below the start can be noise near a low loss (Whisper at 0.08): it
        # counts when the loss is back near its start, or when the LR jumped since the low
        doubled = (smooth > RISE_RATIO * low) & ((smooth > 0.5 * begin) | jumped)
        undone = (smooth > RETURN_RATIO * low) & (smooth > begin)
        above = (smooth - low > floor) & (doubled | undone)
        if len(above) < RISE_RECORDS or not bool(np.all(above[-RISE_RECORDS:])):
            return None
        start = len(above) - 1
        while start > 0 and above[start - 1]:
            start -= 1
        step = view.step_of(LOSS, lo + start)
        lr = view.last(LR)
        where = "; " + _("LR {value}").format(value=fmt(lr)) if lr is not None else ""
        return Hit(
            "warning",
            step,
            _("Loss has climbed far above its lowest level"),
            _("smoothed loss {low} → {now} (x{ratio:.1f}) since step {step}").format(
                low=fmt(float(low[-1])),
                now=fmt(float(smooth[-1])),
                ratio=smooth[-1] / low[-1],
                step=step,
            )
            + where,
            _(
                "The LR is likely too high (or jumped): lower it ~2-10x or restart from a "
                "checkpoint before the rise with a longer warm-up."
            ),
        )


SHORT_HISTORY_RULES: tuple[type[Rule], ...] = (FlatExcerpt, EarlyDivergence)
