"""A CPU source double, for tests only: it counts its samples and watches no process."""

from __future__ import annotations

from collections.abc import Callable

from trainmon.sources.samples import CpuSnapshot


class CountingCpu:
    """Each snapshot is taken at `clock()` and carries the sample count as its total CPU %;
    `tree` stands for the training process tree the GPU processes are matched against."""

    def __init__(
        self, clock: Callable[[], float] | None = None, tree: frozenset[int] = frozenset()
    ) -> None:
        self.clock = clock
        self.tree = tree
        self.samples = 0

    def sample(self) -> CpuSnapshot:
        self.samples += 1
        now = self.clock() if self.clock is not None else float(self.samples)
        return CpuSnapshot(now, total_pct=float(self.samples))

    def tree_pids(self) -> frozenset[int]:
        return self.tree

    def watching(self) -> bool:
        return False

    def check_exit(self) -> None:
        return None
