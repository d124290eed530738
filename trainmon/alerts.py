"""What is worth a notification, decided once per event: a finding at `--notify-on` severity
first appears, the run finishes or crashes, the log goes quiet for `--stall-after`.

Headless and clock-driven: the dashboard (each tick) and `trainmon serve` (each loop) hand
every run's current state to `AlertWatch.check`, which returns only what is new. Each
finding, each end and each stall is told once; a stall is told again only after records
came back and stopped again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final

from trainmon.i18n import _
from trainmon.notify import Alert
from trainmon.records import SEVERITY_RANK, Severity
from trainmon.run import Run
from trainmon.sources.samples import ProcessExit

STALL_FLOOR_S: Final = 600.0
"""The default stall limit is never shorter than this (an eval pass or a checkpoint save)."""
STALL_INTERVALS: Final = 5
"""... and otherwise this many times the run's median interval between records."""
INTERVALS_SEEN: Final = 50
"""The median interval is taken over at most this many of the newest live records."""

LIFECYCLE_RULES: Final = frozenset({"process-exited", "no-progress"})
"""Findings told as the run's end or stall instead (one message, not two)."""


def median_interval_s(run: Run) -> float | None:
    """The median time between the newest live records (None with fewer than two)."""
    store = run.store
    n = store.records
    first = max(store.live_from, n - INTERVALS_SEEN - 1)
    if n - first < 2:
        return None
    times = [store.record_times[i] for i in range(first, n)]
    gaps = sorted(b - a for a, b in pairwise(times) if b >= a)
    return gaps[len(gaps) // 2] if gaps else None


def stall_limit_s(run: Run, stall_after_s: float | None) -> float:
    """`--stall-after`, else 5× the median record interval, at least 10 min."""
    if stall_after_s is not None:
        return stall_after_s
    median = median_interval_s(run)
    return max(STALL_FLOOR_S, STALL_INTERVALS * median) if median else STALL_FLOOR_S


@dataclass(slots=True)
class _Told:
    """What was already sent about one run."""

    rules: set[str] = field(default_factory=set)
    ended: bool = False
    stalled_at: float | None = None
    """The arrival time of the last record when the stall was told (re-armed by a new one)."""


class AlertWatch:
    """Turns the runs' states into alerts, each told once."""

    def __init__(self, notify_on: Severity = "critical", stall_after_s: float | None = None):
        self.notify_on = notify_on
        self.stall_after_s = stall_after_s
        self._told: dict[str, _Told] = {}

    def check(
        self, label: str, run: Run, now_s: float, ended: ProcessExit | None = None
    ) -> list[Alert]:
        """New alerts for one run (`ended`: its training process was seen to end)."""
        told = self._told.setdefault(label, _Told())
        alerts = self._findings(label, run, told)
        finished = run.store.kind_counts.get("summary", 0) > 0
        if not told.ended and (finished or ended is not None):
            told.ended = True
            alerts.append(_end_alert(label, run, ended, finished))
        last = run.store.last_arrival_s
        if told.ended or last is None:
            return alerts
        quiet = now_s - last
        limit = stall_limit_s(run, self.stall_after_s)
        if quiet >= limit and told.stalled_at != last:
            told.stalled_at = last
            step = run.store.last_step
            alerts.append(
                Alert(
                    "stalled",
                    label,
                    _("trainmon: {label} has stalled").format(label=label),
                    _stall_body(quiet, limit, step),
                    "warning",
                )
            )
        return alerts

    def _findings(self, label: str, run: Run, told: _Told) -> list[Alert]:
        floor = SEVERITY_RANK[self.notify_on]
        alerts = []
        for finding in run.advice.active:
            if finding.rule in told.rules or finding.rule in LIFECYCLE_RULES:
                continue
            if SEVERITY_RANK[finding.severity] < floor:
                continue
            told.rules.add(finding.rule)
            where = _at_step(finding.step)
            alerts.append(
                Alert(
                    "finding",
                    label,
                    f"trainmon: {label}: {finding.title}",
                    f"[{finding.severity}] {finding.rule}{where}: {finding.evidence}\n"
                    f"{finding.advice}",
                    "failure" if finding.severity == "critical" else "warning",
                )
            )
        return alerts


def _end_alert(label: str, run: Run, ended: ProcessExit | None, finished: bool) -> Alert:
    step = run.store.last_step
    at = _at_step(step)
    if finished or (ended is not None and ended.status is not None and ended.status.clean):
        return Alert(
            "finished",
            label,
            _("trainmon: {label} finished").format(label=label),
            _("run finished") + at,
            "success",
        )
    assert ended is not None
    if ended.status is None:  # not trainmon's child, already reaped: its status cannot be known
        title = _("trainmon: {label} ended").format(label=label)
        return Alert("crashed", label, title, f"{ended.text}{at}", "warning")
    title = _("trainmon: {label} crashed").format(label=label)
    return Alert("crashed", label, title, f"{ended.text}{at}", "failure")


def _at_step(step: int | None) -> str:
    """` at step 120` (in the user's language), or "" when no step is known."""
    return "" if step is None else " " + _("at step {step}").format(step=step)


def _stall_body(quiet: float, limit: float, step: int | None) -> str:
    if step is None:
        text = _("no new record for {quiet} (limit {limit})")
    else:
        text = _("no new record for {quiet} (limit {limit}); last step {step}")
    return text.format(quiet=_duration(quiet), limit=_duration(limit), step=step)


def _duration(seconds: float) -> str:
    s = max(0.0, seconds)
    if s < 120:
        return _("{value} s").format(value=f"{s:.0f}")
    if s < 7200:
        return _("{value} min").format(value=f"{s / 60:.0f}")
    return _("{value} h").format(value=f"{s / 3600:.1f}")
