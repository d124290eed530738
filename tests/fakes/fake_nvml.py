"""A scriptable stand-in for the `pynvml` module, for tests only (never used by the app).

It offers the `nvml*` functions trainmon calls, under the same names and signatures, and
raises the REAL `pynvml.NVMLError` subclasses (nvidia-ml-py is pure Python, so they import
without a GPU). A scripted value that is an exception (class or instance) is raised instead
of returned, so "fan not supported on this GPU" is one argument. Every call is logged, so
"probed once, never polled again" can be asserted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pynvml

NVMLError = pynvml.NVMLError
NVMLLibraryMismatchError = pynvml.NVMLLibraryMismatchError
nvmlMemory_v2 = pynvml.nvmlMemory_v2

GIB = 1024**3


def err(code: int) -> BaseException:
    """The real pynvml exception for an NVML return code (e.g. 3 → NotSupported)."""
    return pynvml.NVMLError(code)


NOT_SUPPORTED = pynvml.NVML_ERROR_NOT_SUPPORTED
NO_PERMISSION = pynvml.NVML_ERROR_NO_PERMISSION
GPU_IS_LOST = pynvml.NVML_ERROR_GPU_IS_LOST
FUNCTION_NOT_FOUND = pynvml.NVML_ERROR_FUNCTION_NOT_FOUND
LIBRARY_NOT_FOUND = pynvml.NVML_ERROR_LIBRARY_NOT_FOUND
DRIVER_NOT_LOADED = pynvml.NVML_ERROR_DRIVER_NOT_LOADED


@dataclass(frozen=True)
class Raise:
    """A scripted value meaning "raise the real pynvml error for this NVML code"."""

    code: int


@dataclass
class FakeDevice:
    """One fake GPU. Any field may hold an exception to raise instead."""

    name: Any = "NVIDIA H100 80GB HBM3"
    uuid: str = ""
    util: Any = 87
    mem_used: Any = 60 * GIB
    mem_total: Any = 80 * GIB
    memory_v2: Any = True
    """False: the driver lacks the v2 call (FunctionNotFound)."""
    temp: Any = 64
    power_mw: Any = 612_000
    power_limit_mw: Any = 700_000
    fan: Any = Raise(NOT_SUPPORTED)
    sm_clock: Any = 1980
    pstate: Any = 0
    throttle: Any = 0
    ecc: Any = 0
    processes: Any = field(default_factory=list)
    """List of (pid, used bytes) pairs, or a `Raise`."""
    mig_mode: Any = Raise(NOT_SUPPORTED)
    mig_children: list[FakeDevice] = field(default_factory=list)
    lost: bool = False
    lost_after_samples: int | None = None
    """Become lost once this many utilisation reads have succeeded."""
    samples: int = 0


def _value(value: Any) -> Any:
    if isinstance(value, Raise):
        raise err(value.code)
    if isinstance(value, BaseException):
        raise value
    if isinstance(value, type) and issubclass(value, BaseException):
        raise value()
    return value


class FakeNvml:
    """The fake module. Build it with devices; flip `devices[i].lost` mid-test."""

    def __init__(
        self,
        devices: list[FakeDevice] | None = None,
        *,
        init_error: int | None = None,
        count_error: int | None = None,
    ) -> None:
        self.devices = devices if devices is not None else [FakeDevice()]
        for i, dev in enumerate(self.devices):
            dev.uuid = dev.uuid or f"GPU-fake-{i:04d}"
            for j, child in enumerate(dev.mig_children):
                child.uuid = child.uuid or f"MIG-fake-{i}-{j}"
        self.init_error = init_error
        self.count_error = count_error
        self.calls: list[tuple[str, int | None]] = []
        self.initialised = 0
        self.shutdowns = 0

    # -- helpers ----------------------------------------------------------------------------

    def count(self, name: str, index: int | None = None) -> int:
        """How many times `name` was called (for one device, when given)."""
        return sum(1 for n, i in self.calls if n == name and (index is None or i == index))

    def _log(self, name: str, handle: FakeDevice | None = None) -> None:
        index = None
        if handle is not None:
            index = self._index(handle)
        self.calls.append((name, index))

    def _index(self, handle: FakeDevice) -> int:
        for i, dev in enumerate(self.devices):
            if dev is handle:
                return i
        for dev in self.devices:
            for j, child in enumerate(dev.mig_children):
                if child is handle:
                    return 100 + j
        return -1

    def _check(self, handle: FakeDevice) -> FakeDevice:
        if not self.initialised:
            raise err(pynvml.NVML_ERROR_UNINITIALIZED)
        if handle.lost:
            raise err(GPU_IS_LOST)
        return handle

    def __iter__(self) -> Iterator[FakeDevice]:
        return iter(self.devices)

    # -- the pynvml surface -----------------------------------------------------------------

    def nvmlInit(self) -> None:
        self._log("nvmlInit")
        if self.init_error is not None:
            raise err(self.init_error)
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self._log("nvmlShutdown")
        self.shutdowns += 1
        self.initialised = max(0, self.initialised - 1)

    def nvmlDeviceGetCount(self) -> int:
        self._log("nvmlDeviceGetCount")
        if self.count_error is not None:
            raise err(self.count_error)
        return len(self.devices)

    def nvmlSystemGetDriverVersion(self) -> str:
        self._log("nvmlSystemGetDriverVersion")
        return "550.54.14"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        self._log("nvmlSystemGetCudaDriverVersion")
        return 12040

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeDevice:
        self._log("nvmlDeviceGetHandleByIndex")
        dev = self.devices[index]
        if dev.lost:
            raise err(GPU_IS_LOST)
        return dev

    def nvmlDeviceGetName(self, h: FakeDevice) -> Any:
        self._log("nvmlDeviceGetName", h)
        return _value(self._check(h).name)

    def nvmlDeviceGetUUID(self, h: FakeDevice) -> str:
        self._log("nvmlDeviceGetUUID", h)
        return self._check(h).uuid

    def nvmlDeviceGetMigMode(self, h: FakeDevice) -> tuple[int, int]:
        self._log("nvmlDeviceGetMigMode", h)
        mode = _value(self._check(h).mig_mode)
        return (int(mode), int(mode))

    def nvmlDeviceGetMaxMigDeviceCount(self, h: FakeDevice) -> int:
        self._log("nvmlDeviceGetMaxMigDeviceCount", h)
        return 7 if self._check(h).mig_children else 0

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h: FakeDevice, index: int) -> FakeDevice:
        self._log("nvmlDeviceGetMigDeviceHandleByIndex", h)
        children = self._check(h).mig_children
        if index >= len(children):
            raise err(pynvml.NVML_ERROR_NOT_FOUND)
        return children[index]

    def nvmlDeviceGetUtilizationRates(self, h: FakeDevice) -> SimpleNamespace:
        self._log("nvmlDeviceGetUtilizationRates", h)
        dev = self._check(h)
        if dev.lost_after_samples is not None and dev.samples >= dev.lost_after_samples:
            dev.lost = True
            raise err(GPU_IS_LOST)
        dev.samples += 1
        return SimpleNamespace(gpu=_value(dev.util), memory=40)

    def nvmlDeviceGetMemoryInfo(self, h: FakeDevice, version: int | None = None) -> Any:
        self._log("nvmlDeviceGetMemoryInfo" + ("_v2" if version else ""), h)
        dev = self._check(h)
        if version and not dev.memory_v2:
            raise err(FUNCTION_NOT_FOUND)
        used = _value(dev.mem_used)
        total = _value(dev.mem_total)
        reserved = 0 if version else 512 * 1024**2  # v1 counts driver-reserved memory
        return SimpleNamespace(total=total, used=used + reserved, free=total - used - reserved)

    def nvmlDeviceGetTemperature(self, h: FakeDevice, sensor: int) -> int:
        self._log("nvmlDeviceGetTemperature", h)
        return int(_value(self._check(h).temp))

    def nvmlDeviceGetPowerUsage(self, h: FakeDevice) -> int:
        self._log("nvmlDeviceGetPowerUsage", h)
        return int(_value(self._check(h).power_mw))

    def nvmlDeviceGetEnforcedPowerLimit(self, h: FakeDevice) -> int:
        self._log("nvmlDeviceGetEnforcedPowerLimit", h)
        return int(_value(self._check(h).power_limit_mw))

    def nvmlDeviceGetClockInfo(self, h: FakeDevice, clock: int) -> int:
        self._log("nvmlDeviceGetClockInfo", h)
        return int(_value(self._check(h).sm_clock))

    def nvmlDeviceGetFanSpeed(self, h: FakeDevice) -> int:
        self._log("nvmlDeviceGetFanSpeed", h)
        return int(_value(self._check(h).fan))

    def nvmlDeviceGetPerformanceState(self, h: FakeDevice) -> int:
        self._log("nvmlDeviceGetPerformanceState", h)
        return int(_value(self._check(h).pstate))

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: FakeDevice) -> int:
        self._log("nvmlDeviceGetCurrentClocksEventReasons", h)
        return int(_value(self._check(h).throttle))

    def nvmlDeviceGetTotalEccErrors(self, h: FakeDevice, error_type: int, counter: int) -> int:
        self._log("nvmlDeviceGetTotalEccErrors", h)
        return int(_value(self._check(h).ecc))

    def nvmlDeviceGetComputeRunningProcesses(self, h: FakeDevice) -> list[SimpleNamespace]:
        self._log("nvmlDeviceGetComputeRunningProcesses", h)
        procs = _value(self._check(h).processes)
        return [SimpleNamespace(pid=pid, usedGpuMemory=mem) for pid, mem in procs]
