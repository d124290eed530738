"""The system pane: the GPU and CPU panes under one border, fed the newest samples."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from trainmon.sources.history import SystemHistory
from trainmon.sources.samples import CpuSnapshot, GpuSnapshot
from trainmon.ui.widgets.cpu_panel import CpuPanel
from trainmon.ui.widgets.gpu_panel import GpuPanel


class SystemPane(Vertical):
    """GPU rows above the CPU rows; a pane with nothing sampled hides itself."""

    def __init__(
        self, history: SystemHistory, *, gpu: bool, cpu: bool, id: str | None = None
    ) -> None:
        """`gpu` / `cpu`: whether a source samples them (the pane is hidden until then)."""
        super().__init__(id=id)
        self.history = history
        self._show_gpu = gpu
        self._show_cpu = cpu

    def compose(self) -> ComposeResult:
        gpu = GpuPanel(id="gpu", history=self.history)
        gpu.display = self._show_gpu
        yield gpu
        cpu = CpuPanel(id="cpu", history=self.history)
        cpu.display = self._show_cpu
        yield cpu

    @property
    def sampled(self) -> bool:
        """True when either pane has something to show."""
        return bool(self.query_one(GpuPanel).display or self.query_one(CpuPanel).display)

    def show(self, gpu_snapshot: GpuSnapshot | None, cpu_snapshot: CpuSnapshot | None) -> None:
        """Show new samples (None: that sampler has nothing new)."""
        if gpu_snapshot is not None:
            gpu = self.query_one(GpuPanel)
            # --no-gpu: no GPU pane at all. No GPU: one dim line, repainted only when the
            # reason changes (the samples differ only in their time stamps).
            gpu.display = gpu_snapshot.status != "disabled"
            shown = gpu.snapshot
            same_state = (
                gpu_snapshot.status != "ok"
                and isinstance(shown, GpuSnapshot)
                and (shown.status, shown.reason) == (gpu_snapshot.status, gpu_snapshot.reason)
            )
            if gpu.display and not same_state:
                gpu.update_snapshot(gpu_snapshot)
        if cpu_snapshot is not None:
            cpu = self.query_one(CpuPanel)
            cpu.display = True
            cpu.update_snapshot(cpu_snapshot)
