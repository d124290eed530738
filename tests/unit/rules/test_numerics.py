"""The numerics family, checked on every record: NaN or infinite loss, eval loss, grad
norm or any loss-like series (`nan-metric`), an exact zero loss, a negative loss, and a loss
that explodes far above its start, after burn-in or during a long warm-up.

Each fires at the first bad record and stays quiet on a healthy twin: a high first loss, a
spike that recovers, a loss printed below its precision, an objective that can be negative.
"""

from __future__ import annotations

import numpy as np

from tests.rule_cases import Run, fired, ids, store_of
from trainmon.advice import AdviceEngine, analyze
from trainmon.records import MetricRecord

# -- NaN and infinity --------------------------------------------------------------------------


def test_nan_loss_fires_at_the_first_nan_and_silences_trend_rules() -> None:
    run = Run()
    run.loss[120:] = np.nan
    run.grad[120:] = np.nan
    findings = run.findings()
    nan = fired(findings, "nan-loss")
    assert nan and nan[0].severity == "critical" and nan[0].step == run.steps[120]
    assert not ids(findings) & {"loss-rising", "not-learning", "late-plateau"}


def test_inf_loss_counts_as_non_finite() -> None:
    run = Run()
    run.loss[80] = np.inf
    assert fired(run.findings(), "nan-loss")[0].step == run.steps[80]


def test_nan_eval_loss() -> None:
    run = Run()
    run.add_evals(20, [1.5, 1.2, float("nan"), 0.9])
    f = fired(run.findings(), "nan-eval-loss")
    assert f and f[0].step == run.steps[59]


def test_nan_grad_norm_is_info_when_rare_under_fp16_and_critical_in_bf16() -> None:
    run = Run()
    run.grad[100] = np.inf
    rare = fired(run.findings({"fp16": "true"}), "nan-grad-norm")
    assert rare and rare[0].severity == "info"
    bf16 = fired(run.findings({"bf16": True}), "nan-grad-norm")
    assert bf16 and bf16[0].severity == "critical"
    assert not fired(Run().findings({"fp16": True}), "nan-grad-norm")


def test_nan_grad_norm_repeated_escalates_to_critical() -> None:
    run = Run()
    run.grad[100:104] = np.nan
    f = fired(run.findings({"fp16": True}), "nan-grad-norm")
    assert f and f[-1].severity == "critical"


# -- nan-metric --------------------------------------------------------------------------------


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
    findings = analyze(store_of(_detector_run(30)))
    f = fired(findings, "nan-metric")
    # THEN it is critical at the first NaN record, naming the series
    assert f and f[0].severity == "critical" and f[0].step == 20 * 31
    assert "loss_box_reg" in f[0].title
    # AND the healthy twin is quiet
    assert not fired(analyze(store_of(_detector_run(None))), "nan-metric")


def test_nan_metric_covers_perplexity_and_renamed_grad_norms_but_not_loss_scale() -> None:
    for name in ("ppl", "val_perplexity", "train/grad_norm_total", "gnorm_clip"):
        f = fired(analyze(store_of(_detector_run(30, name))), "nan-metric")
        assert f and f[0].step == 20 * 31, name
    # an fp16 loss scale or a loss weight is not a loss
    for name in ("loss_scale", "loss_weight"):
        assert not fired(analyze(store_of(_detector_run(30, name))), "nan-metric"), name


def test_nan_metric_silences_trend_rules_like_nan_loss() -> None:
    engine = AdviceEngine()
    engine.finish(store_of(_detector_run(30)))
    assert engine.facts.numerics_active


# -- zero and negative loss --------------------------------------------------------------------


def test_zero_loss_is_critical_at_the_first_record_when_it_drops_from_a_real_value() -> None:
    run = Run()
    run.loss[150] = 0.0  # from ~0.6: labels masked, fp16 overflow, never convergence
    f = fired(run.findings(), "zero-loss")
    assert f and f[0].step == run.steps[150] and f[0].severity == "critical"
    assert not fired(Run().findings(), "zero-loss")  # the healthy twin


def test_zero_loss_after_a_converged_loss_needs_a_second_zero_or_a_nan_grad_norm() -> None:
    run = Run()
    run.with_grad = False
    run.loss[100:] = np.geomspace(1e-3, 1e-5, 100)  # converged: 0.0000 may be rounding
    run.loss[150] = 0.0
    assert not fired(run.findings(), "zero-loss")
    run.loss[151] = 0.0
    f = fired(run.findings(), "zero-loss")
    assert f and f[0].step == run.steps[150] and f[0].severity == "critical"
    single = Run()
    single.loss[100:] = np.geomspace(1e-3, 1e-5, 100)
    single.loss[150] = 0.0
    single.grad[150] = np.nan
    assert fired(single.findings(), "zero-loss")[0].step == single.steps[150]


def test_zero_loss_printed_below_its_precision_with_a_live_gradient_is_rounding() -> None:
    # a model memorising its data: the Trainer prints round(loss, 4), so 0.00004 reads 0.0,
    # while the gradient at the same steps is finite and non-zero (a masked batch has none)
    run = Run()
    run.loss[100:] = np.round(np.geomspace(1e-3, 1e-6, 100), 4)
    assert (run.loss[150:] == 0.0).all()
    run.grad[100:] = np.geomspace(0.05, 0.001, 100)
    assert not fired(run.findings(), "zero-loss")
    run.grad[150:] = 0.0  # the same zeros with no gradient: labels masked
    f = fired(run.findings(), "zero-loss")
    assert f and f[0].step == run.steps[150] and f[0].severity == "critical"


def test_negative_loss_warns_unless_the_objective_can_be_negative() -> None:
    run = Run()
    run.loss[100:103] = -0.5
    f = fired(run.findings(), "negative-loss")
    assert f and f[0].step == run.steps[100]
    store = run.store()
    store.extend([MetricRecord("train", 5000, {"rewards/chosen": -1.0})], 0.0)
    assert not fired(analyze(store, {}), "negative-loss")


# -- loss-explosion ----------------------------------------------------------------------------


def test_loss_explosion_after_burn_in() -> None:
    run = Run()
    run.loss[130:] = run.loss[130:] * np.geomspace(20, 2000, 70)
    f = fired(run.findings(), "loss-explosion")
    assert f and f[0].severity == "critical" and f[0].step == run.steps[130]


def test_high_initial_loss_is_not_an_explosion() -> None:
    # GIVEN a fine-tune whose first records are far above the rest (pilot: Gemma 14.8 → 0.7)
    run = Run()
    run.loss[:3] = [14.8, 9.0, 4.0]
    assert not fired(run.findings(), "loss-explosion")


def test_a_loss_that_always_sat_above_1e3_is_not_an_explosion() -> None:
    # GIVEN a detector whose summed loss is ~1100 from the first record (a real mmengine log)
    run = Run()
    run.loss[:] = 1100.0 * np.exp(0.01 * np.random.default_rng(4).standard_normal(200))
    assert not fired(run.findings(), "loss-explosion")
    # WHEN a run that started near 2 reaches 1e3 THEN the absolute cap applies
    boom = Run()
    boom.loss[150:] = 2000.0
    assert fired(boom.findings(), "loss-explosion")


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
