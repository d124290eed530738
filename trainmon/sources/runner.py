"""Drives the GPU and CPU sources on their cadence, without owning a thread.

The dashboard's worker thread calls `step()` in a loop (sleeping `seconds_until_due()`
between calls) and posts the immutable snapshots it returns to the UI thread. Keeping the
thread outside makes the cadence testable with a fake clock, and a slow NVML call can only
stretch the interval, never overlap two samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from trainmon.sources import CpuSource, GpuSource
from trainmon.sources.samples import CpuSnapshot, GpuSnapshot

MIN_INTERVAL_S = 0.5
WATCH_INTERVAL_S = 0.5
"""How often the known training process is checked for its end (one /proc read), so its
exit shows within a second while the full samples stay at their slower cadence."""


@dataclass(frozen=True, slots=True)
class SystemUpdate:
    """What one `step()` produced; None for a source that was not due."""

    gpu: GpuSnapshot | None = None
    cpu: CpuSnapshot | None = None


class SamplerRunner:
    """Calls each source when it is due, and links the trainer's processes to GPU rows."""

    def __init__(
        self,
        gpu: GpuSource,
        cpu: CpuSource | None,
        *,
        gpu_interval_s: float = 2.0,
        cpu_interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gpu = gpu
        self.cpu = cpu
        self._gpu_every = max(MIN_INTERVAL_S, gpu_interval_s)
        self._cpu_every = max(MIN_INTERVAL_S, cpu_interval_s)
        self._clock = clock
        self._gpu_due = 0.0
        self._cpu_due = 0.0
        self._watch_due = 0.0

    def step(self) -> SystemUpdate:
        """Sample whatever is due now. Never raises: sources turn failures into states."""
        now = self._clock()
        cpu_snap: CpuSnapshot | None = None
        gpu_snap: GpuSnapshot | None = None
        if self.cpu is not None and now >= self._watch_due:
            self._watch_due = now + WATCH_INTERVAL_S
            if self.cpu.watching() and self.cpu.check_exit() is not None:
                self._cpu_due = now  # a full sample now: it carries the exit
        if self.cpu is not None and now >= self._cpu_due:
            cpu_snap = self.cpu.sample()
            self.gpu.set_training_pids(self.cpu.tree_pids())
            self._cpu_due = max(now, self._clock()) + self._cpu_every
        if now >= self._gpu_due:
            gpu_snap = self.gpu.sample()
            # A slow driver stretches the cadence rather than piling up calls.
            self._gpu_due = self._clock() + max(self._gpu_every, gpu_snap.took_s)
        return SystemUpdate(gpu_snap, cpu_snap)

    def seconds_until_due(self) -> float:
        """How long the worker may sleep before the next `step()` has work."""
        due = self._gpu_due
        if self.cpu is not None:
            due = min(due, self._cpu_due)
            if self.cpu.watching():
                due = min(due, self._watch_due)
        return max(0.0, due - self._clock())

    def close(self) -> None:
        """Release NVML (call once, from the thread that sampled)."""
        self.gpu.close()
