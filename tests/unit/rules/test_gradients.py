"""The gradients family: an exact zero grad norm after the first step, spikes (info
alone, a warning with a loss response), upward drift, clipping on most steps (said only when
the clip is known, moved to earlier once the share falls), collapse with a flat loss, and
absurd absolute values.

Each fires on its case and stays quiet on a healthy twin.
"""

from __future__ import annotations

import numpy as np

from tests.rule_cases import Run, fired
from trainmon.advice import AdviceEngine

# -- zero-grad-norm ----------------------------------------------------------------------------


def test_zero_grad_norm_after_the_first_step() -> None:
    run = Run()
    run.grad[0] = 0.0  # the first step may legitimately log 0
    assert not fired(run.findings(), "zero-grad-norm")
    run.grad[90:] = 0.0
    f = fired(run.findings(), "zero-grad-norm")
    assert f and f[0].step == run.steps[90] and f[0].severity == "critical"


# -- grad-spike and grad-drift -----------------------------------------------------------------


def test_grad_spike_info_alone_and_warning_with_a_loss_response() -> None:
    run = Run()
    run.grad[120] = 40.0
    f = fired(run.findings(), "grad-spike")
    assert f and f[0].severity == "info" and f[0].step == run.steps[120]
    both = Run()
    both.grad[120] = 40.0
    both.loss[121] *= 3
    g = fired(both.findings(), "grad-spike")
    assert g and g[0].severity == "warning"


def test_grad_drift() -> None:
    run = Run()
    run.grad[80:] = run.grad[80:] * np.geomspace(1, 40, 120)
    assert fired(run.findings(), "grad-drift")


# -- grad-clipping -----------------------------------------------------------------------------


def test_grad_clipping_is_said_only_when_the_clip_is_known() -> None:
    # GIVEN grad norms of 3.0 on every step
    run = Run()
    run.grad[:] = 3.0
    # WHEN the clip is not known (even for a Trainer log, whose run may set it to 0)
    # THEN clipping is not claimed
    for fmt_name in ("hf-trainer", "trainer-state", "lightning"):
        assert not fired(run.findings({"format": fmt_name}), "grad-clipping")
    assert not fired(run.findings(), "grad-clipping")
    # WHEN the run switched clipping off THEN nothing is said about clipping
    for off in (0, 0.0, "0", "none"):
        ctx = {"max_grad_norm": off, "format": "hf-trainer"}
        assert not fired(run.findings(ctx), "grad-clipping")
    # WHEN the clip is known THEN it is used whatever the format
    assert not fired(run.findings({"max_grad_norm": 5.0, "format": "hf-trainer"}), "grad-clipping")
    f = fired(run.findings({"max_grad_norm": 2.0, "format": "lightning"}), "grad-clipping")
    assert f and "max_grad_norm 2" in f[0].evidence and f[0].severity == "info"


def test_grad_clipping_from_warm_up_moves_to_earlier_when_the_share_falls() -> None:
    # GIVEN clipping on most steps early, then on none
    run = Run()
    run.grad[:] = 0.5
    run.grad[:60] = 3.0
    engine = AdviceEngine({"max_grad_norm": 1.0})
    engine.finish(run.store())
    # THEN the finding is no longer active, but remembered as earlier
    assert "grad-clipping" not in {f.rule for f in engine.state.active}
    assert "grad-clipping" in {f.rule for f in engine.state.history}
    # AND on the twin that still clips, it stays active
    still = Run()
    still.grad[:] = 3.0
    engine = AdviceEngine({"max_grad_norm": 1.0})
    engine.finish(still.store())
    assert "grad-clipping" in {f.rule for f in engine.state.active}


# -- grad-collapse and grad-huge ---------------------------------------------------------------


def test_grad_collapse_with_a_flat_loss() -> None:
    run = Run()
    run.grad[100:] = 1e-6
    run.loss[100:] = run.loss[100]
    assert fired(run.findings(), "grad-collapse")


def test_grad_huge_from_the_start() -> None:
    run = Run()
    run.grad[:] = 2e5
    assert fired(run.findings(), "grad-huge")
