"""The learning rate's value against what the run is: two rules that need no trend.

A practitioner reads the printed LR before any curve: AdamW at 0.05 on a transformer, or a
language model trained from scratch at 1e-6, is a config slip visible in the first records,
long before a plateau or a divergence shows in the loss. The usual ranges are wide (six
orders of magnitude between SGD on a CNN and AdamW on a large model), so each rule speaks only
where the log says what the range is:

- `lr-too-high`: the log comes from a trainer whose optimizer is AdamW unless the script
  chose another (the Hugging Face Trainer, nanoGPT), and the LR is far above anything a
  transformer trains at under Adam.
- `lr-too-low`: a language model trained from scratch (its first loss near ln(vocab), which a
  pretrained model never starts at) whose loss has not moved while the LR stayed far under
  any pretraining LR. A fine-tune may rightly run at 1e-6 (preference tuning goes lower), so a
  classifier, whose first loss is near ln(classes) fine-tuned or not, is left to the plateau
  rules.
"""

from __future__ import annotations

import math

import numpy as np

from trainmon.advice.base import LOSS, LR, Facts, Hit, Rule, RuleInfo, View
from trainmon.advice.stats import figures, middle
from trainmon.i18n import _

ADAM_FORMATS = frozenset({"hf-trainer", "trainer-state", "nanogpt"})
"""Log formats of trainers whose optimizer is AdamW unless the script picked another."""
LR_TOO_HIGH = 3e-2
"""An AdamW LR at or above this is far above the 1e-5 to 3e-3 transformers train at (T5's
Adafactor pretraining, one of the highest in use, runs at 1e-2)."""
HIGH_RECORDS = 2
"""Consecutive LR records at or above the limit (one odd print is not the run's LR)."""

LR_TOO_LOW = 3e-6
"""From scratch, an LR that never rose above this cannot train: pretraining LRs under AdamW are
1e-4 to 1e-3, and even the largest models use 6e-5 or more."""
FROM_SCRATCH = 0.8
"""A first loss at or above this share of ln(vocab): the model starts from random weights."""
LOW_MIN_RECORDS = 5
"""Fewest loss records the verdict rests on."""
LOW_MIN_STEPS = 20
"""Fewest optimizer steps they must span (a model learning from scratch has clearly moved by
then: see the real runs in bench/README.md)."""
UNMOVED = 0.05
"""Largest fall of the loss from its first records that still counts as not moving."""


class LrTooHigh(Rule):
    """AdamW (the trainer's default) at an LR far above any transformer's."""

    info = RuleInfo("lr-too-high", "schedule", "warning", "LR far above the usual range for AdamW")
    clear = 3

    def __init__(self) -> None:
        self.seen = 0
        self.high_since: int | None = None
        """Position where the newest stretch of LR values at or above the limit began."""

    def check(self, view: View, facts: Facts) -> Hit | None:
        log_format = facts.ctx.log_format
        if log_format not in ADAM_FORMATS:
            return None
        n = view.count(LR)
        if n > self.seen:  # new points only: the cost stays bounded on long logs
            values = view.values(LR, self.seen, n)
            below = np.flatnonzero(~(values >= LR_TOO_HIGH))
            if len(below):
                self.high_since = self.seen + int(below[-1]) + 1
            elif self.high_since is None:
                self.high_since = self.seen
            self.seen = n
        if self.high_since is None or n - self.high_since < HIGH_RECORDS:
            return None
        step = view.step_of(LR, self.high_since)
        newest = float(view.values(LR, n - 1, n)[0])
        trainer = "nanoGPT" if log_format == "nanogpt" else _("the Hugging Face Trainer")
        return Hit(
            "warning",
            step,
            _("Learning rate is far above the usual range for AdamW"),
            _(
                "LR {lr} since step {step} (peak so far {peak}); {trainer} uses AdamW unless the "
                "script chose another optimizer, and transformers train at 1e-5 to 3e-3 under it"
            ).format(**figures(lr=newest, peak=facts.peak_lr), step=step, trainer=trainer),
            _(
                "Expect a loss that collapses to a constant prediction or diverges: lower the LR "
                "10-100x (1e-4 to 1e-3 from scratch, 1e-5 to 1e-4 to fine-tune) and check for a "
                "unit slip or a scaled LR (by batch size or world size) scaled twice."
            ),
        )


class LrTooLow(Rule):
    """A language model from scratch, its loss unmoved, at an LR no pretraining uses."""

    info = RuleInfo("lr-too-low", "schedule", "warning", "LR far too low to train from scratch")
    persist = 1  # the 5 records over 20 steps are the persistence
    clear = 3

    def check(self, view: View, facts: Facts) -> Hit | None:
        ctx = facts.ctx
        vocab = ctx.vocab_size
        if ctx.num_classes or not vocab or vocab < 2:
            return None  # a classifier starts at ln(classes) fine-tuned or not
        first, init = facts.loss_first, facts.loss_init
        if first is None or init is None or not math.isfinite(init):
            return None  # unknown, or the log starts after the run's start
        ln_vocab = math.log(vocab)
        if not first >= FROM_SCRATCH * ln_vocab:
            return None
        peak = facts.peak_lr
        if not 0 < peak <= LR_TOO_LOW:
            return None
        n = view.count(LOSS)
        if n < LOW_MIN_RECORDS:
            return None
        lo, hi = view.step_of(LOSS, 0), view.step_of(LOSS, n - 1)
        if hi - lo < LOW_MIN_STEPS:
            return None
        start = middle(view.values(LOSS, 0, 3))
        now = middle(view.tail(LOSS, 3))
        if not (math.isfinite(start) and math.isfinite(now) and now > (1 - UNMOVED) * start):
            return None
        return Hit(
            "warning",
            lo,
            _("Learning rate is far too low to train from scratch"),
            _(
                "loss {start} → {now} over steps {lo}-{hi}, from ln(vocab {vocab}) = {ln}: not "
                "moving; LR at most {peak} so far"
            ).format(
                **figures(start=start, now=now, ln=ln_vocab, peak=peak), lo=lo, hi=hi, vocab=vocab
            ),
            _(
                "A model trained from random weights needs 1e-4 to 1e-3 under AdamW (the largest "
                "models 6e-5 or more): raise the LR 100-1000x, and check for a unit slip (1e-6 "
                "for 1e-3) or an LR scaled down twice. If a warm-up of thousands of steps is "
                "still ramping it up, this clears once the loss starts to fall."
            ),
        )


LR_RANGE_RULES: tuple[type[Rule], ...] = (LrTooHigh, LrTooLow)
