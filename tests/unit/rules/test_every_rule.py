"""What holds for every advice rule at once: the catalogue is unique and covers the
families, a healthy run raises nothing above info, the first records are quiet, warm-up is
waited out, no trend is read across a step axis that goes backwards, and the schedule line
never calls a run normal beside a problem.

The runs are built from plain arrays (`tests.rule_cases.Run`: a seeded healthy curve, then one
fault applied), so each test states exactly what the rules should see.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.rule_cases import Run, fired, ids, store_of
from trainmon.advice import RULES, AdviceEngine, analyze
from trainmon.records import MetricRecord

# -- the catalogue -----------------------------------------------------------------------------


def test_rules_catalogue_is_large_and_unique() -> None:
    assert len(RULES) >= 25
    assert len({r.id for r in RULES}) == len(RULES)
    families = {r.family for r in RULES}
    assert {"numerics", "dynamics", "evaluation", "schedule", "gradients", "hardware"} <= families
    assert all(r.description and r.severity in ("info", "warning", "critical") for r in RULES)


# -- the healthy twin --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_healthy_run_raises_no_warning_or_critical(seed: int) -> None:
    # GIVEN a healthy run with warm-up, cosine decay and noise
    run = Run(seed=seed)
    run.add_evals(20, np.linspace(1.6, 0.75, 10))
    # WHEN it is analysed
    findings = run.findings({"max_steps": 2000})
    # THEN nothing above info fires
    assert [f for f in findings if f.severity != "info"] == []


def test_first_records_are_quiet() -> None:
    # GIVEN only the first three records of a run (warm-up, LR still rising)
    run = Run(n=3)
    # WHEN analysed THEN nothing fires
    assert run.findings() == []


def test_warmup_is_waited_out() -> None:
    # GIVEN a long warm-up (40 records) whose early loss jumps around and LR rises every record
    run = Run(warmup=40)
    run.loss[5] *= 3
    run.loss[20] *= 2.5
    # WHEN analysed THEN neither the rising LR nor the warm-up spikes are findings
    found = ids(run.findings({"max_steps": 2000}))
    assert not found & {"lr-jump", "loss-spike", "loss-instability", "loss-rising"}
    # AND the same spike after warm-up is reported
    late = Run(warmup=40)
    late.loss[120] *= 3
    assert fired(late.findings({"max_steps": 2000}), "loss-spike")


# -- an uncertain step axis --------------------------------------------------------------------


def test_windowed_rules_keep_quiet_once_the_step_axis_goes_backwards() -> None:
    # GIVEN two runs appended to one file: the second restarts at step 10 with a high loss
    first, second = Run(n=60, seed=1), Run(n=140, seed=2)
    records = [r for _, r in first.records()] + [r for _, r in second.records()]
    store = store_of(records)
    engine = AdviceEngine()
    engine.finish(store)
    # THEN no trend is read across the restart
    assert engine.facts.steps_uncertain
    assert not [f for f in engine.findings() if f.severity != "info"]
    # WHILE the numerics rules still speak at the first bad record
    records[100] = MetricRecord("train", records[100].step, {"loss": float("nan")})
    f = fired(analyze(store_of(records)), "nan-loss")
    assert f and f[0].step == records[100].step


# -- facts-based advice ------------------------------------------------------------------------


def test_schedule_is_not_called_normal_while_a_problem_is_active() -> None:
    run = Run()
    run.loss[150:] = 0.0
    engine = AdviceEngine()
    engine.finish(run.store())
    assert engine.state.active and engine.state.active[0].severity == "critical"
    assert "normal" not in engine.state.schedule and engine.state.schedule
    healthy = AdviceEngine()
    healthy.finish(Run().store())
    assert healthy.state.schedule.endswith("normal")
