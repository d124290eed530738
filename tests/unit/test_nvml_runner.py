"""The sampler runner's cadence (fake clock) and the bounded snapshot history."""

from __future__ import annotations

import math

from tests.fakes.fake_cpu import CountingCpu
from tests.fakes.fake_nvml import GIB, FakeDevice, FakeNvml
from trainmon.sources.history import SystemHistory
from trainmon.sources.nvml import DisabledGpuSource, NvmlGpuSource
from trainmon.sources.runner import SamplerRunner


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cadence_and_training_pid_link() -> None:
    clock = Clock()
    fake = FakeNvml([FakeDevice(processes=[(4242, GIB), (1, GIB)])])
    gpu = NvmlGpuSource(fake, clock=clock)
    cpu = CountingCpu(clock, tree=frozenset({4242}))
    runner = SamplerRunner(gpu, cpu, gpu_interval_s=2.0, cpu_interval_s=1.0, clock=clock)
    gpu_updates = cpu_updates = 0
    last = None
    while clock.now < 10.0:
        update = runner.step()
        gpu_updates += update.gpu is not None
        cpu_updates += update.cpu is not None
        last = update.gpu or last
        clock.now += runner.seconds_until_due() or 0.25
    assert gpu_updates == 5 and cpu_updates == 10
    assert last is not None and last.devices[0].processes is not None
    assert [p.is_training for p in last.devices[0].processes] == [True, False]


def test_interval_floor() -> None:
    clock = Clock()
    runner = SamplerRunner(DisabledGpuSource(), None, gpu_interval_s=0.01, clock=clock)
    runner.step()
    assert runner.seconds_until_due() == 0.5


def test_history_is_bounded_and_keeps_gaps() -> None:
    fake = FakeNvml([FakeDevice(), FakeDevice(lost_after_samples=3)])
    src = NvmlGpuSource(fake, clock=Clock())
    hist = SystemHistory(maxlen=4)
    for _ in range(10):
        hist.add_gpu(src.sample())
    assert len(hist.gpu) == 4
    assert hist.gpu_util("GPU-fake-0000") == (87.0,) * 4
    lost = hist.gpu_util("GPU-fake-0001")
    assert len(lost) == 4 and all(math.isnan(v) for v in lost)
    assert hist.gpu_mem("GPU-fake-0000")[0] == 75.0
    assert hist.gpu_util("nope") == ()
