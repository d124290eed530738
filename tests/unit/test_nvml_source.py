"""The NVML sampler against a fake at the pynvml function boundary (real NVMLError classes)."""

from __future__ import annotations

import os

import pytest

from tests.fakes.fake_nvml import (
    DRIVER_NOT_LOADED,
    GIB,
    LIBRARY_NOT_FOUND,
    NO_PERMISSION,
    NOT_SUPPORTED,
    FakeDevice,
    FakeNvml,
    Raise,
)
from trainmon.sources.nvml import (
    DisabledGpuSource,
    NvmlGpuSource,
    make_gpu_source,
    throttle_words,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source(fake: FakeNvml, clock: Clock | None = None) -> NvmlGpuSource:
    return NvmlGpuSource(fake, clock=clock or Clock(), wall=lambda: 5.0)


def test_one_gpu_fields_match_the_scripted_values() -> None:
    fake = FakeNvml([FakeDevice(throttle=0x4 | 0x40, ecc=2, processes=[(os.getpid(), GIB)])])
    snap = source(fake).sample()
    assert snap.status == "ok"
    assert snap.driver_version == "550.54.14"
    assert snap.cuda_version == "12.4"
    (dev,) = snap.devices
    assert dev.name == "NVIDIA H100 80GB HBM3"
    assert dev.short_name == "H100 80GB HBM3"
    assert dev.util_pct == 87
    assert dev.mem_used_bytes == 60 * GIB  # v2: no driver-reserved memory added
    assert dev.mem_total_bytes == 80 * GIB
    assert dev.temperature_c == 64
    assert dev.power_w == pytest.approx(612.0)
    assert dev.power_limit_w == pytest.approx(700.0)
    assert dev.fan_pct is None  # passively cooled
    assert dev.sm_clock_mhz == 1980
    assert dev.pstate == 0
    assert dev.throttle_reasons == ("power cap", "thermal (hw)")
    assert dev.ecc_errors == 2
    assert dev.processes is not None
    (proc,) = dev.processes
    assert proc.pid == os.getpid() and proc.visible
    assert proc.used_memory_bytes == GIB
    assert proc.command is not None and "pytest" in proc.command
    assert not dev.lost


def test_not_supported_field_is_probed_once_and_never_again() -> None:
    fake = FakeNvml([FakeDevice(fan=Raise(NOT_SUPPORTED), ecc=Raise(NOT_SUPPORTED))])
    clock = Clock()
    src = source(fake, clock)
    for _ in range(6):
        snap = src.sample()
        clock.now += 10.0
    assert snap.devices[0].fan_pct is None
    assert snap.devices[0].ecc_errors is None
    assert fake.count("nvmlDeviceGetFanSpeed") == 1
    assert fake.count("nvmlDeviceGetTotalEccErrors") == 1
    assert fake.count("nvmlDeviceGetUtilizationRates") == 6


def test_nvml_is_initialised_once() -> None:
    fake = FakeNvml([FakeDevice()])
    src = source(fake)
    for _ in range(5):
        src.sample()
    assert fake.count("nvmlInit") == 1
    src.close()
    assert fake.shutdowns == 1


def test_process_list_only_on_the_slow_tier() -> None:
    fake = FakeNvml([FakeDevice(processes=[(os.getpid(), GIB)])])
    clock = Clock()
    src = NvmlGpuSource(fake, clock=clock, slow_interval_s=5.0)
    for _ in range(10):  # 20 s at a 2 s cadence
        snap = src.sample()
        clock.now += 2.0
    assert fake.count("nvmlDeviceGetComputeRunningProcesses") == 4  # t = 0, 6, 12, 18
    assert fake.count("nvmlDeviceGetUtilizationRates") == 10
    assert snap.devices[0].processes is not None  # cached between slow ticks


def test_slow_interval_has_a_five_second_floor() -> None:
    fake = FakeNvml([FakeDevice()])
    clock = Clock()
    src = NvmlGpuSource(fake, clock=clock, slow_interval_s=0.1)
    for _ in range(5):
        src.sample()
        clock.now += 1.0
    assert fake.count("nvmlDeviceGetComputeRunningProcesses") == 1


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (LIBRARY_NOT_FOUND, "NVML not found"),
        (DRIVER_NOT_LOADED, "driver not loaded"),
        (18, "version mismatch"),
        (NO_PERMISSION, "no permission"),
    ],
)
def test_init_failure_is_a_state_with_a_reason(code: int, words: str) -> None:
    fake = FakeNvml(init_error=code)
    snap = source(fake).sample()
    assert snap.status == "unavailable"
    assert words in snap.reason
    assert snap.devices == ()


def test_library_missing_is_not_retried_but_driver_errors_are() -> None:
    clock = Clock()
    missing = FakeNvml(init_error=LIBRARY_NOT_FOUND)
    src = source(missing, clock)
    for _ in range(5):
        src.sample()
        clock.now += 100.0
    assert missing.count("nvmlInit") == 1

    clock = Clock()
    unloaded = FakeNvml(init_error=DRIVER_NOT_LOADED)
    src = source(unloaded, clock)
    src.sample()
    src.sample()
    assert unloaded.count("nvmlInit") == 1  # backoff: not again at once
    clock.now += 6.0
    unloaded.init_error = None
    snap = src.sample()
    assert unloaded.count("nvmlInit") == 2
    assert snap.status == "ok"


def test_zero_gpus() -> None:
    fake = FakeNvml([])
    snap = source(fake).sample()
    assert snap.status == "unavailable"
    assert "0 GPUs" in snap.reason
    assert fake.shutdowns == 1  # the failed init does not leak an NVML reference


def test_lost_gpu_is_sticky_and_the_others_keep_updating() -> None:
    devs = [FakeDevice(util=10 * i) for i in range(3)]
    devs[1].lost_after_samples = 2
    fake = FakeNvml(devs)
    clock = Clock()
    src = source(fake, clock)
    states = []
    for _ in range(6):
        snap = src.sample()
        states.append(snap.devices[1].lost)
        devs[0].util += 1
        clock.now += 2.0
    assert states == [False, False, True, True, True, True]
    assert snap.lost == (1,)
    lost = snap.devices[1]
    assert lost.name == "NVIDIA H100 80GB HBM3"  # cached static fields survive
    assert lost.util_pct is None and lost.lost_since_s == 5.0
    assert snap.devices[0].util_pct == 5  # 0 + 5 increments
    assert snap.devices[2].util_pct == 20
    # The lost handle is not queried again.
    assert fake.count("nvmlDeviceGetUtilizationRates", 1) == 3


def test_lost_at_startup() -> None:
    fake = FakeNvml([FakeDevice(), FakeDevice(lost=True)])
    snap = source(fake).sample()
    assert snap.status == "ok"
    assert [d.lost for d in snap.devices] == [False, True]


def test_memory_falls_back_to_v1_on_old_drivers() -> None:
    fake = FakeNvml([FakeDevice(memory_v2=False)])
    src = source(fake)
    snap = src.sample()
    src.sample()
    assert snap.devices[0].mem_used_bytes == 60 * GIB + 512 * 1024**2
    assert fake.count("nvmlDeviceGetMemoryInfo_v2") == 1  # not retried
    assert fake.count("nvmlDeviceGetMemoryInfo") == 2


def test_unified_memory_total_zero_is_not_available() -> None:
    fake = FakeNvml([FakeDevice(mem_total=0, mem_used=0)])
    dev = source(fake).sample().devices[0]
    assert dev.mem_total_bytes is None and dev.mem_fraction is None


def test_processes_no_permission_vs_empty() -> None:
    fake = FakeNvml([FakeDevice(processes=Raise(NO_PERMISSION)), FakeDevice(processes=[])])
    a, b = source(fake).sample().devices
    assert a.processes is None and "permission" in a.processes_note
    assert b.processes == () and b.processes_note == ""


def test_process_pids_unknown_to_this_namespace() -> None:
    ghost = 2**22 + 12345  # above the default pid_max: never a live pid
    fake = FakeNvml([FakeDevice(processes=[(ghost, 20 * GIB)])])
    dev = source(fake).sample().devices[0]
    assert dev.processes is not None
    (proc,) = dev.processes
    assert not proc.visible and proc.user is None and proc.command is None
    assert proc.used_memory_bytes == 20 * GIB
    assert "--pid=host" in dev.processes_note


def test_mixed_visible_and_exited_pids() -> None:
    ghost = 2**22 + 54321
    fake = FakeNvml([FakeDevice(processes=[(os.getpid(), GIB), (ghost, None)])])
    dev = source(fake).sample().devices[0]
    assert dev.processes is not None
    assert [p.visible for p in dev.processes] == [True, False]
    assert dev.processes[1].used_memory_bytes is None
    assert dev.processes_note == ""


def test_training_pids_are_highlighted() -> None:
    fake = FakeNvml([FakeDevice(processes=[(os.getpid(), GIB), (1, GIB)])])
    src = source(fake)
    src.set_training_pids(frozenset({os.getpid()}))
    procs = src.sample().devices[0].processes
    assert procs is not None
    assert [p.is_training for p in procs] == [True, False]


def test_name_as_bytes_from_old_bindings() -> None:
    fake = FakeNvml([FakeDevice(name=b"Tesla T4")])
    dev = source(fake).sample().devices[0]
    assert dev.name == "Tesla T4" and dev.short_name == "T4"


def test_mig_parent_lists_children_and_util_is_na() -> None:
    children = [
        FakeDevice(name="MIG 3g.40gb", mem_used=5 * GIB, mem_total=40 * GIB),
        FakeDevice(name="MIG 3g.40gb", mem_used=7 * GIB, mem_total=40 * GIB),
    ]
    parent = FakeDevice(util=Raise(NOT_SUPPORTED), mig_mode=1, mig_children=children)
    parent.mem_used = Raise(NOT_SUPPORTED)
    fake = FakeNvml([parent])
    dev = source(fake).sample().devices[0]
    assert dev.mig_enabled is True
    assert dev.util_pct is None
    assert len(dev.mig_devices) == 2
    assert [c.parent_index for c in dev.mig_devices] == [0, 0]
    assert dev.mem_used_bytes == 12 * GIB and dev.mem_total_bytes == 80 * GIB
    assert dev.processes is None and "MIG" in dev.processes_note


def test_library_mismatch_error_is_caught() -> None:
    import pynvml

    fake = FakeNvml([FakeDevice(processes=pynvml.NVMLLibraryMismatchError("old driver"))])
    dev = source(fake).sample().devices[0]
    assert dev.processes is None


def test_driver_unloaded_mid_run_recovers() -> None:
    fake = FakeNvml([FakeDevice()])
    clock = Clock()
    src = source(fake, clock)
    assert src.sample().status == "ok"
    fake.devices[0].util = Raise(DRIVER_NOT_LOADED)
    snap = src.sample()
    assert snap.status == "unavailable" and "retrying" in snap.reason
    fake.devices[0].util = 50
    clock.now += 60.0
    snap = src.sample()
    assert snap.status == "ok" and snap.devices[0].util_pct == 50


def test_throttle_words() -> None:
    assert throttle_words(0) == ()
    assert throttle_words(0x1) == ()  # idle is not a problem
    assert throttle_words(0x4 | 0x20) == ("power cap", "thermal (sw)")


def test_disabled_source_never_imports_pynvml() -> None:
    src = make_gpu_source(no_gpu=True)
    assert isinstance(src, DisabledGpuSource)
    snap = src.sample()
    assert snap.status == "disabled" and "--no-gpu" in snap.reason


def test_real_pynvml_without_a_driver_is_unavailable_not_a_crash() -> None:
    snap = NvmlGpuSource().sample()
    assert snap.status in ("ok", "unavailable")
    if snap.status == "unavailable":
        assert snap.reason.startswith("no GPU")


def test_process_user_and_command_looked_up_once_per_pid() -> None:
    seen: list[int] = []

    def info(pid: int) -> tuple[str | None, str | None]:
        seen.append(pid)
        return ("alice", f"cmd {pid}")

    dev = FakeDevice(processes=[(11, GIB), (12, GIB)])
    fake = FakeNvml([dev, FakeDevice(processes=[(11, GIB)])])
    clock = Clock()
    src = NvmlGpuSource(fake, clock=clock, process_info=info)
    for _ in range(3):
        src.sample()
        clock.now += 6.0
    assert sorted(seen) == [11, 12]
    dev.processes = [(11, GIB)]  # 12 exits ...
    src.sample()
    clock.now += 6.0
    dev.processes = [(11, GIB), (12, GIB)]  # ... and the pid is reused: looked up afresh
    procs = src.sample().devices[0].processes
    assert sorted(seen) == [11, 12, 12]
    assert procs is not None and procs[1].command == "cmd 12"


def test_a_malformed_answer_marks_one_device_not_the_sample() -> None:
    fake = FakeNvml([FakeDevice(processes=[("not-a-pid", GIB)]), FakeDevice()])
    snap = source(fake).sample()
    assert snap.status == "ok"
    bad, good = snap.devices
    assert "sampling failed" in bad.error and not bad.lost
    assert good.util_pct == 87 and good.error == ""


def test_training_flags_follow_the_tree_between_process_polls() -> None:
    fake = FakeNvml([FakeDevice(processes=[(101, GIB), (102, GIB)])])
    clock = Clock()
    src = NvmlGpuSource(fake, clock=clock, process_info=lambda pid: ("u", "c"))
    src.set_training_pids(frozenset({101}))
    first = src.sample().devices[0].processes
    clock.now += 2.0  # no new process poll
    src.set_training_pids(frozenset({102}))
    second = src.sample().devices[0].processes
    src.set_training_pids(frozenset())
    third = src.sample().devices[0].processes
    assert first is not None and second is not None and third is not None
    assert [p.is_training for p in first] == [True, False]
    assert [p.is_training for p in second] == [False, True]
    assert [p.is_training for p in third] == [False, False]
    assert fake.count("nvmlDeviceGetComputeRunningProcesses") == 1
