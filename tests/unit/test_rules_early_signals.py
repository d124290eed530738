"""Early signals a practitioner reads in the first records: an LR far out of range for the
run (`lr-too-high`, `lr-too-low`), a loss that jumps and stays up (`loss-jump`), and no
early divergence read from a noisy classifier's dip.

Each fires on its case and stays quiet on a healthy twin; the cases are shaped like the
real-run benchmark's logs (600 steps logged every 5, a 30-step warm-up).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tests.rule_cases import rules, train_store
from trainmon.advice import AdviceEngine, analyze
from trainmon.records import MetricRecord
from trainmon.store import MetricStore

HF = {"format": "hf-trainer"}
LM = {"format": "nanogpt", "vocab_size": 30}


def build(
    loss: Sequence[float],
    lr: Sequence[float],
    steps: Sequence[int] | None = None,
    grad: Sequence[float] | None = None,
) -> MetricStore:
    steps = steps if steps is not None else [5 * k for k in range(len(loss))]
    return train_store(loss, steps, learning_rate=lr, grad_norm=grad)


def warmup_lr(n: int, peak: float, warmup_records: int = 6) -> list[float]:
    """Linear warm-up over the first records, then a slow cosine decay."""
    return [
        peak * (k + 1) / (warmup_records + 1)
        if k < warmup_records
        else peak * (0.55 + 0.45 * math.cos(math.pi * (k - warmup_records) / (2 * n)))
        for k in range(n)
    ]


def learning(n: int, start: float = 3.4, floor: float = 0.6, seed: int = 0) -> list[float]:
    """A from-scratch loss falling from `start` towards `floor`, 1 % noise."""
    rng = np.random.default_rng(seed)
    return [
        (floor + (start - floor) * math.exp(-k / 15)) * math.exp(0.01 * rng.standard_normal())
        for k in range(n)
    ]


def flat(n: int, level: float, noise: float = 0.002, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(level * np.exp(noise * rng.standard_normal(n)))


def detected_by(store: MetricStore, context: dict[str, object], rule: str) -> int | None:
    """The step at which `rule` first became active, replayed one record at a time."""
    engine = AdviceEngine(context)
    replay = MetricStore()
    for k in range(store.records):
        replay.extend(
            [MetricRecord("train", int(store.record_steps[k]), _values_of(store, k))], 0.0
        )
        engine.update(replay)
    engine.finish(replay)
    steps = [d.detected_step for d in engine.detections if d.finding.rule == rule]
    return min(steps) if steps else None


def _values_of(store: MetricStore, record: int) -> dict[str, float]:
    out = {}
    for name in store.names():
        series = store.get(name)
        assert series is not None
        index = list(series.record_index)
        if record in index:
            out[name] = float(series.values[index.index(record)])
    return out


# -- lr-too-high -------------------------------------------------------------------------------


def test_adamw_at_a_far_too_high_lr_warns_within_the_first_records() -> None:
    # GIVEN a Trainer log with no warm-up at LR 0.05 (50x a small model's 1e-3)
    n = 40
    store = build(learning(n), [0.05] * n)
    # WHEN analysed THEN lr-too-high warns from the first record, detected by the second
    found = rules(analyze(store, HF), "lr-too-high")
    assert len(found) == 1 and found[0].severity == "warning"
    assert found[0].step == 0
    assert "0.05" in found[0].evidence and "AdamW" in found[0].evidence
    assert detected_by(store, HF, "lr-too-high") == 5


def test_a_usual_lr_is_quiet() -> None:
    n = 40
    store = build(learning(n), warmup_lr(n, 1e-3))
    assert rules(analyze(store, HF), "lr-too-high") == []


def test_a_high_lr_from_an_unknown_optimizer_is_quiet() -> None:
    # SGD at 0.1 is the usual LR for a CNN: a log that does not say AdamW is not judged
    n = 40
    store = build(learning(n), [0.1] * n)
    assert rules(analyze(store, {"format": "key-value"}), "lr-too-high") == []
    assert rules(analyze(store, {}), "lr-too-high") == []


def test_one_odd_lr_print_is_not_the_runs_lr() -> None:
    n = 40
    lr = warmup_lr(n, 1e-3)
    lr[20] = 0.05
    assert rules(analyze(build(learning(n), lr), HF), "lr-too-high") == []


def test_the_finding_moves_to_earlier_once_the_lr_has_decayed_under_the_limit() -> None:
    # GIVEN AdamW warmed up to 0.05 and then decayed to 1e-3 (a finished cosine)
    n = 60
    lr = [0.05] * 20 + [1e-3] * (n - 20)
    store = build(learning(n), lr)
    engine = AdviceEngine(HF)
    state = engine.finish(store)
    # THEN the finding is in the history, not active
    assert "lr-too-high" not in [f.rule for f in state.active]
    assert "lr-too-high" in [f.rule for f in state.history]


# -- lr-too-low --------------------------------------------------------------------------------


def test_a_language_model_from_scratch_at_lr_1e_6_warns_within_30_steps() -> None:
    # GIVEN a nanoGPT-style run from scratch (first loss ln(30) = 3.40) warming up to 1e-6,
    # its loss unmoved
    n = 40
    store = build(flat(n, 3.44), warmup_lr(n, 1e-6))
    # WHEN replayed record by record THEN lr-too-low is active by step 30
    step = detected_by(store, LM, "lr-too-low")
    assert step is not None and step <= 30
    found = rules(analyze(store, LM), "lr-too-low")
    assert found[0].severity == "warning"
    assert "ln(vocab 30)" in found[0].evidence and "1e-06" in found[0].evidence


def test_a_healthy_run_from_scratch_is_quiet() -> None:
    n = 40
    store = build(learning(n), warmup_lr(n, 1e-3))
    assert rules(analyze(store, LM), "lr-too-low") == []


def test_a_fine_tune_at_lr_1e_6_is_quiet() -> None:
    # a pretrained model starts far below ln(vocab): 1e-6 is a (low) fine-tuning LR
    n = 40
    store = build(flat(n, 1.2), warmup_lr(n, 1e-6))
    assert rules(analyze(store, LM), "lr-too-low") == []


def test_a_classifier_at_chance_with_lr_1e_6_is_left_to_the_plateau_rules() -> None:
    # a classifier starts at ln(classes) whether fine-tuned or not: nothing says "from scratch"
    n = 40
    store = build(flat(n, 0.693), warmup_lr(n, 1e-6))
    context = {"format": "hf-trainer", "vocab_size": 30522, "num_classes": 2}
    assert rules(analyze(store, context), "lr-too-low") == []


def test_a_long_warm_up_past_3e_6_is_quiet() -> None:
    # llm.c's GPT-2: 700 warm-up steps to 6e-4, so 1.7e-5 by step 20; a loss that has not
    # moved yet is no sign of a tiny LR
    steps = list(range(1, 31))
    lr = [6e-4 * s / 700 for s in steps]
    store = build(flat(30, 10.9), lr, steps=steps)
    assert rules(analyze(store, {"format": "nanogpt", "vocab_size": 50257}), "lr-too-low") == []


def test_a_log_that_starts_mid_run_is_not_judged() -> None:
    # the first record at step 5000: nothing says the loss was ever at its start
    n = 30
    steps = [5000 + 5 * k for k in range(n)]
    store = build(flat(n, 3.3), [1e-6] * n, steps=steps)
    assert rules(analyze(store, LM), "lr-too-low") == []


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
    return build(loss, lr, grad=grad)


def test_a_loss_that_jumps_and_stays_up_warns_three_records_after_the_jump() -> None:
    # GIVEN the LR x30 at record 60 (step 300) and the loss x1.9 there, slowly coming back
    store = jumped_run(60)
    # WHEN replayed record by record THEN loss-jump is active by the second record after
    assert detected_by(store, HF, "loss-jump") == 310
    found = rules(analyze(store, HF), "loss-jump")
    assert found[0].step == 300 and found[0].severity == "warning"
    assert "LR" in found[0].evidence and "grad_norm" in found[0].evidence


def test_a_hard_batch_that_recovers_at_once_is_no_jump() -> None:
    findings = analyze(jumped_run(60, recover=True), HF)
    assert rules(findings, "loss-jump") == []
    assert rules(findings, "loss-spike")  # it is still a spike, at info


def test_healthy_twin_without_a_jump_is_quiet() -> None:
    findings = analyze(jumped_run(None), HF)
    assert [f for f in findings if f.severity != "info"] == []


def test_the_jump_moves_to_earlier_once_the_loss_is_back_down() -> None:
    state = AdviceEngine(HF).finish(jumped_run(60))
    assert "loss-jump" not in [f.rule for f in state.active]
    assert "loss-jump" in [f.rule for f in state.history]


# -- early-divergence on a noisy classifier ----------------------------------------------------


def test_a_noisy_classifiers_dip_and_return_is_no_divergence() -> None:
    # GIVEN a classifier on noisy labels: from ln 2 down to a noisy 0.3 level, with a
    # three-record dip to 0.18 and then 0.38 (batches of 16 swing 2x between records)
    rng = np.random.default_rng(5)
    n = 60
    loss = [0.69 - 0.39 * min(1.0, k / 12) for k in range(n)]
    loss = [v * math.exp(0.12 * rng.standard_normal()) for v in loss]
    loss[20:23] = [0.18, 0.17, 0.19]
    loss[40:46] = [0.38, 0.37, 0.39, 0.38, 0.36, 0.38]
    store = build(loss, warmup_lr(n, 1e-3))
    # THEN early-divergence stays quiet: 0.38 is the level the run held, not twice it
    assert rules(analyze(store, HF), "early-divergence") == []
