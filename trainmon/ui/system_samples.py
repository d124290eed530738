"""How the dashboard takes GPU and CPU samples: into the one system history, to the host's
hardware advice, and, when the training process is seen gone, to the runs it wrote.

A mixin of `TrainmonApp` (the sampler thread posts the messages; the tick redraws the panes).
"""

from __future__ import annotations

from typing import Final

from textual import on
from textual.app import App

from trainmon.run import Run
from trainmon.sources.history import SystemHistory
from trainmon.sources.samples import CpuSnapshot, GpuSnapshot, ProcessExit
from trainmon.ui.messages import CpuSampled, GpuSampled
from trainmon.ui.runs import RunView
from trainmon.ui.widgets.system_pane import SystemPane

EXIT_SETTLE_S: Final = 0.75
"""After the training process is seen gone, the advice waits this long before judging it, so
the follower has read the last lines it wrote (a summary means the run finished well)."""


class SystemSamples(App[None]):
    """The sample handlers and the system pane's update."""

    runs: list[RunView]
    system: SystemHistory
    host: Run
    gpu_snapshot: GpuSnapshot | None
    cpu_snapshot: CpuSnapshot | None
    _gpu_dirty: bool
    _cpu_dirty: bool

    def refresh_now(self) -> None:
        raise NotImplementedError

    def _status_soon(self) -> None:
        raise NotImplementedError

    def _sync_side(self) -> None:
        raise NotImplementedError

    @on(GpuSampled)
    def _gpu_sampled(self, message: GpuSampled) -> None:
        self.gpu_snapshot = message.snapshot
        self._gpu_dirty = True
        self.system.add_gpu(message.snapshot)
        self.host.observe_hardware(message.snapshot)

    @on(CpuSampled)
    def _cpu_sampled(self, message: CpuSampled) -> None:
        self.cpu_snapshot = message.snapshot
        self._cpu_dirty = True
        self.system.add_cpu(message.snapshot)
        self.host.observe_hardware(message.snapshot)
        fact = message.snapshot.training_exit
        if fact is not None and any([view.process_ended(fact) for view in self.runs]):
            # Said at once; judged once the follower has read the trainer's last lines.
            self._status_soon()
            self.set_timer(EXIT_SETTLE_S, lambda: self._advise_exit(fact))
        elif message.snapshot.training is not None:  # a trainer runs (again, after a restart)
            for view in self.runs:
                view.process_found(message.snapshot.training.pid)

    def _advise_exit(self, fact: ProcessExit) -> None:
        for view in self.runs:
            if view.exited == fact:
                view.run.observe_process_exit(fact)
        self.refresh_now()

    def _update_system(self) -> None:
        gpu = self.gpu_snapshot if self._gpu_dirty else None
        cpu = self.cpu_snapshot if self._cpu_dirty else None
        self._gpu_dirty = self._cpu_dirty = False
        if gpu is None and cpu is None:
            return  # no new sample: the panes and the side column stay as they are
        self.query_one("#system", SystemPane).show(gpu, cpu)
        self._sync_side()
