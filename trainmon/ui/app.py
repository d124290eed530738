"""The dashboard: layout, worker threads, keys, and the one timer that decides redraws.

Data flow: the log poller thread posts `RecordsParsed` / `FollowStateChanged`, the sampler
thread posts `GpuSampled` / `CpuSampled` (`trainmon.ui.threads`). Handlers only update the
UI-thread state (stores, counters) and mark what changed; new records also queue one
status-line update, so their step shows at once. The UI timer (default 1 Hz) then redraws only
the widgets whose input changed, inside `batch_update()`, so a burst of records never causes a
burst of redraws and an idle log costs a status-line check per second. New data reaches the
plots as often as the loss plot's CPU budget allows (a change of view is drawn at once). Clock,
sources, follower and parser are injected, which makes tests and snapshots deterministic.
"""

from __future__ import annotations

import gc
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.driver import Driver
from textual.events import Resize
from textual.widgets import Footer, Static

from trainmon.advice import AdviceEngine
from trainmon.config import DashboardOptions
from trainmon.follow import Follower
from trainmon.i18n import _
from trainmon.parsing import LogParser
from trainmon.pipe import StdinCopy
from trainmon.plotdata import XAxis
from trainmon.records import MetricRecord
from trainmon.run import AdviceFactory, ParserProgress, Run
from trainmon.sources import CpuSource, GpuSource
from trainmon.sources.history import SystemHistory
from trainmon.sources.samples import CpuSnapshot, GpuSnapshot
from trainmon.text import terminal_safe
from trainmon.ui.advice_rounds import AdviceRounds
from trainmon.ui.advice_updates import AdviceUpdates
from trainmon.ui.compositor import render_sent_rows_only
from trainmon.ui.driver_choice import quiet_driver
from trainmon.ui.history_messages import HistoryMessages
from trainmon.ui.layout import Layout, layout_for, too_small_text
from trainmon.ui.messages import FollowStateChanged, RecordsParsed
from trainmon.ui.metric_view import MetricActions
from trainmon.ui.plot_view import PlotView
from trainmon.ui.quitting import QuitHandling
from trainmon.ui.runs import RunView, run_views
from trainmon.ui.system_samples import SystemSamples
from trainmon.ui.threads import LogPoller, SystemSampler, Workers
from trainmon.ui.view_actions import ViewActions
from trainmon.ui.widgets.advice_panel import AdvicePanel
from trainmon.ui.widgets.grad_norm import GradNormPane
from trainmon.ui.widgets.loss_plot import CPU_BUDGET, LossPlot
from trainmon.ui.widgets.metric_plot import MetricPlot
from trainmon.ui.widgets.raw_log import RawLogView
from trainmon.ui.widgets.status_bar import StatusBar
from trainmon.ui.widgets.system_pane import SystemPane
from trainmon.ui.workers import SAMPLE_INTERVAL_S
from trainmon.wrap import WrappedCommand

if TYPE_CHECKING:
    from trainmon.outbound import Outbound

SYSTEM_HISTORY: Final = 600
"""GPU / CPU samples kept: the hardware rules' longest window with room (20 min at 2 s)."""

GC_FREEZE_AFTER_TICKS: Final = 3
"""Once the dashboard has started and read what the logs held (this many ticks), everything
alive then is moved out of the cyclic garbage collector's way (`gc.freeze`): its full passes
then scan only what was created since, not Textual's long-lived widgets, styles and modules
(a full pass was a visible share of the dashboard's CPU while records flow: bench/README.md)."""


UPDATE_STANDS_FOR_TICK_S: Final = 0.5
"""A tick this soon after a record's screen update has nothing to add but a GPU / CPU sample
that came since: that update brought the advice, plots, status rows and panes up to date (at
one record a second every tick would be a second pass over the same state). Ticks that judge
the runs for the clock and hardware rules, or that find records left to judge, run in full."""


FollowerFactory = Callable[[str, bool], Follower]
"""(path, from_end) -> a follower (the real `trainmon.follow.Follower` unless a test says)."""
ParserFactory = Callable[[], LogParser]


def _follow_log(path: str, from_end: bool) -> Follower:
    """The default follower: `tail -F` semantics over the real file (or run folder)."""
    from trainmon.inputs import open_follower

    follower: Follower = open_follower(path, from_end=from_end)
    return follower


class TrainmonApp(
    AdviceUpdates, QuitHandling, ViewActions, MetricActions, SystemSamples, HistoryMessages
):
    """The live training dashboard."""

    CSS_PATH = "trainmon.tcss"
    TITLE = "trainmon"

    def __init__(
        self,
        options: DashboardOptions,
        *,
        clock: Callable[[], float] = time.time,
        gpu_source: GpuSource | None = None,
        cpu_source: CpuSource | None = None,
        follower_factory: FollowerFactory | None = None,
        parser_factory: ParserFactory | None = None,
        advice_factory: AdviceFactory | None = None,
        start_workers: bool = True,
        poll_interval_s: float | None = None,
        sample_interval_s: float = SAMPLE_INTERVAL_S,
        description: str = "",
        labels: tuple[str, ...] | None = None,
        plot_cpu_budget: float | None = CPU_BUDGET,
        stdin_copy: StdinCopy | None = None,
        outbound: Outbound | None = None,
        command: WrappedCommand | None = None,
    ) -> None:
        """Build the dashboard; nothing is read before it is mounted.

        Args:
            options: what the command line asked for.
            clock: wall-clock seconds (record arrival times, ages, advice); injectable.
            gpu_source: a GPU sampler (None: no GPU sampling, the pane says why).
            cpu_source: a CPU sampler (None: no CPU pane data).
            follower_factory: builds a follower for a path (default `trainmon.follow`).
            parser_factory: builds a log parser (default `trainmon.parsing.LogParser`).
            advice_factory: builds an advice engine (default `trainmon.advice`).
            start_workers: False for snapshot tests: data is injected with messages.
            poll_interval_s: follower sleep after an empty poll (default: the follower's own,
                `trainmon.follow.POLL_INTERVAL_S`).
            sample_interval_s: GPU / CPU sampling period.
            description: what is being shown, e.g. the demo's description (sub-title).
            labels: run names to show instead of the file names (the demo's temp file).
            plot_cpu_budget: share of a core the loss plot may spend rebuilding (None: draw
                every change at once, as snapshots and screenshots need).
            stdin_copy: the copy of a piped standard input into the log file it follows;
                quitting then asks whether to detach (`quit_choice`).
            outbound: alerts and metrics sent beyond the terminal (`--notify`,
                `--serve-metrics`), given every run's state once per tick.
            command: the command trainmon runs (`trainmon -- CMD`), its output saved to
                the log it follows; quitting asks while it runs (`trainmon.ui.quitting`).
        """
        super().__init__()
        self.options = options
        self._clock = clock
        self._gpu_source = gpu_source
        self._cpu_source = cpu_source
        self._follower_factory: FollowerFactory = follower_factory or _follow_log
        stdin_copy = command.copy if command is not None else stdin_copy
        if stdin_copy is not None:
            # Standard input has no history to skip: --from-end never applies to its copy.
            follow, saved = self._follower_factory, stdin_copy.path
            self._follower_factory = lambda path, from_end: follow(path, from_end and path != saved)
        self._parser_factory: ParserFactory = parser_factory or LogParser
        self._advice_factory: AdviceFactory = advice_factory or AdviceEngine
        self._start_workers = start_workers
        self._poll_interval_s = poll_interval_s
        self._sample_interval_s = sample_interval_s
        self._plot_cpu_budget = plot_cpu_budget
        self.sub_title = description
        self.runs: list[RunView] = run_views(
            options.paths or (),
            labels,
            self.new_run,
        )
        self.system = SystemHistory(maxlen=SYSTEM_HISTORY)
        """The one history of GPU and CPU samples: the panes' sparklines and the hardware
        rules read it; the sample handlers add to it."""
        self.host = Run(
            "",
            muted=options.muted_rules,
            advice_factory=lambda context, muted: AdviceEngine(context, muted, self.system),
        )
        """The machine's hardware advice (GPU idle, throttling, RAM): once, whatever the runs."""
        self.smoothing = options.smoothing
        self.log_y = False
        self.x_axis: XAxis = "step"
        self.show_eval = True
        self.show_system = True
        """The user's choice (`g`); the pane also stays hidden while nothing is sampled."""
        self.show_advice = True
        self.layout_mode: Layout = "wide"
        self._following = threading.Event()
        """Set while following; cleared by pause (the follower threads then stop polling)."""
        self._following.set()
        self._own_threads: Workers | None = None
        """The follower and sampler threads, stopped and joined on unmount."""
        self._advice = AdviceRounds()
        self._plots = PlotView()
        self.muted: list[str] = [terminal_safe(rule) for rule in options.muted_rules]
        self.gpu_snapshot: GpuSnapshot | None = None
        self.cpu_snapshot: CpuSnapshot | None = None
        self._gpu_dirty = False
        self._cpu_dirty = False
        self._status_queued = False
        self._updated_at = -math.inf
        """When a record's screen update last ran (`_status_now`)."""
        self._judged_records = 0
        self._status_keys: tuple[tuple[object, ...], ...] | None = None
        """What the status rows were drawn from (`_update_status`)."""
        self._ticks = 0
        self.bells = 0
        """How many times the bell rang (for tests)."""
        self._init_quitting(stdin_copy, command)
        self._mark_saved_stdin()
        self._outbound = outbound

    def get_driver_class(self) -> type[Driver]:
        """Textual's own driver, except that its POSIX one gets an input thread that sleeps
        until a key arrives (`trainmon.ui.driver`)."""
        return quiet_driver(super().get_driver_class())

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Status rows, the plot column, the side column, and the too-small notice."""
        yield StatusBar(id="status")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield LossPlot(id="loss", cpu_budget=self._plot_cpu_budget)
                yield MetricPlot(id="metric", cpu_budget=self._plot_cpu_budget)  # `M`, --metrics
                yield GradNormPane(id="grad-norm")
                yield RawLogView(
                    self.runs[0].run.path if self.runs else "", self.options.refresh_s, id="rawlog"
                )
            with Vertical(id="side"):
                yield AdvicePanel(id="advice")
                yield SystemPane(
                    self.system,
                    gpu=self._gpu_source is not None,
                    cpu=self._cpu_source is not None,
                    id="system",
                )
        yield Static(Text(""), id="too-small")
        yield Footer()

    @property
    def paused(self) -> bool:
        """True while following is paused."""
        return not self._following.is_set()

    def on_mount(self) -> None:
        """Pick the layout, draw once, start the timer and (unless disabled) the workers."""
        self.query_one("#loss", LossPlot).border_title = "loss · lr"
        self.query_one("#advice", AdvicePanel).border_title = _("advice")
        self.query_one("#grad-norm", GradNormPane).border_title = _("grad norm")
        self.query_one("#system", SystemPane).border_title = _("system")
        render_sent_rows_only(self.screen)  # a record's or a sample's update: its rows only
        self._apply_layout(self.size.width, self.size.height)
        self._sync_side()
        if self.options.metrics:
            self.chart_metrics(self.options.metrics)
        self.refresh_now()
        self.set_interval(max(0.05, self.options.refresh_s), self.tick, name="redraw")
        if self._start_workers:
            self._start_all_workers()
        self._quitting_mounted()

    def on_resize(self, event: Resize) -> None:
        """Switch layouts at the breakpoints; the plot is re-decimated for its new width."""
        self._apply_layout(event.size.width, event.size.height)
        self.call_after_refresh(self.refresh_now)

    def _apply_layout(self, width: int, height: int) -> None:
        mode = layout_for(width, height)
        self.layout_mode = mode
        for name in ("wide", "medium", "narrow", "tiny"):
            self.set_class(name == mode, f"-{name}")
        for panel in self.query("#gpu, #cpu"):
            panel.set_class(mode == "narrow", "-compact")
        self.query_one("#rawlog", RawLogView).fit(mode, height)
        if mode == "tiny":
            text = Text(too_small_text(width, height), justify="center")
            self.query_one("#too-small", Static).update(text)

    # -- workers -------------------------------------------------------------------------------

    def _start_all_workers(self) -> None:
        """Start the log poller and the sampler: threads of their own (`trainmon.ui.threads`)."""
        from_end, follower_factory = self.options.from_end, self._follower_factory
        poller = LogPoller(
            [run.run.path for run in self.runs],
            open_follower=lambda path: follower_factory(path, from_end),
            parser_factory=self._parser_factory,
            post=self.post_message,
            following=self._following,
            poll_interval_s=self._poll_interval_s,
            history=self.history_options(),  # a big history is read apart, as `report` reads
            wall_clock=self._clock,
            judge=self.judged_history,
        )
        sampler = None
        if self._gpu_source is not None or self._cpu_source is not None:
            sampler = SystemSampler(
                self._gpu_source,
                self._cpu_source,
                post=self.post_message,
                interval_s=self._sample_interval_s,
            )
        self._own_threads = Workers(poller, sampler)
        self._own_threads.start()

    def on_unmount(self) -> None:
        """Stop and join the follower and sampler threads."""
        if self._own_threads is not None:
            self._own_threads.stop()

    # -- messages (UI thread: update state, mark dirty, never redraw here) ---------------------

    @on(RecordsParsed)
    def _records_parsed(self, message: RecordsParsed) -> None:
        if not 0 <= message.run < len(self.runs):
            return
        try:
            run = self.runs[message.run]
            if run.take(message.records, message.progress, message.backlog, self._clock()):
                self._status_soon()
        finally:
            if self._own_threads is not None:  # the poller's back-pressure
                self._own_threads.batch_taken(message.run)

    def _status_soon(self) -> None:
        """New records' step in the status line now, not at the next tick, with their advice,
        and the plots in the same screen update when their budget allows. Several messages
        handled in a row share one update."""
        if not self._status_queued:
            self._status_queued = True
            self.call_later(self._status_now)

    def _status_now(self) -> None:
        self._status_queued = False
        if self._panes_shown():
            now = self._clock()
            # One compositor pass for the status line, the new records' advice (its findings
            # are the plot's markers), a due plot rebuild (spaced out by the plot's budget)
            # and a GPU / CPU sample taken meanwhile, not one pass each; the tick after it
            # then finds nothing left to do.
            if self._advice_due_in_update():
                self._update_advice(now, timed=False)
            self._update_status(now)
            self._update_plots()
            self._update_system()
            self._updated_at = now

    @on(FollowStateChanged)
    def _follow_state_changed(self, message: FollowStateChanged) -> None:
        if 0 <= message.run < len(self.runs):
            self.runs[message.run].follow_event(message.event, self._clock())
            self._status_soon()

    # -- the timer: decide what to redraw ------------------------------------------------------

    def tick(self) -> None:
        """Redraw what changed since the last tick (called by the UI timer)."""
        self._ticks += 1
        if self._ticks == GC_FREEZE_AFTER_TICKS and not self.is_headless:
            gc.freeze()  # not in tests (headless): the freeze is process-wide
        if self._note_stdin():
            self._status_soon()
        if not self._tick_covered():
            self.refresh_now()
        elif self._panes_shown():
            self._update_system()  # a GPU / CPU sample that came after the record's update
        if self._outbound is not None:
            self._send_outbound()

    def _panes_shown(self) -> bool:
        """Whether there are panes to bring up to date (running, and not the tiny layout,
        which shows a line of text only)."""
        return self.is_running and self.layout_mode != "tiny"

    def _tick_covered(self) -> bool:
        """Whether a record's update just did this tick's work (`UPDATE_STANDS_FOR_TICK_S`)."""
        return (
            not self._advice_timed()
            and self._records() == self._judged_records
            and self._clock() - self._updated_at < UPDATE_STANDS_FOR_TICK_S
        )

    def _send_outbound(self) -> None:
        """Hand every run's state, and the machine's (its hardware findings, as `host`), to
        the notifier and the exporter (their threads do the work); a failed send is said in
        the status line."""
        assert self._outbound is not None
        now = self._clock()
        states = [(v.label, v.run, v.exited) for v in self.runs]
        self._outbound.update([*states, ("host", self.host, None)], now)
        note = self._outbound.new_failure()
        if note:
            for view in self.runs:
                view.set_state(note, "warning", now, transient=True)
            self._status_soon()

    def refresh_now(self) -> None:
        """Bring every widget up to date with the state; unchanged widgets are not touched."""
        if not self._panes_shown():
            return
        now = self._clock()
        with self.batch_update():
            # Advice first: its findings are the plot's markers.
            self._update_advice(now, timed=self._advice_timed())
            self._update_plots()
            self._update_status(now)
            self._update_system()

    def _update_plots(self) -> None:
        self._plots.update(
            self.runs,
            self.query_one("#loss", LossPlot),
            self.query_one("#grad-norm", GradNormPane),
            smoothing=self.smoothing,
            log_y=self.log_y,
            x_axis=self.x_axis,
            show_eval=self.show_eval,
        )
        self.update_metric_plot()

    @property
    def redraws(self) -> int:
        """How many refreshes gave the plots new input (for tests and benches)."""
        return self._plots.redraws

    def _update_status(self, now: float) -> None:
        """The status rows, when anything they show may have changed (`RunView.status_key`:
        an idle tick costs a comparison)."""
        paused = self.paused
        keys = tuple(run.status_key(now, paused=paused) for run in self.runs)
        if keys == self._status_keys:
            return
        self._status_keys = keys
        rows = tuple(run.status(now, paused=paused) for run in self.runs)
        self.query_one("#status", StatusBar).show(rows)

    # -- actions -------------------------------------------------------------------------------

    def action_pause(self) -> None:
        """Pause or resume following (records written meanwhile show on resume)."""
        if self._following.is_set():
            self._following.clear()
        else:
            self._following.set()
        self._update_status(self._clock())

    # -- test and screenshot helpers -------------------------------------------------------------

    def inject(
        self,
        run: int,
        records: Iterable[MetricRecord],
        progress: ParserProgress | None = None,
    ) -> None:
        """Post records for `run` as a follower thread would (tests, snapshots, screenshots)."""
        self.post_message(RecordsParsed(run, tuple(records), progress=progress))
