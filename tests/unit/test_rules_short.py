"""Short-history rules: a flat excerpt and a divergence before the trend rules have history.

Each case has a healthy twin that must stay quiet: a falling loss, a noisy one, warm-up,
a handful of optimizer steps, a small rise near a low loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tests.rule_cases import rules, train_store
from trainmon.advice import AdviceEngine, analyze
from trainmon.advice.shorthistory import median3, theil_sen_slope
from trainmon.records import MetricRecord
from trainmon.store import MetricStore


def build(
    loss: Sequence[float],
    steps: Sequence[int] | None = None,
    lr: Sequence[float] | None = None,
) -> MetricStore:
    steps = steps if steps is not None else [20 * (k + 1) for k in range(len(loss))]
    return train_store(loss, steps, learning_rate=lr)


def flat(n: int, level: float = 3.7, noise: float = 0.01, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(level * np.exp(noise * rng.standard_normal(n)))


# -- flat-loss ---------------------------------------------------------------------------------


def test_flat_excerpt_of_eight_records_warns() -> None:
    # GIVEN an excerpt of 8 records over 140 steps, flat within 1% noise, constant LR
    store = build(flat(8), steps=range(640, 800, 20), lr=[0.01] * 8)
    # WHEN analysed
    found = rules(analyze(store), "flat-loss")
    # THEN the flat loss is a warning from the excerpt's first step
    assert len(found) == 1
    assert found[0].severity == "warning"
    assert found[0].step == 640


def test_identical_values_are_reported_as_frozen() -> None:
    store = build([10.37] * 14, lr=[1e-4] * 14)
    found = rules(analyze(store), "flat-loss")
    assert found and "frozen" in found[0].title


def test_slowly_falling_loss_is_learning() -> None:
    # GIVEN 12 records falling 1% per record with 1% noise (a steady, slow fine-tune)
    values = [v * math.exp(-0.01 * k) for k, v in enumerate(flat(12, noise=0.01, seed=3))]
    assert rules(analyze(build(values, lr=[1e-4] * 12)), "flat-loss") == []


def test_noisy_short_log_is_not_called_flat() -> None:
    # a 10% noisy loss hides any trend over a dozen records (healthy short HF excerpts)
    store = build(flat(13, level=0.09, noise=0.1, seed=1), lr=[5e-5] * 13)
    assert rules(analyze(store), "flat-loss") == []


def test_flat_loss_during_warm_up_is_quiet() -> None:
    # the LR is still rising: a loss that has not moved yet is expected
    lr = [1e-5 * (k + 1) for k in range(12)]
    assert rules(analyze(build(flat(12), lr=lr)), "flat-loss") == []


def test_a_few_optimizer_steps_are_too_few_to_expect_a_drop() -> None:
    # 12 records logged every step: a from-scratch run barely moves in 12 steps
    store = build(flat(12), steps=range(1, 13), lr=[1e-3] * 12)
    assert rules(analyze(store), "flat-loss") == []


def test_flat_loss_hands_over_to_not_learning_after_twenty_records() -> None:
    # GIVEN a long healthy run whose first 20 records fall and whose later records are flat
    falling = [3.0 * math.exp(-0.05 * k) for k in range(20)]
    values = falling + flat(40, level=falling[-1], noise=0.005)
    # WHEN analysed THEN flat-loss does not judge the long tail (not-learning's job)
    assert rules(analyze(build(values, lr=[1e-4] * 60)), "flat-loss") == []


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
    return build(loss, steps=[10 * (k + 1) for k in range(n)], lr=lr)


def test_lr_jump_just_after_warm_up_is_caught_during_burn_in() -> None:
    # GIVEN LR x10 two records after warm-up ends (burn-in still running)
    store = run_with_lr_jump(jump_at=12)
    # WHEN analysed
    found = rules(analyze(store), "early-divergence")
    # THEN it warns, with an onset within a few records of the jump
    assert found and found[0].severity == "warning"
    assert 120 <= (found[0].step or 0) <= 200


def test_healthy_twin_without_the_jump_is_quiet() -> None:
    findings = analyze(run_with_lr_jump(jump_at=None))
    assert rules(findings, "early-divergence") == []
    assert [f for f in findings if f.severity != "info"] == []


def test_short_run_that_blows_up_and_stays_high() -> None:
    # GIVEN 5 records: the loss jumps ~7x at the second record and stays there
    store = build([1.64, 11.8, 10.37, 10.37, 10.37], steps=[1, 2, 3, 4, 5], lr=[5.0] * 5)
    # WHEN analysed THEN early-divergence fires from the jump
    found = rules(analyze(store), "early-divergence")
    assert found and found[0].step in (2, 3)


def test_short_falling_run_is_quiet() -> None:
    store = build([2.1, 1.65, 1.58, 1.6, 1.21, 1.17], steps=range(10, 70, 10), lr=[2e-5] * 6)
    assert rules(analyze(store), "early-divergence") == []


def test_doubling_near_a_low_loss_needs_an_lr_jump() -> None:
    # GIVEN a fine-tune that fell from 2.0 to 0.08 and then doubles to 0.18 (noise at a low
    # level, still far below the start; the low is the level held over five records, 0.087)
    values = [2.0 * math.exp(-k / 3) + 0.08 for k in range(20)] + [0.18] * 4
    steps = [10 * (k + 1) for k in range(24)]
    quiet = build(values, steps=steps, lr=[1e-5] * 24)
    assert rules(analyze(quiet), "early-divergence") == []
    # WHEN the same rise follows an LR x10
    jumped = build(values, steps=steps, lr=[1e-5] * 20 + [1e-4] * 4)
    # THEN it is a divergence
    assert rules(analyze(jumped), "early-divergence")


def test_one_bad_record_is_not_a_divergence() -> None:
    values = [2.0 * math.exp(-k / 5) + 0.5 for k in range(15)]
    values[8] = 6.0
    store = build(values, lr=[1e-4] * 15)
    assert rules(analyze(store), "early-divergence") == []


# -- determinism and helpers -------------------------------------------------------------------


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


def test_median3_is_causal_and_ignores_one_outlier() -> None:
    out = median3(np.array([1.0, 3.0, 1.0, 100.0, 1.0, 1.0]))
    assert out.tolist() == [1.0, 2.0, 1.0, 3.0, 1.0, 1.0]


def test_theil_sen_slope_resists_one_outlier() -> None:
    y = np.arange(10, dtype=float) * 0.5
    y[4] = 50.0
    assert theil_sen_slope(y) == 0.5
