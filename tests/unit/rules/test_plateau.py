"""Plateaus over a whole run (the plateau family, excerpts aside): a loss stuck at
chance (ln(classes), or above it), a loss that never moved from its start, progress stalled at
a high constant LR, and learning that stopped in the first tenth of the run.

Each fires on its case and stays quiet on a healthy twin: a decaying LR, a fine-tune that
converges fast, held-out loss still falling, a log that starts mid-run, warm-up.
"""

from __future__ import annotations

import math

import numpy as np

from tests.rule_cases import Run, fired

# -- stuck-at-chance ---------------------------------------------------------------------------


def test_stuck_at_chance() -> None:
    run = Run(n=150)
    ln10 = math.log(10)
    run.loss[:] = ln10 * np.exp(0.002 * np.random.default_rng(1).standard_normal(150))
    f = fired(run.findings({"num_classes": 10}), "stuck-at-chance")
    assert f and f[0].severity == "critical"
    assert not fired(Run().findings({"num_classes": 10}), "stuck-at-chance")


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


# -- not-learning and late-plateau -------------------------------------------------------------


def test_not_learning() -> None:
    run = Run()
    run.loss[:] = 2.3 * np.exp(0.02 * np.random.default_rng(2).standard_normal(200))
    f = fired(run.findings(), "not-learning")
    assert f and f[0].severity == "warning"


def test_late_plateau_at_constant_lr() -> None:
    run = Run()
    run.lr[10:] = 5e-5  # constant after warm-up
    run.loss[80:] = run.loss[80] * np.exp(0.01 * np.random.default_rng(3).standard_normal(120))
    assert fired(run.findings(), "late-plateau")
    assert not fired(Run().findings(), "late-plateau")  # decaying LR: not this rule


# -- early-plateau -----------------------------------------------------------------------------


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
