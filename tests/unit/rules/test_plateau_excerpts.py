"""Plateaus in the logs users hand over: the first records of a run or an excerpt that
starts mid-training, before the trend rules have history: `flat-loss`, `frozen-loss` and
`short-plateau`.

Each firing case has a healthy twin that must stay quiet: a loss that still falls slowly, a
noisy one, warm-up, a fresh start, a handful of optimizer steps, the end of an LR decay
(convergence), a logger that repeats values in blocks or prints too few digits, and redraws of
one step. Findings are the same whether the records arrive one at a time or all at once.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.rule_cases import fired, flat, logged_every_20, train_store
from trainmon.advice import RULES, AdviceEngine, RunContext, analyze
from trainmon.advice.base import Facts, View
from trainmon.advice.plateau import ShortPlateau, frozen_run, print_resolution, repeat_share
from trainmon.records import MetricRecord
from trainmon.store import MetricStore


def curve(n: int, level: float, trend: float, noise: float, seed: int) -> list[float]:
    """`level` at the first record, a total relative change `trend`, log-normal noise."""
    rng = np.random.default_rng(seed)
    k = np.arange(n) / max(1, n - 1)
    return [round(v, 4) for v in level * np.exp(trend * k + noise * rng.standard_normal(n))]


def midrun(n: int, start: int = 20400, every: int = 50) -> list[int]:
    return [start + every * k for k in range(n)]


# -- the rules are registered ------------------------------------------------------------------


def test_new_rules_are_in_the_plateau_family() -> None:
    by_id = {r.id: r for r in RULES}
    assert by_id["frozen-loss"].family == "plateau"
    assert by_id["frozen-loss"].severity == "warning"
    assert by_id["short-plateau"].family == "plateau"
    assert by_id["short-plateau"].severity == "info"


# -- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "resolution"),
    [(10.37, 0.01 / 10.37), (0.158, 0.001 / 0.158), (0.0012, 1e-4 / 0.0012), (3.0, 1 / 3.0)],
)
def test_print_resolution_is_the_last_digit_over_the_value(value: float, resolution: float) -> None:
    assert print_resolution(value) == pytest.approx(resolution)


def test_print_resolution_of_zero_and_non_finite_is_infinite() -> None:
    assert print_resolution(0.0) == math.inf
    assert print_resolution(math.nan) == math.inf


def test_frozen_run_counts_the_newest_identical_values() -> None:
    assert frozen_run(np.array([1.0, 2.0, 2.0, 2.0])) == 3
    assert frozen_run(np.array([2.0, 2.0])) == 2
    assert frozen_run(np.array([2.0, 1.0])) == 1
    assert frozen_run(np.array([])) == 0
    assert repeat_share(np.array([1.0, 1.0, 2.0, 3.0, 3.0])) == pytest.approx(0.5)


# -- flat-loss ---------------------------------------------------------------------------------


def test_flat_excerpt_of_eight_records_warns() -> None:
    # GIVEN an excerpt of 8 records over 140 steps, flat within 1% noise, constant LR
    store = logged_every_20(flat(8), steps=range(640, 800, 20), lr=[0.01] * 8)
    # WHEN analysed
    found = fired(analyze(store), "flat-loss")
    # THEN the flat loss is a warning from the excerpt's first step
    assert len(found) == 1
    assert found[0].severity == "warning"
    assert found[0].step == 640


def test_the_first_records_of_a_long_planned_run_are_not_called_flat() -> None:
    # GIVEN the flat excerpt that warns, as the start of a run planned for 10,000 steps
    # (a pre-trained model fine-tuned starts near its floor): 140 steps are 1.4 % of it
    store = logged_every_20(flat(8), steps=range(640, 800, 20), lr=[0.01] * 8)
    assert not fired(analyze(store, {"max_steps": 10_000}), "flat-loss")
    # AND planned for 2,000 steps the same window (7 %) still warns
    assert fired(analyze(store, {"max_steps": 2_000}), "flat-loss")


def test_identical_values_are_reported_as_frozen() -> None:
    store = logged_every_20([10.37] * 14, lr=[1e-4] * 14)
    found = fired(analyze(store), "flat-loss")
    assert found and "frozen" in found[0].title


def test_slowly_falling_loss_is_learning() -> None:
    # GIVEN 12 records falling 1% per record with 1% noise (a steady, slow fine-tune)
    values = [v * math.exp(-0.01 * k) for k, v in enumerate(flat(12, noise=0.01, seed=3))]
    assert fired(analyze(logged_every_20(values, lr=[1e-4] * 12)), "flat-loss") == []


def test_noisy_short_log_is_not_called_flat() -> None:
    # a 10% noisy loss hides any trend over a dozen records (healthy short HF excerpts)
    store = logged_every_20(flat(13, level=0.09, noise=0.1, seed=1), lr=[5e-5] * 13)
    assert fired(analyze(store), "flat-loss") == []


def test_flat_loss_during_warm_up_is_quiet() -> None:
    # the LR is still rising: a loss that has not moved yet is expected
    lr = [1e-5 * (k + 1) for k in range(12)]
    assert fired(analyze(logged_every_20(flat(12), lr=lr)), "flat-loss") == []


def test_a_few_optimizer_steps_are_too_few_to_expect_a_drop() -> None:
    # 12 records logged every step: a from-scratch run barely moves in 12 steps
    store = logged_every_20(flat(12), steps=range(1, 13), lr=[1e-3] * 12)
    assert fired(analyze(store), "flat-loss") == []


def test_flat_loss_hands_over_to_not_learning_after_twenty_records() -> None:
    # GIVEN a long healthy run whose first 20 records fall and whose later records are flat
    falling = [3.0 * math.exp(-0.05 * k) for k in range(20)]
    values = falling + flat(40, level=falling[-1], noise=0.005)
    # WHEN analysed THEN flat-loss does not judge the long tail (not-learning's job)
    assert fired(analyze(logged_every_20(values, lr=[1e-4] * 60)), "flat-loss") == []


# -- frozen-loss -------------------------------------------------------------------------------


def test_loss_that_stops_changing_is_frozen_after_five_records() -> None:
    # GIVEN a loss that changed on every record, then prints 10.37 on five records in a row
    values = curve(10, 11.0, -0.05, 0.01, seed=1) + [10.37] * 5
    store = train_store(values, midrun(15), learning_rate=[1e-4] * 15)
    # WHEN analysed
    found = fired(analyze(store), "frozen-loss")
    # THEN one warning from the first frozen step, with the value, count and steps as evidence
    assert len(found) == 1
    assert found[0].severity == "warning"
    assert found[0].step == midrun(15)[10]
    assert "10.37 on 5 consecutive records" in found[0].evidence
    assert "optimizer.step()" in found[0].advice


def test_four_identical_records_are_not_yet_frozen() -> None:
    values = curve(10, 11.0, -0.05, 0.01, seed=1) + [10.37] * 4
    assert fired(analyze(train_store(values, midrun(14))), "frozen-loss") == []


def test_excerpt_that_starts_frozen_needs_eight_records() -> None:
    # nothing before the repeats shows that this logger ever prints a fresh value
    assert fired(analyze(train_store([0.231] * 7, midrun(7, every=10))), "frozen-loss") == []
    found = fired(analyze(train_store([0.231] * 8, midrun(8, every=10))), "frozen-loss")
    assert len(found) == 1
    assert found[0].step == midrun(8, every=10)[0]


def test_logger_that_repeats_values_in_blocks_is_not_frozen() -> None:
    # a progress bar whose postfix is updated every 5th redraw, on a falling loss
    fresh = curve(6, 0.9, -0.08, 0.01, seed=2)
    values = [v for v in fresh for _ in range(5)]
    store = train_store(values, midrun(30, start=2000, every=5))
    assert fired(analyze(store), "frozen-loss") == []


def test_slow_loss_printed_in_stairs_longer_than_the_lookback_is_not_frozen() -> None:
    # GIVEN a noise-free loss 2/sqrt(step) printed to 5 decimals: around step 50,000 each
    # printed value lasts ~90 records, longer than the rule's 64-record lookback
    steps = list(range(40_000, 41_000))
    store = train_store(
        [round(2 / math.sqrt(s), 5) for s in steps], steps, learning_rate=[2e-5] * len(steps)
    )
    # THEN the stair before each stretch shows that this is rounding, not a frozen model
    assert fired(analyze(store), "frozen-loss") == []


def test_a_freeze_longer_than_the_lookback_reports_its_whole_length() -> None:
    # GIVEN a loss that changed on every record for 200 records, then froze for 300
    values = curve(200, 2.0, -0.3, 0.02, seed=5) + [1.4321] * 300
    store = train_store(values, midrun(500), learning_rate=[1e-4] * 500)
    found = fired(analyze(store), "frozen-loss")
    # THEN one warning, from the first frozen step, that counts all 300 records
    assert len(found) == 1
    assert found[0].step == midrun(500)[200]
    assert "on 300 consecutive records" in found[0].evidence


def test_coarsely_printed_converged_loss_is_not_frozen() -> None:
    # 0.0012 printed to 4 decimals: repeats are rounding, not a frozen model
    values = [0.0013, 0.0012, 0.0013, 0.0011, 0.0012, *[0.0012] * 8]
    assert fired(analyze(train_store(values, midrun(13))), "frozen-loss") == []


def test_redraws_of_one_step_are_not_frozen() -> None:
    # tqdm redraws (or duplicated lines from several ranks) carry the same step
    values = [*curve(6, 2.0, -0.3, 0.01, seed=3), *[1.4876] * 8]
    steps = [*midrun(6), *[midrun(7)[-1]] * 8]
    assert fired(analyze(train_store(values, steps)), "frozen-loss") == []


def test_noisy_healthy_run_is_never_frozen() -> None:
    values = curve(60, 2.5, -0.5, 0.03, seed=4)
    assert fired(analyze(train_store(values, midrun(60, start=10, every=10))), "frozen-loss") == []


def test_zero_loss_is_left_to_its_own_rule() -> None:
    values = [*curve(6, 2.0, -0.05, 0.01, seed=5), *[0.0] * 8]
    findings = analyze(train_store(values, midrun(14)))
    assert fired(findings, "frozen-loss") == []
    assert fired(findings, "zero-loss")


def test_frozen_excerpt_flat_loss_already_reports_is_one_warning() -> None:
    # flat-loss already says "identical values: frozen" once it spans 100+ steps
    store = train_store([10.37] * 14, [20 * (k + 1) for k in range(14)], learning_rate=[1e-4] * 14)
    engine = AdviceEngine()
    state = engine.finish(store)
    active = {f.rule for f in state.active}
    assert "flat-loss" in active
    assert "frozen-loss" not in active


# -- short-plateau -----------------------------------------------------------------------------


def test_five_record_mid_run_excerpt_flat_at_a_constant_lr_is_reported() -> None:
    # GIVEN 5 records pasted from iteration 20400 on, flat within 1%, constant LR
    store = train_store(curve(5, 1110.0, 0.0, 0.01, seed=6), midrun(5), learning_rate=[2e-3] * 5)
    # WHEN analysed
    found = fired(analyze(store), "short-plateau")
    # THEN an info finding from the first step, with the numbers behind it and a remedy
    assert len(found) == 1
    assert found[0].severity == "info"
    assert found[0].step == 20400
    assert "over 5 records, steps 20400-20600" in found[0].evidence
    assert "fitted change" in found[0].evidence
    assert "ReduceLROnPlateau" in found[0].advice


def test_one_record_per_epoch_counts_epochs_not_steps() -> None:
    # GIVEN a resumed run logging once per epoch (the step axis is the epoch number)
    epochs = [844 + k for k in range(12)]
    store = train_store(
        curve(12, 10.3, 0.0, 0.008, seed=7), epochs, learning_rate=[1e-4] * 12, epoch=epochs
    )
    found = fired(analyze(store), "short-plateau")
    assert len(found) == 1
    assert "epochs 844-" in found[0].evidence
    assert "starts at epoch 844" in found[0].evidence


def test_slowly_falling_mid_run_excerpt_is_quiet() -> None:
    # the healthy twin: falls 5% over the same 5 records
    store = train_store(curve(5, 1110.0, -0.05, 0.01, seed=6), midrun(5), learning_rate=[2e-3] * 5)
    assert fired(analyze(store), "short-plateau") == []


def test_falling_epoch_excerpt_is_quiet() -> None:
    epochs = [844 + k for k in range(12)]
    store = train_store(
        curve(12, 10.3, -0.06, 0.008, seed=7), epochs, learning_rate=[1e-4] * 12, epoch=epochs
    )
    assert fired(analyze(store), "short-plateau") == []


@pytest.mark.parametrize("seed", range(5))
def test_noisy_but_falling_excerpt_is_quiet(seed: int) -> None:
    # 5% noise hides a 10% fall over 15 records: too noisy to call it a plateau
    store = train_store(curve(15, 3.2, -0.1, 0.05, seed=seed), midrun(15, every=100))
    findings = analyze(store)
    assert fired(findings, "short-plateau") == []


def test_fresh_start_is_not_a_mid_run_excerpt() -> None:
    # the first records of a run that logs every 10 steps: flat-loss's case, not this rule's
    store = train_store(curve(12, 2.5, 0.0, 0.01, seed=8), midrun(12, start=10, every=10))
    assert fired(analyze(store), "short-plateau") == []


def test_flat_mid_run_excerpt_during_warm_up_is_quiet() -> None:
    lr = [1e-5 * (k + 1) for k in range(10)]
    store = train_store(curve(10, 5.2, 0.0, 0.01, seed=9), midrun(10), learning_rate=lr)
    findings = analyze(store)
    assert fired(findings, "short-plateau") == []
    assert fired(findings, "flat-loss") == []


def test_flat_loss_at_the_end_of_an_lr_decay_is_convergence() -> None:
    # GIVEN a low, flat loss while the LR decays from 2e-6 to 1e-7 (the tail of a cosine)
    lr = list(np.geomspace(2e-6, 1e-7, 12))
    store = train_store(
        curve(12, 0.048, 0.0, 0.02, seed=10), midrun(12, start=9500, every=20), learning_rate=lr
    )
    findings = analyze(store)
    # THEN neither the info nor the warning rule calls it a plateau
    assert fired(findings, "short-plateau") == []
    assert fired(findings, "flat-loss") == []


def test_too_few_steps_to_expect_any_movement() -> None:
    # one record per iteration: 11 iterations mid-run are no evidence of a plateau
    store = train_store(curve(12, 3.9, 0.0, 0.02, seed=11), midrun(12, start=5000, every=1))
    assert fired(analyze(store), "short-plateau") == []


def test_a_new_low_breaks_the_plateau() -> None:
    # GIVEN 15 flat records (a plateau while they were the newest), then three new lows
    values = curve(15, 2.0, 0.0, 0.003, seed=12)
    values += [round(values[-1] * f, 4) for f in (0.95, 0.945, 0.94)]
    store = train_store(values, midrun(18), learning_rate=[1e-3] * 18)
    facts = Facts(RunContext())
    # THEN the 15 flat records are a plateau, and the records with the new lows are not
    assert ShortPlateau().check(View(store, 15), facts) is not None
    assert ShortPlateau().check(View(store, 18), facts) is None


def test_long_history_is_left_to_the_trend_rules() -> None:
    # at 20 records not-learning and late-plateau have the history: the finding has cleared
    store = train_store(curve(40, 2.0, 0.0, 0.005, seed=13), midrun(40), learning_rate=[1e-3] * 40)
    state = AdviceEngine().finish(store)
    assert "short-plateau" not in {f.rule for f in state.active}


def test_first_records_of_an_excerpt_are_quiet() -> None:
    # four records are too few for any verdict, however flat
    store = train_store([2.0, 2.001, 1.999, 2.0], midrun(4), learning_rate=[1e-3] * 4)
    findings = analyze(store)
    assert fired(findings, "short-plateau") == []
    assert fired(findings, "frozen-loss") == []


def test_live_and_whole_log_analysis_agree() -> None:
    values = [*curve(6, 10.3, 0.0, 0.008, seed=14), *[10.25] * 8]
    steps = midrun(14, start=844, every=1)
    epochs = [float(s) for s in steps]
    whole = analyze(train_store(values, steps, learning_rate=[1e-4] * 14, epoch=epochs))
    live = MetricStore()
    engine = AdviceEngine()
    for k, value in enumerate(values):
        record = MetricRecord(
            "train", steps[k], {"loss": value, "learning_rate": 1e-4, "epoch": epochs[k]}
        )
        live.extend([record], 0.0)
        engine.update(live)
    engine.finish(live)
    assert [(f.rule, f.step, f.severity) for f in engine.findings()] == [
        (f.rule, f.step, f.severity) for f in whole
    ]
    assert {"short-plateau", "frozen-loss"} <= {f.rule for f in whole}
