"""Synthetic runs: deterministic, parseable HF-format text, faults where they were put."""

from __future__ import annotations

import itertools
import math

import pytest

from trainmon.parsing.parser import LogParser
from trainmon.simulate import FAULT_KINDS, Fault, SimulatedRun, demo_run


def _parse(run: SimulatedRun):  # type: ignore[no-untyped-def]
    parser = LogParser()
    return parser.feed(run.text().encode()) + parser.finish(), parser


def test_same_seed_same_text_and_different_seed_differs() -> None:
    assert SimulatedRun(seed=3, steps=300).text() == SimulatedRun(seed=3, steps=300).text()
    assert SimulatedRun(seed=3, steps=300).text() != SimulatedRun(seed=4, steps=300).text()


def test_text_parses_to_the_generated_records() -> None:
    run = SimulatedRun(seed=1, steps=500, logging_steps=10, eval_steps=100)
    records, parser = _parse(run)
    direct = run.records()
    assert len(records) == len(direct)
    assert [(r.kind, r.step) for r in records] == [(r.kind, r.step) for _, r in direct]
    assert parser.total_steps == 500
    train = [r for r in records if r.kind == "train"]
    assert train[0].values["loss"] == pytest.approx(direct[0][1].values["loss"])


def test_lines_have_terminators_and_non_decreasing_times() -> None:
    lines = list(SimulatedRun(seed=1, steps=200).lines())
    assert all(text.endswith(("\n", "\r")) for _, text in lines)
    times = [t for t, _ in lines]
    assert times == sorted(times)
    assert lines[-1][1].startswith("{'train_runtime'")


def test_warmup_then_cosine_lr() -> None:
    run = SimulatedRun(seed=1, steps=1000, warmup_ratio=0.1, logging_steps=10)
    lrs = [r.values["learning_rate"] for _, r in run.records() if r.kind == "train"]
    peak = lrs.index(max(lrs))
    assert 8 <= peak <= 10
    assert all(b <= a for a, b in zip(lrs[peak:], lrs[peak + 1 :], strict=False))


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_changes_the_run_after_its_step_only(kind: str) -> None:
    at = 400
    healthy = SimulatedRun(seed=2, steps=1000).records()
    faulty = SimulatedRun(seed=2, steps=1000, faults=(Fault(kind, at),)).records()  # type: ignore[arg-type]
    before_h = [(r.kind, r.step, r.values) for t, r in healthy if r.step < at - 10]
    before_f = [(r.kind, r.step, r.values) for t, r in faulty if r.step < at - 10]
    if kind != "lr_zero":  # a too-short scheduler decays faster from the start
        assert before_h == before_f
    after_h = [(t, r.values) for t, r in healthy if r.step >= at]
    after_f = [(t, r.values) for t, r in faulty if r.step >= at]
    assert after_h != after_f


def test_nan_fault_writes_python_nan_tokens() -> None:
    text = SimulatedRun(seed=1, steps=300, faults=(Fault("nan", 150),)).text()
    assert "'loss': nan" in text
    records, _ = _parse(SimulatedRun(seed=1, steps=300, faults=(Fault("nan", 150),)))
    first = next(r for r in records if r.kind == "train" and math.isnan(r.values["loss"]))
    assert first.step == 150


def test_stall_is_a_gap_in_the_timing() -> None:
    run = SimulatedRun(seed=1, steps=300, faults=(Fault("stall", 150, stall_s=600),))
    times = [t for t, _ in run.records()]
    assert max(b - a for a, b in itertools.pairwise(times)) >= 600


def test_demo_run_is_healthy_then_overfits_with_one_spike() -> None:
    run = demo_run(steps=1000)
    kinds = {f.kind for f in run.faults}
    assert kinds == {"spike", "overfit"}
