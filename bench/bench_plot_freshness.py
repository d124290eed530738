"""Plot freshness: how soon a record appended to the log is on the loss plot, and what the
dashboard's CPU is meanwhile, in a real 160x48 tmux pane.

`trainmon --no-gpu LOG` follows a 1,000-record log in a private tmux server. The dashboard is
started through this file (`--serve`), which wraps `LossPlot._build_lines` to note, after each
rebuild of the figure, the monotonic time, how many train records the figure holds and the
rebuild's CPU cost, in a trace file; nothing else changes. A writer appends one record per
second; a record's latency is from its append to the first rebuild whose figure holds it
(the rows are painted in the same pass of the event loop).

CPU (% of one core, from /proc) is measured on the same process: idle (no new records) and
while the records come. The floor is an empty Textual app in the same pane, measured in the
same run (`bench_dashboard.py`'s probe).

    python bench/bench_plot_freshness.py              # 60 s of records, 20 s idle
    python bench/bench_plot_freshness.py --quick      # 25 s, 12 s

Nothing here passes or fails: it prints the figures for bench/README.md and the README.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench_dashboard import Tmux, cpu_ticks, measure_pane, write_log  # noqa: E402


def serve(log: str, trace: str) -> None:
    """Run the dashboard on `log`, noting every rebuild of the loss plot in `trace`."""
    from trainmon import cli
    from trainmon.ui.widgets.loss_plot import LossPlot

    out = open(trace, "a", buffering=1)  # noqa: SIM115 (open for the process' life)
    build_lines = LossPlot._build_lines

    def noted(self: LossPlot) -> object:
        result = build_lines(self)
        runs = self._runs
        count = runs[0][1].train_count if runs else 0
        if self.id == "loss":
            out.write(f"{time.monotonic():.4f} {count} {self.render_cost_s * 1e3:.2f}\n")
        return result

    LossPlot._build_lines = noted  # type: ignore[assignment,method-assign]
    sys.exit(cli.main(["--no-gpu", log]))


def read_trace(path: Path) -> list[tuple[float, int, float]]:
    rows = []
    for line in path.read_text().splitlines():
        t, count, cost = line.split()
        rows.append((float(t), int(count), float(cost)))
    return rows


def cpu_pct(pid: int, seconds: float) -> float:
    hz = os.sysconf("SC_CLK_TCK")
    c0, t0 = cpu_ticks(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_ticks(pid) - c0) / hz / (time.monotonic() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows")
    parser.add_argument("--serve", nargs=2, metavar=("LOG", "TRACE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    live_s, idle_s, settle_s = (25.0, 12.0, 8.0) if args.quick else (60.0, 20.0, 8.0)
    tmux = Tmux()
    me = f"{sys.executable} {Path(__file__).resolve()}"
    probe = f"{sys.executable} {REPO / 'bench' / 'bench_dashboard.py'} --serve-probe"
    with tempfile.TemporaryDirectory() as tmp:
        log, trace = Path(tmp) / "run.log", Path(tmp) / "trace.txt"
        write_log(log, 1000)
        trace.touch()
        empty = measure_pane(tmux, f"{probe} --mode empty", idle_s, settle_s)
        pid = tmux.start("fresh", f"read _; exec {me} --serve {log} {trace}")
        appended: list[tuple[float, int]] = []
        try:
            time.sleep(settle_s)
            idle = cpu_pct(pid, idle_s)
            c0, t0 = cpu_ticks(pid), time.monotonic()
            with log.open("a") as f:
                for k in range(1, int(live_s) + 1):
                    f.write(
                        f"{{'loss': {0.5 + (k % 7) / 100}, 'grad_norm': 1.0, "
                        f"'learning_rate': 1e-05, 'epoch': 1.0, 'step': {2000 + k}}}\n"
                    )
                    f.flush()
                    appended.append((time.monotonic(), 1000 + k))
                    time.sleep(max(0.0, t0 + k - time.monotonic()))
            live = 100 * (cpu_ticks(pid) - c0) / os.sysconf("SC_CLK_TCK")
            live /= time.monotonic() - t0
            time.sleep(3.0)  # the last records' rebuilds
        finally:
            tmux.kill()
        rebuilds = read_trace(trace)
    latencies = []
    for at, count in appended:
        drawn = [t for t, held, _cost in rebuilds if t >= at and held >= count]
        latencies.append(drawn[0] - at if drawn else float("inf"))
    window = [r for r in rebuilds if appended[0][0] <= r[0] <= appended[-1][0] + 1.0]
    costs = [cost for _t, _count, cost in window]
    print(f"load average: {os.getloadavg()[0]:.1f}")
    print(f"floor: empty Textual app, idle: {empty.cpu_pct:.2f} % of one core")
    print(f"trainmon idle (1,000 records, no new ones, {idle_s:.0f} s): {idle:.2f} %")
    print(f"trainmon, one record per second ({live_s:.0f} s): {live:.2f} %")
    print(
        f"rebuilds of the loss plot while records came: {len(window)} "
        f"({len(window) / live_s:.2f}/s), cost median {statistics.median(costs):.1f} ms "
        f"(smoothed, rebuild and painting)"
        if costs
        else "rebuilds of the loss plot while records came: none"
    )
    finite = [x for x in latencies if x != float("inf")]
    missing = len(latencies) - len(finite)
    print(
        f"append -> on the plot: median {statistics.median(latencies) * 1e3:.0f} ms, "
        f"max {max(latencies) * 1e3:.0f} ms, n={len(latencies)}"
        + (f" ({missing} never drawn)" if missing else "")
        + " (target: median <= 1 s, max <= 2 s)"
    )


if __name__ == "__main__":
    main()
