"""Stores built from per-record series, for the tests that judge one advice rule at a time."""

from __future__ import annotations

from collections.abc import Sequence

from trainmon.records import Finding, MetricRecord
from trainmon.store import MetricStore


def train_store(
    loss: Sequence[float], steps: Sequence[int], **series: Sequence[float] | None
) -> MetricStore:
    """One train record per loss value at its step, with the value at the same position of
    each other series given (`learning_rate=...`, `grad_norm=...`; None: not logged)."""
    logged = {name: values for name, values in series.items() if values is not None}
    store = MetricStore()
    for k, value in enumerate(loss):
        values = {"loss": float(value)}
        values.update((name, float(logged[name][k])) for name in logged)
        store.extend([MetricRecord("train", int(steps[k]), values)], 0.0)
    return store


def rules(findings: list[Finding], rule: str) -> list[Finding]:
    """The findings of one rule."""
    return [f for f in findings if f.rule == rule]
