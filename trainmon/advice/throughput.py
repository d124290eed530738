"""Throughput and stall rules, from record timestamps (printed in the log, else arrival).

`stall` and `throughput-drop` look at the gaps between records already in the store: from
times the log printed they are the same live, replayed and in a report. A log that prints no
times leaves only the arrival of records that came in live; findings timed that way are about
live arrival, say so in their evidence (`LIVE_TIMING`) and are never in a report, and two
dashboards may see them differently (`is_live_only`). `no-progress` is evaluated against the
clock: no new record for far longer than usual, right now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trainmon.advice.base import Facts, Hit, Rule, RuleInfo, View
from trainmon.advice.stats import fmt, middle
from trainmon.i18n import N_, _

if TYPE_CHECKING:
    from trainmon.records import Finding
    from trainmon.store import MetricStore

INTERVALS = 64
STALL_FLOOR_S = 120.0
STALL_FACTOR = 10.0
DROP_RECENT = 5
DROP_FACTOR = 2.5
"""Throughput-drop: the newest 5 intervals take 2.5x the usual time per step (a 60 % fall);
smaller swings are what a machine shared with other jobs shows all day."""
DROP_EACH = 2.0
"""...and every one of them takes at least 2x: a sustained drop (a slower loader, throttling),
not a burst of contention from other jobs, in which fast intervals come between slow ones."""
LIVE_TIMING = N_("record arrival times, live only")
"""Marks the evidence of a finding timed by when records arrived, not by times the log printed."""
LIVE_RULES = frozenset({"stall", "throughput-drop"})
"""Rules timed by arrival when the log prints no times."""


def is_live_only(finding: Finding) -> bool:
    """A finding about live arrival: the clock right now (`no-progress`), or a stall or
    throughput drop timed by when records arrived. Only these may differ between two
    dashboards on the same log or between a dashboard and a report."""
    return finding.rule == "no-progress" or (
        finding.rule in LIVE_RULES and _(LIVE_TIMING) in finding.evidence
    )


def train_intervals(
    store: MetricStore, end: int, limit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(seconds per step, seconds, end-record index) for the newest train-to-train gaps.

    Only gaps that end in a train record count: the time before an eval record is spent
    evaluating, not training.
    """
    kinds = store.record_kinds
    # arrival times measure the trainer only for records that arrived live, one by one;
    # a backlog read at start (or a report) arrived in bursts
    first = 0 if store.times_printed else store.live_from
    lo = max(first, end - 2 * limit - 1)
    times = store.record_times.span(lo, end).astype(np.float64)
    steps = store.record_steps.span(lo, end).astype(np.float64)
    is_train = np.array([k == "train" for k in kinds[lo + 1 : end]], dtype=bool)
    if len(times) < 2:
        return np.empty(0), np.empty(0), np.empty(0)
    dt = np.diff(times)
    ds = np.diff(steps)
    # a gap that ends in an eval or summary record is evaluation/saving time: left out
    # records that arrived in the same read share an arrival time: no speed from those
    ok = is_train & (ds > 0) & ((dt >= 0) if store.times_printed else (dt > 0))
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
        _starts, gaps, ends = train_intervals(view.store, view.end, INTERVALS)
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
                how = "" if view.store.times_printed else f" ({_(LIVE_TIMING)})"
                return Hit(
                    "warning",
                    step,
                    _("Training paused: a long gap between records"),
                    _("{gap} s without a record before step {step} vs a usual {usual} s").format(
                        gap=fmt(gap), step=step, usual=fmt(usual)
                    )
                    + how,
                    _(
                        "Look for a hang (dataloader deadlock, storage stall, NCCL collective) "
                        "or preemption around this step; set timeouts and checkpoint often."
                    ),
                )
        return None


class ThroughputDrop(Rule):
    info = RuleInfo(
        "throughput-drop", "throughput", "warning", "steps per second fell and stayed low"
    )
    persist = 2
    suppressed_by_numerics = False

    def check(self, view: View, facts: Facts) -> Hit | None:
        printed = self._printed_durations(view)
        if printed is not None:
            per_step, steps, how = printed
        else:
            per_step, _gaps, ends = train_intervals(view.store, view.end, 24)
            steps = np.array([view.store.record_steps[int(e)] for e in ends[-DROP_RECENT:]])
            how = _(LIVE_TIMING)
        if len(per_step) < 12:
            return None
        base = middle(per_step[:-DROP_RECENT])
        recent = middle(per_step[-DROP_RECENT:])
        if base <= 0 or recent < DROP_FACTOR * base or recent > STALL_FACTOR * base:
            return None
        if float(np.min(per_step[-DROP_RECENT:])) < DROP_EACH * base:
            return None  # a fast interval among the slow ones: contention that comes and goes
        slow = np.flatnonzero(per_step[-DROP_RECENT:] >= DROP_FACTOR * base)
        step = int(steps[-DROP_RECENT + int(slow[0])])  # the first slow interval
        return Hit(
            "warning",
            step,
            _("Throughput fell {share:.0%}").format(share=1 - base / recent),
            _("{recent} steps/s over the last {count} intervals vs {before} before ({how})").format(
                recent=fmt(1 / recent), count=DROP_RECENT, before=fmt(1 / base), how=how
            ),
            _(
                "Check the GPU and CPU panes: throttling, swapping, a CPU-bound input pipeline "
                "or another process on the GPU are the usual causes; longer sequences also "
                "slow steps."
            ),
        )

    @staticmethod
    def _printed_durations(view: View) -> tuple[np.ndarray, np.ndarray, str] | None:
        """Per-step times the log printed (nanoGPT's `time 15.9ms`, a `step_time` column):
        seconds per step from the records themselves, the same live, replayed or in a
        report. Scaled to steps/s only for the evidence (units cancel in the ratio)."""
        for name, scale in DURATION_SERIES:
            n = view.count(name)
            if n < 12:
                continue
            values = view.values(name, max(0, n - 24), n) * scale
            steps = view.steps(name, max(0, n - 24), n)
            ok = np.isfinite(values) & (values > 0)
            return values[ok], steps[ok], _("printed {name}").format(name=name)
        return None


DURATION_SERIES = (("time_ms", 1e-3), ("step_time", 1.0), ("iter_time", 1.0))
"""Printed per-step durations and their scale to seconds."""


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
            _("No new record for {minutes:.0f} min").format(minutes=silent / 60),
            _("last record {seconds} s ago at step {step}; usual gap {usual}").format(
                seconds=fmt(silent),
                step=store.record_steps[n - 1],
                usual=f"{fmt(usual)} s" if usual else _("unknown"),
            ),
            _(
                "If the GPU is idle: dataloader deadlock or storage stall. If it is busy with "
                "no steps: a collective (NCCL) hang; set NCCL_DEBUG=INFO and a timeout, restart "
                "from the checkpoint."
            ),
        )


THROUGHPUT_RULES: tuple[type[Rule], ...] = (Stall, ThroughputDrop)
