"""System sources: GPU (NVML) and host (psutil) samplers that produce immutable snapshots.

Only `trainmon.sources.nvml` touches pynvml, and only when a sample is first asked for.
"""

from __future__ import annotations

from typing import Protocol

from trainmon.sources.samples import CpuSnapshot, GpuSnapshot


class GpuSource(Protocol):
    """Anything that produces GPU snapshots (NVML, disabled)."""

    def sample(self) -> GpuSnapshot: ...

    def set_training_pids(self, pids: frozenset[int]) -> None: ...

    def close(self) -> None: ...


class CpuSource(Protocol):
    """Anything that produces host snapshots and knows the training process tree."""

    def sample(self) -> CpuSnapshot: ...

    def tree_pids(self) -> frozenset[int]: ...


__all__ = ["CpuSource", "GpuSource"]
