"""Many followed logs: idle CPU of `trainmon` following 40 quiet logs in a real tmux pane.

Every figure is printed next to floors measured in the same run: an empty Textual app and
`trainmon` following one quiet log, both in the same 160x48 pane. Nothing here passes or
fails: it prints a markdown table for the README.

    python bench/bench_many_logs.py             # 40 logs, 30 s windows (about 3 minutes)
    python bench/bench_many_logs.py --quick     # 15 s windows
    python bench/bench_many_logs.py --logs 100  # another count

The logs are written before the dashboard starts (1,000 Hugging Face records each) and stay
quiet, so the figure is the cost of following: the poller's stat() calls, the status rows'
once-a-second check, the periodic advice pass and the CPU pane's sampling (`--no-gpu`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_dashboard import SIZE, Tmux, cpu_ticks, rss_mib, wait_until_quiet, write_log

ROWS = list[tuple[str, str, str]]

QUIET_BACKOFF_S = 10.0
"""A log quiet this long is polled half as often: measure the state a quiet log settles in."""


def thread_count(pid: int) -> int:
    """Threads of a process (`Threads:` in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


@dataclass
class Quiet:
    """An app's figures once it has read its logs and gone quiet."""

    cpu_pct: float
    rss_mib: float
    threads: int
    load_s: float
    """Seconds from start until the app used no CPU for 2 s (the histories are read)."""


def measure_quiet(tmux: Tmux, command: str, window_s: float) -> Quiet:
    """CPU % of one core over `window_s` once the app in a tmux pane has gone quiet."""
    hz = os.sysconf("SC_CLK_TCK")
    pid = tmux.start("bench", f"read _; exec {command}")
    try:
        started = time.monotonic()
        time.sleep(1.0)
        wait_until_quiet(pid, limit_s=300.0)
        load_s = time.monotonic() - started
        time.sleep(QUIET_BACKOFF_S)
        c0, t0 = cpu_ticks(pid), time.monotonic()
        time.sleep(window_s)
        c1, t1 = cpu_ticks(pid), time.monotonic()
        figures = Quiet(100 * (c1 - c0) / hz / (t1 - t0), rss_mib(pid), thread_count(pid), load_s)
    finally:
        tmux.kill()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="15 s windows")
    parser.add_argument("--logs", type=int, default=40, help="how many logs to follow")
    parser.add_argument("--records", type=int, default=1000, help="records in each log")
    parser.add_argument("--window", type=float, default=None, help="CPU window in seconds")
    args = parser.parse_args()
    if not shutil.which("tmux"):
        print("tmux not found: nothing to measure")
        return
    window = args.window or (15.0 if args.quick else 30.0)
    me = f"{sys.executable} {Path(__file__).resolve().parent / 'bench_dashboard.py'}"
    trainmon = f"{sys.executable} -m trainmon --no-gpu"
    tmux = Tmux()
    rows: ROWS = []
    print(f"python {sys.version.split()[0]}, terminal {SIZE[0]}x{SIZE[1]}, {args.logs} logs")
    with tempfile.TemporaryDirectory() as tmp:
        logs = [Path(tmp) / f"run{i:02d}.log" for i in range(args.logs)]
        for log in logs:
            write_log(log, args.records)
        empty = measure_quiet(tmux, f"{me} --serve-probe --mode empty", window)
        one = measure_quiet(tmux, f"{trainmon} {logs[0]}", window)
        many = measure_quiet(tmux, f"{trainmon} {' '.join(str(p) for p in logs)}", window)
    rows.append(("empty Textual app, idle CPU", f"{empty.cpu_pct:.2f} %", "floor"))
    rows.append(
        (
            "trainmon following 1 quiet log",
            f"{one.cpu_pct:.2f} %",
            f"{one.cpu_pct / empty.cpu_pct:.1f}x the floor; {one.threads} threads; "
            f"quiet {one.load_s:.0f} s after start",
        )
    )
    rows.append(
        (
            f"trainmon following {args.logs} quiet logs",
            f"{many.cpu_pct:.2f} %",
            f"{many.cpu_pct / empty.cpu_pct:.1f}x the floor, {many.cpu_pct / one.cpu_pct:.1f}x "
            f"one log; {many.threads} threads; quiet {many.load_s:.0f} s after start "
            "(target <= 2 %)",
        )
    )
    rows.append(
        (
            f"RSS, 1 / {args.logs} logs of {args.records:,} records",
            f"{one.rss_mib:.0f} / {many.rss_mib:.0f} MiB",
            f"empty app {empty.rss_mib:.0f} MiB",
        )
    )
    print()
    print("| measure | value | ratio / note |")
    print("|---|---|---|")
    for name, value, note in rows:
        print(f"| {name} | {value} | {note} |")


if __name__ == "__main__":
    main()
