"""One run, headless: a log's records, the facts its parser found, and the advice on them.

`report`, `replay` and the dashboard each hold one `Run` per log, so the run context handed to
the advice rules, the segment reset after a truncation and the advice state are decided in one
place. An ingest (`trainmon.ingest`) turns the log's bytes into record batches and events;
`Run.take` and `Run.new_segment` apply them in order, `Run.advise` brings the findings up to
date. The dashboard polls the ingest on a worker thread and hands its immutable batches and
`ParserProgress` values to the UI thread, which owns the `Run`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from trainmon.advice.context import context_from_model_config
from trainmon.advice.engine import AdviceEngine, AdviceState
from trainmon.advice.text_events import text_findings
from trainmon.parsing.text_events import TextEvent
from trainmon.plotdata import PlotCache
from trainmon.records import SEVERITY_RANK, Finding, MetricRecord
from trainmon.sources.samples import ProcessExit
from trainmon.store import MetricStore

AdviceFactory = Callable[[Mapping[str, object], frozenset[str]], AdviceEngine]
"""(run context, muted rules) -> an advice engine for one run."""


@dataclass(frozen=True, slots=True)
class ParserProgress:
    """What a parser knows besides its records, as one value that can cross threads."""

    log_format: str | None = None
    """The format that produced the most records so far (None before the first one)."""
    lines: int = 0
    unparsed_lines: int = 0
    total_steps: int | None = None
    context: tuple[tuple[str, object], ...] = ()
    """Run facts the log revealed (fp16, max_grad_norm, max_steps, ...), sorted by name."""
    series_sources: tuple[tuple[str, str], ...] = ()
    """Main series read under another printed name, e.g. (("loss", "lm_loss"),)."""
    text_events: tuple[TextEvent, ...] = ()
    """Failure signatures in the log's text (tracebacks, OOM, NCCL, ...), oldest first."""
    records: int = 0
    """Records the parser emitted: records after a text event mean the run went on."""

    @property
    def described_format(self) -> str | None:
        """The format as the status line says it: `key-value (loss = lm_loss)`."""
        if not self.series_sources or self.log_format is None:
            return self.log_format
        renamed = ", ".join(f"{name} = {printed}" for name, printed in self.series_sources)
        return f"{self.log_format} ({renamed})"


def run_context(
    parser_context: Mapping[str, object],
    log_format: str | None,
    user_context: Mapping[str, object],
    file_context: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The facts the advice rules see: the log's, those of a model config beside it, its
    format, then the user's `--context` over all of them.

    The format is given only when known: rules rely on a framework's defaults only then.
    """
    context = dict(parser_context)
    for key, value in (file_context or {}).items():
        context.setdefault(key, value)
    if log_format and log_format != "unknown":
        context.setdefault("format", log_format)
    context.update(user_context)
    return context


class Run:
    """One followed (or read) log: store, parser facts, and advice, owned by one thread."""

    def __init__(
        self,
        path: str,
        *,
        user_context: Mapping[str, object] | None = None,
        muted: Iterable[str] = (),
        advice_factory: AdviceFactory = AdviceEngine,
        store: MetricStore | None = None,
    ) -> None:
        self.path = path
        self.store = store if store is not None else MetricStore()
        self.progress = ParserProgress()
        self.parser_context: dict[str, object] = {}
        """Facts gathered over every batch of the current segment (the parser's own dict
        may shrink between batches; what the log said stays said)."""
        self.user_context: dict[str, object] = dict(user_context or {})
        self.file_context: dict[str, object] = (
            dict(context_from_model_config(path)) if path and path != "-" else {}
        )
        """Facts from a model `config.json` beside the log (vocabulary size, classes)."""
        self.muted: set[str] = set(muted)
        self.plot_cache = PlotCache()
        """What the loss plot keeps between redraws of this run (EMA, block summaries)."""
        self.data_version = 0
        """Bumped whenever the store changed (records, or a new segment)."""
        self.advice = AdviceState()
        self._advice_factory = advice_factory
        self._engine: AdviceEngine | None = None
        self._engine_context: dict[str, object] | None = None
        self._advised_version = -1
        self.process_exit: ProcessExit | None = None
        """The training process's end, once its last lines were read (`process-exited`)."""

    # -- input -----------------------------------------------------------------------------

    def take(
        self,
        records: Iterable[MetricRecord],
        progress: ParserProgress | None = None,
        arrival_s: float = 0.0,
    ) -> int:
        """Add a batch of records (and the parser's state after it); returns how many."""
        batch = records if isinstance(records, tuple | list) else tuple(records)
        if batch:
            self.store.extend(batch, arrival_s)
            self.data_version += 1
        if progress is not None:
            if progress.text_events != self.progress.text_events:
                self.mark_stale()
            self.progress = progress
            if progress.total_steps:
                self.store.total_steps = progress.total_steps
            self.parser_context.update(progress.context)
        return len(batch)

    def take_history(self, store: MetricStore, progress: ParserProgress) -> int:
        """A history read apart (`trainmon.history`): its records follow ours, in order;
        returns how many. Into a store still empty (nothing read before it, as usual) the
        store itself is taken: a copy would keep both in the process's heap."""
        if self.store.records or self.store.segment != store.segment:
            added = self.store.absorb(store)
        else:
            self.store, added = store, store.records
            self.plot_cache = PlotCache()
        if added:
            self.data_version += 1
        self.take((), progress)
        return added

    def new_segment(self) -> None:
        """The log was truncated or replaced: a restarted run. History and advice start over."""
        self.store.new_segment()
        self.data_version += 1
        self.parser_context.clear()
        self.progress = ParserProgress()
        self._engine = None
        self.advice = AdviceState()

    # -- advice ----------------------------------------------------------------------------

    @property
    def context(self) -> dict[str, object]:
        """The run facts the advice rules see now."""
        return run_context(
            self.parser_context, self.progress.log_format, self.user_context, self.file_context
        )

    def advise(self, now_s: float | None = None, *, force: bool = False) -> AdviceState:
        """Bring the findings up to date with the store; cheap when nothing changed.

        `force` re-evaluates without new records, for the clock rule (no progress) and
        hardware observations. A changed run context (the log revealed a fact) starts a fresh
        engine: the rules' thresholds depend on it.
        """
        if not self.stale and not force:
            return self.advice
        engine = self._engine_now()
        engine.observe_process_exit(self.process_exit)
        state = engine.update(self.store, now_s)
        self._advised_version = self.data_version
        # The engine leaves muted rules out itself (it is built with them and told of each).
        known = {(f.rule, f.step) for f in self.advice.active if f.severity == "critical"}
        text = self._text_findings()
        active = state.active
        if text:
            active = tuple(sorted((*active, *text), key=_by_severity))
        self.advice = AdviceState(active, state.history, schedule=state.schedule)
        new_text_critical = any(
            f.severity == "critical" and (f.rule, f.step) not in known for f in text
        )
        # The bell rings once: only the update that found the critical finding says so.
        return (
            replace(self.advice, new_critical=True)
            if state.new_critical or new_text_critical
            else self.advice
        )

    def _text_findings(self) -> list[Finding]:
        """Findings from the failure signatures in the log's text (not muted)."""
        progress = self.progress
        if not progress.text_events:
            return []
        found = text_findings(progress.text_events, progress.records)
        return [f for f in found if f.rule not in self.muted]

    @property
    def stale(self) -> bool:
        """The findings are older than the records (or were marked stale)."""
        return self._advised_version != self.data_version

    def mark_stale(self) -> None:
        """Have the next `advise` evaluate, even without new records."""
        self._advised_version = -1

    def findings(self) -> list[Finding]:
        """Every finding over the whole (finished) log, one per rule: what `report` lists.

        The clock rule is left out: a finished log has no "now".
        """
        engine = self._engine_now()
        engine.finish(self.store)
        found = [f for f in engine.findings() if f.rule not in self.muted]
        text = self._text_findings()
        if not text:
            return found
        return sorted((*found, *text), key=lambda f: f.step if f.step is not None else -1)

    def observe_process_exit(self, fact: ProcessExit | None) -> None:
        """The training process ended (None: it runs again); the next `advise` judges it."""
        self.process_exit = fact
        self.mark_stale()

    def observe_hardware(self, sample: object) -> None:
        """Feed a GPU or CPU sample to the hardware rules; the next `advise` shows them."""
        self._engine_now().observe_hardware(sample)
        self.mark_stale()

    def _engine_now(self) -> AdviceEngine:
        """The engine for the current run context: a new one when the context changed."""
        context = self.context
        if self._engine is None or context != self._engine_context:
            self._engine = self._advice_factory(context, frozenset(self.muted))
            self._engine_context = context
        return self._engine

    def mute(self, rule: str, *, unseen: bool = False) -> None:
        """Hide a rule's findings from now on (it keeps being evaluated). `unseen`: none of
        them was ever shown (a history judged apart while the user muted the rule), so they
        leave the earlier list too, as if the rule had been muted from the start."""
        self.muted.add(rule)
        if self._engine is not None:
            self._engine.mute(rule)
        history = self.advice.history
        if unseen:
            history = tuple(f for f in history if f.rule != rule)
        self.advice = AdviceState(
            active=tuple(f for f in self.advice.active if f.rule != rule),
            history=history,
            schedule=self.advice.schedule,
        )

    def unmute(self, rule: str) -> None:
        """Show a rule's findings again; it kept being evaluated, so the next `advise` has them."""
        self.muted.discard(rule)
        if self._engine is not None:
            self._engine.unmute(rule)
        self.mark_stale()


def _by_severity(f: Finding) -> tuple[int, int, str]:
    """The advice pane's order: critical first, then by step."""
    return (-SEVERITY_RANK[f.severity], f.step if f.step is not None else -1, f.rule)
