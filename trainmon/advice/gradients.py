"""Gradient-norm rules: spikes (with or without a loss response), upward drift, clipping on
most steps, collapse, and absurd absolute values.

Absolute grad norms vary by six orders of magnitude between healthy runs, so everything here
is relative to the run's own median, except the clipping rule, which compares against the
clip threshold itself.
"""

from __future__ import annotations

import math

import numpy as np

from trainmon.advice.base import GRAD, LOSS, LR, Facts, Hit, Rule, RuleInfo, View
from trainmon.advice.dynamics import halves, improvement
from trainmon.advice.stats import block_baseline, fmt, median, middle, robust_sigma
from trainmon.i18n import _

WINDOW = 50
FOLLOW = 5


class GradSpike(Rule):
    info = RuleInfo(
        "grad-spike", "gradients", "info", "grad-norm spike (warning if the loss follows)"
    )
    clear = 4

    def __init__(self) -> None:
        self.seen = 0

    def check(self, view: View, facts: Facts) -> Hit | None:
        n = view.count(GRAD)
        if facts.burn_in_pos is None or (facts.warmup_end_pos is None and view.count(LR)):
            return None
        ready = n - FOLLOW  # a spike is judged once the next records are in
        start = max(self.seen, WINDOW)
        if ready <= start:
            return None
        self.seen = ready
        lo = (start // WINDOW - 1) * WINDOW
        values = view.values(GRAD, lo, ready)
        med_all, dev_all = block_baseline(values, WINDOW)
        new = values[start - lo :]
        med = med_all[start - lo :]
        dev = dev_all[start - lo :]
        spikes = np.flatnonzero((new > 10 * med) & (new > med + 10 * dev) & np.isfinite(new))
        if not len(spikes):
            return None
        k = int(spikes[np.argmax(new[spikes] / med[spikes])])
        pos = start + k
        step = view.step_of(GRAD, pos)
        ratio = float(new[k] / med[k])
        response = self._loss_response(view, pos, facts)
        evidence = _("grad_norm {value} at step {step} (x{ratio:.0f} the median)").format(
            value=fmt(float(new[k])), step=step, ratio=ratio
        )
        if response:
            return Hit(
                "warning",
                step,
                _("Gradient spike followed by a loss spike"),
                f"{evidence}; {response}",
                _(
                    "The update was too large: lower the LR or clip near the 90th-percentile "
                    "grad norm; if it repeats, see loss-instability."
                ),
            )
        return Hit(
            "info",
            step,
            _("Gradient spike absorbed (loss unaffected)"),
            evidence + "; " + _("loss stayed normal"),
            _("No action needed unless spikes repeat or the loss starts reacting."),
        )

    @staticmethod
    def _loss_response(view: View, grad_pos: int, facts: Facts) -> str:
        record = view.record_of(GRAD, grad_pos)
        i = min(view.count_at(LOSS, record), view.count(LOSS))
        before = view.values(LOSS, i - 20, i)
        after = view.values(LOSS, i, i + FOLLOW + 1)
        base = median(before)
        if not (len(after) and math.isfinite(base)):
            return ""
        top = (
            float(np.nanmax(np.where(np.isfinite(after), after, np.nan)))
            if np.isfinite(after).any()
            else float("nan")
        )
        floor = max(0.05, 0.02 * (facts.loss0 or 0.0))
        if not np.isfinite(after).all() or (top > 1.5 * base and top - base > floor):
            return _("loss {before} → {after} within {count} records").format(
                before=fmt(base), after=fmt(top), count=FOLLOW
            )
        return ""


class GradDrift(Rule):
    info = RuleInfo("grad-drift", "gradients", "warning", "grad norm drifting upward")
    persist = 3

    def __init__(self) -> None:
        self.min_median = math.inf

    def check(self, view: View, facts: Facts) -> Hit | None:
        if facts.burn_in_pos is None or view.count(GRAD) < 20:
            return None
        start = view.count_at(GRAD, view.record_of(LOSS, facts.burn_in_pos))
        recent = median(view.tail(GRAD, 10))
        if view.count(GRAD) - start >= 10 and math.isfinite(recent) and recent > 0:
            self.min_median = min(self.min_median, recent)
        a, b, b_start = halves(view, facts, GRAD, start)
        if len(a) < 5 or len(b) < 5:
            return None
        med_a, med_b = math.exp(middle(a)), math.exp(middle(b))
        from trainmon.advice.stats import frac_greater

        if frac_greater(b, a) <= 0.85 or med_b <= 1.15 * med_a or recent <= 5 * self.min_median:
            return None
        step = view.step_of(GRAD, b_start)
        return Hit(
            "warning",
            step,
            _("Gradient norm has grown x{ratio:.0f}").format(ratio=recent / self.min_median),
            _(
                "grad_norm median {before} → {after} since step {step}; lowest running "
                "median {lowest}"
            ).format(before=fmt(med_a), after=fmt(med_b), step=step, lowest=fmt(self.min_median)),
            _(
                "Growing norms often precede divergence: lower the LR, check that weight decay "
                "is applied; for transformers consider qk-layernorm or z-loss."
            ),
        )


class GradClipping(Rule):
    """A fact about the run, so only said when the clipping threshold is known (from the log,
    its config or `--context`): a Trainer run with `max_grad_norm=0` is not clipped at all.
    It clears when the share falls (clipping during warm-up only is not the run's state)."""

    info = RuleInfo("grad-clipping", "gradients", "info", "gradients clipped on most steps")
    clear = 3

    def check(self, view: View, facts: Facts) -> Hit | None:
        if view.count(GRAD) < 20:
            return None
        clip = facts.ctx.max_grad_norm
        assumed = False
        if clip is None or facts.ctx.clipping_off:
            return None
        last = view.tail(GRAD, 100)
        last = last[np.isfinite(last)]
        share = float(np.mean(last > clip)) if len(last) else 0.0
        if share <= 0.5:
            return None
        p90 = float(np.percentile(last, 90))
        return Hit(
            "info",
            view.step_of(GRAD, view.count(GRAD) - len(last)),
            _("Gradients are clipped on {share:.0%} of steps").format(share=share),
            _("{share:.0%} of the last {count} grad norms exceed max_grad_norm {clip}").format(
                share=share, count=len(last), clip=fmt(clip)
            )
            + (" " + _("(the Hugging Face Trainer's default)") if assumed else "")
            + "; "
            + _("90th percentile {value}").format(value=fmt(p90)),
            _(
                "Clipping this often acts as a lower LR. Fine if training is healthy; when "
                "tuning, clip near the 90th-percentile grad norm or lower the LR instead."
            ),
        )


class GradCollapse(Rule):
    info = RuleInfo("grad-collapse", "gradients", "warning", "grad norm collapsed, loss flat")
    persist = 3

    def __init__(self) -> None:
        self.reference: float | None = None

    def check(self, view: View, facts: Facts) -> Hit | None:
        if facts.burn_in_pos is None:
            return None
        n = view.count(GRAD)
        start = view.count_at(GRAD, view.record_of(LOSS, facts.burn_in_pos))
        if self.reference is None:
            if n - start < 50:
                return None
            self.reference = median(view.values(GRAD, start, start + 50))
        ref = self.reference
        now = median(view.tail(GRAD, 20))
        if not (math.isfinite(ref) and ref > 0 and now < 1e-3 * ref):
            return None
        lr = view.last(LR)
        if lr is not None and lr <= 0:
            return None
        if improvement(view.tail(LOSS, 20)) >= 0.01:
            return None
        step = view.step_of(GRAD, n - 20)
        return Hit(
            "warning",
            step,
            _("Gradients have collapsed while the loss is flat"),
            _(
                "grad_norm median {now} over the last 20 records vs {before} after warm-up "
                "(x{ratio:.1e})"
            ).format(now=fmt(now), before=fmt(ref), ratio=now / ref),
            _(
                "Vanishing gradients or frozen parameters: check activations and "
                "normalisation, requires_grad, and the LR schedule (see lr-zero-early)."
            ),
        )


class GradHuge(Rule):
    info = RuleInfo("grad-huge", "gradients", "info", "grad norm absurdly large from the start")
    clear = 10**9
    suppressed_by_numerics = False

    def check(self, view: View, facts: Facts) -> Hit | None:
        if view.count(GRAD) < 50:
            return None
        med = median(view.values(GRAD, 0, 50))
        if not med > 1e4:
            return None
        return Hit(
            "info",
            view.step_of(GRAD, 0),
            _("Gradient norm is huge from the start"),
            _("median grad_norm {value} over the first 50 records; sigma {sigma}").format(
                value=fmt(med), sigma=fmt(robust_sigma(view.values(GRAD, 0, 50)))
            ),
            _(
                "With clipping every update is normalised, so the effective LR is LR/norm: "
                "check the loss reduction (sum vs mean), fp16 scaling and input normalisation."
            ),
        )


GRADIENT_RULES: tuple[type[Rule], ...] = (
    GradSpike,
    GradDrift,
    GradClipping,
    GradCollapse,
    GradHuge,
)
