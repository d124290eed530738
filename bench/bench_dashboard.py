"""Dashboard benchmark: redraw cost vs history, CPU and bytes in a real terminal, startup.

Every figure is printed next to a floor measured in the same run (an empty Textual app, a
`Static` updated at 1 Hz, `import textual.app`), so the ratios can be compared across
machines. Nothing here passes or fails: it prints a markdown table for the README.

    python bench/bench_dashboard.py                 # everything (about 3 minutes)
    python bench/bench_dashboard.py --quick         # short windows, fewer repeats
    python bench/bench_dashboard.py --skip-tmux     # headless figures only
    python bench/bench_dashboard.py --app trainmon  # measure `trainmon LOG` itself in tmux

The "probe" app is a stand-in with the dashboard's widget mix (LossPlot, GradNormPane and a
one-line status) that follows a log once per second and redraws only when records arrived.
With `--app trainmon` the tmux figures come from the real dashboard (`python -m trainmon`).
"""

from __future__ import annotations

import argparse
import asyncio
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
    """The probe app: `empty`, `static` (1 Hz text) or `dash` (plot + sparkline + status)."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from trainmon.plotdata import grad_norm_data, loss_plot_data
    from trainmon.store import MetricStore
    from trainmon.ui.widgets.grad_norm import GradNormPane
    from trainmon.ui.widgets.loss_plot import LossPlot

    t0 = float(os.environ.get("T0", "0") or 0)

    class Probe(App[None]):
        CSS = "LossPlot { height: 1fr; } GradNormPane { height: 3; } #status { height: 1; }"

        def __init__(self) -> None:
            super().__init__()
            self.store = MetricStore()
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
            elif args.mode == "static":
                self.set_interval(1.0, self.tick)
            if args.first_frame:
                self.call_after_refresh(self.first_frame)

        def first_frame(self) -> None:
            Path(args.first_frame).write_text(f"{time.time() - t0:.4f}\n")
            self.exit()

        def tick(self) -> None:
            self.ticks += 1
            self.query_one("#status", Static).update(f"tick {self.ticks}")

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
                data = loss_plot_data(self.store, width=plot.data_width)
                plot.show([("run.log", data)])
                grad.show(grad_norm_data(self.store, grad.content_size.width or SIZE[0]))
                p = self.store.progress()
                self.query_one("#status", Static).update(
                    f"run.log  step {p.step}  records {self.store.records}"
                )

    Probe().run()


# -- headless redraw cost ----------------------------------------------------------------------


async def headless_update_ms(records: int, updates: int, batches: int) -> tuple[float, float]:
    """CPU ms per update (append one record, recompute, redraw) with `records` of history.

    Returns (median ms per full update, median ms of the plot-data step alone).
    """
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from trainmon.plotdata import grad_norm_data, loss_plot_data
    from trainmon.records import MetricRecord
    from trainmon.store import MetricStore
    from trainmon.ui.widgets.grad_norm import GradNormPane
    from trainmon.ui.widgets.loss_plot import LossPlot

    store = MetricStore()
    store.extend(synthetic_records(records), 0.0)
    renders = 0

    class CountingPlot(LossPlot):
        def render(self):  # type: ignore[no-untyped-def]
            nonlocal renders
            renders += 1
            return super().render()

    class Host(App[None]):
        CSS = "CountingPlot { height: 1fr; } GradNormPane { height: 3; } Static { height: 1; }"

        def compose(self) -> ComposeResult:
            yield CountingPlot(cpu_budget=None)  # measure every redraw, not the throttle
            yield GradNormPane()
            yield Static("", markup=False)

    data_ms: list[float] = []
    step = store.last_step or 0

    def update(app: Host) -> None:
        nonlocal step
        step += 1
        rec = MetricRecord(
            "train", step, {"loss": 0.5, "learning_rate": 1e-6, "grad_norm": 1.0, "epoch": 1.0}
        )
        store.extend([rec], 0.0)
        t = time.process_time()
        plot = app.query_one(CountingPlot)
        grad = app.query_one(GradNormPane)
        data = loss_plot_data(store, width=plot.data_width)
        gdata = grad_norm_data(store, grad.content_size.width)
        data_ms.append((time.process_time() - t) * 1e3)
        with app.batch_update():
            plot.show([("run.log", data)])
            grad.show(gdata)
            app.query_one(Static).update(f"step {step} records {store.records}")

    per_update: list[float] = []
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):  # warm-up (the first build of plotext is slow)
            update(app)
            await pilot.pause()
        data_ms.clear()
        for _ in range(batches):
            t = time.process_time()
            for _ in range(updates):
                update(app)
                await pilot.pause()
            per_update.append((time.process_time() - t) * 1e3 / updates)
    if renders < 3 + batches * updates:
        print(f"warning: only {renders} plot renders for {3 + batches * updates} updates")
    return statistics.median(per_update), statistics.median(data_ms)


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

    def start(self, name: str, command: str, pipe_to: Path | None = None) -> int:
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
        self("send-keys", "-t", name, "Enter")
        return int(self("list-panes", "-t", name, "-F", "#{pane_pid}").split()[0])

    def capture(self, name: str) -> str:
        return self("capture-pane", "-p", "-t", name)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True)


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
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


def first_frame_s(tmux: Tmux, command: str, runs: int) -> list[float]:
    """Seconds from a shell timestamp before `exec python` to the app's first frame."""
    out: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):
            ff = Path(tmp) / f"ff{i}.txt"
            tmux.start("ff", f"read _; T0=$(date +%s.%N) exec {command} --first-frame {ff}")
            t_end = time.monotonic() + 20
            while time.monotonic() < t_end and not ff.exists():
                time.sleep(0.05)
            time.sleep(0.1)
            tmux.kill()
            if ff.exists() and i > 0:  # the first run warms the caches
                out.append(float(ff.read_text()))
    return out


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
    parser.add_argument("--app", choices=("probe", "trainmon"), default="probe")
    parser.add_argument("--big", type=int, default=1_000_000, help="records for the big run")
    # probe-app mode (used by the benchmark itself inside tmux)
    parser.add_argument("--serve-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="dash", help=argparse.SUPPRESS)
    parser.add_argument("--log", default="", help=argparse.SUPPRESS)
    parser.add_argument("--preload", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--refresh", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--first-frame", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_probe:
        run_probe(args)
        return

    quick = args.quick
    window = args.window or (15.0 if quick else 30.0)
    settle = 3.0 if quick else 6.0
    rows: list[tuple[str, str, str]] = []
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, terminal {SIZE[0]}x{SIZE[1]}")

    f_import = import_floor_s(3 if quick else 7)
    rows.append(
        ("F_import: `python -c 'import textual.app'` (wall)", f"{f_import * 1e3:.0f} ms", "floor")
    )

    small, big = 1_000, args.big
    updates, batches = (5, 3) if quick else (10, 5)
    ms_small, data_small = asyncio.run(headless_update_ms(small, updates, batches))
    ms_big, data_big = asyncio.run(headless_update_ms(big, updates, batches))
    rows.append((f"update at {small:,} records (headless, CPU)", f"{ms_small:.1f} ms", "floor"))
    rows.append(
        (
            f"update at {big:,} records (headless, CPU)",
            f"{ms_big:.1f} ms",
            f"**{ms_big / ms_small:.2f} x** the {small:,} update (target <= 1.5 x)",
        )
    )
    rows.append(
        (
            "of which plot data (decimate + EMA + grad norm)",
            f"{data_small:.2f} / {data_big:.2f} ms",
            f"at {small:,} / {big:,} records",
        )
    )

    if not args.skip_tmux and shutil.which("tmux"):
        tmux = Tmux()
        me = f"{sys.executable} {Path(__file__).resolve()} --serve-probe"
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "run.log"
            write_log(log, 1000)
            if args.app == "trainmon":
                app_cmd = f"{sys.executable} -m trainmon {log}"
            else:
                app_cmd = f"{me} --mode dash --log {log}"
            empty = measure_pane(tmux, f"{me} --mode empty", window, settle)
            static = measure_pane(tmux, f"{me} --mode static", window, settle)
            idle = measure_pane(tmux, app_cmd, window, settle)
            live = measure_pane(tmux, app_cmd, window, settle, append_every_second(log, 2000))
            f_text = static.cpu_pct
            rows.append(("empty Textual app, idle CPU", f"{empty.cpu_pct:.2f} %", "floor"))
            rows.append(("F_text: a `Static` updated at 1 Hz", f"{static.cpu_pct:.2f} %", "floor"))
            rows.append(
                (
                    f"{args.app}: following a log with no new records",
                    f"{idle.cpu_pct:.2f} %",
                    f"{idle.cpu_pct / f_text:.1f} x F_text (target <= 0.5 %)",
                )
            )
            rows.append(
                (
                    f"{args.app}: a new record every second",
                    f"{live.cpu_pct:.2f} %",
                    f"{live.cpu_pct / f_text:.1f} x F_text (target <= 2 %)",
                )
            )
            rows.append(
                (
                    "bytes to the terminal, idle / 1 record per s",
                    f"{idle.bytes_per_s:.0f} / {live.bytes_per_s:.0f} B/s",
                    f"F_tty {static.bytes_per_s:.0f} B/s",
                )
            )
            rows.append(
                (
                    "RSS, 1,000 records",
                    f"{idle.rss_mib:.1f} MiB",
                    f"empty app {empty.rss_mib:.1f} MiB",
                )
            )
            lat = latency_ms(tmux, app_cmd, log, 4 if quick else 8, settle)
            if lat:
                rows.append(
                    (
                        "append -> on screen (capture-pane poll, 20 ms)",
                        f"{statistics.median(lat):.0f} ms",
                        f"n={len(lat)}, max {max(lat):.0f} ms (target <= 1 s)",
                    )
                )
            if args.app == "probe":
                pre = measure_pane(
                    tmux, f"{me} --mode dash --log {log} --preload {big}", 3.0, settle + 10
                )
                rows.append(
                    (f"RSS, {big:,} records in the store", f"{pre.rss_mib:.1f} MiB", "probe app")
                )
                ff_small = first_frame_s(tmux, f"{me} --mode dash --log {log}", 3 if quick else 5)
                ff_empty = first_frame_s(tmux, f"{me} --mode empty", 3 if quick else 5)
                if ff_small and ff_empty:
                    ms = statistics.median(ff_small) * 1e3
                    rows.append(
                        (
                            "time to first frame, 1,000-record log",
                            f"{ms:.0f} ms",
                            f"{ms / (f_import * 1e3):.2f} x F_import; empty app "
                            f"{statistics.median(ff_empty) * 1e3:.0f} ms",
                        )
                    )
    print()
    print("| measure | value | ratio / note |")
    print("|---|---|---|")
    for name, value, note in rows:
        print(f"| {name} | {value} | {note} |")


if __name__ == "__main__":
    main()
