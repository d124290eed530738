"""The dashboard: layout, worker threads, keys, and the one timer that decides redraws.

Data flow: follower threads post `RecordsParsed` / `FollowStateChanged`, sampler threads post
`GpuSampled` / `CpuSampled`. Handlers only update the UI-thread state (stores, counters) and
mark what changed; new records also queue one status-line update, so their step shows at
once. The UI timer (default 1 Hz) then redraws only the widgets whose input changed, inside
`batch_update()`, so a burst of records never causes a burst of redraws and an idle log costs
a status-line check per second. New data reaches the plots as often as the loss plot's CPU
budget allows (a change of view is drawn at once). Clock, sources, follower and parser are
injected, which makes tests and snapshots deterministic.
"""

from __future__ import annotations

import gc
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final, Literal, Protocol

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.driver import Driver
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from trainmon.advice import AdviceEngine
from trainmon.config import DashboardOptions
from trainmon.follow import Follower as LogFollower
from trainmon.parsing import LogParser
from trainmon.plotdata import X_AXES, XAxis, grad_norm_data, loss_plot_data
from trainmon.records import Finding, FollowEvent, MetricRecord
from trainmon.sources import CpuSource, GpuSource
from trainmon.sources.nvml import DisabledGpuSource
from trainmon.sources.runner import SamplerRunner
from trainmon.sources.samples import CpuSnapshot, GpuSnapshot
from trainmon.store import MetricStore, ignored_series_note
from trainmon.text import terminal_safe
from trainmon.ui.help import HelpScreen, help_rows
from trainmon.ui.messages import CpuSampled, FollowStateChanged, GpuSampled, RecordsParsed
from trainmon.ui.widgets.advice_panel import AdviceItem, AdvicePanel
from trainmon.ui.widgets.cpu_panel import CpuPanel
from trainmon.ui.widgets.gpu_panel import GpuPanel
from trainmon.ui.widgets.grad_norm import GradNormPane
from trainmon.ui.widgets.loss_plot import CPU_BUDGET, RUN_COLOURS, LossPlot
from trainmon.ui.widgets.status_bar import Level, RunStatus, StatusBar, round_age
from trainmon.ui.workers import (
    SAMPLE_INTERVAL_S,
    Follower,
    FollowStep,
    Parser,
    idle_poll_interval,
)

Layout = Literal["wide", "medium", "narrow", "tiny"]

WIDE_MIN_COLS: Final = 120
MEDIUM_MIN_COLS: Final = 80
MIN_COLS: Final = 40
MIN_ROWS: Final = 12
"""Below 40x12 not even the compact stack fits: the screen asks to be enlarged instead."""

SMOOTHING_LEVELS: Final[tuple[float, ...]] = (0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99)
"""The weights `s` / `S` step through (TensorBoard's slider, in the steps people use)."""

TRANSIENT_STATE_S: Final = 30.0
"""How long "file truncated: new segment" and similar notes stay in the status line."""

READING_STATE: Final = "reading the log:"
BACKLOG_SHOWN_BYTES: Final = 16 << 20
"""A history at least this big takes seconds to read: the status line shows how far it got
("reading the log: 34 % of 94 MB") until the follower has caught up."""

ADVICE_EVERY_TICKS: Final = 5
"""Advice is re-evaluated on new records, and at least this often for time-based rules."""

GC_FREEZE_AFTER_TICKS: Final = 3
"""Once the dashboard has started and read what the logs held (this many ticks), everything
alive then is moved out of the cyclic garbage collector's way (`gc.freeze`): its full passes
then scan only what was created since, not Textual's long-lived widgets, styles and modules.
Such a pass took about 60 ms, a few times a minute while records flow."""


def layout_for(width: int, height: int) -> Layout:
    """The layout for a terminal (or pane) of this size."""
    if width < MIN_COLS or height < MIN_ROWS:
        return "tiny"
    if width >= WIDE_MIN_COLS:
        return "wide"
    if width >= MEDIUM_MIN_COLS:
        return "medium"
    return "narrow"


def run_label(path: str) -> str:
    """The name a run goes by on screen: its file name (`stdin` for `-`), terminal-safe."""
    if path == "-":
        return "stdin"
    return terminal_safe(Path(path).name or path)


class AdviceState(Protocol):
    """What `AdviceEngine.update()` returns."""

    @property
    def active(self) -> Iterable[Finding]: ...

    @property
    def history(self) -> Iterable[Finding]: ...

    @property
    def new_critical(self) -> bool:
        """True when a critical finding appeared in this update (ring the bell once)."""

    @property
    def schedule(self) -> str:
        """The LR schedule the engine recognised, in words ("" when none)."""


class AdviceEngineLike(Protocol):
    """What the app needs from `trainmon.advice.AdviceEngine`."""

    def update(self, store: MetricStore, now_s: float) -> AdviceState: ...

    def mute(self, rule: str) -> None: ...

    def observe_hardware(self, sample: GpuSnapshot | CpuSnapshot) -> None: ...


FollowerFactory = Callable[[str, bool], Follower]
"""(path, from_end) -> a follower."""
ParserFactory = Callable[[], Parser]
AdviceFactory = Callable[[Mapping[str, object], frozenset[str]], AdviceEngineLike]
"""(run context, muted rules) -> an advice engine for one run."""


@dataclass(slots=True)
class RunState:
    """One followed log, owned by the UI thread."""

    index: int
    path: str
    label: str
    colour: str
    store: MetricStore = field(default_factory=MetricStore)
    log_format: str | None = None
    lines: int = 0
    unparsed: int = 0
    context: dict[str, object] = field(default_factory=dict)
    state: str = ""
    level: Level = "ok"
    state_since_s: float | None = None
    transient: bool = False
    engine: AdviceEngineLike | None = None
    engine_context: dict[str, object] | None = None
    active: tuple[Finding, ...] = ()
    history: tuple[Finding, ...] = ()
    schedule: str = ""
    """The LR schedule the advice engine recognised, shown under the findings."""
    data_version: int = 0
    """Bumped whenever the store changed (records, or a new segment)."""
    advised_version: int = -1
    live: bool = False
    """The log's history at start has been read; records now arrive as they are written."""


def _follow_log(path: str, from_end: bool) -> Follower:
    """The default follower: `tail -F` semantics over the real file."""
    return LogFollower(path, from_end=from_end)


class TrainmonApp(App[None]):
    """The live training dashboard."""

    CSS_PATH = "trainmon.tcss"
    TITLE = "trainmon"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit", tooltip="quit trainmon"),
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
        """
        super().__init__()
        self.options = options
        self._clock = clock
        self._gpu_source = gpu_source
        self._cpu_source = cpu_source
        self._follower_factory: FollowerFactory = follower_factory or _follow_log
        self._parser_factory: ParserFactory = parser_factory or LogParser
        self._advice_factory: AdviceFactory = advice_factory or AdviceEngine
        self._start_workers = start_workers
        self._poll_interval_s = poll_interval_s
        self._sample_interval_s = sample_interval_s
        self._plot_cpu_budget = plot_cpu_budget
        self.sub_title = description
        paths = options.paths or ()
        self.runs: list[RunState] = [
            RunState(
                index=i,
                path=path,
                label=terminal_safe(labels[i]) if labels and i < len(labels) else run_label(path),
                colour=RUN_COLOURS[i % len(RUN_COLOURS)],
                store=MetricStore(options.max_series),
            )
            for i, path in enumerate(paths)
        ]
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
        self._batch_taken = [threading.Event() for _ in self.runs]
        """Per run: set when the UI thread has handled the worker's last `RecordsParsed`."""
        self.muted: list[str] = [terminal_safe(rule) for rule in options.muted_rules]
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

    def get_driver_class(self) -> type[Driver]:
        """Textual's own driver, except that its POSIX one gets an input thread that sleeps
        until a key arrives (see `trainmon.ui.driver`)."""
        driver_class = super().get_driver_class()
        stock = f"{driver_class.__module__}.{driver_class.__qualname__}"
        if stock == "textual.drivers.linux_driver.LinuxDriver":  # not Windows nor TEXTUAL_DRIVER
            from trainmon.ui.driver import QuietLinuxDriver

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
                    gpu = GpuPanel(id="gpu")
                    gpu.display = self._gpu_source is not None
                    yield gpu
                    cpu = CpuPanel(id="cpu")
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
        for run in self.runs:
            self._follow(run.index, run.path, self._parser_factory, self._follower_factory)
        if self._gpu_source is not None or self._cpu_source is not None:
            self._sample_system(self._gpu_source, self._cpu_source)

    @work(thread=True, exit_on_error=False, group="follow")
    def _follow(
        self,
        run: int,
        path: str,
        parser_factory: ParserFactory,
        follower_factory: FollowerFactory,
    ) -> None:
        """Follow one log on a thread; hand parsed records to the UI thread."""
        worker = get_current_worker()
        try:
            follower = follower_factory(path, self.options.from_end)
        except Exception as exc:  # a path that cannot be followed is a state, not a crash
            self.post_message(FollowStateChanged(run, FollowEvent("error", path, str(exc))))
            return
        step = FollowStep(run, follower, parser_factory)
        interval = self._poll_interval_s
        if interval is None:
            interval = follower.poll_interval_s
        last_news = time.monotonic()
        try:
            while not worker.is_cancelled:
                if not self._following.is_set():
                    worker.cancelled_event.wait(interval)
                    continue
                messages = step.step()
                parsed = any(isinstance(m, RecordsParsed) for m in messages)
                if parsed:
                    self._batch_taken[run].clear()
                for message in messages:
                    self.post_message(message)
                if parsed:
                    # Stay at most one batch ahead of the UI thread: a long history would
                    # otherwise flood its queue, and the screen would not repaint (nor the
                    # status say how far the reading got) until all of it was handled.
                    while not self._batch_taken[run].wait(0.25) and not worker.is_cancelled:
                        pass
                if step.finished:
                    break
                if messages:
                    last_news = time.monotonic()
                if step.caught_up:
                    quiet_s = time.monotonic() - last_news
                    worker.cancelled_event.wait(idle_poll_interval(interval, quiet_s))
        finally:
            follower.close()

    @work(thread=True, exit_on_error=False, group="sample")
    def _sample_system(self, gpu: GpuSource | None, cpu: CpuSource | None) -> None:
        """Sample CPU and GPU on one thread, so a slow driver never blocks the keys.

        `SamplerRunner` sets the cadence (a slow driver stretches it) and links the trainer's
        processes to GPU rows. Without a GPU source it samples a disabled one, whose snapshots
        keep the GPU pane hidden.
        """
        worker = get_current_worker()
        runner = SamplerRunner(
            gpu if gpu is not None else DisabledGpuSource(),
            cpu,
            gpu_interval_s=self._sample_interval_s,
            cpu_interval_s=self._sample_interval_s,
        )
        try:
            while not worker.is_cancelled:
                update = runner.step()
                if update.cpu is not None:
                    self.post_message(CpuSampled(update.cpu))
                if update.gpu is not None:
                    self.post_message(GpuSampled(update.gpu))
                wait = max(0.05, min(runner.seconds_until_due(), self._sample_interval_s))
                worker.cancelled_event.wait(wait)
        finally:
            runner.close()

    # -- messages (UI thread: update state, mark dirty, never redraw here) ---------------------

    @on(RecordsParsed)
    def _records_parsed(self, message: RecordsParsed) -> None:
        if not 0 <= message.run < len(self.runs):
            return
        try:
            self._take_records(self.runs[message.run], message)
        finally:
            self._batch_taken[message.run].set()

    def _take_records(self, run: RunState, message: RecordsParsed) -> None:
        if message.records:
            run.store.extend(message.records, self._clock())
            run.data_version += 1
        if not run.live:
            run.store.mark_backlog()  # read in bursts: no speed from these arrival times
            self._show_backlog(run, message.backlog)
        if message.log_format:
            run.log_format = message.log_format
        if message.total_steps:
            run.store.total_steps = message.total_steps
        run.lines = message.lines
        run.unparsed = message.unparsed_lines
        if message.context:
            run.context.update(message.context)
        if message.records:
            self._status_soon()

    def _show_backlog(self, run: RunState, backlog: tuple[int, int] | None) -> None:
        """Say how much of a big log's history is read; clear it once the follower caught up."""
        reading = run.state.startswith(READING_STATE)
        if backlog is None:
            run.live = True
            if reading:
                self._set_state(run, "", "ok", transient=False)
                self._status_soon()
            return
        done, size = backlog
        if size >= BACKLOG_SHOWN_BYTES and (reading or not run.state):
            percent = min(99, int(100 * done / size))
            text = f"{READING_STATE} {percent} % of {size / 1e6:,.0f} MB"
            if text != run.state:
                self._set_state(run, text, "info", transient=False)
                self._status_soon()

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
        if not 0 <= message.run < len(self.runs):
            return
        run = self.runs[message.run]
        event = message.event
        detail = f": {event.detail}" if event.detail else ""
        if event.kind == "waiting":
            self._set_state(run, f"waiting for {run.label}", "info", transient=False)
        elif event.kind == "opened":
            self._set_state(run, "", "ok", transient=False)
        elif event.kind in ("truncated", "rotated"):
            run.store.new_segment()
            run.data_version += 1
            run.engine = None  # a restarted run: advice starts over
            run.active = ()
            what = "file truncated" if event.kind == "truncated" else "file replaced"
            self._set_state(run, f"{what}: new segment", "warning", transient=True)
        elif event.kind == "error":
            self._set_state(run, f"error{detail}", "error", transient=False)
        elif event.kind == "eof":
            self._set_state(run, "end of input", "info", transient=False)
        self._status_soon()

    def _set_state(self, run: RunState, state: str, level: Level, *, transient: bool) -> None:
        run.state = terminal_safe(state)  # errors quote paths and exception text
        run.level = level
        run.transient = transient
        run.state_since_s = self._clock()

    @on(GpuSampled)
    def _gpu_sampled(self, message: GpuSampled) -> None:
        self.gpu_snapshot = message.snapshot
        self._gpu_dirty = True
        self._observe_hardware(message.snapshot)

    @on(CpuSampled)
    def _cpu_sampled(self, message: CpuSampled) -> None:
        self.cpu_snapshot = message.snapshot
        self._cpu_dirty = True
        self._observe_hardware(message.snapshot)

    def _observe_hardware(self, snapshot: GpuSnapshot | CpuSnapshot) -> None:
        """Feed a system sample to each run's hardware rules (GPU idle, host-bound, ...)."""
        for run in self.runs:
            if run.engine is not None:
                run.engine.observe_hardware(snapshot)
                run.advised_version = -1

    # -- the timer: decide what to redraw ------------------------------------------------------

    def tick(self) -> None:
        """Redraw what changed since the last tick (called by the UI timer)."""
        self._ticks += 1
        if self._ticks == GC_FREEZE_AFTER_TICKS and not self.is_headless:
            gc.freeze()  # not in tests (headless): the freeze is process-wide
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
            tuple(r.data_version for r in self.runs),
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
                ),
            )
            for run in self.runs
        ]
        markers = [f for run in self.runs for f in run.active]
        plot.show(runs, markers, immediate=view_changed)
        if self.runs:
            first = self.runs[0]
            grad.show(
                grad_norm_data(
                    first.store,
                    max(1, grad.content_size.width),
                    max_grad_norm=_as_float(self._run_context(first).get("max_grad_norm")),
                )
            )

    def _run_context(self, run: RunState) -> dict[str, object]:
        context = dict(run.context)
        if run.log_format:  # rules rely on framework defaults only for a known format
            context.setdefault("format", run.log_format)
        context.update(dict(self.options.context))
        return context

    def _update_advice(self, now: float) -> None:
        factory = self._advice_factory
        for run in self.runs:
            stale = run.advised_version != run.data_version
            if not stale and self._ticks % ADVICE_EVERY_TICKS:
                continue
            context = self._run_context(run)
            try:
                if run.engine is None or context != run.engine_context:
                    run.engine = factory(context, frozenset(self.muted))
                    run.engine_context = context
                state = run.engine.update(run.store, now)
            except Exception as exc:  # an advice bug must not take the dashboard down: say it
                self._set_state(
                    run, f"advice failed: {type(exc).__name__}: {exc}", "error", transient=True
                )
                continue
            run.advised_version = run.data_version
            run.active = tuple(f for f in state.active if f.rule not in self.muted)
            run.history = tuple(state.history)
            run.schedule = state.schedule
            if state.new_critical and self.options.bell:
                self.bells += 1
                self.bell()
        self._show_advice()

    def _show_advice(self) -> None:
        several = len(self.runs) > 1
        active: list[AdviceItem] = []
        history: list[AdviceItem] = []
        for run in self.runs:
            label = run.label if several else ""
            active.extend((label, f) for f in run.active)
            history.extend((label, f) for f in reversed(run.history))
        notes = tuple(
            (f"{run.label}: " if several else "") + run.schedule
            for run in self.runs
            if run.schedule
        )
        panel = self.query_one("#advice", AdvicePanel)
        panel.show(active, history, self.muted, notes)
        title = f"advice ({len(active)})" if active else "advice"
        if panel.border_title != title:  # assigning repaints the whole pane, even if equal
            panel.border_title = title

    def run_status(self, run: RunState, now: float) -> RunStatus:
        """The status row of one run at time `now`."""
        expired = run.state_since_s is not None and now - run.state_since_s > TRANSIENT_STATE_S
        if run.transient and expired:
            run.state, run.level, run.transient = "", "ok", False
        store = run.store
        last = store.last_arrival_s
        return RunStatus(
            label=run.label,
            colour=run.colour,
            log_format=run.log_format,
            progress=store.progress(now),
            state=run.state,
            level=run.level,
            paused=self.paused,
            age_s=round_age(now - last) if last is not None else None,
            finished=store.kind_counts.get("summary", 0) > 0,
            records=store.records,
            unparsed=run.unparsed,
            note=(
                ignored_series_note(store.ignored_series, store.max_series)
                if store.ignored_series
                else ""
            ),
        )

    def _update_status(self, now: float) -> None:
        rows = tuple(self.run_status(run, now) for run in self.runs)
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
        for run in self.runs:
            if run.engine is not None:
                run.engine.mute(rule)
            run.active = tuple(f for f in run.active if f.rule != rule)
        self.notify(f"muted {rule}", timeout=2, markup=False)
        self._show_advice()
        self.refresh_now()

    def action_save_screenshot(self) -> None:
        """Save an SVG screenshot in the current directory and say where it went."""
        try:
            path = self.save_screenshot(path=os.getcwd())
        except OSError as exc:
            self.notify(terminal_safe(f"screenshot failed: {exc}"), severity="error", markup=False)
            return
        self.notify(terminal_safe(f"screenshot saved to {path}"), timeout=4, markup=False)

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

    def inject(self, run: int, records: Iterable[MetricRecord], **counters: Any) -> None:
        """Post records for `run` as a follower thread would (tests, snapshots, screenshots)."""
        self.post_message(RecordsParsed(run, tuple(records), **counters))


def _as_float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
