"""Evaluation-set rules: overfitting (checked against the task metric), memorisation, gap.

Patience semantics follow early-stopping callbacks: an eval only counts as worse when it is
2% above the best, and three such evals in a row are needed.
"""

from __future__ import annotations

import numpy as np

from trainmon.advice.base import EVAL_LOSS, LOSS, Facts, Hit, Rule, RuleInfo, View
from trainmon.advice.evalmetrics import metric_change
from trainmon.advice.stats import fmt, median

MAX_EVALS = 400
PATIENCE = 3


def train_loss_at(view: View, record: float) -> float:
    """Median of the five train losses logged before record index `record` (an eval's)."""
    i = view.count_at(LOSS, int(record) + 1)
    i = min(i, view.count(LOSS))
    if i == 0:
        return float("nan")
    return median(view.values(LOSS, max(0, i - 5), i))


def eval_series(view: View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The newest evals: finite values, their steps and their record indices."""
    n = view.count(EVAL_LOSS)
    lo = max(0, n - MAX_EVALS)
    values = view.values(EVAL_LOSS, lo, n)
    steps = view.steps(EVAL_LOSS, lo, n)
    recs = view.record_positions(EVAL_LOSS, lo, n)
    ok = np.isfinite(values)
    return values[ok], steps[ok], recs[ok]


class Overfitting(Rule):
    info = RuleInfo(
        "overfitting", "evaluation", "warning", "eval loss rising while train loss falls"
    )
    clear = 1

    def check(self, view: View, facts: Facts) -> Hit | None:
        values, steps, recs = eval_series(view)
        if len(values) < PATIENCE + 1:
            return None
        best, best_i, bad, first_bad = float(values[0]), 0, 0, -1
        for j in range(1, len(values)):
            v = float(values[j])
            if v < best:
                best, best_i = v, j
            if v > 1.02 * best:
                if bad == 0:
                    first_bad = j
                bad += 1
            elif v <= 1.001 * best:
                bad = 0
        if bad < PATIENCE:
            return None
        t_best = train_loss_at(view, recs[best_i])
        t_now = train_loss_at(view, recs[-1])
        if not (t_now < t_best):
            return None
        evidence = (
            f"eval_loss {fmt(best)}→{fmt(float(values[-1]))} over {bad} evals (best at step "
            f"{int(steps[best_i])}); train {fmt(t_best)}→{fmt(t_now)}"
        )
        change = metric_change(view, steps[best_i])
        if change is not None:
            name, first, last, better = change
            evidence += f"; {name} {fmt(first)}→{fmt(last)}"
            if better:
                return Hit(
                    "info",
                    int(steps[first_bad]),
                    f"Eval loss is rising but {name} still improves",
                    evidence + " still improving",
                    f"The model grows over-confident rather than worse: keep the checkpoint "
                    f"with the best {name}, not the best loss.",
                )
        return Hit(
            "warning",
            int(steps[first_bad]),
            "Overfitting: eval loss rising while train loss falls",
            evidence,
            "Keep the best checkpoint (load_best_model_at_end) and stop earlier (early "
            "stopping, patience 3), or train fewer epochs, lower the LR, or add weight decay, "
            "dropout or augmentation.",
        )


class Memorisation(Rule):
    info = RuleInfo("memorisation", "evaluation", "warning", "train loss ~0 while eval rises")
    clear = 2

    def check(self, view: View, facts: Facts) -> Hit | None:
        values, steps, recs = eval_series(view)
        if len(values) < 3:
            return None
        ref = facts.loss_init
        if ref is None or not np.isfinite(ref):
            ref = median(view.values(LOSS, 0, 5))
        t_now = train_loss_at(view, recs[-1])
        if not (np.isfinite(ref) and ref > 0 and t_now < 0.05 * ref):
            return None
        e = float(values[-1])
        if not (e > 3 * t_now and e > float(values[-2]) and e > 1.02 * float(np.min(values))):
            return None
        best_i = int(np.argmin(values))
        change = metric_change(view, steps[best_i])
        if change is not None and change[3]:
            return None  # the task metric still improves: overfitting's info covers it
        return Hit(
            "warning",
            int(steps[-1]),
            "Memorising the training set: train loss near 0 while eval loss rises",
            f"train loss {fmt(t_now)} ({t_now / ref:.1%} of the start {fmt(ref)}); eval_loss "
            f"{fmt(float(values[best_i]))}→{fmt(e)} since step {int(steps[best_i])}",
            "Extra epochs only memorise: stop at the best checkpoint; 1-3 epochs are usually "
            "enough for LLM/ASR fine-tuning; add regularisation or more data.",
        )


class TrainEvalGap(Rule):
    info = RuleInfo("train-eval-gap", "evaluation", "info", "eval loss far above train loss")
    clear = 2

    def check(self, view: View, facts: Facts) -> Hit | None:
        values, steps, recs = eval_series(view)
        if len(values) < 3:
            return None
        ratios = []
        for v, r in zip(values[-3:], recs[-3:], strict=True):
            t = train_loss_at(view, r)
            if not (np.isfinite(t) and t > 0 and v > 1.3 * t and v - t > 0.1):
                return None
            ratios.append(v / t)
        t_now = train_loss_at(view, recs[-1])
        return Hit(
            "info",
            int(steps[-3]),
            f"Eval loss is ~{ratios[-1]:.3g}x the train loss",
            f"eval_loss {fmt(float(values[-1]))} vs train {fmt(t_now)} for 3 evals",
            "Some gap is normal; it only matters if eval stops improving (see overfitting).",
        )


EVAL_RULES: tuple[type[Rule], ...] = (Overfitting, Memorisation, TrainEvalGap)
