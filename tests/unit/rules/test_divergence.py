"""A loss that climbs back up and stays there: `early-divergence` (far above its low,
before the trend rules have history) and `loss-jump` (one update that broke the model, seen
three records later, with the LR or grad norm that jumped with it).

Each has a healthy twin that must stay quiet: a falling loss, a noisy classifier's dip and
return, one bad record, a hard batch that recovers at once, a small rise near a low loss.
Findings are the same whether the records arrive one at a time or all at once.
"""

from __future__ import annotations

import math

import numpy as np

from tests.rule_cases import (
    HF,
    detected_by,
    fired,
    learning,
    logged_every_5,
    logged_every_20,
    warmup_lr,
)
from trainmon.advice import AdviceEngine, analyze
from trainmon.records import MetricRecord
from trainmon.store import MetricStore

# -- early-divergence --------------------------------------------------------------------------


def run_with_lr_jump(jump_at: int | None, n: int = 120, warmup: int = 10) -> MetricStore:
    """Loss falls from 2.5; from `jump_at` an LR x10 drives it back to 1.2x its start."""
    rng = np.random.default_rng(7)
    lr, loss = [], []
    level = 2.5
    divergence = 0.0
    for k in range(n):
        rate = 5e-5 * min(1.0, (k + 1) / warmup)
        clean = 0.5 + 2.0 * math.exp(-k / 40)
        if jump_at is not None and k >= jump_at:
            rate *= 10
            divergence = min(1.0, divergence + 0.15)
            clean += divergence * (1.2 * level - clean)
        lr.append(rate)
        loss.append(clean * math.exp(0.04 * rng.standard_normal()))
    return logged_every_20(loss, steps=[10 * (k + 1) for k in range(n)], lr=lr)


def test_lr_jump_just_after_warm_up_is_caught_during_burn_in() -> None:
    # GIVEN LR x10 two records after warm-up ends (burn-in still running)
    store = run_with_lr_jump(jump_at=12)
    # WHEN analysed
    found = fired(analyze(store), "early-divergence")
    # THEN it warns, with an onset within a few records of the jump
    assert found and found[0].severity == "warning"
    assert 120 <= (found[0].step or 0) <= 200


def test_healthy_twin_without_the_jump_is_quiet() -> None:
    findings = analyze(run_with_lr_jump(jump_at=None))
    assert fired(findings, "early-divergence") == []
    assert [f for f in findings if f.severity != "info"] == []


def test_short_run_that_blows_up_and_stays_high() -> None:
    # GIVEN 5 records: the loss jumps ~7x at the second record and stays there
    store = logged_every_20([1.64, 11.8, 10.37, 10.37, 10.37], steps=[1, 2, 3, 4, 5], lr=[5.0] * 5)
    # WHEN analysed THEN early-divergence fires from the jump
    found = fired(analyze(store), "early-divergence")
    assert found and found[0].step in (2, 3)


def test_short_falling_run_is_quiet() -> None:
    store = logged_every_20(
        [2.1, 1.65, 1.58, 1.6, 1.21, 1.17], steps=range(10, 70, 10), lr=[2e-5] * 6
    )
    assert fired(analyze(store), "early-divergence") == []


def test_doubling_near_a_low_loss_needs_an_lr_jump() -> None:
    # GIVEN a fine-tune that fell from 2.0 to 0.08 and then doubles to 0.18 (noise at a low
    # level, still far below the start; the low is the level held over five records, 0.087)
    values = [2.0 * math.exp(-k / 3) + 0.08 for k in range(20)] + [0.18] * 4
    steps = [10 * (k + 1) for k in range(24)]
    quiet = logged_every_20(values, steps=steps, lr=[1e-5] * 24)
    assert fired(analyze(quiet), "early-divergence") == []
    # WHEN the same rise follows an LR x10
    jumped = logged_every_20(values, steps=steps, lr=[1e-5] * 20 + [1e-4] * 4)
    # THEN it is a divergence
    assert fired(analyze(jumped), "early-divergence")


def test_one_bad_record_is_not_a_divergence() -> None:
    values = [2.0 * math.exp(-k / 5) + 0.5 for k in range(15)]
    values[8] = 6.0
    store = logged_every_20(values, lr=[1e-4] * 15)
    assert fired(analyze(store), "early-divergence") == []


def test_a_noisy_classifiers_dip_and_return_is_no_divergence() -> None:
    # GIVEN a classifier on noisy labels: from ln 2 down to a noisy 0.3 level, with a
    # three-record dip to 0.18 and then 0.38 (batches of 16 swing 2x between records)
    rng = np.random.default_rng(5)
    n = 60
    loss = [0.69 - 0.39 * min(1.0, k / 12) for k in range(n)]
    loss = [v * math.exp(0.12 * rng.standard_normal()) for v in loss]
    loss[20:23] = [0.18, 0.17, 0.19]
    loss[40:46] = [0.38, 0.37, 0.39, 0.38, 0.36, 0.38]
    store = logged_every_5(loss, warmup_lr(n, 1e-3))
    # THEN early-divergence stays quiet: 0.38 is the level the run held, not twice it
    assert fired(analyze(store, HF), "early-divergence") == []


# -- loss-jump ---------------------------------------------------------------------------------


def jumped_run(jump_at: int | None, recover: bool = False) -> MetricStore:
    """120 records: a learning run; from `jump_at` the LR x30 and the loss x1.9, then x1.45
    decaying back (or, with `recover`, a hard batch: one record up, then back)."""
    n = 120
    loss = learning(n, floor=1.4)
    lr = warmup_lr(n, 1e-3)
    grad = [1.0] * n
    if jump_at is not None:
        for k in range(jump_at, n):
            if recover:
                if k == jump_at:
                    loss[k] *= 2.0
                continue
            lr[k] *= 30
            grad[k] = 5.0 if k == jump_at else 1.5
            # x1.9, then x1.45 falling back slowly: one spike, not the repeated spikes of
            # loss-instability (which this rule defers to)
            loss[k] *= 1.9 if k == jump_at else 1.0 + 0.45 * math.exp(-(k - jump_at - 1) / 6)
    return logged_every_5(loss, lr, grad=grad)


def test_a_loss_that_jumps_and_stays_up_warns_three_records_after_the_jump() -> None:
    # GIVEN the LR x30 at record 60 (step 300) and the loss x1.9 there, slowly coming back
    store = jumped_run(60)
    # WHEN replayed record by record THEN loss-jump is active by the second record after
    assert detected_by(store, HF, "loss-jump") == 310
    found = fired(analyze(store, HF), "loss-jump")
    assert found[0].step == 300 and found[0].severity == "warning"
    assert "LR" in found[0].evidence and "grad_norm" in found[0].evidence


def test_a_hard_batch_that_recovers_at_once_is_no_jump() -> None:
    findings = analyze(jumped_run(60, recover=True), HF)
    assert fired(findings, "loss-jump") == []
    assert fired(findings, "loss-spike")  # it is still a spike, at info


def test_healthy_twin_without_a_jump_is_quiet() -> None:
    findings = analyze(jumped_run(None), HF)
    assert [f for f in findings if f.severity != "info"] == []


def test_the_jump_moves_to_earlier_once_the_loss_is_back_down() -> None:
    state = AdviceEngine(HF).finish(jumped_run(60))
    assert "loss-jump" not in [f.rule for f in state.active]
    assert "loss-jump" in [f.rule for f in state.history]


def noisy_fine_tune(lr_jump_at: int | None, loss_up_at: int | None) -> MetricStore:
    """120 records of a small-batch fine-tune, its loss 0.3 with +-35 % noise (a jump to 0.7
    is within its noise for the spike test); the LR x30 from `lr_jump_at`, the loss up at
    0.7-0.8 from `loss_up_at` (a model knocked back to chance) when given."""
    rng = np.random.default_rng(3)
    n = 120
    loss = list(0.3 * np.exp(0.3 * rng.standard_normal(n)))
    lr = warmup_lr(n, 1e-3)
    if lr_jump_at is not None:
        lr[lr_jump_at:] = [30 * v for v in lr[lr_jump_at:]]
    if loss_up_at is not None:
        loss[loss_up_at:] = list(0.75 * np.exp(0.05 * rng.standard_normal(n - loss_up_at)))
    return logged_every_5(loss, lr)


def test_a_jump_the_noise_hides_is_seen_after_the_lr_jumped() -> None:
    # GIVEN the LR x30 at record 48 (step 240) and the loss up from the third record after
    store = noisy_fine_tune(lr_jump_at=48, loss_up_at=50)
    # WHEN replayed record by record THEN loss-jump is active two records after the rise,
    # and names the LR jump as what changed
    assert detected_by(store, HF, "loss-jump") == 260
    found = fired(analyze(store, HF), "loss-jump")
    assert found[0].step == 250 and "LR" in found[0].evidence


def test_the_same_rise_without_an_lr_jump_is_left_to_the_trend_rules() -> None:
    # GIVEN the same rise inside the noise but no LR jump THEN no loss-jump (no spike)
    assert detected_by(noisy_fine_tune(lr_jump_at=None, loss_up_at=50), HF, "loss-jump") is None


def test_an_lr_jump_the_loss_takes_in_its_stride_is_no_loss_jump() -> None:
    assert detected_by(noisy_fine_tune(lr_jump_at=48, loss_up_at=None), HF, "loss-jump") is None


# -- live and whole-log analysis ---------------------------------------------------------------


def test_live_and_whole_log_analysis_agree() -> None:
    # GIVEN the same records fed one at a time (live) and all at once (report)
    full = run_with_lr_jump(jump_at=12)
    live = MetricStore()
    engine = AdviceEngine({})
    loss, lr = full.get("loss"), full.get("learning_rate")
    assert loss is not None and lr is not None
    for k in range(full.records):
        live.extend(
            [
                MetricRecord(
                    "train",
                    full.record_steps[k],
                    {"loss": loss.values[k], "learning_rate": lr.values[k]},
                )
            ],
            0.0,
        )
        engine.update(live)
    engine.finish(live)
    # THEN the findings are the same
    assert engine.findings() == analyze(full)
