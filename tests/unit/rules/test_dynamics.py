"""The loss curve's shape (the dynamics family, divergence aside): the initial loss
against ln(vocab), spikes and instability, a rising trend (downgraded while eval improves),
oscillation early on, and a run still improving when it ended, which is never said beside a
worse finding.

Each fires on its case and stays quiet on a healthy twin.
"""

from __future__ import annotations

import numpy as np

from tests.rule_cases import Run, fired

# -- initial-loss ------------------------------------------------------------------------------


def test_initial_loss_against_ln_vocab() -> None:
    run = Run()
    run.loss[:3] = 20.0
    f = fired(run.findings({"vocab_size": "32000"}), "initial-loss")
    assert f and f[0].severity == "warning" and "ln(vocab 32000)" in f[0].evidence
    assert not fired(run.findings(), "initial-loss")  # no context: degrades quietly
    assert not fired(Run().findings({"vocab_size": 32000}), "initial-loss")


def test_initial_loss_reports_the_first_record() -> None:
    run = Run()
    run.loss[:3] = [25.0, 20.0, 18.0]
    f = fired(run.findings({"vocab_size": 32000}), "initial-loss")
    assert f and "initial loss 25" in f[0].evidence


# -- loss-spike and loss-instability -----------------------------------------------------------


def test_isolated_spike_is_info_and_repeated_spikes_warn() -> None:
    run = Run()
    run.loss[120] *= 3
    f = fired(run.findings(), "loss-spike")
    assert f and f[0].severity == "info" and f[0].step == run.steps[120]
    assert not fired(run.findings(), "loss-instability")
    many = Run()
    for k in (100, 102, 104, 130, 150):
        many.loss[k] *= 3
    assert fired(many.findings(), "loss-instability")


# -- loss-rising -------------------------------------------------------------------------------


def test_loss_rising_and_its_downgrade_when_eval_improves() -> None:
    run = Run()
    run.loss[100:] = run.loss[99] * np.linspace(1.0, 2.5, 100)
    f = fired(run.findings(), "loss-rising")
    assert f and f[0].severity in ("warning", "critical")
    assert 1000 <= f[0].step <= 1600
    improving = Run()
    improving.loss[:] = run.loss
    improving.add_evals(20, np.linspace(1.5, 0.6, 10))
    g = fired(improving.findings(), "loss-rising")
    assert g and all(x.severity == "info" for x in g)


# -- early-oscillation -------------------------------------------------------------------------


def test_early_oscillation() -> None:
    run = Run()
    run.loss[5:40] = run.loss[5:40] * np.tile([0.4, 1.6], 18)[:35]
    assert fired(run.findings(), "early-oscillation")


# -- still-improving ---------------------------------------------------------------------------


def test_still_improving_at_the_end() -> None:
    run = Run()
    run.summary = True
    run.add_evals(20, np.linspace(1.6, 0.6, 10))
    f = fired(run.findings(), "still-improving")
    assert f and f[0].severity == "info"
    flat = Run()
    flat.summary = True
    flat.add_evals(20, [1.6, 1.2, 1.0, 0.9, 0.85, 0.8, 0.8, 0.81, 0.8, 0.8])
    assert not fired(flat.findings(), "still-improving")


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
