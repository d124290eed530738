"""When the dashboard judges its runs, and how the findings reach the advice pane and the bell.

A record's advice is judged in the screen update that shows its step (its findings are the
plot's markers), so the tick after it finds nothing left to do; a large batch (a history read
at start) is left to the tick, so the first screen with its step does not wait for the
advice's first pass. Every few ticks the runs are judged without new records too, for the
rules about time (a stall) and the hardware.

A mixin of `TrainmonApp`.
"""

from __future__ import annotations

from typing import Final

from textual.app import App

from trainmon.config import DashboardOptions
from trainmon.i18n import _
from trainmon.run import Run
from trainmon.ui.advice_rounds import AdviceRounds, advice_items
from trainmon.ui.runs import RunView
from trainmon.ui.widgets.advice_panel import AdvicePanel

ADVICE_EVERY_TICKS: Final = 5
"""Advice is re-evaluated on new records, and at least this often for time-based rules."""

ADVICE_IN_UPDATE_RECORDS: Final = 100
"""New records up to this many are judged in the update that shows them (a live run's record
or two: no pass of the tick's own); a larger batch is left to the tick."""


class AdviceUpdates(App[None]):
    """Advice rounds over the runs and the host, the advice pane, and the bell."""

    options: DashboardOptions
    runs: list[RunView]
    host: Run
    muted: list[str]
    bells: int
    _ticks: int
    _advice: AdviceRounds
    _judged_records: int
    """Records held by the runs at the last advice pass."""

    def _advice_due_in_update(self) -> bool:
        """Whether the records not yet judged are few enough for a record's own update."""
        return self._records() - self._judged_records <= ADVICE_IN_UPDATE_RECORDS

    def _advice_timed(self) -> bool:
        """Whether this tick also judges runs without new records (time and hardware rules)."""
        return self._ticks % ADVICE_EVERY_TICKS == 0

    def _records(self) -> int:
        """Records held by every run."""
        return sum(view.run.store.records for view in self.runs)

    def _update_advice(self, now: float, *, timed: bool) -> None:
        """Advice on new records, and when `timed` for the clock and hardware rules too."""
        self._judged_records = self._records()
        runs = [*(view.run for view in self.runs), self.host]
        bell, failed = self._advice.advise(runs, now, timed=timed)
        for run, exc in failed:  # an advice bug must not take the dashboard down: say it
            text = _("advice failed: {error}").format(error=f"{type(exc).__name__}: {exc}")
            for view in self.runs:
                if view.run is run or run is self.host:
                    view.set_state(text, "error", now, transient=True)
        if bell and self.options.bell:
            self.bells += 1
            self.bell()
        self._show_advice()

    def _show_advice(self) -> None:
        several = len(self.runs) > 1
        labelled = [(view.label if several else "", view.run) for view in self.runs]
        labelled.append(("host" if several else "", self.host))
        active, history, notes = advice_items(labelled)
        panel = self.query_one("#advice", AdvicePanel)
        judged = any(r.store.records for r in self.runs)
        closest = next((r.closest for r in self.runs if r.closest), None)
        panel.show(active, history, self.muted, notes, judged=judged, closest=closest)
        title = _("advice ({count})").format(count=len(active)) if active else _("advice")
        if panel.border_title != title:  # assigning repaints the whole pane, even if equal
            panel.border_title = title
