"""How soon the dashboard shows that the training process ended, and what watching it costs.

A real writer process holds the followed log open; trainmon runs in a 160x48 tmux pane and
finds it as the log's writer. The bench then:

- latency: `kill -9` of the writer -> "training process PID exited" on screen, polling
  `capture-pane` every 20 ms (one writer per sample);
- cost: the dashboard's idle CPU over a window while it watches a live writer that writes
  nothing, next to the same dashboard on the same log with no writer (nothing to watch), in
  alternating rounds so machine drift cancels out;
- the check itself: microseconds per `TrainingTracker.check_exit()` on a live process.

    python bench/bench_exit.py            # about 4 minutes
    python bench/bench_exit.py --quick
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_dashboard import Tmux, measure_pane

from trainmon.sources.process import TrainingTracker
from trainmon.sources.runner import WATCH_INTERVAL_S

WRITER = """\
import sys, time
with open(sys.argv[1], "a", buffering=1) as log:
    log.write("step=1 loss=2.0\\n")
    time.sleep(3600)
"""


def trainmon_command(log: Path) -> str:
    script = Path(sys.executable).with_name("trainmon")
    return f"env -u COLUMNS -u LINES TERM=xterm-256color {script} --no-gpu --no-bell {log}"


def start_writer(folder: Path, log: Path) -> subprocess.Popen[bytes]:
    script = folder / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen([sys.executable, str(script), str(log)])


def wait_screen(tmux: Tmux, needle: str, limit_s: float = 60.0, every_s: float = 0.02) -> float:
    """Seconds until `needle` is on screen (polled every `every_s`)."""
    start = time.monotonic()
    while needle not in tmux.capture("bench"):
        if time.monotonic() - start > limit_s:
            raise SystemExit(f"never saw {needle!r}:\n{tmux.capture('bench')}")
        time.sleep(every_s)
    return time.monotonic() - start


def latency_s(folder: Path, samples: int) -> list[float]:
    out: list[float] = []
    for i in range(samples):
        log = folder / f"lat{i}.log"
        writer = start_writer(folder, log)
        tmux = Tmux()
        try:
            while not log.exists() or not log.read_text():
                time.sleep(0.02)
            tmux.start("bench", trainmon_command(log), send_enter=False)
            wait_screen(tmux, f"trainer {writer.pid}")
            time.sleep(0.1 + 0.25 * (i % 4))  # land at different points of the watch period
            os.kill(writer.pid, signal.SIGKILL)
            out.append(wait_screen(tmux, f"training process {writer.pid} exited"))
        finally:
            tmux.kill()
            writer.kill()
            writer.wait()
    return out


def idle_cpu(folder: Path, window_s: float, rounds: int) -> tuple[list[float], list[float]]:
    """(% of a core watching a live writer, % with no writer), alternating."""
    watched: list[float] = []
    alone: list[float] = []
    for r in range(rounds):
        for with_writer in (True, False) if r % 2 == 0 else (False, True):
            log = folder / f"idle{r}{with_writer}.log"
            log.write_text("step=1 loss=2.0\n")
            writer = start_writer(folder, log) if with_writer else None
            try:
                figures = measure_pane(Tmux(), trainmon_command(log), window_s, settle_s=8.0)
            finally:
                if writer is not None:
                    writer.kill()
                    writer.wait()
            (watched if with_writer else alone).append(figures.cpu_pct)
    return watched, alone


def check_cost_us(calls: int) -> float:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        tracker = TrainingTracker([], pid=proc.pid)
        tracker.sample()
        start = time.perf_counter()
        for _ in range(calls):
            assert tracker.check_exit() is None
        return 1e6 * (time.perf_counter() - start) / calls
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, shorter windows")
    args = parser.parse_args()
    samples, window, rounds = (4, 10.0, 2) if args.quick else (8, 30.0, 4)
    with tempfile.TemporaryDirectory(prefix="trainmon-bench-exit-") as tmp:
        folder = Path(tmp)
        cost = check_cost_us(20_000)
        print(f"check_exit on a live process: {cost:.1f} us per call; every {WATCH_INTERVAL_S} s "
              f"that is {100 * cost * 1e-6 / WATCH_INTERVAL_S:.4f} % of a core")  # fmt: skip
        lat = latency_s(folder, samples)
        print(
            f"kill -9 -> 'exited' on screen: median {1000 * statistics.median(lat):.0f} ms, "
            f"max {1000 * max(lat):.0f} ms (n={len(lat)}; runs "
            + ", ".join(f"{1000 * x:.0f}" for x in lat)
            + ")"
        )
        watched, alone = idle_cpu(folder, window, rounds)
        print(
            f"idle CPU watching a live writer: median {statistics.median(watched):.2f} % "
            f"(runs {', '.join(f'{x:.2f}' for x in watched)}); "
            f"same log, no writer: {statistics.median(alone):.2f} % "
            f"(runs {', '.join(f'{x:.2f}' for x in alone)})"
        )


if __name__ == "__main__":
    main()
