"""A loss that jumps up and stays up: the update that broke the model, seen at once.

A hard batch makes a spike that is gone at the next record (`loss-spike`, info). An update
far too large (an LR jumped many-fold, gradients unclipped) knocks the model out of where it
was: the loss jumps and the next records stay far above the level before, falling back only
slowly if at all. The trend rules see that after a window of records (`loss-rising` compares
medians of 8 or more); this rule sees it at the second record after the jump, and names what
changed with it (the LR, the grad norm) when the log prints it. Candidate jumps are the loss
spikes the run's facts already hold (far outside the noise of the block before), so a noisy
loss that wanders up within its noise is left to the trend rules; and the first records after
the printed LR jumped many-fold, where the cause is in the log and a jump that a noisy loss
(a small batch, a fine-tune) hides in its noise is still the update that broke the model.
"""

from __future__ import annotations

import numpy as np

from trainmon.advice.base import GRAD, LOSS, LR, Facts, Hit, Rule, RuleInfo, View
from trainmon.advice.stats import fmt, median, middle
from trainmon.i18n import N_, _

BASE_RECORDS = 10
"""Records before the jump whose median is the level it jumped from."""
JUMP_RATIO = 1.5
"""The jump: the first record at least this many times the level before."""
STAY_RATIO = 1.3
"""The next records (and, while the finding holds, the newest ones) at least this far up."""
STAY_RECORDS = 2
"""Records after the jump that must stay up (a hard batch recovers at the next one)."""
LOOKBACK = 64
"""Newest loss records searched for a jump (the spike list is bounded as well)."""
CAUSE_RATIO = 3.0
"""An LR or grad norm this many times its value before the jump is named as what changed
(the LR may have changed one record earlier: the loss shows a new LR at the next record)."""
LR_FOLLOW_RECORDS = 4
"""Loss records after an LR jump of `CAUSE_RATIO` or more judged as candidate jumps."""

JUMP_EVIDENCE = N_("loss {level} → {jump} at step {step} (x{ratio:.1f}), {now} now")
CAUSE_EVIDENCE = N_("; {label} {before} → {value} by the jump")


class LossJump(Rule):
    """The loss jumped at least 1.5x over its level and the next records stayed 1.3x up."""

    info = RuleInfo("loss-jump", "dynamics", "warning", "loss jumped up and stays up")
    defers_to = frozenset({"loss-instability", "early-divergence", "loss-explosion"})

    def check(self, view: View, facts: Facts) -> Hit | None:
        n = view.count(LOSS)
        candidates = {pos for pos, _value, _base in facts.spike_positions}
        candidates.update(self._after_lr_jumps(view, n))
        for pos in sorted(candidates, reverse=True):
            if pos >= n:
                continue
            if pos < n - LOOKBACK or pos < BASE_RECORDS:
                break
            hit = self._judge(view, pos, n)
            if hit is not None:
                return hit
        return None

    @staticmethod
    def _after_lr_jumps(view: View, n: int) -> set[int]:
        """Loss positions in the first records after the LR rose `CAUSE_RATIO`-fold."""
        m = view.count(LR)
        if m < 3:
            return set()
        lo = max(0, m - LOOKBACK)
        lr = view.values(LR, lo, m)
        # two prints back, as `_causes` reads it: the loss shows a new LR one record later
        jumped = np.flatnonzero((lr[:-2] > 0) & (lr[2:] >= CAUSE_RATIO * lr[:-2])) + 2 + lo
        found: set[int] = set()
        for at in jumped.tolist():
            first = view.count_at(LOSS, view.record_of(LR, at))
            found.update(range(max(first, n - LOOKBACK), min(n, first + LR_FOLLOW_RECORDS)))
        return found

    def _judge(self, view: View, pos: int, n: int) -> Hit | None:
        if n - pos <= STAY_RECORDS:
            return None  # judged once the next records are in
        level = median(view.values(LOSS, pos - BASE_RECORDS, pos))
        after = view.values(LOSS, pos, pos + 1 + STAY_RECORDS)
        if not level > 0 or not float(after[0]) >= JUMP_RATIO * level:
            return None
        if not bool((after[1:] >= STAY_RATIO * level).all()):
            return None  # back down: a hard batch
        now = middle(view.tail(LOSS, 3))
        if not now >= STAY_RATIO * level:
            return None  # it has come back down since
        step = view.step_of(LOSS, pos)
        evidence = _(JUMP_EVIDENCE).format(
            level=fmt(level),
            jump=fmt(float(after[0])),
            step=step,
            ratio=float(after[0]) / level,
            now=fmt(now),
        )
        evidence += "".join(self._causes(view, pos))
        return Hit(
            "warning",
            step,
            _("Loss jumped up and stays up"),
            evidence,
            _(
                "One update knocked the model out of where it was: lower the LR (or undo the "
                "change that raised it), clip gradients (max_grad_norm 1.0), and resume from the "
                "checkpoint before the jump."
            ),
        )

    @staticmethod
    def _causes(view: View, pos: int) -> list[str]:
        """What jumped with the loss, from the series the log prints beside it."""
        record = view.record_of(LOSS, pos)
        found = []
        for name, label in ((LR, "LR"), (GRAD, "grad_norm")):
            at = view.count_at(name, record + 1)
            if at < 3 or at > view.count(name):
                continue
            # the LR is exact: its lowest in the prints before the last two (a new LR shows in
            # the loss one record later, or up to `LR_FOLLOW_RECORDS` later when the loss hid
            # it in its noise); a grad norm is noisy: the median of the values before
            before = (
                float(view.values(name, at - 2 - LR_FOLLOW_RECORDS, at - 2).min())
                if name == LR
                else median(view.values(name, at - 1 - BASE_RECORDS, at - 1))
            )
            value = float(view.values(name, at - 1, at)[0])
            if before > 0 and value >= CAUSE_RATIO * before:
                found.append(
                    _(CAUSE_EVIDENCE).format(label=label, before=fmt(before), value=fmt(value))
                )
        return found


LOSS_JUMP_RULES: tuple[type[Rule], ...] = (LossJump,)
