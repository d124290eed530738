"""A bounded history of system snapshots, for sparklines and the hardware advice rules.

Fixed-size deques: memory stays constant over a week-long run, and appends are O(1). GPU
series are keyed by UUID, not index, because indices shift when a GPU drops off the bus.
Missing values (N/A, lost) are stored as NaN so that gaps stay gaps.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from trainmon.sources.samples import CpuSnapshot, GpuSnapshot

NAN = math.nan


class SystemHistory:
    """The last `maxlen` GPU and CPU snapshots, plus per-GPU util/memory series."""

    def __init__(self, maxlen: int = 120) -> None:
        self.maxlen = max(1, maxlen)
        self.gpu: deque[GpuSnapshot] = deque(maxlen=self.maxlen)
        self.cpu: deque[CpuSnapshot] = deque(maxlen=self.maxlen)
        self._util: dict[str, deque[float]] = {}
        self._mem: dict[str, deque[float]] = {}

    def add(self, snap: GpuSnapshot | CpuSnapshot) -> None:
        """Record one snapshot of either kind."""
        if isinstance(snap, GpuSnapshot):
            self.add_gpu(snap)
        else:
            self.add_cpu(snap)

    def add_gpu(self, snap: GpuSnapshot) -> None:
        """Record one GPU snapshot (every device, lost ones as NaN)."""
        self.gpu.append(snap)
        for dev in snap.devices:
            key = dev.uuid or f"#{dev.index}"
            util = self._util.setdefault(key, deque(maxlen=self.maxlen))
            mem = self._mem.setdefault(key, deque(maxlen=self.maxlen))
            util.append(NAN if dev.util_pct is None else dev.util_pct)
            frac = dev.mem_fraction
            mem.append(NAN if frac is None else 100.0 * frac)

    def add_cpu(self, snap: CpuSnapshot) -> None:
        """Record one CPU snapshot."""
        self.cpu.append(snap)

    def gpu_util(self, uuid: str) -> Sequence[float]:
        """Utilisation % history of one GPU, oldest first (NaN = not available)."""
        return tuple(self._util.get(uuid, ()))

    def gpu_mem(self, uuid: str) -> Sequence[float]:
        """Memory used % history of one GPU, oldest first (NaN = not available)."""
        return tuple(self._mem.get(uuid, ()))

    def cpu_total(self) -> Sequence[float]:
        """Host CPU % (mean over cores) history, oldest first."""
        return tuple(s.total_pct for s in self.cpu)

    def latest_gpu(self) -> GpuSnapshot | None:
        """The newest GPU snapshot, if any."""
        return self.gpu[-1] if self.gpu else None

    def latest_cpu(self) -> CpuSnapshot | None:
        """The newest CPU snapshot, if any."""
        return self.cpu[-1] if self.cpu else None

    def since(self, time_s: float) -> tuple[tuple[GpuSnapshot, ...], tuple[CpuSnapshot, ...]]:
        """Snapshots taken at or after `time_s` (Unix seconds), for windowed rules."""
        return (
            tuple(s for s in self.gpu if s.time_s >= time_s),
            tuple(s for s in self.cpu if s.time_s >= time_s),
        )
