"""Throughput and stall rules, from record timestamps (printed in the log, else arrival).

`stall` and `throughput-drop` look at the gaps between records already in the store, so a
replay with the original timing finds them at the same step. `no-progress` is the one rule
evaluated against the clock: no new record for far longer than usual, right now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trainmon.advice.base import Facts, Hit, Rule, RuleInfo, View
from trainmon.advice.stats import fmt, middle

if TYPE_CHECKING:
    from trainmon.store import MetricStore

INTERVALS = 64
STALL_FLOOR_S = 120.0
STALL_FACTOR = 10.0


def train_intervals(
    store: MetricStore, end: int, limit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(seconds per step, seconds, end-record index) for the newest train-to-train gaps.

    Only gaps that end in a train record count: the time before an eval record is spent
    evaluating, not training.
    """
    kinds = store.record_kinds
    lo = max(0, end - 2 * limit - 1)
    times = store.record_times.span(lo, end).astype(np.float64)
    steps = store.record_steps.span(lo, end).astype(np.float64)
    is_train = np.array([k == "train" for k in kinds[lo + 1 : end]], dtype=bool)
    if len(times) < 2:
        return np.empty(0), np.empty(0), np.empty(0)
    dt = np.diff(times)
    ds = np.diff(steps)
    # a gap that ends in an eval or summary record is evaluation/saving time: left out
    ok = is_train & (ds > 0) & (dt >= 0)
    per_step = dt[ok] / ds[ok]
    ends = (np.flatnonzero(ok) + lo + 1).astype(np.float64)
    return per_step[-limit:], dt[ok][-limit:], ends[-limit:]


class Stall(Rule):
    info = RuleInfo("stall", "throughput", "warning", "a long pause between records")
    clear = 1
    suppressed_by_numerics = False

    def __init__(self) -> None:
        self.seen = 0

    def check(self, view: View, facts: Facts) -> Hit | None:
        _, gaps, ends = train_intervals(view.store, view.end, INTERVALS)
        if len(gaps) < 8:
            return None
        new = np.flatnonzero((ends >= self.seen) & (gaps > STALL_FLOOR_S))
        self.seen = view.end
        for k in new.tolist():
            if k < 5:
                continue
            usual = middle(gaps[max(0, k - 20) : k])
            gap = float(gaps[k])
            if usual > 0 and gap > max(STALL_FACTOR * usual, STALL_FLOOR_S):
                step = int(view.store.record_steps[int(ends[k])])
                return Hit(
                    "warning",
                    step,
                    "Training paused: a long gap between records",
                    f"{fmt(gap)} s without a record before step {step} vs a usual {fmt(usual)} s",
                    "Look for a hang (dataloader deadlock, storage stall, NCCL collective) or "
                    "preemption around this step; set timeouts and checkpoint often.",
                )
        return None


class ThroughputDrop(Rule):
    info = RuleInfo("throughput-drop", "throughput", "warning", "steps per second fell")
    persist = 2
    suppressed_by_numerics = False

    def check(self, view: View, facts: Facts) -> Hit | None:
        per_step, _, ends = train_intervals(view.store, view.end, 24)
        if len(per_step) < 12:
            return None
        base = middle(per_step[:-3])
        recent = middle(per_step[-3:])
        if base <= 0 or recent <= base / 0.7 or recent > STALL_FACTOR * base:
            return None
        step = int(view.store.record_steps[int(ends[-3])])
        return Hit(
            "warning",
            step,
            f"Throughput fell {1 - base / recent:.0%}",
            f"{fmt(1 / recent)} steps/s over the last 3 intervals vs {fmt(1 / base)} before",
            "Check the GPU and CPU panes: throttling, swapping, a CPU-bound input pipeline or "
            "another process on the GPU are the usual causes; longer sequences also slow steps.",
        )


class NoProgress:
    """The clock rule: no record for much longer than usual, right now."""

    info = RuleInfo("no-progress", "throughput", "critical", "no new record for far too long")

    def check(self, store: MetricStore, now_s: float) -> Hit | None:
        last = store.last_arrival_s
        n = store.records
        if last is None or n < 5 or "summary" in store.record_kinds[-3:]:
            return None
        times = store.record_times.span(max(0, n - 40), n).astype(np.float64)
        gaps = np.diff(times)
        gaps = gaps[gaps > 0]
        usual = middle(gaps) if len(gaps) >= 4 else None
        silent = now_s - last
        limit = max(STALL_FLOOR_S, STALL_FACTOR * usual) if usual else 10 * STALL_FLOOR_S
        if silent <= limit:
            return None
        return Hit(
            "critical",
            int(store.record_steps[n - 1]),
            f"No new record for {silent / 60:.0f} min",
            f"last record {fmt(silent)} s ago at step {store.record_steps[n - 1]}; usual gap "
            + (f"{fmt(usual)} s" if usual else "unknown"),
            "If the GPU is idle: dataloader deadlock or storage stall. If it is busy with no "
            "steps: a collective (NCCL) hang; set NCCL_DEBUG=INFO and a timeout, restart from "
            "the checkpoint.",
        )


THROUGHPUT_RULES: tuple[type[Rule], ...] = (Stall, ThroughputDrop)
