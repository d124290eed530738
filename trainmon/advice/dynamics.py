"""Loss-dynamics rules: spikes, instability, rising trend, plateaus, oscillation, end state.

All of them wait out burn-in (warm-up plus a few records), judge the loss in log space
against the run's own median and MAD, and look at bounded windows: the newest points, or
the newest K points thinned to at most a few hundred.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from trainmon.advice.base import EVAL_LOSS, LOSS, LR, Facts, Hit, Rule, RuleInfo, View
from trainmon.advice.evalmetrics import eval_improved_since
from trainmon.advice.stats import fmt, frac_greater, median, middle, robust_sigma, safe_log
from trainmon.i18n import _

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

THIN = 256


def post_burn_in(view: View, facts: Facts) -> int | None:
    """Number of loss points after burn-in, None before burn-in ends."""
    if facts.burn_in_pos is None:
        return None
    return max(0, view.count(LOSS) - facts.burn_in_pos)


class LossSpike(Rule):
    info = RuleInfo("loss-spike", "dynamics", "info", "isolated loss spike (hard batch)")
    clear = 4

    def __init__(self) -> None:
        self.seen = 0

    def check(self, view: View, facts: Facts) -> Hit | None:
        spikes = [s for s in facts.spike_positions if s[0] < view.count(LOSS)]
        new = [s for s in spikes if s[0] >= self.seen]
        self.seen = view.count(LOSS)
        if not new:
            return None
        pos, value, base = max(new, key=lambda s: s[1] / s[2])
        step = view.step_of(LOSS, pos)
        after = view.values(LOSS, pos + 1, pos + 6)
        recovered = bool(len(after)) and bool(np.all(after[-2:] < 1.2 * base))
        how = _("recovered") if recovered else _("not yet back to the median")
        return Hit(
            "info",
            step,
            _("Loss spike at step {step} (x{ratio:.1f} the local median)").format(
                step=step, ratio=value / base
            ),
            _("loss {value} vs median {median} of the previous 20 records; {how}").format(
                value=fmt(value), median=fmt(base), how=how
            ),
            _(
                "Usually a hard or atypical batch; no action unless spikes repeat "
                "(see loss-instability)."
            ),
        )


class LossInstability(Rule):
    info = RuleInfo("loss-instability", "dynamics", "warning", "repeated or sustained spikes")
    clear = 6

    def check(self, view: View, facts: Facts) -> Hit | None:
        n = view.count(LOSS)
        spikes = [s for s in facts.spike_positions if s[0] < n]
        recent = [s for s in spikes if s[0] >= n - 100]
        sustained = [s for s in spikes if s[0] >= n - 5]
        if len(sustained) < 3 and len(recent) < 4:
            return None
        chosen = sustained if len(sustained) >= 3 else recent
        step = view.step_of(LOSS, chosen[0][0])
        ratios = ", ".join(f"x{v / b:.1f}" for _, v, b in chosen[:5])
        return Hit(
            "warning",
            step,
            _("Training is unstable: loss spikes keep coming"),
            _("{count} spikes in the last {records} records since step {step} ({ratios})").format(
                count=len(chosen), records=100 if chosen is recent else 5, step=step, ratios=ratios
            ),
            _(
                "Lower the peak LR ~2x, lengthen the warm-up, clip near the 90th-percentile grad "
                "norm; for transformers consider AdamW beta2=0.95, qk-layernorm or z-loss."
            ),
        )


def halves(view: View, facts: Facts, name: str, start: int) -> tuple[FloatArray, FloatArray, int]:
    """The two newest K-point windows A, B of log values of `name` from position `start`."""
    n = view.count(name)
    m = n - start
    k = max(10, round(0.05 * m))
    if m < 2 * k:
        return np.empty(0), np.empty(0), 0
    a = view.sampled(name, n - 2 * k, n - k, THIN)
    b = view.sampled(name, n - k, n, THIN)
    a = safe_log(a[np.isfinite(a)])
    b = safe_log(b[np.isfinite(b)])
    return a, b, n - k


def span_start(view: View, name: str, start: int) -> int:
    """Position where window A of `halves` begins."""
    n = view.count(name)
    k = max(10, round(0.05 * (n - start)))
    return max(0, n - 2 * k)


class LossRising(Rule):
    info = RuleInfo("loss-rising", "dynamics", "warning", "training loss trending up")
    persist = 3
    clear = 3

    def __init__(self) -> None:
        self.best_median = math.inf
        self.best_window: FloatArray = np.empty(0)
        self.best_pos = 0

    def _track_best(self, view: View, start: int, k: int) -> None:
        """Remember the lowest K-record window seen at a checkpoint (rises are judged from it)."""
        n = view.count(LOSS)
        if n - start < k:
            return
        window = view.sampled(LOSS, n - k, n, THIN)
        window = window[np.isfinite(window)]
        if len(window) < 5:
            return
        med = middle(window)
        if med < self.best_median:
            self.best_median, self.best_window, self.best_pos = med, safe_log(window), n - k

    def check(self, view: View, facts: Facts) -> Hit | None:
        if facts.burn_in_pos is None:
            return None
        n = view.count(LOSS)
        m = n - facts.burn_in_pos
        k = max(8, round(0.05 * m))
        self._track_best(view, facts.burn_in_pos, k)
        floor = max(1e-3, 0.01 * (facts.loss0 or 0.0))
        # test 1: the newest K records against the K before them
        a, b, b_start = halves(view, facts, LOSS, facts.burn_in_pos)
        rising = False
        med_a = med_b = math.nan
        if len(a) >= 5 and len(b) >= 5:
            med_a, med_b = math.exp(middle(a)), math.exp(middle(b))
            rising = frac_greater(b, a) > 0.85 and med_b > 1.15 * med_a and med_b - med_a > floor
        a_start = span_start(view, LOSS, facts.burn_in_pos)
        # test 2: the newest K records against the best K-record stretch so far
        if not rising and len(self.best_window) >= 5 and n - k >= self.best_pos + k:
            recent = view.sampled(LOSS, n - k, n, THIN)
            recent = safe_log(recent[np.isfinite(recent)])
            if len(recent) >= 5:
                med_r = math.exp(middle(recent))
                if (
                    frac_greater(recent, self.best_window) > 0.9
                    and med_r > 1.5 * self.best_median
                    and med_r - self.best_median > floor
                ):
                    rising = True
                    med_a, med_b, b_start = self.best_median, med_r, n - k
                    a_start = self.best_pos
        if not rising:
            return None
        step = view.step_of(LOSS, b_start)
        evidence = _("loss median {before} → {after} since step {step}").format(
            before=fmt(med_a), after=fmt(med_b), step=step
        )
        lr = view.last(LR)
        severity = "warning"
        if facts.loss0 is not None and med_b > 1.05 * facts.loss0:
            severity = "critical"
            evidence += "; " + _("above L0 {value} after warm-up").format(value=fmt(facts.loss0))
        improved = eval_improved_since(view, view.step_of(LOSS, a_start))
        if improved:
            severity = "info"
            evidence += "; " + _("but {what}").format(what=improved)
        if lr is not None:
            evidence += "; " + _("LR {value}").format(value=fmt(lr))
        decaying = lr is not None and facts.peak_lr > 0 and lr < 0.9 * facts.peak_lr
        advice = (
            _(
                "Loss rising while the LR decays is abnormal: check the newest data shard, the "
                "labels and the loss computation (accumulating state, loss scaling)."
            )
            if decaying
            else _(
                "The LR is likely too high for this phase: lower it or add decay "
                "(ReduceLROnPlateau, factor 0.1-0.5)."
            )
        )
        return Hit(severity, step, _("Training loss is trending up"), evidence, advice)  # type: ignore[arg-type]


def improvement(values: FloatArray) -> float:
    """Relative fall of the median from the first to the second half of a window."""
    f = values[np.isfinite(values)]
    if len(f) < 6:
        return float("inf")
    half = len(f) // 2
    first, second = middle(f[:half]), middle(f[half:])
    if first <= 0:
        return float("inf")
    return (first - second) / abs(first)


class NotLearning(Rule):
    info = RuleInfo("not-learning", "plateau", "warning", "loss barely moved from its start")
    persist = 3

    def check(self, view: View, facts: Facts) -> Hit | None:
        n = view.count(LOSS)
        if facts.burn_in_pos is None or n < facts.burn_in_pos + 10 or n < 20:
            return None
        planned = facts.planned()
        if planned and view.step < 0.1 * planned:
            return None
        ref = facts.loss_init
        if ref is None or not math.isfinite(ref):
            ref = median(view.values(LOSS, 0, 5))
        if not math.isfinite(ref) or ref <= 0:
            return None
        now = median(view.tail(LOSS, 10))
        span = max(10, n // 2)  # half the run: a slow but steady fine-tune is learning
        window = view.sampled(LOSS, n - span, n, THIN)
        if not now > 0.95 * ref or improvement(window) >= 0.01:
            return None
        lr = view.last(LR)
        if lr is not None and facts.peak_lr > 0 and lr < 1e-3 * facts.peak_lr:
            return None  # lr-zero-early explains it
        tail5 = view.tail(LOSS, 5)
        frozen = len(tail5) == 5 and float(np.ptp(tail5)) == 0.0
        step = view.step_of(LOSS, n - span)
        return Hit(
            "warning",
            step,
            _("Loss is not decreasing (identical values: frozen)")
            if frozen
            else _("Loss is not decreasing"),
            _(
                "loss {start} at start, {now} now (median of last 10); "
                "improved <1% across the last {span} records"
            ).format(start=fmt(ref), now=fmt(now), span=span),
            _(
                "Overfit one batch first; check labels, inputs and that parameters are "
                "trainable. A smooth curve with small grad norms means the LR is too low "
                "(try 3-10x); a noisy one means it is too high."
            ),
        )


class EarlyPlateau(Rule):
    """Learning stopped almost at once: a language model trained from scratch (its first loss
    near ln(vocab)) whose train and eval loss stopped improving early, at an LR that was not
    decayed away, and far from zero. The signature of a model that only learned the label
    frequencies (shuffled or misaligned labels) or was knocked into a near-constant prediction
    by a far too high LR (with or without warm-up).

    With a planned length (`max_steps`, a progress bar's total) the rule compares the first
    tenth of the run with now. Without one (a nanoGPT loop prints no total) it compares the
    second quarter of the steps so far with the last quarter, about a doubling of the steps:
    a learning curve falls roughly the same share per doubling, so a healthy run that is still
    far above its final loss gains much more than a stalled one."""

    info = RuleInfo("early-plateau", "plateau", "warning", "learning stopped in the first tenth")
    persist = 3

    def check(self, view: View, facts: Facts) -> Hit | None:
        # only for a language model known to start from scratch (first loss near ln(vocab)):
        # a fine-tune often converges within its first tenth
        vocab = facts.ctx.vocab_size
        first = facts.loss_first
        if not vocab or vocab < 2 or first is None or not first >= 0.5 * math.log(vocab):
            return None
        window = self._windows(view, facts)
        if window is None:
            return None
        lo, hi, tail_from, gain, where = window
        n = view.count(LOSS)
        if hi - lo < 3 or n - tail_from < 3 or n - hi < 3:
            return None
        ref = median(view.values(LOSS, lo, hi))
        now = median(view.values(LOSS, tail_from, n))
        if not (math.isfinite(ref) and ref > 0 and math.isfinite(now)):
            return None
        if now < (1 - gain) * ref:
            return None  # still learning
        if now < 0.2 * first:
            return None  # converged near zero: nothing left to learn
        if where == "doubling" and now < UNLEARNED_SHARE * first:
            return None  # learned most of it: a slow late stretch, not a stop
        lrs = view.values(LR, view.count_at(LR, view.record_of(LOSS, hi)), view.count(LR))
        if len(lrs) and facts.peak_lr > 0 and median(lrs) < 0.1 * facts.peak_lr:
            return None  # the LR was decayed away: see lr-zero-early
        if where == "doubling":
            since = view.values(LR, view.count_at(LR, view.record_of(LOSS, lo)), view.count(LR))
            if len(since) and float(np.min(since)) < 0.5 * float(np.max(since)):
                return None  # warm-up (or decay) inside the span: the LR changed too much
        evals = view.values(EVAL_LOSS, view.count_at(EVAL_LOSS, view.record_of(LOSS, hi)))
        evals = evals[np.isfinite(evals)]
        if view.count(EVAL_LOSS) and not len(evals):
            return None  # the log evaluates: wait for an eval after the reference stretch
        # eval improves: on the first eval after the reference stretch, or on the train loss
        baseline = float(evals[0]) if len(evals) >= 2 else ref
        if len(evals) and float(evals[-1]) < (1 - gain) * baseline:
            return None
        step = view.step_of(LOSS, hi)
        span = (
            _("at 5-10 % through the run")
            if where == "tenth"
            else _("at steps {first}-{last}").format(
                first=view.step_of(LOSS, lo), last=view.step_of(LOSS, hi - 1)
            )
        )
        evidence = _("loss {first} at the start, {then} {span}, {now} now").format(
            first=fmt(first), then=fmt(ref), span=span, now=fmt(now)
        )
        if len(evals) >= 2:
            evidence += f"; eval_loss {fmt(float(evals[0]))} → {fmt(float(evals[-1]))}"
        return Hit(
            "warning",
            step,
            _("Learning stopped early: the loss has not improved since the first tenth")
            if where == "tenth"
            else _("Learning stopped early: the loss has barely improved as the steps doubled"),
            evidence,
            _(
                "A quick drop then a flat line is a model that learned only the label "
                "frequencies: check that inputs and labels are aligned (not shuffled or "
                "shifted), and try a 10x lower LR (or a warm-up) if it is high."
            ),
        )

    @staticmethod
    def _windows(view: View, facts: Facts) -> tuple[int, int, int, float, str] | None:
        """Loss positions [lo, hi) of the reference stretch, where the newest stretch starts,
        the gain that counts as learning, and which horizon was used."""
        steps = view.steps(LOSS)
        n = view.count(LOSS)
        planned = facts.planned()
        if planned:
            if view.step < EARLY_PLATEAU_AFTER * planned or n < 20:
                return None
            lo = int(np.searchsorted(steps, 0.05 * planned))
            hi = int(np.searchsorted(steps, 0.1 * planned))
            if n - hi < 10:
                return None
            return lo, hi, n - max(5, n // 10), PLATEAU_GAIN, "tenth"
        # no planned length: the run so far, if the log starts at the run's start
        start_known = facts.loss_init is not None and math.isfinite(facts.loss_init)
        if not start_known or n < 20 or view.step <= 0:
            return None
        t = float(view.step)
        lo = int(np.searchsorted(steps, 0.25 * t))
        hi = int(np.searchsorted(steps, 0.5 * t, side="right"))
        tail_from = int(np.searchsorted(steps, 0.75 * t))
        return lo, hi, tail_from, DOUBLING_GAIN, "doubling"


PLATEAU_GAIN = 0.05
"""Least fall from the first tenth of a planned run to now that counts as learning."""
EARLY_PLATEAU_AFTER = 0.15
"""Judged from 15 % of a planned run on (a tenth to learn, then a flat stretch as long)."""
DOUBLING_GAIN = 0.08
"""Least fall from the second quarter of the steps so far to the last quarter (about a
doubling) that counts as learning; the healthy real runs fall 19 % or more there
(bench/README.md)."""
UNLEARNED_SHARE = 0.5
"""Without a planned length, a loss already below this share of its first value has learned
most of what it will: a slow stretch there is the end of a curve, not a stop."""


class LatePlateau(Rule):
    info = RuleInfo("late-plateau", "plateau", "info", "progress stalled at a high constant LR")
    persist = 3

    def check(self, view: View, facts: Facts) -> Hit | None:
        post = post_burn_in(view, facts)
        if post is None or post < 50:
            return None
        planned = facts.planned()
        if planned and view.step < 0.3 * planned:
            return None
        n = view.count(LOSS)
        span = max(20, n // 5)
        if improvement(view.sampled(LOSS, n - span, n, THIN)) >= 0.005:
            return None
        n_lr = view.count(LR)
        lrs = view.sampled(LR, n_lr - max(20, n_lr // 5), n_lr, THIN)
        if not len(lrs) or facts.peak_lr <= 0:
            return None
        if float(lrs[-1]) < 0.5 * facts.peak_lr or float(np.max(lrs)) > 1.01 * float(np.min(lrs)):
            return None
        evals = view.tail(EVAL_LOSS, 4)
        if len(evals) >= 2 and float(np.min(evals[1:])) < 0.995 * float(evals[0]):
            return None
        step = view.step_of(LOSS, n - span)
        return Hit(
            "info",
            step,
            _("Progress has stalled at a high, constant LR"),
            _(
                "loss median change <0.5% across the last {span} records; LR constant at {lr}"
            ).format(span=span, lr=fmt(float(lrs[-1]))),
            _(
                "Decay the LR (cosine/linear, or ReduceLROnPlateau with factor 0.1-0.5): it "
                "usually unlocks further progress."
            ),
        )


class EarlyOscillation(Rule):
    info = RuleInfo("early-oscillation", "dynamics", "warning", "loss swings wildly early on")
    persist = 2

    def check(self, view: View, facts: Facts) -> Hit | None:
        n = view.count(LOSS)
        planned = facts.planned()
        horizon = 30
        if planned:
            horizon = max(30, int(0.1 * planned / max(1, facts.ctx.logging_steps or 1)))
        horizon = min(horizon, 200)
        if n < 15:
            return None
        window = view.values(LOSS, 5, min(n, 5 + horizon))
        logs = safe_log(window[np.isfinite(window)])
        if len(logs) < 10:
            return None
        d = np.diff(logs)
        signs = np.sign(d)
        alternation = float(np.mean(signs[1:] * signs[:-1] < 0))
        # swing around the local level: each value against the median of its neighbours
        from numpy.lib.stride_tricks import sliding_window_view

        local = np.median(sliding_window_view(logs, 3), axis=1)
        sigma = robust_sigma(logs[1:-1] - local)
        if alternation < 0.7 or sigma <= 0.35:
            return None
        step = view.step_of(LOSS, 5)
        facts.early_unstable_step = step
        return Hit(
            "warning",
            step,
            _("Loss is swinging wildly early in training"),
            _(
                "{share:.0%} of consecutive changes flip sign; typical swing "
                "x{swing:.2f} per record over the first {count} records"
            ).format(share=alternation, swing=math.exp(sigma), count=len(logs)),
            _("Use a longer warm-up lasting 1-5% (at most 10%) of the steps, or a lower peak LR."),
        )


class StillImproving(Rule):
    info = RuleInfo("still-improving", "dynamics", "info", "still improving when the run ended")
    clear = 10**9
    defers_to_worse = True

    def check(self, view: View, facts: Facts) -> Hit | None:
        planned = facts.planned()
        ended = view.has_summary() or (planned is not None and view.step >= 0.98 * planned)
        if not ended:
            return None
        evals = view.values(EVAL_LOSS)
        evals = evals[np.isfinite(evals)]
        if len(evals) >= 4:
            last4 = evals[-4:]
            start = facts.loss_first
            worse_than_start = start is not None and math.isfinite(start) and last4[-1] > start
            if (
                np.all(last4[1:] < 0.99 * last4[:-1])
                and last4[-1] <= float(np.min(evals))
                and not worse_than_start
            ):
                return Hit(
                    "info",
                    view.step,
                    _("Still improving at the end of training"),
                    _("eval_loss {values} over the last evals").format(
                        values=" → ".join(fmt(v) for v in last4)
                    ),
                    _("The run is compute-bound: more steps or epochs will likely help."),
                )
            return None
        n = view.count(LOSS)
        if n < 20:
            return None
        tenth = max(5, n // 10)
        prev = median(view.sampled(LOSS, n - 2 * tenth, n - tenth, THIN))
        last = median(view.sampled(LOSS, n - tenth, n, THIN))
        if not (prev > 0 and last < 0.98 * prev):
            return None
        start = facts.loss_first
        if start is not None and math.isfinite(start) and last > start:
            return None  # recovering from a blow-up is not "more steps will help"
        return Hit(
            "info",
            view.step,
            _("Still improving at the end of training"),
            _("train loss median {before} → {after} over the last {count} records").format(
                before=fmt(prev), after=fmt(last), count=2 * tenth
            ),
            _("The run is compute-bound: more steps or epochs will likely help."),
        )


class InitialLoss(Rule):
    info = RuleInfo("initial-loss", "dynamics", "warning", "initial loss far above ln(classes)")
    clear = 10**9
    suppressed_by_numerics = False

    def check(self, view: View, facts: Facts) -> Hit | None:
        ln_c = facts.ctx.ln_classes
        init = facts.loss_init
        if ln_c is None or init is None or not math.isfinite(init):
            return None  # unknown, or the log starts late
        init = facts.loss_first if facts.loss_first is not None else init
        if not math.isfinite(init):
            return None
        label = facts.ctx.classes_label
        if init > 1.5 * ln_c:
            sev = "warning"
            title = _("Initial loss is far above a uniform guess")
        elif init > 1.05 * ln_c:
            sev = "info"
            title = _("Initial loss is worse than a uniform guess")
        else:
            return None
        return Hit(
            sev,  # type: ignore[arg-type]
            facts.first_loss_step,
            title,
            _("initial loss {value} vs {label} = {chance}").format(
                value=fmt(init), label=label, chance=fmt(ln_c)
            ),
            _(
                "From scratch: logits are too large at init (zero the output bias, check the "
                "loss is a mean, not a sum). Fine-tuning: check the tokenizer/model match, the "
                "chat template, label shift and the embeddings of newly added tokens."
            ),
        )


class StuckAtChance(Rule):
    info = RuleInfo("stuck-at-chance", "plateau", "critical", "loss stays at ln(classes)")
    persist = 3

    def check(self, view: View, facts: Facts) -> Hit | None:
        ln_c = facts.ctx.ln_classes
        n = view.count(LOSS)
        if ln_c is None or facts.burn_in_pos is None or n < facts.burn_in_pos + 20:
            return None
        planned = facts.planned()
        if view.step < max(200, 0.05 * planned if planned else 0):
            return None
        last = view.tail(LOSS, 20)
        med = median(last)
        at_chance = abs(med - ln_c) < 0.02 * ln_c and np.all(np.abs(last - ln_c) < 0.05 * ln_c)
        # worse than a uniform guess and never clearly better: the same failure, noisier
        worse = med >= 1.02 * ln_c and float(np.min(last)) >= 0.95 * ln_c
        if not (at_chance or worse):
            return None
        step = view.step_of(LOSS, n - 20)
        return Hit(
            "critical",
            step,
            _("Loss is stuck at chance level: the model predicts a uniform distribution"),
            _("median loss {value} over the last 20 records vs {label} = {chance}").format(
                value=fmt(med), label=facts.ctx.classes_label, chance=fmt(ln_c)
            ),
            _(
                "LR far too high or too low, shuffled or misaligned labels, softmax applied "
                "before CrossEntropyLoss, or dead activations. Try overfitting one batch."
            ),
        )


DYNAMICS_RULES: tuple[type[Rule], ...] = (
    InitialLoss,
    StuckAtChance,
    LossSpike,
    LossInstability,
    LossRising,
    NotLearning,
    LatePlateau,
    EarlyPlateau,
    EarlyOscillation,
    StillImproving,
)
