"""Learning-rate schedule rules: LR at ~0 long before the end, LR jumping up after warm-up,
and a missing warm-up when training is unstable early.

Warm-up followed by decay is the normal shape and never alerts: it is recognised in
`Facts.schedule` and shown as a status line instead.
"""

from __future__ import annotations

import numpy as np

from trainmon.advice.base import LR, Facts, Hit, Rule, RuleInfo, View
from trainmon.advice.stats import fmt
from trainmon.i18n import _

ZERO_FRACTION = 1e-3


class LrZeroEarly(Rule):
    info = RuleInfo("lr-zero-early", "schedule", "warning", "LR reaches ~0 long before the end")
    persist = 1
    clear = 2

    def __init__(self) -> None:
        self.zero_since: int | None = None
        self.seen = 0

    def check(self, view: View, facts: Facts) -> Hit | None:
        n = view.count(LR)
        if facts.warmup_end_pos is None or facts.peak_lr <= 0:
            return None
        start = max(self.seen, facts.warmup_end_pos + 1)
        values = view.values(LR, start, n)
        tiny = values < ZERO_FRACTION * facts.peak_lr
        if len(values):
            clean = np.flatnonzero(~tiny)
            if len(clean):
                last = int(clean[-1])
                self.zero_since = start + last + 1 if last + 1 < len(values) else None
            elif self.zero_since is None:
                self.zero_since = start
        self.seen = max(self.seen, n)
        if self.zero_since is None or n - self.zero_since < 3:
            return None
        zero_step = view.step_of(LR, self.zero_since)
        planned = facts.planned()
        now = view.step
        if planned:
            if zero_step >= 0.95 * planned:
                return None
            where = _("{share:.0%} into a {planned}-step run").format(
                share=zero_step / planned, planned=planned
            )
        else:
            if n - self.zero_since < 10 or now - zero_step < 0.2 * max(now, 1):
                return None
            where = _("and has stayed there for {count} steps").format(count=now - zero_step)
        return Hit(
            "warning",
            zero_step,
            _("Learning rate is ~0 long before the end: the rest of the run will not learn"),
            _("LR {value} (peak {peak}) since step {step}, {where}").format(
                value=fmt(float(values[-1]) if len(values) else 0.0),
                peak=fmt(facts.peak_lr),
                step=zero_step,
                where=where,
            ),
            _(
                "The scheduler's num_training_steps/max_steps is too small, or the scheduler "
                "is stepped every micro-batch with gradient accumulation (decays k times too "
                "fast)."
            ),
        )


SETTLED = 3
"""A rise counts as a jump only after the LR held or fell over this many records: a ramp (a
warm-up the log joined in the middle, a run appended after another) rises record after record."""


class LrJump(Rule):
    info = RuleInfo("lr-jump", "schedule", "warning", "LR jumps up after warm-up")
    clear = 8

    def __init__(self) -> None:
        self.seen = 0
        self.jumps = 0

    def check(self, view: View, facts: Facts) -> Hit | None:
        n = view.count(LR)
        if facts.warmup_end_pos is None:
            return None
        start = max(self.seen, facts.warmup_end_pos + 2)
        self.seen = max(self.seen, n)
        if start >= n:
            return None
        lo = max(0, start - 1 - SETTLED)
        values = view.values(LR, lo, n)
        prev, cur = values[:-1], values[1:]
        held = np.concatenate(([0], np.cumsum(cur <= 1.001 * prev)))
        settled = np.zeros(len(cur), dtype=bool)  # the SETTLED transitions before held
        settled[SETTLED:] = held[SETTLED:-1] - held[: -1 - SETTLED] == SETTLED
        new = np.arange(len(cur)) >= start - 1 - lo
        jumped = np.flatnonzero(new & settled & (prev > 0) & (cur > 1.05 * prev))
        if not len(jumped):
            return None
        self.jumps += len(jumped)
        if self.jumps > 2:
            return None  # cyclic / restart schedule: by design
        k = int(jumped[0])
        step = view.step_of(LR, lo + 1 + k)
        return Hit(
            "warning",
            step,
            _("Learning rate jumped up after warm-up"),
            _("LR {before} → {after} at step {step} (x{ratio:.1f})").format(
                before=fmt(float(prev[k])),
                after=fmt(float(cur[k])),
                step=step,
                ratio=cur[k] / prev[k],
            ),
            _(
                "Often right after a resume: the scheduler state was not restored or is "
                "replayed at the wrong rate. Expect a loss bump; check the resume code."
            ),
        )


class NoWarmupInstability(Rule):
    info = RuleInfo(
        "no-warmup-instability", "schedule", "warning", "no warm-up and unstable early training"
    )
    suppressed_by_numerics = False
    clear = 10**9

    def check(self, view: View, facts: Facts) -> Hit | None:
        if facts.warmup_end_pos is None or facts.has_warmup or facts.first_lr is None:
            return None
        if facts.first_lr < 0.9 * facts.peak_lr:
            return None
        planned = facts.planned()
        horizon = 0.1 * planned if planned else None
        n_loss = view.count("loss")
        early_spikes = [
            s
            for s in facts.spike_positions
            if s[0] < n_loss
            and (s[0] < 60 if horizon is None else view.step_of("loss", s[0]) <= horizon)
        ]
        cause = ""
        step = facts.early_unstable_step
        if step is not None:
            cause = _("loss swinging wildly")
        elif len(early_spikes) >= 2:
            cause = _("{count} loss spikes").format(count=len(early_spikes))
            step = view.step_of("loss", early_spikes[0][0])
        else:
            return None
        return Hit(
            "warning",
            step,
            _("Training starts at full LR without warm-up and is unstable early"),
            _("first LR {first} = peak {peak}; {cause} from step {step}").format(
                first=fmt(facts.first_lr), peak=fmt(facts.peak_lr), cause=cause, step=step
            ),
            _("Add a warm-up lasting 1-5% (at most 10%) of the steps."),
        )


SCHEDULE_RULES: tuple[type[Rule], ...] = (LrZeroEarly, LrJump, NoWarmupInstability)
