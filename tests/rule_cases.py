"""Runs built from plain arrays, for the tests that judge the advice rules (`tests/unit/rules`).

Every rule test states exactly what the rule should see: a seeded healthy run (`Run`) with one
fault applied, or a short series (`logged_every_5`, `logged_every_20`, `train_store`) shaped
like the logs the rule was written for. Each builder lives here once, so the rule families'
files share it rather than each keeping a copy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from trainmon.advice import AdviceEngine, analyze
from trainmon.records import Finding, MetricRecord
from trainmon.store import MetricStore

LOG = 10  # logging_steps of the built runs

HF = {"format": "hf-trainer"}


class Run:
    """A healthy run as arrays (one train record per LOG steps); tests edit them."""

    def __init__(self, n: int = 200, seed: int = 0, warmup: int = 10) -> None:
        rng = np.random.default_rng(seed)
        i = np.arange(n, dtype=float)
        self.steps = (i + 1) * LOG
        self.loss = (2.0 * np.exp(-i / (0.3 * n)) + 0.5) * np.exp(0.03 * rng.standard_normal(n))
        peak = 5e-5
        warm = np.minimum(1.0, (i + 1) / warmup) if warmup else np.ones(n)
        decay = 0.5 * (1 + np.cos(math.pi * np.clip((i - warmup) / (n - warmup), 0, 1)))
        self.lr = peak * np.where(i < warmup, warm, decay)
        self.grad = 0.5 * np.exp(0.2 * rng.standard_normal(n))
        self.evals: list[tuple[int, dict[str, float]]] = []
        self.times: np.ndarray | None = None
        self.summary = False
        self.with_grad = True
        self.with_lr = True

    def add_evals(self, every: int, values: Sequence[float], metric: Sequence[float] = ()) -> None:
        for k, v in enumerate(values):
            d = {"eval_loss": float(v)}
            if len(metric):
                d["eval_accuracy"] = float(metric[k])
            self.evals.append((int(self.steps[(k + 1) * every - 1]), d))

    def records(self) -> list[tuple[float, MetricRecord]]:
        out: list[tuple[float, MetricRecord]] = []
        evals = sorted(self.evals)
        e = 0
        for k, step in enumerate(self.steps):
            values: dict[str, float] = {"loss": float(self.loss[k])}
            if self.with_grad:
                values["grad_norm"] = float(self.grad[k])
            if self.with_lr:
                values["learning_rate"] = float(self.lr[k])
            t = float(self.times[k]) if self.times is not None else 0.0
            out.append((t, MetricRecord("train", int(step), values)))
            while e < len(evals) and evals[e][0] <= step:
                out.append((t, MetricRecord("eval", evals[e][0], evals[e][1])))
                e += 1
        if self.summary:
            t = out[-1][0]
            out.append((t, MetricRecord("summary", int(self.steps[-1]), {"train_loss": 1.0})))
        return out

    def store(self) -> MetricStore:
        store = MetricStore()
        for t, record in self.records():
            store.extend([record], t)
        return store

    def findings(self, context: Mapping[str, object] | None = None) -> list[Finding]:
        return analyze(self.store(), context or {})


def fired(findings: list[Finding], rule: str) -> list[Finding]:
    """The findings of one rule."""
    return [f for f in findings if f.rule == rule]


def ids(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def store_of(records: list[MetricRecord], times: list[float] | None = None) -> MetricStore:
    """The records appended one at a time, at their arrival times (all 0.0 when not given)."""
    store = MetricStore()
    for i, record in enumerate(records):
        store.extend([record], times[i] if times else 0.0)
    return store


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


def logged_every_5(
    loss: Sequence[float],
    lr: Sequence[float] | None = None,
    steps: Sequence[int] | None = None,
    grad: Sequence[float] | None = None,
) -> MetricStore:
    """Train records at steps 0, 5, 10, ... unless `steps` says otherwise: the interval of
    the real-run benchmark's logs (600 steps logged every 5, a 30-step warm-up)."""
    steps = steps if steps is not None else [5 * k for k in range(len(loss))]
    return train_store(loss, steps, learning_rate=lr, grad_norm=grad)


def logged_every_20(
    loss: Sequence[float], lr: Sequence[float] | None = None, steps: Sequence[int] | None = None
) -> MetricStore:
    """Train records at steps 20, 40, 60, ... unless `steps` says otherwise: the first records
    of a run, or an excerpt, as the short-history rules see them."""
    every_20 = [20 * (k + 1) for k in range(len(loss))]
    return logged_every_5(loss, lr, steps if steps is not None else every_20)


def warmup_lr(n: int, peak: float, warmup_records: int = 6) -> list[float]:
    """Linear warm-up over the first records, then a slow cosine decay."""
    return [
        peak * (k + 1) / (warmup_records + 1)
        if k < warmup_records
        else peak * (0.55 + 0.45 * math.cos(math.pi * (k - warmup_records) / (2 * n)))
        for k in range(n)
    ]


def learning(n: int, start: float = 3.4, floor: float = 0.6, seed: int = 0) -> list[float]:
    """A from-scratch loss falling from `start` towards `floor`, 1 % noise."""
    rng = np.random.default_rng(seed)
    return [
        (floor + (start - floor) * math.exp(-k / 15)) * math.exp(0.01 * rng.standard_normal())
        for k in range(n)
    ]


def flat(n: int, level: float = 3.7, noise: float = 0.01, seed: int = 0) -> list[float]:
    """A loss that does not move: `level` with log-normal noise."""
    rng = np.random.default_rng(seed)
    return list(level * np.exp(noise * rng.standard_normal(n)))


def detected_by(store: MetricStore, context: dict[str, object], rule: str) -> int | None:
    """The step at which `rule` first became active, replayed one record at a time."""
    engine = AdviceEngine(context)
    replay = MetricStore()
    for k in range(store.records):
        replay.extend(
            [MetricRecord("train", int(store.record_steps[k]), _values_of(store, k))], 0.0
        )
        engine.update(replay)
    engine.finish(replay)
    steps = [d.detected_step for d in engine.detections if d.finding.rule == rule]
    return min(steps) if steps else None


def _values_of(store: MetricStore, record: int) -> dict[str, float]:
    out = {}
    for name in store.names():
        series = store.get(name)
        assert series is not None
        index = list(series.record_index)
        if record in index:
            out[name] = float(series.values[index.index(record)])
    return out
