"""Dashboard benchmark: redraw cost vs history, CPU and bytes in a real terminal, startup.

Every figure is printed next to a floor measured in the same run (an empty Textual app, a
`Static` updated at 1 Hz, `import textual.app`), so the ratios can be compared across
machines. Nothing here passes or fails: it prints a markdown table for the README.

    python bench/bench_dashboard.py                 # everything (about 3 minutes)
    python bench/bench_dashboard.py --quick         # short windows, fewer repeats
    python bench/bench_dashboard.py --skip-tmux     # headless figures only
    python bench/bench_dashboard.py --app trainmon  # measure `trainmon LOG` itself in tmux
    python bench/bench_dashboard.py --skip-raw-log  # without the raw log view's figures

The raw log view's figures (its cost while hidden, scrolling a 1 GB log) come from
`bench_raw_log.py`.

The "probe" app is a stand-in with the dashboard's widget mix (LossPlot, GradNormPane and a
one-line status) that follows a log once per second and redraws only when records arrived.
With `--app trainmon` the tmux figures come from the real dashboard (`python -m trainmon`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trainmon.records import MetricRecord
    from trainmon.store import MetricStore

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SIZE = (160, 48)
LINE_RE = re.compile(r"'(\w+)': (-?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf))")


# -- the probe app (also run as a subprocess inside tmux) --------------------------------------


def synthetic_records(n: int, start_step: int = 1) -> Iterator[MetricRecord]:
    """n train records (loss, lr, grad_norm, epoch) and an eval every 500, deterministic.

    A generator, fed straight into `MetricStore.extend`: a list of 10^6 records would hold
    hundreds of MB of Python objects and inflate the RSS figure that follows.
    """
    import numpy as np

    from trainmon.records import MetricRecord

    rng = np.random.default_rng(0)
    chunk = 10_000
    for base in range(0, n, chunk):
        m = min(chunk, n - base)
        steps = np.arange(start_step + base, start_step + base + m)
        loss = (2.5 * np.exp(-steps / max(n, 1) * 3) + 0.3 + rng.random(m) * 0.1).tolist()
        grad = (1.0 + rng.random(m) * 0.3).tolist()
        for i in range(m):
            s = int(steps[i])
            values = {
                "loss": loss[i],
                "learning_rate": 2e-5 * (1 - (base + i) / n),
                "grad_norm": grad[i],
                "epoch": s / 10_000,
            }
            yield MetricRecord("train", s, values)
            if s % 500 == 0:
                yield MetricRecord("eval", s, {"eval_loss": loss[i] + 0.1})


def parse_line(line: str, fallback_step: int) -> MetricRecord | None:
    """A minimal parser for the probe's log lines (`{'loss': ..., 'step': ...}`)."""
    from trainmon.records import MetricRecord

    values = {k: float(v) for k, v in LINE_RE.findall(line)}
    if not values:
        return None
    step = int(values.pop("step", fallback_step))
    return MetricRecord("train", step, values)


def run_probe(args: argparse.Namespace) -> None:
    """The probe app: `empty`, `static` (1 Hz text), `row` (1 Hz text that keeps its size: no
    layout) or `dash` (plot + sparkline + status)."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from trainmon.plotdata import PlotCache, grad_norm_data, loss_plot_data
    from trainmon.store import MetricStore
    from trainmon.ui.widgets.grad_norm import GradNormPane
    from trainmon.ui.widgets.loss_plot import LossPlot

    class Probe(App[None]):
        CSS = "LossPlot { height: 1fr; } GradNormPane { height: 3; } #status { height: 1; }"

        def __init__(self) -> None:
            super().__init__()
            self.store = MetricStore()
            self.cache = PlotCache()
            self.offset = 0
            self.partial = ""
            self.ticks = 0

        def compose(self) -> ComposeResult:
            if args.mode == "dash":
                yield LossPlot()
                yield GradNormPane()
            if args.mode != "empty":
                yield Static("starting", id="status", markup=False)

        def on_mount(self) -> None:
            if args.mode == "dash":
                if args.preload:
                    self.store.extend(synthetic_records(args.preload), time.time())
                self.redraw()
                self.set_interval(args.refresh, self.follow)
            elif args.mode in ("static", "row"):
                self.set_interval(1.0, self.tick)

        def tick(self) -> None:
            self.ticks += 1
            status = self.query_one("#status", Static)
            status.update(f"tick {self.ticks}", layout=args.mode == "static")

        def follow(self) -> None:
            """Read what was appended; redraw only when records arrived (as the app must)."""
            try:
                with open(args.log, "rb") as f:
                    f.seek(self.offset)
                    chunk = f.read()
            except OSError:
                return
            if not chunk:
                return
            self.offset += len(chunk)
            text = self.partial + chunk.decode("utf-8", errors="replace")
            lines = text.split("\n")
            self.partial = lines.pop()
            step = self.store.last_step or 0
            records = [r for r in (parse_line(x, step + 1) for x in lines) if r is not None]
            if records:
                self.store.extend(records, time.time())
                self.redraw()

        def redraw(self) -> None:
            plot = self.query_one(LossPlot)
            grad = self.query_one(GradNormPane)
            with self.batch_update():
                data = loss_plot_data(self.store, width=plot.data_width, cache=self.cache)
                plot.show([("run.log", data)])
                grad.show(grad_norm_data(self.store, grad.content_size.width or SIZE[0]))
                p = self.store.progress()
                self.query_one("#status", Static).update(
                    f"run.log  step {p.step}  records {self.store.records}"
                )

    Probe().run()


# -- headless redraw cost ----------------------------------------------------------------------


def bench_record(step: int) -> MetricRecord:
    from trainmon.records import MetricRecord

    values = {"loss": 0.5, "learning_rate": 1e-6, "grad_norm": 1.0, "epoch": 1.0}
    return MetricRecord("train", step, values)


async def probe_batch(store: MetricStore, updates: int) -> tuple[float, float]:
    """CPU ms per update of the widget mix (plot, grad norm, status) over `store`, headless.

    Each update appends one record, recomputes the plot data and redraws (the plot's CPU
    budget is lifted so that every redraw is measured). Returns (ms per update, ms of the
    plot-data step alone).
    """
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from trainmon.plotdata import PlotCache, grad_norm_data, loss_plot_data
    from trainmon.ui.widgets.grad_norm import GradNormPane
    from trainmon.ui.widgets.loss_plot import LossPlot

    class Host(App[None]):
        CSS = "LossPlot { height: 1fr; } GradNormPane { height: 3; } Static { height: 1; }"

        def compose(self) -> ComposeResult:
            yield LossPlot(cpu_budget=None)
            yield GradNormPane()
            yield Static("", markup=False)

    data_ms: list[float] = []
    cache = PlotCache()

    def update(app: Host) -> None:
        step = (store.last_step or 0) + 1
        store.extend([bench_record(step)], 0.0)
        t = time.process_time()
        plot = app.query_one(LossPlot)
        grad = app.query_one(GradNormPane)
        data = loss_plot_data(store, width=plot.data_width, cache=cache)
        gdata = grad_norm_data(store, grad.content_size.width)
        data_ms.append((time.process_time() - t) * 1e3)
        with app.batch_update():
            plot.show([("run.log", data)])
            grad.show(gdata)
            app.query_one(Static).update(f"step {step} records {store.records}")

    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):  # warm-up (the first plotext build is slow)
            update(app)
            await pilot.pause()
        data_ms.clear()
        builds = app.query_one(LossPlot).counts.builds
        t = time.process_time()
        for _ in range(updates):
            update(app)
            await pilot.pause()
        ms = (time.process_time() - t) * 1e3 / updates
        if app.query_one(LossPlot).counts.builds - builds != updates:
            print("warning: not every update rebuilt the plot")
    return ms, statistics.median(data_ms)


async def dashboard_batch(store: MetricStore, updates: int) -> float:
    """CPU ms per update of the real dashboard (`TrainmonApp.refresh_now`) over `store`.

    Workers are off; each update appends one record to the run's store, bumps its version and
    refreshes, so plot, grad norm, status and advice all update as in a live run.
    """
    from trainmon.config import DashboardOptions
    from trainmon.ui.app import TrainmonApp
    from trainmon.ui.widgets.loss_plot import LossPlot

    app = TrainmonApp(DashboardOptions(paths=("bench.log",), no_gpu=True), start_workers=False)
    run = app.runs[0].run
    run.store = store

    async def update() -> None:
        step = (store.last_step or 0) + 1
        run.take([bench_record(step)], arrival_s=float(step))
        app.refresh_now()
        await pilot.pause()

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.query_one(LossPlot).cpu_budget = None
        for _ in range(3):
            await update()
        t = time.process_time()
        for _ in range(updates):
            await update()
        return (time.process_time() - t) * 1e3 / updates


def headless_rows(small: int, big: int, rounds: int, updates: int) -> list[tuple[str, str, str]]:
    """Update cost at `small` vs `big` records, in alternating rounds so drift cancels out."""
    from trainmon.store import MetricStore

    stores = {}
    for n in (small, big):
        store = MetricStore()
        store.extend(synthetic_records(n), 0.0)
        stores[n] = store
    has_app = importlib.util.find_spec("trainmon.ui.app") is not None
    app_ms: dict[int, list[float]] = {small: [], big: []}
    probe_ms: dict[int, list[float]] = {small: [], big: []}
    data_ms: dict[int, list[float]] = {small: [], big: []}
    for _ in range(rounds):
        for n in (small, big):
            if has_app:
                app_ms[n].append(asyncio.run(dashboard_batch(stores[n], updates)))
            ms, dms = asyncio.run(probe_batch(stores[n], updates))
            probe_ms[n].append(ms)
            data_ms[n].append(dms)
    med = {
        k: {n: statistics.median(v) for n, v in d.items()}
        for k, d in (("app", app_ms), ("probe", probe_ms), ("data", data_ms))
        if all(d.values())
    }
    rows: list[tuple[str, str, str]] = []
    note = f"median of {rounds} alternating rounds of {updates} updates"
    if "app" in med:
        a = med["app"]
        rows.append(
            (f"dashboard update at {small:,} records (headless CPU)", f"{a[small]:.1f} ms", note)
        )
        rows.append(
            (
                f"dashboard update at {big:,} records (headless CPU)",
                f"{a[big]:.1f} ms",
                f"**{a[big] / a[small]:.2f} x** the {small:,} update (target <= 1.5 x)",
            )
        )
    p = med["probe"]
    rows.append((f"plot + grad norm + status alone, {small:,} records", f"{p[small]:.1f} ms", note))
    rows.append(
        (
            f"plot + grad norm + status alone, {big:,} records",
            f"{p[big]:.1f} ms",
            f"**{p[big] / p[small]:.2f} x** the {small:,} update",
        )
    )
    d = med["data"]
    rows.append(
        (
            "of which plot data (decimate + EMA + grad norm)",
            f"{d[small]:.2f} / {d[big]:.2f} ms",
            f"at {small:,} / {big:,} records",
        )
    )
    return rows


# -- tmux measurements -------------------------------------------------------------------------


@dataclass
class PaneFigures:
    cpu_pct: float
    bytes_per_s: float
    rss_mib: float


class Tmux:
    """A private tmux server (`-L`), so other tmux users neither disturb nor see the run."""

    def __init__(self) -> None:
        self.server = f"trainmon-bench-{os.getpid()}"

    def __call__(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.server, *args], check=True, capture_output=True, text=True
        )
        return out.stdout

    def start(
        self, name: str, command: str, pipe_to: Path | None = None, send_enter: bool = True
    ) -> int:
        """Start `command` in a detached 160x48 pane; returns the app's PID."""
        for attempt in range(10):  # a server that is still shutting down refuses for a moment
            try:
                self(
                    "new-session", "-d", "-s", name, "-x", str(SIZE[0]), "-y", str(SIZE[1]), command
                )
                break
            except subprocess.CalledProcessError:
                if attempt == 9:
                    raise
                self.kill()
                time.sleep(0.3)
        if pipe_to is not None:
            self("pipe-pane", "-t", name, "-o", f"cat >> {pipe_to}")
        time.sleep(0.3)
        if send_enter:
            self("send-keys", "-t", name, "Enter")
        return int(self("list-panes", "-t", name, "-F", "#{pane_pid}").split()[0])

    def capture(self, name: str) -> str:
        return self("capture-pane", "-p", "-t", name)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True)


def cpu_ticks(pid: int, thread: str | None = None) -> int:
    """utime + stime of a process, or of one of its threads (its id under /proc/PID/task)."""
    stat = f"/proc/{pid}/task/{thread}/stat" if thread else f"/proc/{pid}/stat"
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def measure_pane(
    tmux: Tmux,
    command: str,
    window_s: float,
    settle_s: float,
    during: Callable[[float], None] | None = None,
) -> PaneFigures:
    """CPU % of one core, bytes/s to the terminal and RSS of an app in a tmux pane."""
    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory() as tmp:
        pane = Path(tmp) / "pane.bin"
        pane.touch()
        pid = tmux.start("bench", f"read _; exec {command}", pane)
        try:
            time.sleep(settle_s)
            c0, b0, t0 = cpu_ticks(pid), pane.stat().st_size, time.monotonic()
            if during is None:
                time.sleep(window_s)
            else:
                during(window_s)
            c1, b1, t1 = cpu_ticks(pid), pane.stat().st_size, time.monotonic()
            rss = rss_mib(pid)
        finally:
            tmux.kill()
    wall = t1 - t0
    return PaneFigures(100 * (c1 - c0) / hz / wall, (b1 - b0) / wall, rss)


def append_every_second(log: Path, start_step: int) -> Callable[[float], None]:
    """A `during` callback that appends one train record per second to `log`."""

    def run(window_s: float) -> None:
        end = time.monotonic() + window_s
        step = start_step
        with log.open("a") as f:
            while time.monotonic() < end:
                step += 1
                f.write(f"{{'loss': {0.5 + (step % 7) / 100}, 'grad_norm': 1.0, ")
                f.write(f"'learning_rate': 1e-05, 'epoch': 1.0, 'step': {step}}}\n")
                f.flush()
                time.sleep(max(0.0, min(1.0, end - time.monotonic())))

    return run


def write_log(path: Path, records: int) -> None:
    with path.open("w") as f:
        for i in range(1, records + 1):
            f.write(
                f"{{'loss': {2.0 / math.sqrt(i):.5f}, 'grad_norm': {1 + (i % 5) / 10}, "
                f"'learning_rate': 2e-05, 'epoch': {i / 1000:.3f}, 'step': {i}}}\n"
            )


def latency_ms(tmux: Tmux, command: str, log: Path, samples: int, settle_s: float) -> list[float]:
    """Append a record with a unique step and poll the pane until that step shows."""
    out: list[float] = []
    tmux.start("lat", f"read _; exec {command}")
    try:
        time.sleep(settle_s)
        for i in range(samples):
            step = 900_001 + i
            with log.open("a") as f:
                f.write(f"{{'loss': 0.4, 'grad_norm': 1.0, 'epoch': 2.0, 'step': {step}}}\n")
            t0 = time.monotonic()
            while time.monotonic() - t0 < 10:
                if str(step) in tmux.capture("lat"):
                    out.append((time.monotonic() - t0) * 1e3)
                    break
                time.sleep(0.02)
            time.sleep(0.7)
    finally:
        tmux.kill()
    return out


def first_screen_s(tmux: Tmux, command: str, needle: str, runs: int) -> list[float]:
    """Seconds from starting `command` in a pane to `needle` showing (capture-pane poll)."""
    out: list[float] = []
    for i in range(runs + 1):
        tmux.start("fs", f"read _; exec {command}", send_enter=False)
        t0 = time.monotonic()
        tmux("send-keys", "-t", "fs", "Enter")
        seen = None
        while time.monotonic() - t0 < 20:
            if needle in tmux.capture("fs"):
                seen = time.monotonic() - t0
                break
            time.sleep(0.02)
        tmux.kill()
        if seen is not None and i > 0:  # the first run warms the caches
            out.append(seen)
    return out


def wait_until_quiet(pid: int, limit_s: float = 90.0) -> None:
    """Wait until the process used no CPU for 2 s (it has finished loading a big log)."""
    end = time.monotonic() + limit_s
    last = cpu_ticks(pid)
    quiet_since = time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.5)
        now = cpu_ticks(pid)
        if now - last > 2:  # more than 20 ms of CPU in half a second: still busy
            quiet_since = time.monotonic()
        last = now
        if time.monotonic() - quiet_since >= 2.0:
            return


def import_floor_s(runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import textual.app"], check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short windows, fewer repeats")
    parser.add_argument("--skip-tmux", action="store_true", help="headless figures only")
    parser.add_argument("--window", type=float, default=None, help="CPU window in seconds")
    parser.add_argument(
        "--app",
        choices=("trainmon", "probe"),
        default="trainmon",
        help="what runs in the tmux pane: the real dashboard (default) or the widget probe",
    )
    parser.add_argument("--big", type=int, default=1_000_000, help="records for the big run")
    parser.add_argument(
        "--skip-raw-log", action="store_true", help="no raw log view figures (1 GB log)"
    )
    # probe-app mode (used by the benchmark itself inside tmux)
    parser.add_argument("--serve-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="dash", help=argparse.SUPPRESS)
    parser.add_argument("--log", default="", help=argparse.SUPPRESS)
    parser.add_argument("--preload", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--refresh", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_probe:
        run_probe(args)
        return
    if args.app == "trainmon" and importlib.util.find_spec("trainmon.ui.app") is None:
        print("trainmon.ui.app not found: measuring the widget probe instead")
        args.app = "probe"

    quick = args.quick
    window = args.window or (15.0 if quick else 30.0)
    settle = 3.0 if quick else 6.0
    rows: list[tuple[str, str, str]] = []
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, terminal {SIZE[0]}x{SIZE[1]}")

    f_import = import_floor_s(3 if quick else 7)
    rows.append(("F_import: `python -c 'import textual.app'`", f"{f_import * 1e3:.0f} ms", "floor"))

    big = args.big
    rows.extend(headless_rows(1_000, big, 3 if quick else 5, 5 if quick else 10))

    if not args.skip_tmux and shutil.which("tmux"):
        rows.extend(tmux_rows(args, window, settle, f_import, big, quick))
    if not args.skip_raw_log:
        from bench_raw_log import raw_log_rows

        rows.extend(raw_log_rows(quick))
    print()
    print("| measure | value | ratio / note |")
    print("|---|---|---|")
    for name, value, note in rows:
        print(f"| {name} | {value} | {note} |")


def tmux_rows(
    args: argparse.Namespace, window: float, settle: float, f_import: float, big: int, quick: bool
) -> list[tuple[str, str, str]]:
    """CPU, bytes, RSS, latency and first frame in a real 160x48 tmux pane."""
    rows: list[tuple[str, str, str]] = []
    tmux = Tmux()
    me = f"{sys.executable} {Path(__file__).resolve()} --serve-probe"

    def app_command(log: Path) -> str:
        if args.app == "trainmon":
            return f"{sys.executable} -m trainmon --no-gpu {log}"
        return f"{me} --mode dash --log {log}"

    name = "trainmon" if args.app == "trainmon" else "probe"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "run.log"
        write_log(log, 1000)
        app_cmd = app_command(log)
        empty = measure_pane(tmux, f"{me} --mode empty", window, settle)
        static = measure_pane(tmux, f"{me} --mode static", window, settle)
        idle = measure_pane(tmux, app_cmd, window, settle)
        live = measure_pane(tmux, app_cmd, window, settle, append_every_second(log, 2000))
        f_text = static.cpu_pct
        rows.append(("empty Textual app, idle CPU", f"{empty.cpu_pct:.2f} %", "floor"))
        rows.append(("F_text: a `Static` updated at 1 Hz", f"{static.cpu_pct:.2f} %", "floor"))
        rows.append(
            (
                f"{name}: following a log with no new records",
                f"{idle.cpu_pct:.2f} %",
                f"{idle.cpu_pct / f_text:.1f} x F_text (target <= 0.5 %)",
            )
        )
        rows.append(
            (
                f"{name}: a new record every second",
                f"{live.cpu_pct:.2f} %",
                f"{live.cpu_pct / f_text:.1f} x F_text (target <= 2 %)",
            )
        )
        rows.append(
            (
                f"{name}: bytes to the terminal, idle / 1 record per s",
                f"{idle.bytes_per_s:.0f} / {live.bytes_per_s:.0f} B/s",
                f"F_tty {static.bytes_per_s:.0f} B/s",
            )
        )
        rows.append(
            (
                f"{name}: RSS, 1,000 records",
                f"{idle.rss_mib:.1f} MiB",
                f"empty app {empty.rss_mib:.1f} MiB",
            )
        )
        lat = latency_ms(tmux, app_cmd, log, 4 if quick else 8, settle)
        if lat:
            rows.append(
                (
                    f"{name}: append -> on screen (capture-pane poll, 20 ms)",
                    f"{statistics.median(lat):.0f} ms",
                    f"n={len(lat)}, max {max(lat):.0f} ms (target <= 1 s)",
                )
            )
        write_log(log, 1000)
        n_ff = 3 if quick else 5
        ff = first_screen_s(tmux, app_cmd, "step 1000", n_ff)
        ff_empty = first_screen_s(tmux, f"{me} --mode static", "starting", n_ff)
        if ff and ff_empty:
            ms = statistics.median(ff) * 1e3
            rows.append(
                (
                    f"{name}: time to first frame with data (1,000-record log)",
                    f"{ms:.0f} ms",
                    f"{ms / (f_import * 1e3):.2f} x F_import; a `Static` app "
                    f"{statistics.median(ff_empty) * 1e3:.0f} ms",
                )
            )
        big_log = Path(tmp) / "big.log"
        t = time.perf_counter()
        write_log(big_log, big)
        gen_s = time.perf_counter() - t
        pid = tmux.start("big", f"read _; exec {app_command(big_log)}")
        try:
            t = time.monotonic()
            time.sleep(1.0)
            wait_until_quiet(pid)
            load_s = time.monotonic() - t
            shown = str(big) in tmux.capture("big")
            rss = rss_mib(pid)
        finally:
            tmux.kill()
        rows.append(
            (
                f"{name}: RSS after loading {big:,} records",
                f"{rss:.1f} MiB",
                f"{'all' if shown else 'NOT all'} on screen after {load_s:.1f} s "
                f"(log written in {gen_s:.1f} s, {big_log.stat().st_size / 1e6:.0f} MB)",
            )
        )
    return rows


if __name__ == "__main__":
    main()
