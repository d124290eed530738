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
    _clock: Callable[[], float]
    _own_threads: Workers | None

    def _status_soon(self) -> None:
        raise NotImplementedError

    def history_options(self) -> HistoryOptions:
        """How the log poller reads big histories (`--jobs`, `--max-series`)."""
        return HistoryOptions(
            jobs=self.options.jobs,
            max_series=self.options.max_series,
            min_bytes=HISTORY_MIN_BYTES,
        )

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
                view.take_history(message.store, message.progress, message.backlog, self._clock())
                self._status_soon()
                # After the next tick (the first advice pass over it, the plot), the memory
                # that burst freed goes back to the system: the resident size stays that of
                # the history, as when it arrives in chunks.
                self.set_timer(2 * max(self.options.refresh_s, 0.05), give_back_free_memory)
        finally:
            if self._own_threads is not None:  # the poller's back-pressure
                self._own_threads.batch_taken(message.run)
