"""Rules that real runs needed: NaN in any loss-like series, a generalisation gap readable
from two evaluations, divergence during warm-up, facts-based advice that never contradicts a
worse finding, throughput from what the log printed. Each fires on its case and stays quiet
on a healthy twin (the arrays come from `test_rules.Run`)."""

from __future__ import annotations

import math

import numpy as np

from trainmon.advice import AdviceEngine, analyze
from trainmon.records import MetricRecord
from trainmon.store import MetricStore

from .test_rules import Run, fired


def _store(records: list[MetricRecord], times: list[float] | None = None) -> MetricStore:
    store = MetricStore()
    for i, record in enumerate(records):
        store.extend([record], times[i] if times else 0.0)
    return store


# -- nan-metric ------------------------------------------------------------------------------


def _detector_run(bad_at: int | None, name: str = "loss_box_reg") -> list[MetricRecord]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(60):
        component = 0.3 * np.exp(-i / 40) + 0.01 * rng.random()
        values = {"loss": 1.0 * np.exp(-i / 40) + 0.2, name: float(component), "lr": 0.02}
        if bad_at is not None and i >= bad_at:
            values[name] = float("nan")
        out.append(MetricRecord("train", 20 * (i + 1), values))
    return out


def test_nan_in_a_loss_component_is_critical_at_its_first_record() -> None:
    # GIVEN a detector whose total loss stays finite while one component becomes NaN
    findings = analyze(_store(_detector_run(30)))
    f = fired(findings, "nan-metric")
    # THEN it is critical at the first NaN record, naming the series
    assert f and f[0].severity == "critical" and f[0].step == 20 * 31
    assert "loss_box_reg" in f[0].title
    # AND the healthy twin is quiet
    assert not fired(analyze(_store(_detector_run(None))), "nan-metric")


def test_nan_metric_covers_perplexity_and_renamed_grad_norms_but_not_loss_scale() -> None:
    for name in ("ppl", "val_perplexity", "train/grad_norm_total", "gnorm_clip"):
        f = fired(analyze(_store(_detector_run(30, name))), "nan-metric")
        assert f and f[0].step == 20 * 31, name
    # an fp16 loss scale or a loss weight is not a loss
    for name in ("loss_scale", "loss_weight"):
        assert not fired(analyze(_store(_detector_run(30, name))), "nan-metric"), name


def test_nan_metric_silences_trend_rules_like_nan_loss() -> None:
    engine = AdviceEngine()
    engine.finish(_store(_detector_run(30)))
    assert engine.facts.numerics_active


# -- generalisation-gap ----------------------------------------------------------------------


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
    return _store(records)


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
    f = fired(analyze(_store(records)), "generalisation-gap")
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
    assert not fired(analyze(_store(twin)), "generalisation-gap")


# -- divergence in any phase -----------------------------------------------------------------


def test_loss_growing_many_fold_during_warm_up_is_critical() -> None:
    # GIVEN a long warm-up (no burn-in yet) and a loss that keeps growing (x4 by record 44)
    run = Run(warmup=150)
    run.loss[:] = 3.0
    run.loss[10:] = 3.0 * np.geomspace(1, 2000, 190)
    f = fired(run.findings(), "loss-explosion")
    assert f and f[0].severity == "critical" and run.steps[40] <= f[0].step <= run.steps[46]
    assert "early loss" in f[0].evidence
    # AND the healthy twin with the same warm-up is quiet
    assert not fired(Run(warmup=150).findings(), "loss-explosion")


def test_one_spike_many_fold_that_recovers_is_not_divergence() -> None:
    run = Run()
    run.loss[100] = 20.0
    assert not fired(run.findings(), "loss-explosion")


# -- facts-based advice ------------------------------------------------------------------------


def test_still_improving_never_stands_beside_a_worse_finding() -> None:
    # GIVEN a run whose eval loss improves at the end, but far above where it started
    run = Run()
    run.summary = True
    run.loss[50:] = run.loss[50:] * np.geomspace(1, 2000, 150)
    run.add_evals(20, [5000.0, 4000.0, 3000.0, 2000.0, 1000.0, 900.0, 800.0, 700.0, 600.0, 500.0])
    assert not fired(run.findings(), "still-improving")
    # AND its healthy twin that still improves is told so
    twin = Run()
    twin.summary = True
    twin.add_evals(20, [2.0, 1.8, 1.6, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9])
    assert fired(twin.findings(), "still-improving")


def test_schedule_is_not_called_normal_while_a_problem_is_active() -> None:
    run = Run()
    run.loss[150:] = 0.0
    engine = AdviceEngine()
    engine.finish(run.store())
    assert engine.state.active and engine.state.active[0].severity == "critical"
    assert "normal" not in engine.state.schedule and engine.state.schedule
    healthy = AdviceEngine()
    healthy.finish(Run().store())
    assert healthy.state.schedule.endswith("normal")


def test_initial_loss_reports_the_first_record() -> None:
    run = Run()
    run.loss[:3] = [25.0, 20.0, 18.0]
    f = fired(run.findings({"vocab_size": 32000}), "initial-loss")
    assert f and "initial loss 25" in f[0].evidence


# -- throughput from what the log printed ------------------------------------------------------


def _nanogpt(slow_from: int | None, jitter: float = 0.1) -> list[MetricRecord]:
    rng = np.random.default_rng(2)
    out = []
    for i in range(120):
        ms = 20.0 * (1 + jitter * rng.random())
        if slow_from is not None and i >= slow_from:
            ms += 60.0
        out.append(MetricRecord("train", 5 * i, {"loss": 3.0 - i / 100, "time_ms": ms}))
    return out


def test_throughput_drop_from_printed_step_times_is_the_same_however_it_arrives() -> None:
    # GIVEN a nanoGPT log whose iterations take 4x longer from record 80, read in one burst
    f = fired(analyze(_store(_nanogpt(80))), "throughput-drop")
    assert f and f[0].step == 5 * 80 and "printed time_ms" in f[0].evidence
    # AND the same records arriving one per second find the same thing
    live = fired(analyze(_store(_nanogpt(80), [float(i) for i in range(120)])), "throughput-drop")
    assert [x.step for x in live] == [x.step for x in f]
    # AND the healthy twin, or a machine that is merely busier (x1.6), is quiet
    assert not fired(analyze(_store(_nanogpt(None))), "throughput-drop")
    busier = [
        MetricRecord(r.kind, r.step, {**r.values, "time_ms": r.values["time_ms"] * 1.6})
        if r.step >= 400
        else r
        for r in _nanogpt(None)
    ]
    assert not fired(analyze(_store(busier)), "throughput-drop")


def test_contention_that_comes_and_goes_is_not_a_throughput_drop() -> None:
    # GIVEN a nanoGPT log that turns 4x slower from record 80, but every third iteration runs
    # at full speed again (other jobs sharing the cores, in bursts)
    bursty = [
        MetricRecord(r.kind, r.step, {**r.values, "time_ms": 20.0}) if i >= 80 and i % 3 == 0 else r
        for i, r in enumerate(_nanogpt(80))
    ]
    # THEN no throughput-drop: the slow stretch never holds for five intervals in a row
    assert not fired(analyze(_store(bursty)), "throughput-drop")
    # AND the same slowdown on every iteration is one (the sustained twin)
    assert fired(analyze(_store(_nanogpt(80))), "throughput-drop")


def test_a_backlog_read_in_bursts_gives_no_throughput_finding() -> None:
    # GIVEN a history read at start in bursts of 16 records (arrival times say nothing)
    run = Run()
    store = MetricStore()
    records = [r for _, r in run.records()]
    for i in range(0, len(records), 16):
        store.extend(records[i : i + 16], float(i // 16) * (1 if i < 160 else 9))
    store.mark_backlog()
    engine = AdviceEngine()
    engine.finish(store)
    assert not fired(engine.findings(), "throughput-drop")


# -- an uncertain step axis --------------------------------------------------------------------


def test_windowed_rules_keep_quiet_once_the_step_axis_goes_backwards() -> None:
    # GIVEN two runs appended to one file: the second restarts at step 10 with a high loss
    first, second = Run(n=60, seed=1), Run(n=140, seed=2)
    records = [r for _, r in first.records()] + [r for _, r in second.records()]
    store = _store(records)
    engine = AdviceEngine()
    engine.finish(store)
    # THEN no trend is read across the restart
    assert engine.facts.steps_uncertain
    assert not [f for f in engine.findings() if f.severity != "info"]
    # WHILE the numerics rules still speak at the first bad record
    records[100] = MetricRecord("train", records[100].step, {"loss": float("nan")})
    f = fired(analyze(_store(records)), "nan-loss")
    assert f and f[0].step == records[100].step


# -- early-plateau -------------------------------------------------------------------------------


def _quick_drop_then_flat(n: int = 200) -> Run:
    run = Run(n=n)
    i = np.arange(n, dtype=float)
    noise = np.exp(0.01 * np.random.default_rng(5).standard_normal(n))
    run.loss[:] = (2.7 + 0.6 * np.exp(-i / 3)) * noise  # label frequencies learned, then nothing
    return run


LM = {"vocab_size": 30}  # ln 30 = 3.4: the run above starts from scratch


def test_early_plateau_when_learning_stops_in_the_first_tenth() -> None:
    run = _quick_drop_then_flat()
    f = fired(run.findings({"max_steps": 2000, **LM}), "early-plateau")
    assert f and f[0].severity == "warning" and f[0].step == 200  # 10 % of 2000
    # the healthy twin keeps improving after the first tenth
    assert not fired(Run().findings({"max_steps": 2000, **LM}), "early-plateau")
    # without a planned length, the run so far is judged when the log starts at its start
    assert fired(run.findings(LM), "early-plateau")
    # a fine-tune (its first loss far below ln(vocab)) often converges this fast: quiet
    assert not fired(run.findings({"max_steps": 2000, "vocab_size": 32000}), "early-plateau")
    late = _quick_drop_then_flat()
    late.steps = late.steps + 50_000  # an excerpt from the middle of a run: quiet
    assert not fired(late.findings(LM), "early-plateau")


def test_early_plateau_is_quiet_while_eval_improves_or_near_zero() -> None:
    run = _quick_drop_then_flat()  # held-out loss keeps falling: the model still learns
    run.add_evals(20, [2.5, 2.3, 2.2, 2.1, 2.0, 1.9, 1.8, 1.7, 1.6, 1.5])
    assert not fired(run.findings({"max_steps": 2000, **LM}), "early-plateau")
    converged = _quick_drop_then_flat()
    converged.loss[:] = converged.loss / 30  # flat at 0.09 after 0.11: nothing left to learn
    converged.loss[0] = 3.3
    assert not fired(converged.findings({"max_steps": 2000, **LM}), "early-plateau")


def _falls_then(per_doubling: float, level: float, n: int = 60) -> Run:
    """A from-scratch LM at a constant LR, no planned length (a nanoGPT loop): the loss falls
    from 3.4 to `level` in 8 records, then keeps `per_doubling` of its value per doubling of
    the steps (0.97: a crawl; 0.76: a healthy learning curve)."""
    run = Run(n=n, warmup=0)
    run.lr[:] = 1e-3
    i = np.arange(n, dtype=float)
    noise = np.exp(0.01 * np.random.default_rng(3).standard_normal(n))
    after = level * (np.maximum(i, 8) / 8) ** math.log2(per_doubling)
    run.loss[:] = np.where(i < 8, 3.4 - (3.4 - level) * i / 8, after) * noise
    return run


def test_early_plateau_without_a_planned_length_compares_a_doubling_of_the_steps() -> None:
    crawl = _falls_then(0.97, 2.6)  # an LR far too high: 3 % per doubling, far above the end
    f = fired(crawl.findings(LM), "early-plateau")
    assert f and f[0].severity == "warning" and "as the steps doubled" in f[0].title
    assert "at steps" in f[0].evidence
    # the healthy twin loses a quarter per doubling: quiet
    assert not fired(_falls_then(0.76, 2.6).findings(LM), "early-plateau")
    # the same crawl below half the first loss is the slow end of a curve: quiet
    assert not fired(_falls_then(0.97, 1.5).findings(LM), "early-plateau")
    # a warm-up inside the compared steps explains a slow start: quiet
    warming = _falls_then(0.97, 2.6)
    warming.lr[:] = 1e-3 * np.minimum(1.0, (np.arange(60) + 1) / 40)
    assert not fired(warming.findings(LM), "early-plateau")


def test_report_reads_vocab_and_classes_from_a_config_beside_the_log(tmp_path) -> None:
    import json

    from trainmon.report import read_log, summary_run

    log = tmp_path / "train.log"
    log.write_text("".join(f"step={k} loss=0.69\n" for k in range(1, 5)))
    (tmp_path / "config.json").write_text(
        json.dumps({"architectures": ["BertForSequenceClassification"], "num_labels": 2})
    )
    assert summary_run(read_log(str(log))).context["num_classes"] == 2


def test_stuck_at_chance_also_when_worse_than_a_uniform_guess() -> None:
    # GIVEN a binary classifier whose loss swings above ln 2 after a far too high LR
    run = Run()
    rng = np.random.default_rng(3)
    run.loss[:] = np.log(2) * (1.0 + np.abs(0.3 * rng.standard_normal(len(run.loss))))
    f = fired(run.findings({"num_classes": 2}), "stuck-at-chance")
    assert f and f[0].severity == "critical"
    # the healthy twin (well below ln 2 after training) is quiet
    twin = Run()
    twin.loss[:] = np.geomspace(0.69, 0.1, len(twin.loss))
    assert not fired(twin.findings({"num_classes": 2}), "stuck-at-chance")


def test_generalisation_gap_on_named_train_and_val_loss_pairs() -> None:
    # GIVEN a detector's results table: train/box_loss falls, val/box_loss turns up, mAP drops
    records = []
    for k in range(30):
        train = 2.0 * np.exp(-k / 8) + 0.3
        val = 1.6 - 0.04 * k if k < 10 else 1.2 + 0.05 * (k - 10)
        m = 0.1 + 0.02 * k if k < 10 else 0.3 - 0.005 * (k - 10)
        values = {"train/box_loss": train, "val/box_loss": val, "metrics/mAP50(B)": m}
        records.append(MetricRecord("train", k + 1, values))
    f = fired(analyze(_store(records)), "generalisation-gap")
    assert f and "val/box_loss" in f[0].title and f[0].severity == "warning"
    # the twin whose mAP is still at its best stays quiet
    twin = [
        MetricRecord("train", r.step, {**r.values, "metrics/mAP50(B)": 0.1 + 0.02 * r.step})
        for r in records
    ]
    assert not fired(analyze(_store(twin)), "generalisation-gap")


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
