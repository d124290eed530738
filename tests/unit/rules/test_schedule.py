"""The learning-rate schedule family: the LR at ~0 long before the end, the LR jumping
up after warm-up, a missing warm-up when training is unstable early, and an LR far out of
range for the run (`lr-too-high`, `lr-too-low`), read from the first records as a
practitioner reads the printed LR.

Each fires on its case and stays quiet on a healthy twin: a schedule that ends at 0, warm-up,
cycles, a usual LR, an optimizer the log does not name, one odd print, a fine-tune, a
classifier at chance, a long warm-up, a log that starts mid-run. The lr-range cases are shaped
like the real-run benchmark's logs (600 steps logged every 5, a 30-step warm-up).
"""

from __future__ import annotations

import numpy as np

from tests.rule_cases import HF, Run, detected_by, fired, flat, learning, logged_every_5, warmup_lr
from trainmon.advice import AdviceEngine, analyze

LM = {"format": "nanogpt", "vocab_size": 30}


# -- lr-zero-early -----------------------------------------------------------------------------


def test_lr_reaching_zero_long_before_the_end() -> None:
    run = Run()
    run.lr[60:] = 0.0
    f = fired(run.findings({"max_steps": 2000}), "lr-zero-early")
    assert f and f[0].step == run.steps[60]
    assert not fired(Run().findings({"max_steps": 2000}), "lr-zero-early")


def test_lr_zero_without_max_steps_needs_a_long_stretch() -> None:
    run = Run()
    run.lr[-2:] = 0.0  # a schedule that ends at 0: normal
    assert not fired(run.findings(), "lr-zero-early")
    run.lr[100:] = 0.0
    assert fired(run.findings(), "lr-zero-early")


# -- lr-jump -----------------------------------------------------------------------------------


def test_lr_jump_after_warmup_but_not_for_warmup_or_cycles() -> None:
    run = Run()
    run.lr[120:] = 5e-5
    f = fired(run.findings(), "lr-jump")
    assert f and f[0].step == run.steps[120]
    cyclic = Run()
    for start in (60, 100, 140, 180):
        cyclic.lr[start:] = cyclic.lr[10 : 10 + 200 - start]
    assert not [x for x in fired(cyclic.findings(), "lr-jump") if x.step and x.step > 1200]


def test_lr_jump_is_quiet_on_a_ramp_after_a_first_record_above_it() -> None:
    # GIVEN a log whose first record prints a high LR (the tail of an earlier run appended to
    # the same file), then a steady warm-up ramp and the decay
    run = Run()
    run.lr[0] = 2.25e-4
    # THEN the ramp is no jump: it never held or fell before rising
    assert not fired(run.findings(), "lr-jump")
    # AND a restart of that schedule once the decay has settled still is
    run.lr[120:] = 5e-5
    f = fired(run.findings(), "lr-jump")
    assert f and f[0].step == run.steps[120]


# -- no-warmup-instability ---------------------------------------------------------------------


def test_no_warmup_instability() -> None:
    run = Run(warmup=0)
    run.loss[5:40] = run.loss[5:40] * np.tile([0.4, 1.6], 18)[:35]
    assert fired(run.findings(), "no-warmup-instability")
    warm = Run()
    warm.loss[5:40] = warm.loss[5:40] * np.tile([0.4, 1.6], 18)[:35]
    assert not fired(warm.findings(), "no-warmup-instability")


# -- lr-too-high -------------------------------------------------------------------------------


def test_adamw_at_a_far_too_high_lr_warns_within_the_first_records() -> None:
    # GIVEN a Trainer log with no warm-up at LR 0.05 (50x a small model's 1e-3)
    n = 40
    store = logged_every_5(learning(n), [0.05] * n)
    # WHEN analysed THEN lr-too-high warns from the first record, detected by the second
    found = fired(analyze(store, HF), "lr-too-high")
    assert len(found) == 1 and found[0].severity == "warning"
    assert found[0].step == 0
    assert "0.05" in found[0].evidence and "AdamW" in found[0].evidence
    assert detected_by(store, HF, "lr-too-high") == 5


def test_a_usual_lr_is_quiet() -> None:
    n = 40
    store = logged_every_5(learning(n), warmup_lr(n, 1e-3))
    assert fired(analyze(store, HF), "lr-too-high") == []


def test_a_high_lr_from_an_unknown_optimizer_is_quiet() -> None:
    # SGD at 0.1 is the usual LR for a CNN: a log that does not say AdamW is not judged
    n = 40
    store = logged_every_5(learning(n), [0.1] * n)
    assert fired(analyze(store, {"format": "key-value"}), "lr-too-high") == []
    assert fired(analyze(store, {}), "lr-too-high") == []


def test_one_odd_lr_print_is_not_the_runs_lr() -> None:
    n = 40
    lr = warmup_lr(n, 1e-3)
    lr[20] = 0.05
    assert fired(analyze(logged_every_5(learning(n), lr), HF), "lr-too-high") == []


def test_the_finding_moves_to_earlier_once_the_lr_has_decayed_under_the_limit() -> None:
    # GIVEN AdamW warmed up to 0.05 and then decayed to 1e-3 (a finished cosine)
    n = 60
    lr = [0.05] * 20 + [1e-3] * (n - 20)
    store = logged_every_5(learning(n), lr)
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
    store = logged_every_5(flat(n, 3.44, noise=0.002), warmup_lr(n, 1e-6))
    # WHEN replayed record by record THEN lr-too-low is active by step 30
    step = detected_by(store, LM, "lr-too-low")
    assert step is not None and step <= 30
    found = fired(analyze(store, LM), "lr-too-low")
    assert found[0].severity == "warning"
    assert "ln(vocab 30)" in found[0].evidence and "1e-06" in found[0].evidence


def test_a_healthy_run_from_scratch_is_quiet() -> None:
    n = 40
    store = logged_every_5(learning(n), warmup_lr(n, 1e-3))
    assert fired(analyze(store, LM), "lr-too-low") == []


def test_a_fine_tune_at_lr_1e_6_is_quiet() -> None:
    # a pretrained model starts far below ln(vocab): 1e-6 is a (low) fine-tuning LR
    n = 40
    store = logged_every_5(flat(n, 1.2, noise=0.002), warmup_lr(n, 1e-6))
    assert fired(analyze(store, LM), "lr-too-low") == []


def test_a_classifier_at_chance_with_lr_1e_6_is_left_to_the_plateau_rules() -> None:
    # a classifier starts at ln(classes) whether fine-tuned or not: nothing says "from scratch"
    n = 40
    store = logged_every_5(flat(n, 0.693, noise=0.002), warmup_lr(n, 1e-6))
    context = {"format": "hf-trainer", "vocab_size": 30522, "num_classes": 2}
    assert fired(analyze(store, context), "lr-too-low") == []


def test_a_long_warm_up_past_3e_6_is_quiet() -> None:
    # llm.c's GPT-2: 700 warm-up steps to 6e-4, so 1.7e-5 by step 20; a loss that has not
    # moved yet is no sign of a tiny LR
    steps = list(range(1, 31))
    lr = [6e-4 * s / 700 for s in steps]
    store = logged_every_5(flat(30, 10.9, noise=0.002), lr, steps=steps)
    assert fired(analyze(store, {"format": "nanogpt", "vocab_size": 50257}), "lr-too-low") == []


def test_a_log_that_starts_mid_run_is_not_judged() -> None:
    # the first record at step 5000: nothing says the loss was ever at its start
    n = 30
    steps = [5000 + 5 * k for k in range(n)]
    store = logged_every_5(flat(n, 3.3), [1e-6] * n, steps=steps)
    assert fired(analyze(store, LM), "lr-too-low") == []
