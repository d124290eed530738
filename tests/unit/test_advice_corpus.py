"""The engine on the real third-party corpora, read in place (skipped when absent).

Asserts the evaluation targets that matter most to users: no critical finding on runs a
human labelled healthy, and the numerics faults in the real logs are caught.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from trainmon.advice import analyze
from trainmon.parsing.parser import LogParser
from trainmon.records import Finding
from trainmon.store import MetricStore

LABELS = Path(__file__).resolve().parents[2] / "bench" / "advice_labels.csv"


def _labels(source: str) -> list[dict[str, str]]:
    with LABELS.open(newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["source"] == source]


def _findings(path: Path) -> list[Finding]:
    parser = LogParser()
    records = parser.feed(path.read_bytes()) + parser.finish()
    store = MetricStore()
    store.total_steps = parser.total_steps
    store.extend(records, 0.0)
    return analyze(store, dict(parser.context))


def test_no_critical_finding_on_healthy_trainer_states(shared_trainer_states: Path) -> None:
    healthy = [r["run"] for r in _labels("trainer_state") if r["label"] in ("healthy", "empty")]
    assert len(healthy) > 60
    criticals = {
        name: [f.rule for f in _findings(shared_trainer_states / name) if f.severity == "critical"]
        for name in healthy
    }
    assert {k: v for k, v in criticals.items() if v} == {}


def test_warnings_are_rare_on_healthy_trainer_states(shared_trainer_states: Path) -> None:
    healthy = [r["run"] for r in _labels("trainer_state") if r["label"] in ("healthy", "empty")]
    warnings = sum(
        1
        for name in healthy
        for f in _findings(shared_trainer_states / name)
        if f.severity == "warning"
    )
    assert warnings <= len(healthy) / 10  # the target: at most 1 warning per 10 healthy runs


@pytest.mark.parametrize(
    ("label", "rules", "severities"),
    [
        ("nan", {"nan-loss"}, {"critical"}),
        ("zero-loss", {"zero-loss"}, {"critical"}),
        # an isolated NaN grad norm with unknown precision may be a loss-scaler skip: warning
        ("gradnorm-nan", {"nan-grad-norm"}, {"warning", "critical"}),
    ],
)
def test_numerics_faults_in_real_logs_are_caught(
    shared_logs: Path, label: str, rules: set[str], severities: set[str]
) -> None:
    runs = [r["run"] for r in _labels("log") if r["label"] == label]
    assert runs
    for name in runs:
        found = {f.rule for f in _findings(shared_logs / name) if f.severity in severities}
        assert found & rules, name
