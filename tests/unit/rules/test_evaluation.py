"""The evaluation family: overfitting (checked against the task metric), memorisation,
the train-eval gap, and a generalisation gap readable from as few as two evaluations, under
Trainer, Keras and detector names; a warning that still holds stays active between sparse
evaluations.

Each fires on its case and stays quiet on a healthy twin: eval noise within 2 %, eval loss
still improving, a task metric at a new best, a small gap, an overfitting finding already
active.
"""

from __future__ import annotations

import numpy as np

from tests.rule_cases import Run, fired, store_of
from trainmon.advice import AdviceEngine, analyze
from trainmon.records import MetricRecord
from trainmon.store import MetricStore

# -- overfitting, memorisation, train-eval-gap -------------------------------------------------


def test_overfitting_warns_and_is_info_when_the_task_metric_improves() -> None:
    run = Run()
    evals = [1.6, 1.2, 1.0, 0.9, 0.95, 1.0, 1.08, 1.15, 1.2, 1.3]
    run.add_evals(20, evals)
    f = fired(run.findings(), "overfitting")
    assert f and f[0].severity == "warning" and f[0].step == run.steps[99]
    assert "eval_loss 0.9→" in f[0].evidence
    metric = Run()
    metric.add_evals(20, evals, metric=np.linspace(0.6, 0.9, 10))
    g = fired(metric.findings(), "overfitting")
    assert g and g[0].severity == "info" and "eval_accuracy" in g[0].evidence


def test_eval_noise_within_two_percent_is_not_overfitting() -> None:
    run = Run()
    run.add_evals(20, [1.6, 1.2, 1.0, 0.9, 0.91, 0.905, 0.912, 0.9, 0.908, 0.91])
    assert not fired(run.findings(), "overfitting")


def test_memorisation() -> None:
    run = Run()
    run.loss[:] = 2.0 * np.exp(-np.arange(200) / 20) + 1e-4
    run.add_evals(20, [1.5, 0.9, 0.7, 0.6, 0.62, 0.66, 0.7, 0.75, 0.8, 0.86])
    f = fired(run.findings(), "memorisation")
    assert f and f[0].severity == "warning"


def test_train_eval_gap_is_info_only() -> None:
    run = Run()
    run.add_evals(20, np.linspace(1.9, 1.5, 10))
    f = fired(run.findings(), "train-eval-gap")
    assert f and all(x.severity == "info" for x in f)


# -- generalisation-gap ------------------------------------------------------------------------


def _sparse_run(evals: list[float], train: list[float], metric: list[float] | None = None):
    """One train record and one eval per epoch, as many custom loops print them."""
    records = []
    for k, (e, t) in enumerate(zip(evals, train, strict=True)):
        step = 1000 * (k + 1)
        records.append(MetricRecord("train", step, {"loss": t}))
        values = {"eval_loss": e}
        if metric is not None:
            values["eval_exact_match"] = metric[k]
        records.append(MetricRecord("eval", step, values))
    return store_of(records)


def test_generalisation_gap_from_two_evaluations() -> None:
    # GIVEN eval loss rising while train loss collapses (the textbook picture)
    store = _sparse_run([2.17, 2.28, 2.52], [1.84, 1.54, 0.69], [2.6, 3.7, 3.6])
    f = fired(analyze(store), "generalisation-gap")
    # THEN a warning with the ratio as evidence, at the eval that showed it
    assert f and f[0].severity == "warning" and f[0].step == 3000
    assert "ratio 3.7" in f[0].evidence
    # AND two evaluations are enough
    two = fired(analyze(_sparse_run([2.0, 2.3], [1.2, 0.6])), "generalisation-gap")
    assert two and two[0].step == 2000


def test_generalisation_gap_is_quiet_while_eval_still_improves() -> None:
    # eval loss still falling (the gap alone is normal)
    assert not fired(analyze(_sparse_run([2.5, 2.2, 2.1], [1.8, 0.9, 0.4])), "generalisation-gap")
    # eval loss rising but the task metric at a new best
    store = _sparse_run([2.17, 2.28, 2.52], [1.84, 1.54, 0.69], [2.6, 3.7, 3.9])
    assert not fired(analyze(store), "generalisation-gap")


def test_a_classifier_at_its_best_accuracy_with_a_tiny_train_loss_is_fine() -> None:
    # GIVEN a classifier at 97 % validation accuracy whose train loss reaches 0.003
    run = Run()
    run.loss[:] = np.geomspace(0.7, 0.003, len(run.loss))
    run.add_evals(40, [0.12, 0.10, 0.11, 0.13, 0.14], [0.95, 0.96, 0.97, 0.97, 0.971])
    assert not fired(run.findings(), "generalisation-gap")
    # WHEN validation accuracy falls away from its best while eval loss rises (two evals:
    # too few for the overfitting rule's patience)
    run.evals = []
    run.add_evals(100, [0.10, 0.35], [0.97, 0.90])
    f = fired(run.findings(), "generalisation-gap")
    assert f and f[0].severity == "warning"


def test_generalisation_gap_when_eval_loss_stalls_at_its_best_while_train_keeps_falling() -> None:
    # GIVEN an eval loss that no longer moves (new best by a hair, -0.3 % over three evals)
    # while the train loss falls by a third and sits at a quarter of it
    evals = [1.81, 1.13, 0.99, 0.90, 0.873, 0.8685, 0.870]
    train = [1.93, 0.80, 0.57, 0.42, 0.311, 0.232, 0.198]
    f = fired(analyze(_sparse_run(evals, train)), "generalisation-gap")
    # THEN a warning at the newest eval, the stall and the ratio as evidence
    assert f and f[0].severity == "warning" and f[0].step == 7000
    assert "ratio 4.4" in f[0].evidence
    assert "0.873→0.87 over 3 evals (best at step 6000)" in f[0].evidence
    # AND the twins are quiet: eval still creeping down by more than 1 %, ...
    creeping = [*evals[:-2], 0.86, 0.85]
    assert not fired(analyze(_sparse_run(creeping, train)), "generalisation-gap")
    # ... training that slowed down with it (train -10 %), ...
    slow = [*train[:-3], 0.30, 0.29, 0.28]
    assert not fired(analyze(_sparse_run(evals, slow)), "generalisation-gap")
    # ... a task metric still improving by more than 1 %, ...
    metric = [10.0, 20.0, 30.0, 35.0, 40.0, 41.0, 42.0]
    assert not fired(analyze(_sparse_run(evals, train, metric)), "generalisation-gap")
    # ... and a small gap (eval loss 0.1 above train: a classifier at its best)
    close = [e - 0.75 for e in evals]
    small = [t * 0.5 for t in train]
    assert not fired(analyze(_sparse_run(close, small)), "generalisation-gap")


def test_generalisation_gap_does_not_repeat_an_active_overfitting_finding() -> None:
    run = Run()
    run.loss[:] = np.geomspace(2.0, 0.3, len(run.loss))
    run.add_evals(20, [1.5, 1.2, 1.0, 1.1, 1.3, 1.5, 1.7, 1.9, 2.1, 2.3])
    findings = run.findings()
    assert fired(findings, "overfitting") and not fired(findings, "generalisation-gap")


def test_accuracy_gap_with_keras_names() -> None:
    records = []
    for k, (acc, val_acc, loss, val_loss) in enumerate(
        [(0.80, 0.78, 0.5, 0.55), (0.95, 0.76, 0.2, 0.56), (0.99, 0.74, 0.05, 0.57)]
    ):
        step = k + 1
        records.append(MetricRecord("train", step, {"loss": loss, "accuracy": acc}))
        records.append(
            MetricRecord("eval", step, {"eval_loss": val_loss, "eval_accuracy": val_acc})
        )
    f = fired(analyze(store_of(records)), "generalisation-gap")
    assert f and f[0].severity == "warning"
    # the twin whose validation accuracy follows the training accuracy is quiet
    twin = [
        MetricRecord(r.kind, r.step, {**r.values, "eval_accuracy": 0.6 + 0.12 * r.step})
        if r.kind == "eval"
        else r
        for r in records
    ]
    twin = [
        MetricRecord(r.kind, r.step, {**r.values, "eval_loss": 0.6 - 0.1 * r.step})
        if r.kind == "eval"
        else r
        for r in twin
    ]
    assert not fired(analyze(store_of(twin)), "generalisation-gap")


def test_generalisation_gap_on_named_train_and_val_loss_pairs() -> None:
    # GIVEN a detector's results table: train/box_loss falls, val/box_loss turns up, mAP drops
    records = []
    for k in range(30):
        train = 2.0 * np.exp(-k / 8) + 0.3
        val = 1.6 - 0.04 * k if k < 10 else 1.2 + 0.05 * (k - 10)
        m = 0.1 + 0.02 * k if k < 10 else 0.3 - 0.005 * (k - 10)
        values = {"train/box_loss": train, "val/box_loss": val, "metrics/mAP50(B)": m}
        records.append(MetricRecord("train", k + 1, values))
    f = fired(analyze(store_of(records)), "generalisation-gap")
    assert f and "val/box_loss" in f[0].title and f[0].severity == "warning"
    # the twin whose mAP is still at its best stays quiet
    twin = [
        MetricRecord("train", r.step, {**r.values, "metrics/mAP50(B)": 0.1 + 0.02 * r.step})
        for r in records
    ]
    assert not fired(analyze(store_of(twin)), "generalisation-gap")


def test_a_warning_that_still_holds_stays_active_between_evaluations() -> None:
    # GIVEN sparse evals that show a widening gap, with many train records in between
    run = Run()
    run.loss[:] = np.geomspace(2.0, 0.2, len(run.loss))
    run.add_evals(40, [0.9, 2.0])
    engine = AdviceEngine()
    store = MetricStore()
    seen_active = []
    for t, record in run.records():
        store.extend([record], t)
        state = engine.update(store)
        seen_active.append("generalisation-gap" in {f.rule for f in state.active})
    # THEN once it fired it never left the active list while its evidence held
    first = seen_active.index(True)
    assert all(seen_active[first:])
    assert "generalisation-gap" not in {f.rule for f in engine.state.history}
