"""How the dashboard takes a big history read apart (`trainmon.history`): the read's progress
into the status line, then the whole history into the run's store at once.

A mixin of `TrainmonApp` (the history loader thread posts the progress, the log poller the
history; `HISTORY_MIN_BYTES` decides which logs are read that way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from textual import on
from textual.app import App

from trainmon.config import DashboardOptions
from trainmon.heap import give_back_free_memory
from trainmon.history import HistoryOptions
from trainmon.report import SPLIT_BYTES
from trainmon.run import AdviceFactory, ParserProgress, Run
from trainmon.store import MetricStore
from trainmon.ui.messages import HistoryLoaded, HistoryProgress
from trainmon.ui.runs import RunView
from trainmon.ui.threads import Workers

HISTORY_MIN_BYTES: Final = SPLIT_BYTES
"""A log that holds this much when it is opened has its history read apart: by the helper
processes `report` would use, without a round trip to the UI thread per chunk."""


class HistoryMessages(App[None]):
    """The history messages' handlers."""

    options: DashboardOptions
    runs: list[RunView]
    bells: int
    _clock: Callable[[], float]
    _own_threads: Workers | None
    _advice_factory: AdviceFactory

    def _status_soon(self) -> None:
        raise NotImplementedError

    def history_options(self) -> HistoryOptions:
        """How the log poller reads big histories (`--jobs`, `--max-series`)."""
        return HistoryOptions(
            jobs=self.options.jobs,
            max_series=self.options.max_series,
            min_bytes=HISTORY_MIN_BYTES,
        )

    def new_run(self, path: str, store: MetricStore | None = None) -> Run:
        """A run of this dashboard's (its `--context`, muted rules and advice) on `store`."""
        return Run(
            path,
            user_context=dict(self.options.context),
            muted=self.options.muted_rules,
            advice_factory=self._advice_factory,
            store=store if store is not None else MetricStore(self.options.max_series),
        )

    def judged_history(
        self, path: str, store: MetricStore, progress: ParserProgress
    ) -> tuple[Run, bool]:
        """On the history thread: a run of the history just read, its first advice pass done
        there (over 10^6 records it would hold the screen still for seconds), and whether
        it holds a critical finding (the bell). Only immutable options are read here;
        the UI thread takes the run whole (`RunView.take_history`)."""
        run = self.new_run(path, store)
        run.take((), progress)
        store.mark_backlog()
        run.advise(self._clock())
        # A pass over a whole history may see a critical finding come and clear (a NaN then
        # finite losses): it still rings, as it would have while the records came in chunks.
        return run, _critical(run)

    @on(HistoryProgress)
    def _history_progress(self, message: HistoryProgress) -> None:
        if 0 <= message.run < len(self.runs):
            view = self.runs[message.run]
            if view.history_progress(message.done, message.size, self._clock()):
                self._status_soon()

    @on(HistoryLoaded)
    def _history_loaded(self, message: HistoryLoaded) -> None:
        try:
            if 0 <= message.run < len(self.runs):
                view = self.runs[message.run]
                view.take_history(
                    message.store, message.progress, message.backlog, self._clock(), message.judged
                )
                self._status_soon()
                if message.bell and self.options.bell and _critical(view.run):
                    self.bells += 1
                    self.bell()
                # After the next tick (the plot's first rebuild of it), the memory the read,
                # the advice pass and the rebuild freed goes back to the system: the resident
                # size stays that of the history, as when it arrives in chunks.
                self.set_timer(2 * max(self.options.refresh_s, 0.05), give_back_free_memory)
        finally:
            if self._own_threads is not None:  # the poller's back-pressure
                self._own_threads.batch_taken(message.run)


def _critical(run: Run) -> bool:
    """A critical finding of a rule not muted (the user may have muted it during the read)."""
    advice = run.advice
    found = (*advice.active, *advice.history)
    return any(f.severity == "critical" and f.rule not in run.muted for f in found)
