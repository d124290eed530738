"""Which eval metric tells the task story, and in which direction it improves.

Rising eval loss is not proof of a worse model (a model can grow over-confident while its
accuracy or WER still improves), so eval rules consult the task metric when the log has one.
"""

from __future__ import annotations

import numpy as np

from trainmon.advice.base import EVAL_LOSS, View
from trainmon.advice.stats import fmt
from trainmon.i18n import _

_SKIP = ("runtime", "per_second", "loss", "epoch", "step", "mem", "flos", "time")
_LOWER = ("wer", "cer", "perplexity", "ppl", "error", "mae", "mse", "rmse", "ter")
_HIGHER = (
    "acc",
    "f1",
    "mcc",
    "matthews",
    "rouge",
    "bleu",
    "exact",
    "auc",
    "precision",
    "recall",
    "pearson",
    "spearman",
    "map",
    "iou",
    "score",
    "meteor",
    "chrf",
    "sacrebleu",
)


def task_metric(view: View) -> tuple[str, bool] | None:
    """The first eval metric with a known direction: (name, higher_is_better)."""
    for name in view.names():
        if not name.startswith("eval_") or name == EVAL_LOSS:
            continue
        low = name[5:].lower()
        if any(s in low for s in _SKIP):
            continue
        if any(s in low for s in _LOWER):
            return name, False
        if any(s in low for s in _HIGHER):
            return name, True
    return None


def metric_change(
    view: View, since_step: float, min_gain: float = 0.005
) -> tuple[str, float, float, bool] | None:
    """(name, value at/after `since_step`, newest value, improved by more than `min_gain` of
    its value?) for the task metric."""
    found = task_metric(view)
    if found is None:
        return None
    name, higher = found
    values = view.values(name)
    steps = view.steps(name)
    ok = np.isfinite(values)
    values, steps = values[ok], steps[ok]
    if len(values) < 2:
        return None
    i = int(np.searchsorted(steps, since_step, side="left"))
    i = min(i, len(values) - 1)
    first, last = float(values[i]), float(values[-1])
    if i == len(values) - 1:
        return None
    scale = max(abs(first), 1e-12)
    gain = (last - first) / scale if higher else (first - last) / scale
    better = gain > min_gain
    return name, first, last, better


def eval_improved_since(view: View, step: float) -> str:
    """A short phrase when eval loss or the task metric improved since `step`, else ''."""
    change = metric_change(view, step)
    if change is not None and change[3]:
        return _("{name} {before}→{after} improving").format(
            name=change[0], before=fmt(change[1]), after=fmt(change[2])
        )
    values = view.values(EVAL_LOSS)
    steps = view.steps(EVAL_LOSS)
    ok = np.isfinite(values)
    values, steps = values[ok], steps[ok]
    i = int(np.searchsorted(steps, step, side="left"))
    if len(values) - i >= 2 and values[-1] < 0.99 * values[i]:
        return _("{name} {before}→{after} improving").format(
            name="eval_loss", before=fmt(float(values[i])), after=fmt(float(values[-1]))
        )
    return ""


def metric_near_best(view: View) -> tuple[str, float, float, bool] | None:
    """(name, newest, best, newest within 1 % of the best?) for the task metric."""
    found = task_metric(view)
    if found is None:
        return None
    name, higher = found
    values = view.values(name)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return None
    last = float(values[-1])
    best = float(np.max(values) if higher else np.min(values))
    slack = 0.01 * max(abs(best), 1e-12)
    near = last >= best - slack if higher else last <= best + slack
    return name, last, best, near


def train_accuracy(view: View) -> str | None:
    """A training accuracy series (`accuracy`, `acc`, `train_acc`, ...), if the log has one."""
    for name in view.names():
        low = name.lower()
        if low.startswith(("eval", "val", "test")) or "acc" not in low:
            continue
        return name
    return None
