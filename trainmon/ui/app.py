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

import asyncio
import gc
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Final, Literal

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.driver import Driver
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from trainmon.advice import AdviceEngine
from trainmon.config import DashboardOptions
from trainmon.follow import Follower
from trainmon.parsing import LogParser
from trainmon.pipe import StdinCopy
from trainmon.plotdata import X_AXES, XAxis, grad_norm_data, loss_plot_data
from trainmon.records import MetricRecord
from trainmon.run import AdviceFactory, ParserProgress, Run
from trainmon.sources import CpuSource, GpuSource
from trainmon.sources.history import SystemHistory
from trainmon.sources.samples import CpuSnapshot, GpuSnapshot, ProcessExit
from trainmon.ui.help import HelpScreen, help_rows
from trainmon.ui.messages import CpuSampled, FollowStateChanged, GpuSampled, RecordsParsed
from trainmon.ui.quit_dialog import QuitChoice, QuitDialog
from trainmon.ui.runs import RunView, run_label
from trainmon.ui.threads import LogPoller, OwnedThread, SystemSampler
from trainmon.ui.widgets.advice_panel import AdviceItem, AdvicePanel
from trainmon.ui.widgets.cpu_panel import CpuPanel
from trainmon.ui.widgets.gpu_panel import GpuPanel
from trainmon.ui.widgets.grad_norm import GradNormPane
from trainmon.ui.widgets.loss_plot import CPU_BUDGET, RUN_COLOURS, LossPlot
from trainmon.ui.widgets.status_bar import Level, StatusBar
from trainmon.ui.workers import SAMPLE_INTERVAL_S

Layout = Literal["wide", "medium", "narrow", "tiny"]

WIDE_MIN_COLS: Final = 120
MEDIUM_MIN_COLS: Final = 80
MIN_COLS: Final = 40
MIN_ROWS: Final = 12
"""Below 40x12 not even the compact stack fits: the screen asks to be enlarged instead."""

SMOOTHING_LEVELS: Final[tuple[float, ...]] = (0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99)
"""The weights `s` / `S` step through (TensorBoard's slider, in the steps people use)."""

SYSTEM_HISTORY: Final = 600
"""GPU / CPU samples kept: the hardware rules' longest window with room (20 min at 2 s)."""

EXIT_SETTLE_S: Final = 0.75
"""After the training process is seen gone, the advice waits this long before judging it, so
the follower has read the last lines it wrote (a summary means the run finished well)."""

ADVICE_EVERY_TICKS: Final = 5
"""Advice is re-evaluated on new records, and at least this often for time-based rules."""

ADVICE_BUDGET_S: Final = 0.1
"""Wall time one tick may spend on advice before the remaining runs wait for the next tick
(in turns, so none starves). A run's first pass over a long history can take a few hundred
ms, which for 40 logs at once would freeze the keys for seconds."""

GC_FREEZE_AFTER_TICKS: Final = 3
"""Once the dashboard has started and read what the logs held (this many ticks), everything
alive then is moved out of the cyclic garbage collector's way (`gc.freeze`): its full passes
then scan only what was created since, not Textual's long-lived widgets, styles and modules
(a full pass was a visible share of the dashboard's CPU while records flow: bench/README.md)."""


def layout_for(width: int, height: int) -> Layout:
    """The layout for a terminal (or pane) of this size."""
    if width < MIN_COLS or height < MIN_ROWS:
        return "tiny"
    if width >= WIDE_MIN_COLS:
        return "wide"
    if width >= MEDIUM_MIN_COLS:
        return "medium"
    return "narrow"


FollowerFactory = Callable[[str, bool], Follower]
"""(path, from_end) -> a follower (the real `trainmon.follow.Follower` unless a test says)."""
ParserFactory = Callable[[], LogParser]


def _follow_log(path: str, from_end: bool) -> Follower:
    """The default follower: `tail -F` semantics over the real file."""
    return Follower(path, from_end=from_end)


class TrainmonApp(App[None]):
    """The live training dashboard."""

    CSS_PATH = "trainmon.tcss"
    TITLE = "trainmon"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "q", "quit", "quit", tooltip="quit trainmon (reading a pipe: asks whether to detach)"
        ),
        Binding("ctrl+c", "quit", "quit", show=False, tooltip="quit, as q"),
        Binding("question_mark", "help", "help", tooltip="this list of keys"),
        Binding("space,p", "pause", "pause", tooltip="pause / resume following the logs"),
        Binding("s", "smoothing(-1)", "less smoothing", show=False, tooltip="less smoothing"),
        Binding("S", "smoothing(1)", "more smoothing", show=False, tooltip="more smoothing"),
        Binding("l", "toggle_log_y", "log-y", tooltip="log-y: plot log10 of the loss"),
        Binding("x", "cycle_x_axis", "x axis", tooltip="x axis: step / epoch / time"),
        Binding("e", "toggle_eval", "eval", tooltip="show / hide the eval loss"),
        Binding("g", "toggle_gpu", "GPU pane", show=False, tooltip="show / hide the GPU pane"),
        Binding(
            "a", "toggle_advice", "advice pane", show=False, tooltip="show / hide the advice pane"
        ),
        Binding("m", "mute", "mute rule", show=False, tooltip="mute rule of the selected finding"),
        Binding(
            "ctrl+s",
            "save_screenshot",
            "save SVG screenshot",
            show=False,
            tooltip="save SVG screenshot to the current directory",
        ),
    ]

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
                else `POLL_INTERVAL_S`).
            sample_interval_s: GPU / CPU sampling period.
            description: what is being shown, e.g. the demo's description (sub-title).
            labels: run names to show instead of the file names (the demo's temp file).
            plot_cpu_budget: share of a core the loss plot may spend rebuilding (None: draw
                every change at once, as snapshots and screenshots need).
            stdin_copy: the copy of a piped standard input into the log file it follows;
                quitting then asks whether to detach (`quit_choice`).
        """
        super().__init__()
        self.options = options
        self._clock = clock
        self._gpu_source = gpu_source
        self._cpu_source = cpu_source
        self._follower_factory: FollowerFactory = follower_factory or _follow_log
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
        paths = options.paths or ()
        user_context = dict(options.context)
        self.runs: list[RunView] = [
            RunView(
                index=i,
                label=labels[i] if labels and i < len(labels) else run_label(path),
                colour=RUN_COLOURS[i % len(RUN_COLOURS)],
                run=Run(
                    path,
                    user_context=user_context,
                    muted=options.muted_rules,
                    advice_factory=self._advice_factory,
                ),
            )
            for i, path in enumerate(paths)
        ]
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
        self._threads: list[OwnedThread] = []
        """The follower and sampler threads, stopped and joined on unmount."""
        self._log_poller: LogPoller | None = None
        """Told when the UI thread has taken a batch of records (its back-pressure)."""
        self._advice_next = 0
        """The run the next advice pass starts with (passes over many runs take turns)."""
        self.muted: list[str] = list(options.muted_rules)
        self.gpu_snapshot: object | None = None
        self.cpu_snapshot: object | None = None
        self._gpu_dirty = False
        self._cpu_dirty = False
        self._plot_key: tuple[object, ...] | None = None
        self._status_queued = False
        self._ticks = 0
        self.bells = 0
        """How many times the bell rang (for tests)."""
        self.redraws = 0
        """How many timer ticks redrew the plots (for tests and benches)."""
        self.stdin_copy = stdin_copy
        self.quit_choice: QuitChoice = "detach"
        """What becomes of a piped standard input when the app has ended: only an explicit
        `k` closes the pipe; any other end (signals included) detaches."""
        self._stdin_note = ""
        self._ui_loop: asyncio.AbstractEventLoop | None = None
        self._early_signal: int | None = None
        if stdin_copy is not None:
            for run in self.runs:
                if run.run.path == stdin_copy.path:
                    run.saved_to = stdin_copy.path

    def get_driver_class(self) -> type[Driver]:
        """Textual's own driver, except that its POSIX one gets an input thread that sleeps
        until a key arrives (see `trainmon.ui.driver`)."""
        driver_class = super().get_driver_class()
        stock = f"{driver_class.__module__}.{driver_class.__qualname__}"
        if stock == "textual.drivers.linux_driver.LinuxDriver":  # not Windows nor TEXTUAL_DRIVER
            try:
                from trainmon.ui.driver import QuietLinuxDriver
            except ImportError:  # a Textual without the private parser module: the stock one
                return driver_class
            return QuietLinuxDriver
        return driver_class

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Status rows, the plot column, the side column, and the too-small notice."""
        yield StatusBar(id="status")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield LossPlot(id="loss", cpu_budget=self._plot_cpu_budget)
                yield GradNormPane(id="grad-norm")
            with Vertical(id="side"):
                advice = AdvicePanel(id="advice")
                advice.border_title = "advice"
                yield advice
                with Vertical(id="system"):
                    gpu = GpuPanel(id="gpu", history=self.system)
                    gpu.display = self._gpu_source is not None
                    yield gpu
                    cpu = CpuPanel(id="cpu", history=self.system)
                    cpu.display = self._cpu_source is not None
                    yield cpu
        yield Static(Text(""), id="too-small")
        yield Footer()

    @property
    def paused(self) -> bool:
        """True while following is paused."""
        return not self._following.is_set()

    def on_mount(self) -> None:
        """Pick the layout, draw once, start the timer and (unless disabled) the workers."""
        self.query_one("#loss", LossPlot).border_title = "loss · lr"
        self.query_one("#grad-norm", GradNormPane).border_title = "grad norm"
        self.query_one("#system", Vertical).border_title = "system"
        self._apply_layout(self.size.width, self.size.height)
        self._sync_side()
        self.refresh_now()
        self.set_interval(max(0.05, self.options.refresh_s), self.tick, name="redraw")
        if self._start_workers:
            self._start_all_workers()
        self._ui_loop = asyncio.get_running_loop()
        if self._early_signal is not None:
            self._on_signal(self._early_signal)

    # -- quitting ------------------------------------------------------------------------------

    def signalled(self, signum: int) -> None:
        """Called from a signal handler: schedule the reaction on the event loop, nothing else."""
        loop = self._ui_loop
        if loop is None:
            self._early_signal = signum  # handled once mounted
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        """SIGINT acts as Ctrl-C (with a pipe, it asks); SIGTERM and SIGHUP end the app: no
        one may be there to answer, so a piped standard input is detached."""
        if signum == signal.SIGINT:
            self.call_later(self.action_quit)
            return
        self.quit_choice = "detach"
        self.exit(return_code=128 + signum)  # the shell's convention for "ended by a signal"

    async def action_quit(self) -> None:
        """Quit; when the log comes through a pipe that is still open, ask first."""
        copy = self.stdin_copy
        if copy is None or copy.closed:
            self.exit()
            return
        if isinstance(self.screen, QuitDialog):
            return
        self.push_screen(QuitDialog(copy.path), self._quit_chosen)

    def _quit_chosen(self, choice: QuitChoice | None) -> None:
        if choice is None:
            return
        self.quit_choice = choice
        self.exit()

    def _note_stdin(self) -> None:
        """Say in the status line when the piped input ended or could not be saved."""
        copy = self.stdin_copy
        if copy is None:
            return
        note = copy.error or ("end of input" if copy.closed else "")
        if note == self._stdin_note:
            return
        self._stdin_note = note
        for run in self.runs:
            if run.saved_to:
                level: Level = "error" if copy.error else "info"
                run.set_state(note, level, self._clock(), transient=False)
        self._status_soon()

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
        if mode == "tiny":
            self.query_one("#too-small", Static).update(
                Text(
                    f"enlarge to at least {MIN_COLS}×{MIN_ROWS}\n(now {width}×{height})",
                    justify="center",
                )
            )

    # -- workers -------------------------------------------------------------------------------

    def _start_all_workers(self) -> None:
        """Start the log poller and the sampler: threads of their own (`trainmon.ui.threads`)."""
        from_end = self.options.from_end
        follower_factory = self._follower_factory
        poller = LogPoller(
            [run.run.path for run in self.runs],
            open_follower=lambda path: follower_factory(path, from_end),
            parser_factory=self._parser_factory,
            post=self.post_message,
            following=self._following,
            poll_interval_s=self._poll_interval_s,
        )
        self._threads.append(poller)
        self._log_poller = poller
        if self._gpu_source is not None or self._cpu_source is not None:
            sampler = SystemSampler(
                self._gpu_source,
                self._cpu_source,
                post=self.post_message,
                interval_s=self._sample_interval_s,
            )
            self._threads.append(sampler)
        for thread in self._threads:
            thread.start()

    def on_unmount(self) -> None:
        """Stop and join the follower and sampler threads (daemons: a stuck one is left)."""
        for thread in self._threads:
            thread.stop(timeout_s=0)
        for thread in self._threads:
            thread.stop()

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
            if self._log_poller is not None:
                self._log_poller.batch_taken(message.run)

    def _status_soon(self) -> None:
        """Show new records' step in the status line now, not at the next tick.

        Only the status line: plots and advice wait for the tick (and the plot for its CPU
        budget). Several messages handled in a row share one status update.
        """
        if not self._status_queued:
            self._status_queued = True
            self.call_later(self._status_now)

    def _status_now(self) -> None:
        self._status_queued = False
        if self.is_running and self.layout_mode != "tiny":
            self._update_status(self._clock())

    @on(FollowStateChanged)
    def _follow_state_changed(self, message: FollowStateChanged) -> None:
        if 0 <= message.run < len(self.runs):
            self.runs[message.run].follow_event(message.event, self._clock())
            self._status_soon()

    @on(GpuSampled)
    def _gpu_sampled(self, message: GpuSampled) -> None:
        self.gpu_snapshot = message.snapshot
        self._gpu_dirty = True
        self.system.add_gpu(message.snapshot)
        self.host.observe_hardware(message.snapshot)

    @on(CpuSampled)
    def _cpu_sampled(self, message: CpuSampled) -> None:
        self.cpu_snapshot = message.snapshot
        self._cpu_dirty = True
        self.system.add_cpu(message.snapshot)
        self.host.observe_hardware(message.snapshot)
        snapshot = message.snapshot
        if snapshot.training_exit is not None:
            self._training_exited(snapshot.training_exit)
        elif snapshot.training is not None:
            self._training_found(snapshot.training.pid)

    def _training_exited(self, fact: ProcessExit) -> None:
        """The training process ended: say it at once; advise once its last lines are read."""
        if any([view.process_ended(fact) for view in self.runs]):
            self._status_soon()
            self.set_timer(EXIT_SETTLE_S, lambda: self._advise_exit(fact))

    def _advise_exit(self, fact: ProcessExit) -> None:
        for view in self.runs:
            if view.exited == fact:
                view.run.observe_process_exit(fact)
        self.refresh_now()

    def _training_found(self, pid: int) -> None:
        """Another training process runs (a restart): the earlier end no longer applies."""
        for view in self.runs:
            view.process_found(pid)

    # -- the timer: decide what to redraw ------------------------------------------------------

    def tick(self) -> None:
        """Redraw what changed since the last tick (called by the UI timer)."""
        self._ticks += 1
        if self._ticks == GC_FREEZE_AFTER_TICKS and not self.is_headless:
            gc.freeze()  # not in tests (headless): the freeze is process-wide
        self._note_stdin()
        self.refresh_now()

    def refresh_now(self) -> None:
        """Bring every widget up to date with the state; unchanged widgets are not touched."""
        if not self.is_running or self.layout_mode == "tiny":
            return
        now = self._clock()
        with self.batch_update():
            # Advice first: its findings are the plot's markers.
            self._update_advice(now)
            self._update_plots()
            self._update_status(now)
            self._update_system()

    def _update_plots(self) -> None:
        plot = self.query_one("#loss", LossPlot)
        grad = self.query_one("#grad-norm", GradNormPane)
        width = plot.data_width
        view = (
            width,
            grad.content_size.width,
            self.smoothing,
            self.log_y,
            self.x_axis,
            self.show_eval,
        )
        data = (
            tuple(r.run.data_version for r in self.runs),
            tuple((r.index, f.rule, f.step) for r in self.runs for f in r.active),
        )
        key = (view, data)
        if key == self._plot_key:
            return
        view_changed = self._plot_key is None or self._plot_key[0] != view
        if not view_changed and plot.ready_in_s > 0:
            # New records wait for the plot's CPU budget (the status line shows them at
            # once); computing their plot data now would only be thrown away.
            return
        self._plot_key = key
        self.redraws += 1
        runs = [
            (
                run.label,
                loss_plot_data(
                    run.store,
                    width=width,
                    x_axis=self.x_axis,
                    smoothing=self.smoothing,
                    log_y=self.log_y,
                    show_eval=self.show_eval,
                    cache=run.run.plot_cache,
                ),
            )
            for run in self.runs
        ]
        markers = [f for run in self.runs for f in run.active]
        plot.show(runs, markers, immediate=view_changed)
        if self.runs:
            first = self.runs[0].run
            clip = _as_float(first.context.get("max_grad_norm"))
            width = max(1, grad.content_size.width)
            grad.show(grad_norm_data(first.store, width, max_grad_norm=clip))

    def _update_advice(self, now: float) -> None:
        """Advice on new records, and every few ticks for the clock and hardware rules.

        A tick spends at most `ADVICE_BUDGET_S` on it: with many runs, their first passes over
        long histories take turns, the next tick going on from where this one stopped.
        """
        timed = self._ticks % ADVICE_EVERY_TICKS == 0
        runs = [*(view.run for view in self.runs), self.host]
        first = self._advice_next % len(runs)
        self._advice_next = first
        started = time.perf_counter()
        bell = False
        for k in range(len(runs)):
            run = runs[(first + k) % len(runs)]
            if k and time.perf_counter() - started > ADVICE_BUDGET_S:
                # Out of time: this run and the rest are due at the next tick, from here on.
                self._advice_next = (first + k) % len(runs)
                for later in range(k, len(runs)):
                    runs[(first + later) % len(runs)].mark_stale()
                break
            try:
                bell |= run.advise(now, force=timed).new_critical
            except Exception as exc:  # an advice bug must not take the dashboard down: say it
                for view in self.runs:
                    if view.run is run or run is self.host:
                        text = f"advice failed: {type(exc).__name__}: {exc}"
                        view.set_state(text, "error", now, transient=True)
        if bell and self.options.bell:
            self.bells += 1
            self.bell()
        self._show_advice()

    def _show_advice(self) -> None:
        several = len(self.runs) > 1
        labelled = [(view.label if several else "", view.run) for view in self.runs]
        labelled.append(("host" if several else "", self.host))
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
        panel = self.query_one("#advice", AdvicePanel)
        panel.show(active, history, self.muted, notes)
        title = f"advice ({len(active)})" if active else "advice"
        if panel.border_title != title:  # assigning repaints the whole pane, even if equal
            panel.border_title = title

    def _update_status(self, now: float) -> None:
        rows = tuple(run.status(now, paused=self.paused) for run in self.runs)
        self.query_one("#status", StatusBar).show(rows)

    def _update_system(self) -> None:
        gpu = self.query_one("#gpu", GpuPanel)
        cpu = self.query_one("#cpu", CpuPanel)
        if self._gpu_dirty and isinstance(self.gpu_snapshot, GpuSnapshot):
            self._gpu_dirty = False
            snapshot = self.gpu_snapshot
            # --no-gpu: no GPU pane at all. No GPU: one dim line, repainted only when the
            # reason changes (the samples differ only in their time stamps).
            gpu.display = snapshot.status != "disabled"
            shown = gpu.snapshot
            same_state = (
                snapshot.status != "ok"
                and isinstance(shown, GpuSnapshot)
                and (shown.status, shown.reason) == (snapshot.status, snapshot.reason)
            )
            if gpu.display and not same_state:
                gpu.update_snapshot(snapshot)
        if self._cpu_dirty and isinstance(self.cpu_snapshot, CpuSnapshot):
            self._cpu_dirty = False
            cpu.display = True
            cpu.update_snapshot(self.cpu_snapshot)
        self._sync_side()

    # -- actions -------------------------------------------------------------------------------

    def action_help(self) -> None:
        """Show every key."""
        if isinstance(self.screen, HelpScreen):
            return
        bindings = [b for b in self.BINDINGS if isinstance(b, Binding)]
        self.push_screen(HelpScreen(help_rows(bindings)))

    def action_pause(self) -> None:
        """Pause or resume following (records written meanwhile show on resume)."""
        if self._following.is_set():
            self._following.clear()
        else:
            self._following.set()
        self._update_status(self._clock())

    def action_smoothing(self, direction: int) -> None:
        """Step the EMA weight down (-1) or up (+1) through the usual values."""
        levels = SMOOTHING_LEVELS
        current = min(range(len(levels)), key=lambda i: abs(levels[i] - self.smoothing))
        index = max(0, min(len(levels) - 1, current + (1 if direction > 0 else -1)))
        self.smoothing = levels[index]
        self.notify(f"smoothing {self.smoothing:g}", timeout=1.5)
        self.refresh_now()

    def action_toggle_log_y(self) -> None:
        """Plot log10 of the losses, or the losses."""
        self.log_y = not self.log_y
        self.refresh_now()

    def action_cycle_x_axis(self) -> None:
        """Step, epoch, wall time, and back."""
        self.x_axis = X_AXES[(X_AXES.index(self.x_axis) + 1) % len(X_AXES)]
        self.notify(f"x axis: {self.x_axis}", timeout=1.5)
        self.refresh_now()

    def action_toggle_eval(self) -> None:
        """Show or hide the eval loss."""
        self.show_eval = not self.show_eval
        self.refresh_now()

    def action_toggle_gpu(self) -> None:
        """Show or hide the system (GPU / CPU) pane."""
        self.show_system = not self.show_system
        self._sync_side()
        self.call_after_refresh(self.refresh_now)

    def action_toggle_advice(self) -> None:
        """Show or hide the advice pane."""
        self.show_advice = not self.show_advice
        self._sync_side()
        self.call_after_refresh(self.refresh_now)

    def _sync_side(self) -> None:
        """Show the panes the user wants, and no empty box where nothing was sampled."""
        sampled = self.query_one("#gpu").display or self.query_one("#cpu").display
        system = self.query_one("#system", Vertical)
        advice = self.query_one("#advice", AdvicePanel)
        system.display = self.show_system and sampled
        advice.display = self.show_advice
        self.query_one("#side", Vertical).display = system.display or advice.display

    def action_mute(self) -> None:
        """Mute the rule of the selected finding (for every run)."""
        selected = self.query_one("#advice", AdvicePanel).selected
        if selected is None:
            self.notify("no finding selected", timeout=2)
            return
        rule = selected[1].rule
        if rule not in self.muted:
            self.muted.append(rule)
        for view in self.runs:
            view.run.mute(rule)
        self.host.mute(rule)
        self.notify(f"muted {rule}", timeout=2, markup=False)
        self._show_advice()
        self.refresh_now()

    def action_save_screenshot(self) -> None:
        """Save an SVG screenshot in the current directory and say where it went."""
        try:
            path = self.save_screenshot(path=os.getcwd())
        except OSError as exc:
            self.notify(f"screenshot failed: {exc}", severity="error", markup=False)
            return
        self.notify(f"screenshot saved to {path}", timeout=4, markup=False)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands plus every dashboard action, for the command palette."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Pause / resume following", "space or p", self.action_pause)
        yield SystemCommand("Toggle log-y", "plot log10 of the loss (l)", self.action_toggle_log_y)
        yield SystemCommand("Cycle x axis", "step / epoch / time (x)", self.action_cycle_x_axis)
        yield SystemCommand("Toggle eval loss", "show or hide eval (e)", self.action_toggle_eval)
        yield SystemCommand("Toggle system pane", "GPU / CPU (g)", self.action_toggle_gpu)
        yield SystemCommand("Toggle advice pane", "findings (a)", self.action_toggle_advice)
        yield SystemCommand("Mute selected rule", "advice (m)", self.action_mute)
        yield SystemCommand(
            "Save SVG screenshot", "to the current directory (ctrl+s)", self.action_save_screenshot
        )

    # -- test and screenshot helpers -------------------------------------------------------------

    def inject(
        self,
        run: int,
        records: Iterable[MetricRecord],
        progress: ParserProgress | None = None,
    ) -> None:
        """Post records for `run` as a follower thread would (tests, snapshots, screenshots)."""
        self.post_message(RecordsParsed(run, tuple(records), progress=progress))


def _as_float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
