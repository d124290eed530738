"""Evaluation-set rules: overfitting (checked against the task metric), memorisation, gap.

Patience semantics follow early-stopping callbacks: an eval only counts as worse when it is
2% above the best, and three such evals in a row are needed.
"""

from __future__ import annotations

import numpy as np

from trainmon.advice.base import EVAL_LOSS, LOSS, Facts, Hit, Rule, RuleInfo, View
from trainmon.advice.evalmetrics import metric_change, metric_near_best, train_accuracy
from trainmon.advice.stats import figures, fmt, median
from trainmon.i18n import N_, _

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


def eval_and_train_moves(
    then: float, now: float, evals: int, best_step: int, train_then: float, train_now: float
) -> str:
    """Evidence of how eval loss and train loss moved over the last `evals` evaluations."""
    return _(
        "eval_loss {best}→{now} over {count} evals (best at step {step}); "
        "train {train_then}→{train_now}"
    ).format(
        **figures(best=then, now=now, train_then=train_then, train_now=train_now),
        count=evals,
        step=best_step,
    )


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
        evidence = eval_and_train_moves(
            best, float(values[-1]), bad, int(steps[best_i]), t_best, t_now
        )
        change = metric_change(view, steps[best_i])
        if change is not None:
            name, first, last, better = change
            evidence += f"; {name} {fmt(first)}→{fmt(last)}"
            if better:
                return Hit(
                    "info",
                    int(steps[first_bad]),
                    _("Eval loss is rising but {name} still improves").format(name=name),
                    evidence + " " + _("still improving"),
                    _(
                        "The model grows over-confident rather than worse: keep the checkpoint "
                        "with the best {name}, not the best loss."
                    ).format(name=name),
                )
        return Hit(
            "warning",
            int(steps[first_bad]),
            _("Overfitting: eval loss rising while train loss falls"),
            evidence,
            _(
                "Keep the best checkpoint (load_best_model_at_end) and stop earlier (early "
                "stopping, patience 3), or train fewer epochs, lower the LR, or add weight "
                "decay, dropout or augmentation."
            ),
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
            _("Memorising the training set: train loss near 0 while eval loss rises"),
            _(
                "train loss {now} ({share:.1%} of the start {start}); eval_loss "
                "{best}→{eval_now} since step {step}"
            ).format(
                now=fmt(t_now),
                share=t_now / ref,
                start=fmt(ref),
                best=fmt(float(values[best_i])),
                eval_now=fmt(e),
                step=int(steps[best_i]),
            ),
            _(
                "Extra epochs only memorise: stop at the best checkpoint; 1-3 epochs are "
                "usually enough for LLM/ASR fine-tuning; add regularisation or more data."
            ),
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
            _("Eval loss is ~{ratio:.3g}x the train loss").format(ratio=ratios[-1]),
            _("eval_loss {eval} vs train {train} for 3 evals").format(
                eval=fmt(float(values[-1])), train=fmt(t_now)
            ),
            _("Some gap is normal; it only matters if eval stops improving (see overfitting)."),
        )


GAP_RATIO = 2.0
"""Eval loss at least this many times the train loss (and GAP_MIN_DELTA nats above it)."""
GAP_MIN_DELTA = 0.2
ACCURACY_GAP = 0.15
"""Eval accuracy this far (absolute, as a fraction) below the training accuracy."""
STALL_EVALS = 3
"""An eval loss at its best has stalled when it moved this many evaluations ..."""
STALL_GAIN = 0.01
"""... by less than this fraction (the task metric likewise) ..."""
STALL_TRAIN_DROP = 0.2
"""... while the train loss fell by at least this fraction of its value."""


def _fraction(value: float, percent: bool) -> float:
    return value / 100.0 if percent else value


class GeneralisationGap(Rule):
    """The textbook overfitting picture, readable from two evaluations: eval loss many times
    the train loss, or eval accuracy far below train accuracy, while eval no longer improves.

    Quiet while the newest eval loss or the task metric is still (within 1 %) at its best:
    a classifier at 97 % validation accuracy whose train loss reaches 0.003 is fine.
    """

    info = RuleInfo(
        "generalisation-gap",
        "evaluation",
        "warning",
        "eval far worse than train while eval no longer improves",
    )
    clear = 2
    defers_to = frozenset({"overfitting", "memorisation"})

    def check(self, view: View, facts: Facts) -> Hit | None:
        values, steps, recs = eval_series(view)
        if len(values) < 2:
            return self._component_gap(view) if not view.count(EVAL_LOSS) else None
        best_i = int(np.argmin(values))
        last = float(values[-1])
        if last <= 1.01 * float(values[best_i]):
            stalled = self._stalled(view, values, steps, recs)
            if stalled is None:
                return None  # eval loss still at its best and still moving with train
            since = stalled
            metric = metric_near_best(view)
        else:
            metric = metric_near_best(view)
            if metric is not None and metric[3]:
                return None  # the task metric still at its best
            since = _("best eval_loss {value} at step {step}").format(
                value=fmt(float(values[best_i])), step=int(steps[best_i])
            )
        t_now = self._train_before_eval(view, recs, len(recs) - 1)
        if metric is not None:
            since += "; " + _("{name} {value} (best {best})").format(
                name=metric[0], value=fmt(metric[1]), best=fmt(metric[2])
            )
        if np.isfinite(t_now) and t_now > 0:
            ratio = last / t_now
            if ratio >= GAP_RATIO and last - t_now >= GAP_MIN_DELTA:
                return Hit(
                    "warning",
                    int(steps[-1]),
                    _("Eval loss is {ratio:.1f}x the train loss and no longer improves").format(
                        ratio=ratio
                    ),
                    _(
                        "eval_loss {eval} vs train loss {train} (ratio {ratio:.1f}) at step "
                        "{step}; {since}"
                    ).format(
                        **figures(eval=last, train=t_now),
                        ratio=ratio,
                        step=int(steps[-1]),
                        since=since,
                    ),
                    _(_GAP_ADVICE),
                )
        return self._accuracy_gap(view, since)

    @staticmethod
    def _component_gap(view: View) -> Hit | None:
        """Logs without a canonical eval loss that pair train and validation losses by name
        (YOLO's `train/box_loss` and `val/box_loss`): the same test on the widest pair."""
        names = set(view.names())
        for name in names:  # a detector's mAP at its best says eval still improves
            if "map" in name.lower() and not name.lower().startswith("train"):
                values = view.values(name)
                values = values[np.isfinite(values)]
                if len(values) >= 2 and values[-1] >= 0.99 * float(np.max(values)):
                    return None
        best: tuple[float, str, str, float, float, float] | None = None
        for val_name in sorted(names):
            train_name = _train_twin(val_name, names)
            if train_name is None:
                continue
            vals = view.values(val_name)
            vals = vals[np.isfinite(vals)]
            if len(vals) < 2 or float(vals[-1]) <= 1.01 * float(np.min(vals)):
                continue
            train = median(view.tail(train_name, 5))
            last = float(vals[-1])
            if not (np.isfinite(train) and train > 0):
                continue
            ratio = last / train
            wide = ratio >= GAP_RATIO and last - train >= GAP_MIN_DELTA
            if wide and (best is None or ratio > best[0]):
                best = (ratio, val_name, train_name, last, train, float(np.min(vals)))
        if best is None:
            return None
        ratio, val_name, train_name, last, train, low = best
        step = view.step_of(val_name, view.count(val_name) - 1)
        return Hit(
            "warning",
            step,
            _("{val} is {ratio:.1f}x {train} and no longer improves").format(
                val=val_name, ratio=ratio, train=train_name
            ),
            _(
                "{val} {val_value} vs {train} {train_value} (ratio {ratio:.1f}) at step "
                "{step}; best {val} {best}"
            ).format(
                val=val_name,
                val_value=fmt(last),
                train=train_name,
                train_value=fmt(train),
                ratio=ratio,
                step=step,
                best=fmt(low),
            ),
            _(_GAP_ADVICE),
        )

    @classmethod
    def _stalled(
        cls, view: View, values: np.ndarray, steps: np.ndarray, recs: np.ndarray
    ) -> str | None:
        """Evidence when an eval loss at its best has stopped moving while training goes on
        improving (the onset of overfitting, before any eval gets worse), else None.

        Stalled: over the last STALL_EVALS evaluations the eval loss and the task metric
        gained less than STALL_GAIN while the train loss fell by STALL_TRAIN_DROP or more.
        """
        if len(values) < STALL_EVALS:
            return None
        first = float(values[-STALL_EVALS])
        if first - float(np.min(values[-STALL_EVALS + 1 :])) >= STALL_GAIN * first:
            return None
        t_then = cls._train_before_eval(view, recs, len(recs) - STALL_EVALS)
        t_now = cls._train_before_eval(view, recs, len(recs) - 1)
        if not (np.isfinite(t_then) and np.isfinite(t_now) and t_then > 0):
            return None
        if t_now > (1.0 - STALL_TRAIN_DROP) * t_then:
            return None
        since_step = float(steps[-STALL_EVALS])
        change = metric_change(view, since_step, min_gain=STALL_GAIN)
        if change is not None and change[3]:
            return None
        best_step = int(steps[-STALL_EVALS + int(np.argmin(values[-STALL_EVALS:]))])
        return eval_and_train_moves(first, float(values[-1]), STALL_EVALS, best_step, t_then, t_now)

    @staticmethod
    def _train_before_eval(view: View, recs: np.ndarray, k: int) -> float:
        """Median of the (at most five) newest train losses logged between eval k-1 and eval
        k: with sparse logs, older losses would hide how far training has moved on."""
        i = min(view.count_at(LOSS, int(recs[k]) + 1), view.count(LOSS))
        lo = min(view.count_at(LOSS, int(recs[k - 1]) + 1), i) if k > 0 else 0
        if i == 0:
            return float("nan")
        return median(
            view.values(LOSS, max(lo, i - 5), i) if i > lo else view.values(LOSS, i - 1, i)
        )

    @staticmethod
    def _accuracy_gap(view: View, since: str) -> Hit | None:
        metric = metric_near_best(view)
        train_name = train_accuracy(view)
        if metric is None or train_name is None or "acc" not in metric[0].lower():
            return None
        train_acc = view.last(train_name)
        if train_acc is None or not np.isfinite(train_acc):
            return None
        percent = max(train_acc, metric[1]) > 1.0
        gap = _fraction(train_acc, percent) - _fraction(metric[1], percent)
        if gap < ACCURACY_GAP:
            return None
        step = view.step_of(EVAL_LOSS, view.count(EVAL_LOSS) - 1)
        return Hit(
            "warning",
            step,
            _(
                "Eval accuracy is {gap:.0%} below the training accuracy and no longer improves"
            ).format(gap=gap),
            _("{eval} {eval_value} vs {train} {train_value} at step {step}; {since}").format(
                eval=metric[0],
                eval_value=fmt(metric[1]),
                train=train_name,
                train_value=fmt(train_acc),
                step=step,
                since=since,
            ),
            _(_GAP_ADVICE),
        )


_VAL_PREFIXES = ("val/", "val_", "valid/", "valid_", "validation/", "eval/", "test/")
_TRAIN_PREFIXES = ("train/", "train_", "")


def _train_twin(val_name: str, names: set[str]) -> str | None:
    """`train/box_loss` for `val/box_loss`, `loss_cls` for `val_loss_cls`; None otherwise."""
    low = val_name.lower()
    if "loss" not in low:
        return None
    for prefix in _VAL_PREFIXES:
        if low.startswith(prefix):
            rest = val_name[len(prefix) :]
            for train_prefix in _TRAIN_PREFIXES:
                if train_prefix + rest in names:
                    return train_prefix + rest
    return None


_GAP_ADVICE = N_(
    "The model fits the training set far better than held-out data: keep the best checkpoint, "
    "stop earlier, and add data, augmentation, weight decay or dropout."
)


EVAL_RULES: tuple[type[Rule], ...] = (Overfitting, Memorisation, TrainEvalGap, GeneralisationGap)
