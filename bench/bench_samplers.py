"""Sampler benchmark: CPU cost of GPU (8 fake GPUs) + CPU sampling per tick, vs a floor.

The GPU side runs against the test fake of `pynvml` (no driver here), so driver time (ioctl,
RM lock) is NOT included: this measures trainmon's own Python work per sample. The CPU side
is real psutil, with a real training process tree (a writer with two worker children) to
find and measure. Ticks follow the default cadence on a simulated clock (GPU and CPU every
2 s, GPU processes every >= 5 s), so tier proportions are the real ones without waiting.

Figures are printed next to a floor measured in the same run (one raw read of /proc/stat),
so the ratio can be compared across machines. Nothing here passes or fails.

    python bench/bench_samplers.py            # 3 repeats of 1500 ticks (about 10 s)
    python bench/bench_samplers.py --quick    # 3 repeats of 300 ticks
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
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fakes.fake_nvml import GIB, FakeDevice, FakeNvml  # noqa: E402
from trainmon.sources.cpu import PsutilCpuSource  # noqa: E402
from trainmon.sources.nvml import NvmlGpuSource  # noqa: E402
from trainmon.sources.runner import SamplerRunner  # noqa: E402

INTERVAL_S = 2.0
"""The dashboard's default GPU and CPU sampling interval."""

WRITER = """\
import subprocess, sys, time
kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(2)]
with open(sys.argv[1], "a") as log:
    while True:
        print("{'loss': 1.0}", file=log, flush=True)
        time.sleep(0.5)
"""


class SimClock:
    """A clock the benchmark advances by hand, so 1500 ticks take no wall time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def floor_us(n: int = 20000) -> float:
    """CPU µs of one raw read of /proc/stat (median of 5 batches)."""
    path = Path("/proc/stat")
    times = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(n):
            path.read_bytes()
        times.append((time.process_time() - start) / n * 1e6)
    return statistics.median(times)


def eight_gpus(writer_pid: int) -> FakeNvml:
    return FakeNvml(
        [
            FakeDevice(util=80 + i, processes=[(writer_pid, 20 * GIB), (10_000_000 + i, GIB)])
            for i in range(8)
        ]
    )


def _ticks(step: Callable[[], object], clock: SimClock, ticks: int) -> float:
    """CPU µs per call of `step`, the simulated clock moving on by one interval each time."""
    step()  # init and discovery happen once; the steady state is what runs for hours
    clock.now += INTERVAL_S
    start = time.process_time()
    for _ in range(ticks):
        step()
        clock.now += INTERVAL_S
    return (time.process_time() - start) / ticks * 1e6


def measure(ticks: int, log: Path, writer_pid: int) -> tuple[float, float, float, float]:
    """CPU µs per tick for GPU+CPU together, GPU alone, CPU alone; NVML calls per tick."""
    clock = SimClock()
    gpu = NvmlGpuSource(eight_gpus(writer_pid), clock=clock)
    cpu = PsutilCpuSource([str(log)], clock=clock)
    both_runner = SamplerRunner(
        gpu, cpu, gpu_interval_s=INTERVAL_S, cpu_interval_s=INTERVAL_S, clock=clock
    )
    both = _ticks(both_runner.step, clock, ticks)
    snap = both_runner.history.latest_cpu()
    assert snap is not None and snap.training is not None, "the writer was not found"

    clock = SimClock()
    gpu = NvmlGpuSource(eight_gpus(writer_pid), clock=clock)
    gpu_runner = SamplerRunner(gpu, None, gpu_interval_s=INTERVAL_S, clock=clock)
    gpu.sample()
    calls0 = gpu.calls
    gpu_only = _ticks(gpu_runner.step, clock, ticks)
    calls = (gpu.calls - calls0) / (ticks + 1)

    clock = SimClock()
    cpu = PsutilCpuSource([str(log)], clock=clock)
    cpu_only = _ticks(cpu.sample, clock, ticks)
    return (both, gpu_only, cpu_only, calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 ticks per repeat")
    parser.add_argument("--ticks", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ticks = args.ticks or (300 if args.quick else 1500)

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "run.log"
        script = Path(tmp) / "writer.py"
        script.write_text(WRITER)
        proc = subprocess.Popen([sys.executable, str(script), str(log)], start_new_session=True)
        try:
            while not log.exists() or not log.stat().st_size:
                time.sleep(0.05)
            time.sleep(0.3)  # let the workers start
            floor = floor_us()
            runs = [measure(ticks, log, proc.pid) for _ in range(args.repeats)]
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    both = statistics.median(r[0] for r in runs)
    gpu = statistics.median(r[1] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
    calls = statistics.median(r[3] for r in runs)
    share = both / (INTERVAL_S * 1e6) * 100
    print(f"ticks per repeat: {ticks}, repeats: {args.repeats}, interval {INTERVAL_S:g} s")
    print(f"floor F_proc (one raw read of /proc/stat): {floor:.1f} µs CPU")
    print()
    print("| what (per tick) | CPU µs | × F_proc | % of one core at 2 s |")
    print("|---|---|---|---|")
    for name, value in (
        ("GPU + CPU sampling (8 fake GPUs + psutil + trainer tree)", both),
        ("GPU sampling alone (8 fake GPUs, processes every ≥5 s)", gpu),
        ("CPU sampling alone (psutil + trainer tree of 3)", cpu),
    ):
        pct = value / (INTERVAL_S * 1e6) * 100
        print(f"| {name} | {value:.0f} | {value / floor:.1f} | {pct:.4f} % |")
    print()
    print(f"NVML calls per tick (8 GPUs): {calls:.1f}")
    print(f"target: GPU + CPU ≤ 0.3 % of one core → {'met' if share <= 0.3 else 'NOT met'}")
    print("(driver time is not included: the GPU side runs against a fake of pynvml)")


if __name__ == "__main__":
    main()
