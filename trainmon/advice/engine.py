"""The advice engine: runs the rules over the store at checkpoints and tracks findings.

Determinism: findings depend only on the record sequence. Windowed rules run at checkpoints
that are a function of the record count alone (every record up to 128, then 32 per doubling
of the run), and the per-record numerics rules are fed the records in order, interleaved
with the checkpoints. However `update` is called (one record at a time live, the whole log
at once in a report), the same checkpoints see the same records. The cost stays bounded:
about 32 x log2(records) checkpoints, each looking at fixed-size windows.

Episodes: a rule that clears and later fires again is the same problem coming back, so its
history entry is updated (episode count, first and last onset, highest severity) rather than
a new one appended; `findings()` and `analyze` give one finding per rule.

The one clock rule (`no-progress`) is evaluated against `now_s` and only when given one.
`process-exited` is evaluated against an observed fact handed in (`observe_process_exit`);
while the process is known to have ended, `no-progress` says nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from trainmon.advice.base import Facts, Hit, Rule, View
from trainmon.advice.context import parse_context
from trainmon.advice.facts import NORMAL_SUFFIX, FactsUpdater
from trainmon.advice.lifecycle import ProcessExited
from trainmon.advice.numerics import SCAN_RULES, Event, ScanRule, signed_objective
from trainmon.advice.recurrence_text import episodes_evidence
from trainmon.i18n import _
from trainmon.records import SEVERITY_RANK, Finding

if TYPE_CHECKING:
    from trainmon.sources.history import SystemHistory
    from trainmon.sources.samples import ProcessExit
    from trainmon.store import MetricStore

DENSE_CHECKPOINTS = 128
COOLDOWN_RECORDS = 20
"""After a windowed finding clears, the same rule stays quiet for max(20, 10%) records."""
PER_DOUBLING = 32


def next_checkpoint(count: int) -> int:
    """The first checkpoint after `count` records (a pure function of the count)."""
    if count < DENSE_CHECKPOINTS:
        return count + 1
    doubling = count.bit_length() - 1  # floor(log2(count))
    stride = 1 << max(0, doubling - (PER_DOUBLING.bit_length() - 1))
    return (count // stride + 1) * stride


@dataclass(frozen=True, slots=True)
class AdviceState:
    """What the dashboard shows: immutable, safe to hand to the UI thread."""

    active: tuple[Finding, ...] = ()
    """Sorted by severity (critical first), then step."""
    history: tuple[Finding, ...] = ()
    """One entry per rule whose episodes fired and cleared, least recently cleared first;
    a rule that fired more than once says how often, and since which step, in its evidence."""
    new_critical: bool = False
    """A critical finding appeared in this update (ring the bell once)."""
    schedule: str = ""
    """The recognised LR schedule, e.g. `LR: warm-up to 5e-05 by step 500, then decaying`."""


@dataclass(frozen=True, slots=True)
class Detection:
    """When a finding became active: its onset step and the step at which it was detected."""

    finding: Finding
    detected_step: int
    detected_record: int


class _Track:
    __slots__ = ("finding", "neg", "onset", "pos")

    def __init__(self) -> None:
        self.finding: Finding | None = None
        self.pos = 0
        self.neg = 0
        self.onset: int | None = None


class _Episodes:
    """Every episode of one rule folded into one entry: a user needs one line per recurring
    problem (when it started, how often it came back), not one per occurrence."""

    __slots__ = ("count", "first", "last", "worst")

    def __init__(self, finding: Finding) -> None:
        self.first = finding
        self.last = finding
        self.worst = finding
        self.count = 1

    def add(self, finding: Finding) -> None:
        self.count += 1
        self.last = finding
        if SEVERITY_RANK[finding.severity] > SEVERITY_RANK[self.worst.severity]:
            self.worst = finding

    def copy(self) -> _Episodes:
        other = _Episodes(self.first)
        other.last, other.worst, other.count = self.last, self.worst, self.count
        return other

    def merged(self, tally: str | None = None) -> Finding:
        """The first episode's onset, the highest severity reached, and the recurrence.

        `tally` is the rule's own count of affected records, e.g. `loss non-finite on 154
        record(s)`.
        """
        if self.count == 1:
            return self.first
        first, last, worst = self.first, self.last, self.worst
        counted = f"{tally}, " if tally else ""
        evidence = episodes_evidence(
            self.count, _fmt_step(first.step), _fmt_step(last.step), counted, first.evidence
        )
        if last.evidence != first.evidence:
            evidence += "; " + _("latest: {evidence}").format(evidence=last.evidence)
        return replace(worst, step=first.step, evidence=evidence)


def _fmt_step(step: int | None) -> str:
    return "?" if step is None else str(step)


def _finding(rule_id: str, hit: Hit, step: int | None) -> Finding:
    return Finding(rule_id, hit.severity, step, hit.title, hit.evidence, hit.advice)


def _sort_key(f: Finding) -> tuple[int, int, str]:
    return (-SEVERITY_RANK[f.severity], f.step if f.step is not None else -1, f.rule)


class AdviceEngine:
    """Incremental, deterministic rule evaluation over one run's metric store."""

    def __init__(
        self,
        context: Mapping[str, object] | None = None,
        muted: frozenset[str] = frozenset(),
        system: SystemHistory | None = None,
    ) -> None:
        """Rules for one run; `system` is the dashboard's sample history for the hardware
        rules (without it they keep their own, fed by `observe_hardware`)."""
        from trainmon.advice.registry import WINDOW_RULES
        from trainmon.advice.throughput import NoProgress

        self._raw_context = dict(context or {})
        self._system = system
        self.muted: set[str] = set(muted)
        self._window_classes = WINDOW_RULES
        self._clock = NoProgress()
        self._exit_rule = ProcessExited()
        self._process_exit: ProcessExit | None = None
        self._reset()

    def _reset(self, segment: int = 0) -> None:
        self.facts = Facts(parse_context(self._raw_context))
        self._updater = FactsUpdater(self.facts)
        self._rules: list[Rule] = [cls() for cls in self._window_classes]
        self._scans: list[ScanRule] = [cls() for cls in SCAN_RULES]
        self._tracks: dict[str, _Track] = {}
        self._history: dict[str, _Episodes] = {}
        self.detections: list[Detection] = []
        self._scanned = 0
        self._next = next_checkpoint(0)
        self._segment = segment
        self.checkpoints = 0
        """How many checkpoints have been evaluated (bounded; asserted by tests)."""
        self._last_checkpoint = 0
        self._cooldown: dict[str, int] = {}
        self._store_ref: MetricStore | None = None
        self._clock_finding: Finding | None = None
        self._exit_finding: Finding | None = None
        self._hw_rules: list[object] = []

    # -- public API ----------------------------------------------------------------------

    def mute(self, rule_id: str) -> None:
        """Hide a rule's findings (it keeps being evaluated, so unmuting is instant)."""
        self.muted.add(rule_id)

    def unmute(self, rule_id: str) -> None:
        self.muted.discard(rule_id)

    def update(self, store: MetricStore, now_s: float | None = None) -> AdviceState:
        """Evaluate every checkpoint reached since the last call, in record order."""
        if store.segment != self._segment:
            self._reset(store.segment)
        self._store_ref = store
        before = self._critical_keys()
        n = store.records
        if n < self._scanned:  # the store shrank without a new segment: start over
            self._reset(store.segment)
        while self._next <= n:
            c = self._next
            view = View(store, c)
            self._scan(view)
            self._checkpoint(view)
            self._last_checkpoint = c
            self._next = next_checkpoint(c)
        if self._scanned < n:
            self._scan(View(store, n))
        self._exit_update(store)
        if self._process_exit is None:
            self._clock_update(store, now_s)
        elif self._clock_finding is not None:  # the exit says more than "no new record"
            self._remember(self._clock_finding.rule, self._clock_finding)
            self._clock_finding = None
        after = self._critical_keys()
        return self._state(new_critical=bool(after - before))

    def finish(self, store: MetricStore) -> AdviceState:
        """Evaluate one last checkpoint at the end of a finished log (report, replay end)."""
        self.update(store)
        n = store.records
        if n and self._last_checkpoint != n:
            self._checkpoint(View(store, n))
            self._last_checkpoint = n
        return self._state(new_critical=False)

    def observe_hardware(self, sample: object) -> None:
        """Feed one GPU/CPU sample to the hardware rules."""
        from trainmon.advice.hardware import HardwareRules

        if not self._hw_rules:
            self._hw_rules.append(HardwareRules(self._system))
        hw = self._hw_rules[0]
        assert isinstance(hw, HardwareRules)
        for rule_id, hit in hw.observe(sample):
            if hit is None:
                self._miss(rule_id, clear=3)
            else:
                self._apply(rule_id, hit, persist=1, clear=3, step=None, record=0)

    def observe_process_exit(self, fact: ProcessExit | None) -> None:
        """The training process ended (None: a new one runs); judged at the next `update`."""
        self._process_exit = fact

    def findings(self) -> list[Finding]:
        """One finding per rule that fired (cleared or still active), by first onset step.

        Episodes of the same rule are merged: the step is the first onset, the severity the
        highest any episode reached, and the evidence counts the episodes.
        """
        merged = {rid: e.copy() for rid, e in self._history.items()}
        current = [(rid, t.finding) for rid, t in self._tracks.items() if t.finding is not None]
        for extra in (self._clock_finding, self._exit_finding):
            if extra is not None:
                current.append((extra.rule, extra))
        for rid, finding in current:
            if rid in merged:
                merged[rid].add(finding)
            else:
                merged[rid] = _Episodes(finding)
        everything = [e.merged(self._tally(rid)) for rid, e in merged.items()]
        return sorted(everything, key=lambda f: (f.step if f.step is not None else -1, f.rule))

    @property
    def state(self) -> AdviceState:
        return self._state(new_critical=False)

    # -- internals -----------------------------------------------------------------------

    def _critical_keys(self) -> set[tuple[str, int | None]]:
        keys = {
            (rid, t.finding.step)
            for rid, t in self._tracks.items()
            if t.finding is not None and t.finding.severity == "critical" and rid not in self.muted
        }
        exited = self._exit_finding
        if exited is not None and exited.severity == "critical" and exited.rule not in self.muted:
            keys.add((exited.rule, exited.step))
        return keys

    def _state(self, new_critical: bool) -> AdviceState:
        active = [
            t.finding
            for rid, t in self._tracks.items()
            if t.finding is not None and rid not in self.muted
        ]
        for extra in (self._clock_finding, self._exit_finding):
            if extra is not None and extra.rule not in self.muted:
                active.append(extra)
        active.sort(key=_sort_key)
        history = tuple(
            e.merged(self._tally(rid)) for rid, e in self._history.items() if rid not in self.muted
        )
        schedule = self.facts.schedule
        if any(f.severity != "info" for f in active):
            # the shape may be textbook, but the run is not "normal" while a problem is active
            schedule = schedule.removesuffix(_(NORMAL_SUFFIX))
        return AdviceState(tuple(active), history, new_critical, schedule)

    def _scan(self, view: View) -> None:
        start = self._scanned
        if view.end <= start:
            return
        for rule in self._scans:
            events: list[Event] = rule.scan(view, start, self.facts)
            for event in events:
                rid = rule.info.id
                if event.kind == "fire" and event.hit is not None:
                    seen = event.record + 1 if event.record >= 0 else view.end
                    self._apply(rid, event.hit, 1, 1, event.hit.step, seen)
                else:
                    self._clear(rid)
        self._scanned = view.end
        self.facts.numerics_active = any(
            t.finding is not None and t.finding.severity == "critical"
            for rid, t in self._tracks.items()
            if rid in _NUMERIC_IDS
        )

    def _checkpoint(self, view: View) -> None:
        self.checkpoints += 1
        self._updater.advance(view)
        for rule in self._rules:
            if self.facts.steps_uncertain or (
                rule.suppressed_by_numerics and self.facts.numerics_active
            ):
                continue
            hit = rule.check(view, self.facts)
            rid = rule.info.id
            if hit is not None and rule.defers_to_worse and self._worse_active(rid):
                hit = None
            if hit is not None and rule.defers_to and self._starting_beside(rid, rule.defers_to):
                hit = None
            if hit is None:
                if self._miss(rid, rule.clear):
                    # cooldown: one episode per stretch of the run, not a flicker
                    self._cooldown[rid] = view.end + max(COOLDOWN_RECORDS, view.end // 10)
            elif view.end >= self._cooldown.get(rid, 0):
                self._apply(rid, hit, rule.persist, rule.clear, hit.step, view.end)

    def _starting_beside(self, rid: str, others: frozenset[str]) -> bool:
        """`rid` is not active yet and one of `others` is."""
        track = self._tracks.get(rid)
        if track is not None and track.finding is not None:
            return False
        return any((t := self._tracks.get(o)) is not None and t.finding is not None for o in others)

    def _worse_active(self, rid: str) -> bool:
        """Some other rule has an active warning or critical finding."""
        return any(
            t.finding is not None and t.finding.severity != "info"
            for other, t in self._tracks.items()
            if other != rid
        )

    def _apply(
        self, rid: str, hit: Hit, persist: int, clear: int, step: int | None, record: int
    ) -> None:
        track = self._tracks.setdefault(rid, _Track())
        track.neg = 0
        track.pos += 1
        if track.onset is None:
            track.onset = step
        if track.finding is None:
            if track.pos >= persist:
                f = _finding(rid, hit, track.onset)
                track.finding = f
                self.detections.append(Detection(f, self._record_step(record), record))
            return
        old = track.finding
        if SEVERITY_RANK[hit.severity] > SEVERITY_RANK[old.severity]:
            track.finding = _finding(rid, hit, old.step)
            self.detections.append(Detection(track.finding, self._record_step(record), record))
        elif hit.severity == old.severity:
            track.finding = _finding(rid, hit, old.step)

    def _record_step(self, record: int) -> int:
        """The step of the newest of the first `record` records (0 for none)."""
        store = self._store_ref
        if store is None or record <= 0:
            return 0
        return int(store.record_steps[min(record, len(store.record_steps)) - 1])

    def _miss(self, rid: str, clear: int) -> bool:
        """Count a negative check; True when it cleared an active finding."""
        track = self._tracks.get(rid)
        if track is None:
            return False
        track.pos = 0
        if track.finding is None:
            track.onset = None
            return False
        track.neg += 1
        if track.neg >= clear:
            self._clear(rid)
            return True
        return False

    def _clear(self, rid: str) -> None:
        track = self._tracks.get(rid)
        if track is None:
            return
        if track.finding is not None:
            self._remember(rid, track.finding)
        track.finding = None
        track.pos = track.neg = 0
        track.onset = None

    def _tally(self, rid: str) -> str | None:
        for rule in self._scans:
            if rule.info.id == rid:
                return rule.tally()
        return None

    def _remember(self, rid: str, finding: Finding) -> None:
        """Fold a cleared episode into the rule's history entry (moved to the newest end)."""
        episodes = self._history.pop(rid, None)
        if episodes is None:
            episodes = _Episodes(finding)
        else:
            episodes.add(finding)
        self._history[rid] = episodes

    def _exit_update(self, store: MetricStore) -> None:
        fact = self._process_exit
        hit = None if fact is None else self._exit_rule.check(store, fact)
        if hit is None:
            if self._exit_finding is not None:
                self._remember(self._exit_finding.rule, self._exit_finding)
            self._exit_finding = None
        elif self._exit_finding is None or self._exit_finding.title != hit.title:
            self._exit_finding = _finding(self._exit_rule.info.id, hit, hit.step)

    def _clock_update(self, store: MetricStore, now_s: float | None) -> None:
        if now_s is None:
            return
        hit = self._clock.check(store, now_s)
        if hit is None:
            if self._clock_finding is not None:
                self._remember(self._clock_finding.rule, self._clock_finding)
            self._clock_finding = None
        elif self._clock_finding is None:
            self._clock_finding = _finding(self._clock.info.id, hit, hit.step)
        else:
            self._clock_finding = _finding(self._clock.info.id, hit, self._clock_finding.step)


_NUMERIC_IDS = frozenset(
    {"nan-loss", "nan-eval-loss", "nan-grad-norm", "zero-loss", "loss-explosion", "nan-metric"}
)


def whole_store_facts(store: MetricStore) -> tuple[object, ...]:
    """What the rules read of the whole store rather than of their checkpoint's records: the
    planned total, whether the log printed times, whether a series names a signed objective.

    A history judged in order as its parts arrive (`report` judges the first part while the
    rest is still being read) gives the findings of one pass over the whole when these are
    the same at the end as when the judging began.
    """
    return store.total_steps, store.times_printed, signed_objective(store.names())


def analyze(store: MetricStore, context: Mapping[str, object] | None = None) -> list[Finding]:
    """One finding per rule that fired over the whole run, by first onset (deterministic).

    The clock rule is left out: a finished log has no "now".
    """
    engine = AdviceEngine(context)
    engine.finish(store)
    return engine.findings()
