"""The floors the benchmarks divide by, measured the same way everywhere: `grep -c` over the
log (the least any reader of the file costs) and the CPU time of repeated calls."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def grep_seconds(path: Path | str, runs: int = 5) -> float:
    """Median wall time of `LC_ALL=C grep -c "'loss'" PATH > file` over `runs` runs."""
    env = dict(os.environ, LC_ALL="C")
    times = []
    with tempfile.TemporaryFile() as sink:
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(["grep", "-c", "'loss'", str(path)], stdout=sink, env=env, check=False)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cpu_times(func: Callable[[], object], repeats: int) -> list[float]:
    """The process CPU seconds of each of `repeats` calls of `func`."""
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        func()
        times.append(time.process_time() - t0)
    return times
