"""Advice for every run on each tick, within a time budget, and what the advice pane lists.

A run's first pass over a long history can take a few hundred ms; forty of them in one tick
would freeze the keys for seconds. So a tick stops when its budget is spent and the next tick
goes on from there, in turns, so that no run starves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Final

from trainmon.run import Run
from trainmon.ui.widgets.advice_panel import AdviceItem

ADVICE_BUDGET_S: Final = 0.1
"""Wall time one tick may spend on advice before the remaining runs wait for the next tick."""


class AdviceRounds:
    """Brings the findings of several runs up to date, taking turns when time runs short."""

    def __init__(self, budget_s: float = ADVICE_BUDGET_S) -> None:
        self.budget_s = budget_s
        self._next = 0
        """The run the next round starts with."""

    def advise(
        self, runs: Sequence[Run], now_s: float, *, timed: bool
    ) -> tuple[bool, list[tuple[Run, Exception]]]:
        """One round; returns whether a critical finding appeared (ring the bell) and the
        runs whose advice failed, with the error (an advice bug must not end the dashboard).

        `timed` re-evaluates runs without new records too (the clock and hardware rules).
        """
        bell = False
        failed: list[tuple[Run, Exception]] = []
        if not runs:
            return bell, failed
        count = len(runs)
        first = self._next = self._next % count
        started = time.perf_counter()
        for k in range(count):
            run = runs[(first + k) % count]
            if k and time.perf_counter() - started > self.budget_s:
                # Out of time: this run and the rest are due at the next tick, from here on.
                self._next = (first + k) % count
                for later in range(k, count):
                    runs[(first + later) % count].mark_stale()
                break
            try:
                bell |= run.advise(now_s, force=timed).new_critical
            except Exception as exc:
                failed.append((run, exc))
        return bell, failed


def advice_items(
    labelled: Sequence[tuple[str, Run]],
) -> tuple[list[AdviceItem], list[AdviceItem], tuple[str, ...]]:
    """The advice pane's active findings, earlier findings (newest first) and schedule notes,
    each with the label of the run it is about ("" when only one run is shown)."""
    active: list[AdviceItem] = []
    history: list[AdviceItem] = []
    for label, run in labelled:
        active.extend((label, f) for f in run.advice.active)
        history.extend((label, f) for f in reversed(run.advice.history))
    notes = tuple(
        (f"{label}: " if label else "") + run.advice.schedule
        for label, run in labelled
        if run.advice.schedule
    )
    return active, history, notes
