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
import pytest

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


# -- the healthy twins of lr-too-high and lr-too-low -------------------------------------------

N = 40
ODD_PRINT = warmup_lr(N, 1e-3)
ODD_PRINT[20] = 0.05
LONG_WARM_UP = list(range(1, 31))
MID_RUN = [5000 + 5 * k for k in range(30)]


@pytest.mark.parametrize(
    ("rule", "loss", "lr", "steps", "context"),
    [
        pytest.param("lr-too-high", learning(N), warmup_lr(N, 1e-3), None, HF, id="a usual lr"),
        # SGD at 0.1 is the usual LR for a CNN: a log that does not say AdamW is not judged
        pytest.param(
            "lr-too-high", learning(N), [0.1] * N, None, {"format": "key-value"},
            id="a high lr from an optimizer a key-value log does not name",
        ),
        pytest.param(
            "lr-too-high", learning(N), [0.1] * N, None, {},
            id="a high lr from an optimizer an unknown log does not name",
        ),
        pytest.param(
            "lr-too-high", learning(N), ODD_PRINT, None, HF,
            id="one odd lr print is not the run's lr",
        ),
        pytest.param(
            "lr-too-low", learning(N), warmup_lr(N, 1e-3), None, LM,
            id="a healthy run from scratch",
        ),
        # a pretrained model starts far below ln(vocab): 1e-6 is a (low) fine-tuning LR
        pytest.param(
            "lr-too-low", flat(N, 1.2, noise=0.002), warmup_lr(N, 1e-6), None, LM,
            id="a fine-tune at lr 1e-6",
        ),
        # a classifier starts at ln(classes) whether fine-tuned or not: nothing says "from
        # scratch", so it is left to the plateau rules
        pytest.param(
            "lr-too-low", flat(N, 0.693, noise=0.002), warmup_lr(N, 1e-6), None,
            {"format": "hf-trainer", "vocab_size": 30522, "num_classes": 2},
            id="a classifier at chance with lr 1e-6",
        ),
        # llm.c's GPT-2: 700 warm-up steps to 6e-4, so 1.7e-5 by step 20; a loss that has not
        # moved yet is no sign of a tiny LR
        pytest.param(
            "lr-too-low", flat(30, 10.9, noise=0.002), [6e-4 * s / 700 for s in LONG_WARM_UP],
            LONG_WARM_UP, {"format": "nanogpt", "vocab_size": 50257},
            id="a long warm-up past 3e-6",
        ),
        # the first record at step 5000: nothing says the loss was ever at its start
        pytest.param(
            "lr-too-low", flat(30, 3.3), [1e-6] * 30, MID_RUN, LM,
            id="a log that starts mid-run is not judged",
        ),
    ],
)  # fmt: skip
def test_the_healthy_twin_is_quiet(
    rule: str,
    loss: list[float],
    lr: list[float],
    steps: list[int] | None,
    context: dict[str, object],
) -> None:
    store = logged_every_5(loss, lr, steps=steps)
    assert fired(analyze(store, context), rule) == []
