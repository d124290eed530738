"""Where the dashboard's CPU goes: the UI thread's time per part, idle and at one record per
second, in a real 160x48 tmux pane.

`trainmon --no-gpu LOG` follows a 1,000-record log in a private tmux server, started through
this file (`--serve`), which wraps the parts of an update (the screen's compositor pass, each
widget's painting, the plot data, the plot rebuilds, the advice, the status line) to add up
their thread CPU time; nothing else changes. After a settle the totals are reset (SIGUSR1),
then read back (SIGUSR2) after an idle window and after a window of one record per second.
The process' own CPU (from /proc) is printed beside them, and each thread's (by name): what the
parts leave out is the event loop, Textual's messages and the other threads.

    python bench/bench_dashboard_cpu.py              # two 30 s floors, 30 s idle, 30 s of records
    python bench/bench_dashboard_cpu.py --window 15
    python bench/bench_dashboard_cpu.py --plain      # the process only, nothing wrapped

The floors are measured first, in the same pane: an empty Textual app (idle) and one whose
one text row changes once a second without a layout (the least a screen that shows one new
record a second can cost: `bench_dashboard.py`'s probe, `--mode row`).

The wrappers cost a few hundredths of a point themselves: `--plain` gives the figure a user
sees (the README's), the default where it goes.

Nothing here passes or fails: it prints the figures for bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import bench_dashboard  # noqa: E402
from bench_dashboard import Tmux, append_every_second, cpu_ticks, write_log  # noqa: E402


def serve(log: str, out: str, plain: bool = False) -> None:
    """Run the dashboard on `log`; SIGUSR1 resets the totals, SIGUSR2 writes them to `out`
    (`plain`: nothing is wrapped, the totals stay empty)."""
    from textual.screen import Screen
    from textual.widget import Widget

    from trainmon import cli
    from trainmon.advice.engine import AdviceEngine
    from trainmon.ui import app, plot_view
    from trainmon.ui.widgets.grad_norm import GradNormPane
    from trainmon.ui.widgets.loss_plot import LossPlot
    from trainmon.ui.widgets.status_bar import StatusBar

    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def timed(owner: Any, name: str, label: Callable[[Any], str] | None = None) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                key = label(args[0]) if label else f"{owner.__name__}.{name}"
                totals[key][0] += 1
                totals[key][1] += time.thread_time() - started

        setattr(owner, name, wrapper)

    if not plain:
        timed(Widget, "render_lines", lambda w: f"paint {type(w).__name__}#{w.id or ''}")
        timed(Screen, "_compositor_refresh")
        timed(Screen, "_refresh_layout")
        timed(plot_view, "loss_plot_data")
        timed(plot_view, "grad_norm_data")
        timed(LossPlot, "_replot")
        timed(GradNormPane, "show")
        timed(StatusBar, "show")
        timed(AdviceEngine, "update")
        timed(app.TrainmonApp, "tick")

    def reset(*_args: object) -> None:
        totals.clear()

    def dump(*_args: object) -> None:
        names = {str(t.native_id): t.name for t in threading.enumerate()}
        Path(out).write_text(json.dumps({"parts": dict(totals), "threads": names}))

    signal.signal(signal.SIGUSR1, reset)
    signal.signal(signal.SIGUSR2, dump)
    sys.exit(cli.main(["--no-gpu", log]))


def read(pid: int, out: Path) -> dict[str, Any]:
    """The parts' totals (`parts`) and the threads' names by native id (`threads`)."""
    out.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def thread_ticks(pid: int) -> dict[str, int]:
    """utime + stime of each thread of `pid`, by native thread id."""
    ticks: dict[str, int] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            ticks[tid] = cpu_ticks(pid, tid)
    return ticks


def table(title: str, totals: dict[str, list[float]], process_pct: float, seconds: float) -> None:
    print(f"\n{title}: the process {process_pct:.2f} % of one core over {seconds:.0f} s")
    print(f"{'% of a core':>11}  {'calls/s':>7}  {'ms/call':>7}  part (UI thread)")
    for name, (calls, cpu) in sorted(totals.items(), key=lambda kv: -kv[1][1])[:20]:
        share, rate, each = 100 * cpu / seconds, calls / seconds, 1e3 * cpu / calls
        print(f"{share:11.3f}  {rate:7.2f}  {each:7.2f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=30.0, help="seconds per window")
    parser.add_argument("--plain", action="store_true", help="time no part, the process only")
    parser.add_argument("--serve", nargs=2, metavar=("LOG", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve, plain=args.plain)
        return
    hz = os.sysconf("SC_CLK_TCK")
    tmux = Tmux()
    me = f"{sys.executable} {Path(__file__).resolve()}"
    probe = f"{sys.executable} {REPO / 'bench' / 'bench_dashboard.py'} --serve-probe"
    floors = {
        mode: bench_dashboard.measure_pane(tmux, f"{probe} --mode {mode}", args.window, 8.0).cpu_pct
        for mode in ("empty", "row")
    }
    with tempfile.TemporaryDirectory() as tmp:
        log, out = Path(tmp) / "run.log", Path(tmp) / "totals.json"
        write_log(log, 1000)
        plain = " --plain" if args.plain else ""
        pid = tmux.start("cpu", f"read _; exec {me}{plain} --serve {log} {out}")
        try:
            time.sleep(8.0)
            for title, during in (
                ("idle", None),
                ("one record per second", append_every_second(log, 2000)),
            ):
                os.kill(pid, signal.SIGUSR1)
                c0, t0, threads0 = cpu_ticks(pid), time.monotonic(), thread_ticks(pid)
                if during is None:
                    time.sleep(args.window)
                else:
                    during(args.window)
                seconds = time.monotonic() - t0
                process = 100 * (cpu_ticks(pid) - c0) / hz / seconds
                threads = thread_ticks(pid)
                data = read(pid, out)
                table(title, data["parts"], process, seconds)
                used = {tid: n - threads0.get(tid, 0) for tid, n in threads.items()}
                shares = [
                    f"{data['threads'].get(tid, tid)} {100 * n / hz / seconds:.2f}"
                    for tid, n in sorted(used.items(), key=lambda kv: -kv[1])
                    if n > 0
                ]
                print("  threads (% of a core): " + ", ".join(shares))
                floor = floors["empty" if during is None else "row"]
                print(f"  {process / floor:.1f}x the floor ({floor:.2f} %)" if floor else "")
        finally:
            tmux.kill()
    print(f"\nload average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
