"""Plateau rules for the logs users actually hand over: excerpts that start mid-training.

A resumed run, or 5-20 lines pasted into a bug report, has no warm-up and no early fall to
compare against, so `not-learning` (20+ records after burn-in) and `flat-loss` (8+ records
over 100+ steps, warning) rarely see it. Two rules cover it:

- `frozen-loss`: the same loss printed on consecutive records at advancing steps. Mini-batch
  losses never repeat to three or more significant digits by chance, so this is strong
  evidence on its own (DeepDiagnosis's "identical losses": max - min of the last 5 is 0).
  Coarsely printed values (`0.0012`), and loggers that repeat a stale value between updates
  (they repeat in blocks earlier in the log too), are not taken as evidence.
- `short-plateau`: a mid-run excerpt (its first record is many logging intervals, or two
  epochs, into the run) whose loss has not improved over its records, after enough training
  (100+ steps or a whole epoch) that a learning run would have moved. Info: without the start
  of the run, a flat loss can also be where a run converges; a decaying LR says it is
  converging and keeps the rule quiet.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import numpy as np

from trainmon.advice.base import EPOCH, LOSS, LR, Facts, Hit, Rule, RuleInfo, View
from trainmon.advice.shorthistory import (
    SHORT_MAX,
    FlatExcerpt,
    short_losses,
    theil_sen_slope,
    trend_fields,
)
from trainmon.advice.stats import fmt, middle, safe_log
from trainmon.i18n import _

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

FROZEN_RECORDS = 5
"""Identical consecutive losses that count as frozen when earlier records kept changing."""
FROZEN_RECORDS_BARE = 8
"""The same when there are too few earlier records to show that the logger prints fresh values."""
FROZEN_LOOKBACK = 64
"""Newest points searched for the frozen stretch and the history before it (bounded cost)."""
FROZEN_SCAN_LIMIT = 1024
"""How far back a frozen stretch that fills the whole lookback is followed, to find the values
printed before it (bounded cost)."""
FROZEN_RESOLUTION = 0.01
"""Largest printed resolution (last digit / value) at which repeats are evidence, not rounding."""
REPEAT_SHARE = 0.2
"""Earlier consecutive repeats at or above this share mean the logger repeats values anyway."""

PLATEAU_MIN = 5
"""Fewest records a mid-run plateau verdict is based on."""
MIDRUN_INTERVALS = 5
"""A first record at least this many logging intervals into the run marks a mid-run excerpt."""
MIDRUN_EPOCH = 2.0
"""A first record at this epoch or later marks a mid-run excerpt (0- or 1-based counters)."""
TRAINED_STEPS = 100
"""Optimizer steps the excerpt must span for a learning run to be expected to move."""
TRAINED_EPOCHS = 1.0
"""Or epochs: logs with one record per epoch count epochs, not steps."""
PLATEAU_CHANGE = 0.02
"""Largest fitted relative fall over the excerpt that still counts as not improving."""
HIDDEN_FALL = 0.04
"""Fitted fall (if any) plus one standard error must stay below this: in a noisy excerpt a
fall of this size could hide, so it cannot be called a plateau."""
NEW_LOW_MARGIN = 0.01
"""The newest records must not beat the earlier best by this much (or 2 noise units)."""


def print_resolution(value: float) -> float:
    """The last printed digit's weight relative to the value (0.01 for 3.71, 0.1 for 3.0).

    The shortest repr of a parsed float has the printed digits minus trailing zeros, so this
    can only overstate the resolution: it errs towards "coarse", never towards "precise".
    """
    try:
        exponent = Decimal(repr(value)).normalize().as_tuple().exponent
    except InvalidOperation:
        return math.inf
    if not isinstance(exponent, int) or value == 0:
        return math.inf
    return float(10.0**exponent) / abs(value)


def frozen_run(values: FloatArray) -> int:
    """How many of the newest values equal the newest one."""
    if not len(values):
        return 0
    differs = np.flatnonzero(values != values[-1])
    return len(values) if not len(differs) else len(values) - 1 - int(differs[-1])


def frozen_stretch(view: View, n: int, run: int) -> tuple[int, FloatArray]:
    """The whole frozen stretch that ends at record `n` and the values printed before it.

    `run` identical values fill (nearly) all of the lookback window, and the stretch may begin
    further back: it is followed back at most `FROZEN_SCAN_LIMIT` records. Returns its length
    and up to `FROZEN_LOOKBACK` values before it. A slowly moving loss printed with few digits
    is a staircase of such stretches, and only the stair before shows it.
    """
    value = view.values(LOSS, n - 1, n)[0]
    start = n - run
    limit = max(0, n - FROZEN_SCAN_LIMIT)
    while start > limit:
        lo = max(limit, start - FROZEN_LOOKBACK)
        chunk = view.values(LOSS, lo, start)
        same = frozen_run(chunk) if chunk[-1] == value else 0
        start -= same
        if same < len(chunk):
            break
    return n - start, view.values(LOSS, max(0, start - FROZEN_LOOKBACK), start)


def repeat_share(values: FloatArray) -> float:
    """Share of consecutive pairs that are equal."""
    if len(values) < 2:
        return 0.0
    return float(np.mean(values[1:] == values[:-1]))


class FrozenLoss(Rule):
    """The same loss printed on consecutive records at advancing steps: nothing changes."""

    info = RuleInfo("frozen-loss", "plateau", "warning", "identical loss on consecutive records")
    persist = 1  # the run of identical records is the persistence

    def check(self, view: View, facts: Facts) -> Hit | None:
        n = view.count(LOSS)
        if n < FROZEN_RECORDS:
            return None
        lo = max(0, n - FROZEN_LOOKBACK)
        values = view.values(LOSS, lo, n)
        run = frozen_run(values)
        value = float(values[-1])
        if run < FROZEN_RECORDS or not math.isfinite(value) or value <= 0:
            return None  # zero and negative losses have their own rules
        if print_resolution(value) > FROZEN_RESOLUTION:
            return None  # `0.0012` printed to 4 decimals repeats by rounding
        before = values[: len(values) - run]
        if len(before) < 4 and lo > 0:  # the stretch (nearly) fills the window: look further
            run, before = frozen_stretch(view, n, run)
        if len(before) < 4:
            if run < FROZEN_RECORDS_BARE:
                return None  # nothing shows that this logger ever printed a fresh value
        elif repeat_share(before) >= REPEAT_SHARE:
            return None  # it repeats values anyway (a stale progress-bar postfix)
        steps = view.steps(LOSS, n - run, n)
        if not bool(np.all(np.diff(steps) > 0)):
            return None  # redraws of one step, or duplicated lines, not training steps
        if FlatExcerpt().check(view, facts) is not None:
            return None  # flat-loss already says "identical values: frozen"
        first, last = int(steps[0]), int(steps[-1])
        lr = view.last(LR)
        at = "; " + _("LR {value}").format(value=fmt(lr)) if lr is not None else ""
        return Hit(
            "warning",
            first,
            _("Loss is frozen (identical values)"),
            _("loss {value} on {count} consecutive records (steps {first}-{last})").format(
                value=fmt(value), count=run, first=first, last=last
            )
            + at,
            _(
                "No update is reaching the model, or the log shows a stale value: check that "
                "optimizer.step() runs, parameters have requires_grad, the loss is not "
                "detached or read from a cached tensor, the LR is not 0, and that the logged "
                "loss is this step's."
            ),
        )


def midrun_start(view: View, n: int) -> str | None:
    """Why the excerpt starts mid-training (None when it may be the run's start)."""
    epoch = view.last_before(EPOCH, view.record_of(LOSS, 0) + 1)
    if epoch is not None and epoch >= MIDRUN_EPOCH:
        return _("starts at epoch {epoch}").format(epoch=fmt(epoch))
    steps = view.steps(LOSS, 0, n)
    gaps = np.diff(steps)
    gap = middle(gaps) if len(gaps) else 0.0
    if gap > 0 and steps[0] >= MIDRUN_INTERVALS * gap:
        return _("starts at step {step}, {count} logging intervals in").format(
            step=int(steps[0]), count=int(steps[0] / gap)
        )
    return None


def trained_span(view: View, n: int) -> str | None:
    """The training the excerpt spans, when it is enough to expect a learning loss to move."""
    first, last = view.step_of(LOSS, 0), view.step_of(LOSS, n - 1)
    if last - first >= TRAINED_STEPS:
        return _("steps {first}-{last}").format(first=first, last=last)
    e0 = view.last_before(EPOCH, view.record_of(LOSS, 0) + 1)
    e1 = view.last_before(EPOCH, view.record_of(LOSS, n - 1) + 1)
    if e0 is not None and e1 is not None and e1 - e0 >= TRAINED_EPOCHS:
        return _("epochs {first}-{last}").format(first=fmt(e0), last=fmt(e1))
    return None


def residual_sigma(logs: FloatArray, slope: float) -> float:
    """Spread of the points around the fitted line (n - 2 degrees of freedom).

    Not the MAD of successive differences: with 4-18 differences a MAD swings by a factor of
    two either way, and an underestimate would call a noisy, falling excerpt flat.
    """
    k = np.arange(len(logs), dtype=np.float64)
    resid = logs - slope * k
    resid -= middle(resid)
    return float(np.sqrt(np.sum(resid**2) / max(1, len(logs) - 2)))


class ShortPlateau(Rule):
    """A mid-run excerpt whose loss has not improved over 5-19 records of real training."""

    info = RuleInfo("short-plateau", "plateau", "info", "mid-run excerpt: loss not improving")
    persist = 1  # the 5-record minimum is the persistence

    def check(self, view: View, facts: Facts) -> Hit | None:
        values = short_losses(view, PLATEAU_MIN, SHORT_MAX)
        if values is None:
            return None
        n = len(values)
        where = midrun_start(view, n)
        span = trained_span(view, n)
        if where is None or span is None:
            return None
        logs = safe_log(values)
        slope = theil_sen_slope(logs)
        change = slope * (n - 1)
        noise = residual_sigma(logs, slope)
        stderr = noise * math.sqrt(12.0 / n)  # of a fitted change over n evenly spaced records
        if change < -PLATEAU_CHANGE or max(0.0, -change) + stderr >= HIDDEN_FALL:
            return None
        recent = min(3, n // 2)
        earlier_best = float(values[:-recent].min())
        recent_best = float(values[-recent:].min())
        margin = max(NEW_LOW_MARGIN, 2 * noise)
        if recent_best < earlier_best * math.exp(-margin):
            return None  # a new low just now: it may be breaking out
        if FlatExcerpt().check(view, facts) is not None:
            return None  # flat-loss warns about the same records
        lr = view.last(LR)
        lr_text = "; " + _("LR {value}").format(value=fmt(lr)) if lr is not None else ""
        return Hit(
            "info",
            view.step_of(LOSS, 0),
            _("Loss is not improving (the log starts mid-run)"),
            _(
                "loss {first} → {last} over {count} records, {span} (fitted change "
                "{change:+.1%}, noise {noise:.1%} per record); best {best}; the log {where}"
            ).format(
                **trend_fields(values, change, noise),
                span=span,
                best=fmt(min(earlier_best, recent_best)),
                where=where,
            )
            + lr_text,
            _(
                "If the loss has sat here for a while at this LR, decay the LR "
                "(ReduceLROnPlateau: factor 0.1-0.5) or lower it 2-10x; if it stalled at a "
                "high value since the start, check data, labels and that parameters are "
                "trainable; if the run has converged, keep the best checkpoint and stop."
            ),
        )


PLATEAU_RULES: tuple[type[Rule], ...] = (FrozenLoss, ShortPlateau)
