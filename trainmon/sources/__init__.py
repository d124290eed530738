"""System sources: GPU (NVML) and host (psutil) samplers that produce immutable snapshots.

Only `trainmon.sources.nvml` touches pynvml, and only when a sample is first asked for.
"""

from __future__ import annotations

from typing import Protocol

from trainmon.sources.samples import CpuSnapshot, GpuSnapshot, ProcessExit


class GpuSource(Protocol):
    """Anything that produces GPU snapshots (NVML, disabled)."""

    def sample(self) -> GpuSnapshot: ...

    def set_training_pids(self, pids: frozenset[int]) -> None: ...

    def close(self) -> None: ...


class CpuSource(Protocol):
    """Anything that produces host snapshots and knows the training process tree."""

    def sample(self) -> CpuSnapshot: ...

    def tree_pids(self) -> frozenset[int]: ...

    def watching(self) -> bool:
        """True while a training process is known."""

    def check_exit(self) -> ProcessExit | None:
        """The training process's end once seen (cheap: called every `WATCH_INTERVAL_S`)."""


__all__ = ["CpuSource", "GpuSource"]
