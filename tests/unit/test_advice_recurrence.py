"""One finding per recurring problem: a rule that fires, clears and fires again keeps one entry
with the episode count and the first and last onset steps, live and in `trainmon report`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from trainmon import cli
from trainmon.advice import AdviceEngine, analyze
from trainmon.records import Finding, MetricRecord
from trainmon.report import read_log
from trainmon.store import MetricStore

LOG = 10  # logging_steps of the built runs


def train_records(n: int, nan_at: tuple[int, ...] = (), seed: int = 0) -> list[MetricRecord]:
    """A healthy, decaying run with isolated NaN losses at the given record indices."""
    rng = np.random.default_rng(seed)
    out: list[MetricRecord] = []
    for i in range(n):
        loss = (2.0 * math.exp(-i / (0.3 * n)) + 0.5) * math.exp(0.03 * rng.standard_normal())
        values = {
            "loss": math.nan if i in nan_at else loss,
            "grad_norm": 0.5 * math.exp(0.2 * rng.standard_normal()),
            "learning_rate": 5e-5 * min(1.0, (i + 1) / 10),
        }
        out.append(MetricRecord("train", (i + 1) * LOG, values))
    return out


def rule_findings(findings: tuple[Finding, ...] | list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


NAN_AT = (50, 120, 200, 330)


def test_recurring_nan_loss_is_one_finding_with_count_and_first_and_last_steps() -> None:
    # GIVEN a run with four isolated NaN losses, each followed by clean records
    store = MetricStore()
    store.extend(train_records(400, NAN_AT), 0.0)
    # WHEN the whole run is analysed
    nan = rule_findings(analyze(store), "nan-loss")
    # THEN there is one nan-loss finding: onset at the first NaN, the count, first/last steps
    assert len(nan) == 1
    f = nan[0]
    first, last = (NAN_AT[0] + 1) * LOG, (NAN_AT[-1] + 1) * LOG
    assert f.step == first
    assert f.severity == "critical"
    assert "4 episodes" in f.evidence
    assert f"first at step {first}," in f.evidence
    assert f"last at step {last})" in f.evidence
    assert "loss non-finite on 4 record(s)" in f.evidence


def test_a_single_nan_keeps_its_own_evidence() -> None:
    store = MetricStore()
    store.extend(train_records(200, (60,)), 0.0)
    (f,) = rule_findings(analyze(store), "nan-loss")
    assert "episodes" not in f.evidence
    assert f.evidence.startswith(f"loss nan at step {61 * LOG}")


def test_live_state_shows_the_current_episode_and_one_history_entry_per_rule() -> None:
    # GIVEN the same run fed one record at a time
    records = train_records(400, NAN_AT)
    store = MetricStore()
    engine = AdviceEngine()
    state = engine.state
    for i, record in enumerate(records):
        store.extend([record], 0.0)
        state = engine.update(store)
        if i == NAN_AT[-1]:
            # WHEN the fourth NaN has just arrived
            # THEN active shows the current episode (its own step) ...
            (current,) = rule_findings(state.active, "nan-loss")
            assert current.step == (NAN_AT[-1] + 1) * LOG
            assert "episodes" not in current.evidence
            # ... and the history holds one entry for the three earlier episodes
            (past,) = rule_findings(state.history, "nan-loss")
            assert past.step == (NAN_AT[0] + 1) * LOG
            assert "3 episodes" in past.evidence
            assert f"last at step {(NAN_AT[2] + 1) * LOG})" in past.evidence
    # WHEN the run has recovered THEN nothing is active and history has one entry of four
    assert not rule_findings(state.active, "nan-loss")
    (past,) = rule_findings(state.history, "nan-loss")
    assert "4 episodes" in past.evidence
    # every episode is still a detection of its own (time-to-detection in the evaluation)
    assert [d.finding.step for d in engine.detections if d.finding.rule == "nan-loss"] == [
        (i + 1) * LOG for i in NAN_AT
    ]


def overfitting_run() -> list[MetricRecord]:
    """Eval loss rises for 4 evals, recovers to a new best, improves, then rises again."""
    evals = [2.0, 1.8, 1.6, 1.5, 1.6, 1.65, 1.7, 1.75, 1.4]
    evals += [1.4 - 0.02 * k for k in range(1, 11)]  # 1.38 .. 1.20, new bests
    evals += [1.3, 1.35, 1.4, 1.45, 1.5]
    out: list[MetricRecord] = []
    per_eval = 10
    train = train_records(per_eval * len(evals))
    for j, value in enumerate(evals):
        out.extend(train[j * per_eval : (j + 1) * per_eval])
        out.append(MetricRecord("eval", out[-1].step, {"eval_loss": value}))
    return out


def test_recurring_overfitting_is_one_history_entry() -> None:
    # GIVEN two overfitting episodes separated by a recovery to a new best eval loss
    store = MetricStore()
    engine = AdviceEngine()
    for record in overfitting_run():
        store.extend([record], 0.0)
        engine.update(store)
    # both episodes fired (two detections) ...
    onsets = [d.finding.step for d in engine.detections if d.finding.rule == "overfitting"]
    assert len(onsets) == 2
    # WHEN the second one clears at the end of the log
    state = engine.finish(store)
    everything = rule_findings(engine.findings(), "overfitting")
    # THEN findings hold one overfitting entry from the first onset, counting both episodes
    assert len(everything) == 1
    assert everything[0].step == onsets[0]
    assert "2 episodes" in everything[0].evidence
    assert f"last at step {onsets[1]})" in everything[0].evidence
    # and the live history never holds more than one entry for the rule
    assert len(rule_findings(state.history, "overfitting")) <= 1


def test_merged_findings_do_not_depend_on_batching() -> None:
    records = train_records(400, NAN_AT)
    results = []
    for size in (1, 7, 400):
        store = MetricStore()
        engine = AdviceEngine()
        for k in range(0, len(records), size):
            store.extend(records[k : k + size], 0.0)
            engine.update(store)
        engine.finish(store)
        results.append(engine.findings())
    assert results[0] == results[1] == results[2]


def hf_line(step: int, loss: float) -> str:
    loss_text = "nan" if math.isnan(loss) else f"{loss:.4f}"
    return (
        f"{{'loss': {loss_text}, 'grad_norm': 0.8, 'learning_rate': 5e-05, "
        f"'epoch': {step / 3000:.4f}}}\n"
    )


def test_report_json_of_a_log_with_50_isolated_nans_has_one_nan_loss_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a Trainer-style log of 3000 records with a NaN loss on every 60th one
    nan_records = set(range(30, 3000, 60))
    assert len(nan_records) == 50
    lines = [
        hf_line((i + 1) * LOG, math.nan if i in nan_records else 2.0 * math.exp(-i / 1500) + 0.5)
        for i in range(3000)
    ]
    path = tmp_path / "run.log"
    path.write_text("".join(lines), encoding="utf-8")
    # WHEN `trainmon report --json` reads it
    cli.main(["report", "--json", str(path)])
    doc = json.loads(capsys.readouterr().out)
    # THEN exactly one nan-loss finding, from the first NaN, counting all 50
    nan = [f for f in doc["findings"] if f["rule"] == "nan-loss"]
    assert len(nan) == 1
    # (the dicts carry no step: the parser places records on the step axis itself)
    first_step = int(read_log(str(path)).store.record_steps[min(nan_records)])
    assert nan[0]["step"] == first_step
    assert f"first at step {first_step}," in nan[0]["evidence"]
    assert "50 episodes" in nan[0]["evidence"]
    assert "loss non-finite on 50 record(s)" in nan[0]["evidence"]
    # and no rule is listed twice
    rules = [f["rule"] for f in doc["findings"]]
    assert len(rules) == len(set(rules))
