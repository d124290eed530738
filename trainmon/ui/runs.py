"""What the dashboard keeps of each run beside its headless `Run`: its name and colour, and
the state its status row says (waiting, truncated, reading the history, an error).

The UI thread owns these. A follow worker's messages are applied here in the order they were
posted, so a truncation starts the new segment before the records that follow it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from trainmon.i18n import N_, _
from trainmon.parsing.formats import closest_example
from trainmon.records import Finding, FollowEvent, MetricRecord
from trainmon.run import ParserProgress, Run
from trainmon.sources.samples import ProcessExit
from trainmon.store import MetricStore, ignored_series_note
from trainmon.text import terminal_safe
from trainmon.ui.widgets.loss_plot import RUN_COLOURS
from trainmon.ui.widgets.status_bar import WAITING_STATE, Level, RunStatus, round_age

OTHER_LINES_SHOWN: Final = 100
OTHER_LINES_RATIO: Final = 5.0
"""Lines without metrics since the newest record are shown past 100 and past 5x the run's
usual number of such lines per record."""
TRANSIENT_STATE_S: Final = 30.0
"""How long "file truncated: new segment" and similar notes stay in the status line."""

READING_STATE: Final = N_("reading the log: {percent} of {size:,.0f} MB")
BACKLOG_SHOWN_BYTES: Final = 16 << 20
"""A history at least this big takes seconds to read: the status line shows how far it got
("reading the log: 34 % of 94 MB") until the follower has caught up."""


def run_label(path: str) -> str:
    """The name a run goes by on screen: its file name (`stdin` for `-`)."""
    if path == "-":
        return "stdin"
    return terminal_safe(Path(path).name or path)


def run_views(
    paths: Sequence[str], labels: Sequence[str] | None, make_run: Callable[[str], Run]
) -> list[RunView]:
    """A view per path: its label (given, else its file name) and its colour by position."""
    return [
        RunView(
            index=i,
            label=terminal_safe(labels[i]) if labels and i < len(labels) else run_label(path),
            colour=RUN_COLOURS[i % len(RUN_COLOURS)],
            run=make_run(path),
        )
        for i, path in enumerate(paths)
    ]


@dataclass(slots=True)
class RunView:
    """One followed log on screen: its `Run` and its status-row state."""

    index: int
    label: str
    colour: str
    run: Run
    state: str = ""
    level: Level = "ok"
    state_since_s: float | None = None
    transient: bool = False
    live: bool = False
    """The log's history at start has been read; records now arrive as they are written."""
    histories: int = 0
    """Histories read apart (`take_history`) taken so far: the plot draws one at once."""
    saved_to: str = ""
    records_seen: int = 0
    other_at_record: int = 0
    """Lines without metrics read up to the newest record (`other_lines` counts from it)."""
    """Standard input's run: the file it is saved in."""
    exited: ProcessExit | None = None
    """The training process writing this log has ended (status line, ETA stopped)."""
    closest: str | None = None
    """A log whose history held lines but no record: the known format nearest to its first
    lines (`name: example`), for the advice pane's hint."""

    @property
    def store(self) -> MetricStore:
        return self.run.store

    @property
    def active(self) -> tuple[Finding, ...]:
        """The run's active findings (muted rules left out)."""
        return self.run.advice.active

    def set_state(self, state: str, level: Level, now_s: float, *, transient: bool) -> None:
        """`state` may quote paths and exception text: it is shown terminal-safe."""
        self.state, self.level, self.transient = terminal_safe(state), level, transient
        self.state_since_s = now_s

    def take(
        self,
        records: tuple[MetricRecord, ...],
        progress: ParserProgress,
        backlog: tuple[int, int] | None,
        now_s: float,
    ) -> bool:
        """Apply a follow worker's batch; True when the status row changed (records or state).

        `backlog` is (bytes read, file size) while the history at start is being read: those
        records arrive in bursts, so their arrival times must not make a speed.
        """
        changed = self.run.take(records, progress, now_s) > 0
        if not self.live:
            self.store.mark_backlog()
            changed |= self._show_backlog(backlog, now_s)
        return changed

    def take_history(
        self,
        store: MetricStore,
        progress: ParserProgress,
        backlog: tuple[int, int],
        now_s: float,
        judged: Run | None = None,
    ) -> None:
        """A history read apart in one go (`trainmon.history`): a backlog like any other.

        `judged` holds `store` with its first advice pass done on the history thread: while
        this run has read nothing yet (as usual) it becomes this run, with the rules muted
        or unmuted and the process end seen meanwhile; otherwise the records are appended
        and the advice runs here.
        """
        run = self.run
        if judged is not None and judged.store is store and not run.store.records:
            for rule in run.muted - judged.muted:
                judged.mute(rule, unseen=True)
            for rule in judged.muted - run.muted:
                judged.unmute(rule)
            if run.process_exit is not None:
                judged.observe_process_exit(run.process_exit)
            self.run = judged
        else:
            run.take_history(store, progress)
        self.histories += 1
        if not self.live:
            self.store.mark_backlog()
            self._show_backlog(backlog, now_s)

    def history_progress(self, done: int, size: int, now_s: float) -> bool:
        """How far the read of the history got; True when the status row changed."""
        return not self.live and self._show_backlog((done, size), now_s)

    def _show_backlog(self, backlog: tuple[int, int] | None, now_s: float) -> bool:
        """Say how much of a big log's history is read; clear it once the follower caught up."""
        reading = self.state.startswith(_(READING_STATE).partition("{")[0])
        if backlog is None:
            self.live = True
            if not self.store.records and self.run.progress.lines:
                self.closest = closest_example(self.run.path)
            if reading:
                self.set_state("", "ok", now_s, transient=False)
            return reading
        done, size = backlog
        if size >= BACKLOG_SHOWN_BYTES and (reading or not self.state):
            percent = min(99, int(100 * done / size))
            text = _(READING_STATE).format(percent=f"{percent} %", size=size / 1e6)

            if text != self.state:
                self.set_state(text, "info", now_s, transient=False)
                return True
        return False

    def follow_event(self, event: FollowEvent, now_s: float) -> None:
        """What a follower event means for this run and its status row."""
        if event.kind == "waiting":
            self.set_state(
                _(WAITING_STATE).format(label=self.label), "info", now_s, transient=False
            )
        elif event.kind == "opened":
            self.set_state("", "ok", now_s, transient=False)
        elif event.kind in ("truncated", "rotated"):
            self.run.new_segment()  # a restarted run: history and advice start over
            what = (
                _("file truncated: new segment")
                if event.kind == "truncated"
                else _("file replaced: new segment")
            )
            self.set_state(what, "warning", now_s, transient=True)
        elif event.kind == "error":
            detail = f": {event.detail}" if event.detail else ""
            self.set_state(_("error") + detail, "error", now_s, transient=False)
        elif event.kind == "eof":
            self.set_state(_("end of input"), "info", now_s, transient=False)

    def process_ended(self, fact: ProcessExit) -> bool:
        """The training process of this log (or of every log, when it is not known which)
        ended; True when that is news."""
        if self.exited == fact:
            return False
        if fact.log_path is not None and not _same_file(fact.log_path, self.run.path):
            return False
        self.exited = fact
        return True

    def process_found(self, pid: int) -> None:
        """A training process runs again (a restart): an earlier end no longer applies."""
        if self.exited is not None and self.exited.pid != pid:
            self.exited = None
            self.run.observe_process_exit(None)

    def _note_expired(self, now_s: float) -> bool:
        """A transient note has been shown its time (`status` then clears it)."""
        since = self.state_since_s
        return self.transient and since is not None and now_s - since > TRANSIENT_STATE_S

    def status_key(self, now_s: float, *, paused: bool) -> tuple[object, ...]:
        """What `status` is made of, cheap to gather: equal keys give equal rows (the age as
        the row rounds it, whether a transient note has expired), so a tick with nothing new
        computes no row."""
        last = self.store.last_arrival_s
        age = round_age(now_s - last) if last is not None else None
        run = self.run
        state = (self.state, self.level, self._note_expired(now_s), self.exited, self.saved_to)
        return (run, run.data_version, run.progress, state, paused, age)

    def status(self, now_s: float, *, paused: bool) -> RunStatus:
        """The status row at time `now_s` (a transient note expires here)."""
        if self._note_expired(now_s):
            self.state, self.level, self.transient = "", "ok", False
        store = self.store
        last = store.last_arrival_s
        parsed = self.run.progress
        progress = store.progress(now_s)
        if self.exited is not None:  # nothing moves any more: no rate, no ETA
            progress = replace(progress, steps_per_s=None, eta_s=None)
        return RunStatus(
            label=self.label,
            colour=self.colour,
            log_format=parsed.described_format,
            progress=progress,
            state=self.state,
            level=self.level,
            paused=paused,
            age_s=round_age(now_s - last) if last is not None else None,
            finished=store.kind_counts.get("summary", 0) > 0,
            records=store.records,
            unparsed=self.other_lines(store.records, parsed.unparsed_lines),
            saved_to=terminal_safe(self.saved_to),
            note=(
                ignored_series_note(store.ignored_series, store.max_series)
                if store.ignored_series
                else ""
            ),
            ended=self.exited.text if self.exited is not None else "",
        )

    def other_lines(self, records: int, other: int) -> int:
        """Lines without metrics worth a mention (0: none). Progress bars and banners make
        most lines of a healthy log; they matter before any record (the format may be
        unknown), or when they pile up after the records stopped, far beyond the usual share."""
        if records != self.records_seen:
            self.records_seen, self.other_at_record = records, other
        if not records:
            return other
        since = other - self.other_at_record
        usual = self.other_at_record / records
        return since if since > max(OTHER_LINES_SHOWN, OTHER_LINES_RATIO * usual) else 0


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)
