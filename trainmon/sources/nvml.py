"""GPU sampler over NVML (`pynvml` from nvidia-ml-py): the only module that touches NVML.

NVML calls serialize on the driver's lock that the trainer also needs, and some are slow
(the process list takes milliseconds), so the sampler is frugal: init once, cheap fields on
every `sample()`, the process list and ECC only every `slow_interval_s`, and a field that
answers NotSupported is never asked again. Every failure becomes a state in the snapshot
(N/A, lost, unavailable with a reason), never an exception. `nvml_module` lets tests pass a
fake with the real `pynvml` exception classes.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeVar

from trainmon.i18n import _
from trainmon.sources.samples import GpuDeviceSample, GpuProcess, GpuSnapshot
from trainmon.text import terminal_safe

T = TypeVar("T")

# NVML return codes (stable across driver versions; see nvml.h).
_NOT_SUPPORTED: Final = 3
_NO_PERMISSION: Final = 4
_NOT_FOUND: Final = 6
_DRIVER_NOT_LOADED: Final = 9
_LIBRARY_NOT_FOUND: Final = 12
_FUNCTION_NOT_FOUND: Final = 13
_GPU_IS_LOST: Final = 15
_LIB_RM_VERSION_MISMATCH: Final = 18
_UNINITIALIZED: Final = 1
_ARGUMENT_VERSION_MISMATCH: Final = 25

_MEMORY_V2: Final = 0x02000028
_MIG_ENABLE: Final = 1

THROTTLE_WORDS: Final[tuple[tuple[int, str], ...]] = (
    (0x4, "power cap"),
    (0x8, "hw slowdown"),
    (0x20, "thermal (sw)"),
    (0x40, "thermal (hw)"),
    (0x80, "power brake"),
    (0x2, "app clocks"),
    (0x10, "sync boost"),
    (0x100, "display clocks"),
)
"""Clock-event reason bits in words, most serious first. GpuIdle (0x1) is left out."""

ProcessInfo = Callable[[int], "tuple[str | None, str | None] | None"]
"""pid -> (user, command), or None when the pid is not visible to this host namespace."""


def throttle_words(mask: int) -> tuple[str, ...]:
    """The active clock-event reasons of an NVML bit mask, in words."""
    return tuple(word for bit, word in THROTTLE_WORDS if mask & bit)


def psutil_process_info(pid: int) -> tuple[str | None, str | None] | None:
    """User and short command of a host PID via psutil; None when it is not visible."""
    import psutil

    try:
        proc = psutil.Process(pid)
    except (psutil.NoSuchProcess, ValueError):
        return None
    except psutil.Error:
        return (None, None)
    user: str | None
    command: str | None
    try:
        user = proc.username()
    except (psutil.Error, KeyError):
        user = None
    try:
        cmd = proc.cmdline()
        command = " ".join(cmd) if cmd else proc.name()
    except psutil.NoSuchProcess:
        return None
    except psutil.Error:
        command = None
    return (user, command)


class _Lost(Exception):
    """Internal: a call on this handle said GPU_IS_LOST."""


class _Reinit(Exception):
    """Internal: NVML went away under us (uninitialized, driver unloaded)."""


@dataclass
class _Device:
    """Mutable per-handle state, owned by the sampler thread."""

    index: int
    handle: Any
    name: str = "?"
    uuid: str = ""
    parent_index: int | None = None
    skip: set[str] = field(default_factory=set)
    """Fields that answered NotSupported (or similar): never polled again."""
    memory_v1: bool = False
    lost: bool = False
    lost_since_s: float | None = None
    error: str = ""
    mig_enabled: bool | None = None
    children: list[_Device] = field(default_factory=list)
    power_limit_w: float | None = None
    ecc_errors: int | None = None
    processes: tuple[GpuProcess, ...] | None = None
    processes_note: str = ""
    marked: tuple[GpuProcess, ...] | None = None
    marked_src: tuple[GpuProcess, ...] | None = None
    marked_pids: frozenset[int] | None = None


def _err_code(err: BaseException) -> int | None:
    value = getattr(err, "value", None)
    return value if isinstance(value, int) else None


def _text(value: object) -> str:
    """An NVML string (bytes in older bindings) as terminal-safe text."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return terminal_safe(str(value))


def _optional_text(value: str | None) -> str | None:
    return None if value is None else terminal_safe(value)


class NvmlGpuSource:
    """Samples every GPU through NVML; `sample()` is cheap enough to call every ~2 s.

    Not thread-safe: one thread (the dashboard's sampler worker) calls `sample()`.
    """

    def __init__(
        self,
        nvml_module: Any = None,
        *,
        slow_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        process_info: ProcessInfo = psutil_process_info,
    ) -> None:
        self._nvml = nvml_module
        self._slow_interval_s = max(5.0, slow_interval_s)
        self._clock = clock
        self._wall = wall
        self._process_info = process_info
        self._initialised = False
        self._devices: list[_Device] = []
        self._reason = ""
        self._retry_at: float | None = None
        """When to try nvmlInit again; None = never (library missing)."""
        self._retries = 0
        self._last_slow: float | None = None
        self._training_pids: frozenset[int] = frozenset()
        self._driver: str | None = None
        self._cuda: str | None = None
        self._pid_info: dict[int, tuple[str | None, str | None] | None] = {}
        self.calls = 0
        """NVML calls made so far (for the benchmark and tests)."""

    # -- public -----------------------------------------------------------------------------

    def set_training_pids(self, pids: frozenset[int]) -> None:
        """The training process tree, so its GPU processes are highlighted."""
        self._training_pids = pids

    def sample(self) -> GpuSnapshot:
        """One snapshot of all GPUs, or the reason there is none. Never raises."""
        start = self._clock()
        wall = self._wall()
        if not self._initialised and not self._try_init(start):
            return self._unavailable(wall, start)
        slow_due = self._last_slow is None or start - self._last_slow >= self._slow_interval_s
        if slow_due:
            self._last_slow = start
        try:
            devices = tuple(self._safe_sample(d, slow_due, wall) for d in self._devices)
            if slow_due:
                self._prune_pid_cache(devices)
        except _Reinit as err:
            self._drop(f"NVML stopped answering ({err}); retrying", start)
            return self._unavailable(wall, start)
        return GpuSnapshot(
            wall,
            "ok",
            "",
            devices,
            self._driver,
            self._cuda,
            took_s=self._clock() - start,
        )

    def close(self) -> None:
        """Shut NVML down (once, at exit)."""
        if self._initialised:
            self._initialised = False
            with contextlib.suppress(Exception):  # shutting down: nobody left to tell
                self._nvml.nvmlShutdown()

    # -- init -------------------------------------------------------------------------------

    def _unavailable(self, wall: float, start: float) -> GpuSnapshot:
        """The snapshot that says why there is nothing to show (error text made safe)."""
        return GpuSnapshot(wall, "unavailable", _text(self._reason), took_s=self._clock() - start)

    def _import(self) -> bool:
        if self._nvml is not None:
            return True
        try:
            with warnings.catch_warnings():
                # The deprecated `pynvml` distribution warns on every import.
                warnings.simplefilter("ignore", FutureWarning)
                import pynvml
        except Exception:
            self._reason = _("no GPU: nvidia-ml-py is not installed (pip install nvidia-ml-py)")
            return False
        if not callable(getattr(pynvml, "nvmlInitWithFlags", None)):
            self._reason = _(
                "no GPU: the `pynvml` module is not NVIDIA's nvidia-ml-py "
                "(pip uninstall pynvml nvidia-ml-py3 && pip install -U nvidia-ml-py)"
            )
            return False
        self._nvml = pynvml
        return True

    def _try_init(self, now: float) -> bool:
        if self._retry_at is not None and now < self._retry_at:
            return False
        if self._retries and self._retry_at is None:
            return False
        self._retries += 1
        if not self._import():
            self._retry_at = None
            return False
        nv = self._nvml
        try:
            nv.nvmlInit()
        except Exception as err:
            self._init_failed(err, now)
            return False
        self.calls += 1
        self._initialised = True  # from here on, close() must shut NVML down
        try:
            count = int(nv.nvmlDeviceGetCount())
            self.calls += 1
            self._driver = self._optional(lambda: _text(nv.nvmlSystemGetDriverVersion()))
            cuda = self._optional(lambda: int(nv.nvmlSystemGetCudaDriverVersion()))
            self._cuda = None if cuda is None else f"{cuda // 1000}.{cuda % 1000 // 10}"
            self._devices = [self._open_device(i) for i in range(count)]
        except Exception as err:
            self._drop(_("NVML init failed: {error}").format(error=err), now)
            return False
        if count == 0:
            self._drop(_("no GPU: NVML sees 0 GPUs (container without --gpus?)"), now, 60.0)
            return False
        self._retries = 0
        return True

    def _init_failed(self, err: BaseException, now: float) -> None:
        code = _err_code(err)
        if code == _LIBRARY_NOT_FOUND:
            self._reason = _("no GPU: NVML not found (no NVIDIA driver on this host)")
            self._retry_at = None
            return
        if code == _DRIVER_NOT_LOADED:
            reason = _("no GPU: NVIDIA driver not loaded")
        elif code == _LIB_RM_VERSION_MISMATCH:
            reason = _("no GPU: NVML/driver version mismatch (reboot or reload the nvidia module)")
        elif code == _NO_PERMISSION:
            reason = _("no GPU: no permission to use NVML")
        else:
            reason = _("no GPU: NVML init failed ({error})").format(error=err or type(err).__name__)

        self._reason = reason
        self._retry_at = now + (5.0, 15.0, 60.0)[min(2, self._retries - 1)]

    def _drop(self, reason: str, now: float, retry_s: float | None = None) -> None:
        """Give up the current init; try again later."""
        self.close()
        self._devices = []
        self._reason = reason
        delay = retry_s if retry_s is not None else (5.0, 15.0, 60.0)[min(2, self._retries)]
        self._retry_at = now + delay
        self._retries += 1

    def _optional(self, fn: Callable[[], T]) -> T | None:
        try:
            self.calls += 1
            return fn()
        except Exception:
            return None

    def _open_device(self, index: int) -> _Device:
        nv = self._nvml
        try:
            self.calls += 1
            handle = nv.nvmlDeviceGetHandleByIndex(index)
        except Exception as err:
            dev = _Device(index, None)
            if _err_code(err) == _GPU_IS_LOST:
                dev.lost, dev.lost_since_s = True, self._wall()
            else:
                dev.error = f"no handle: {err or type(err).__name__}"
            return dev
        dev = _Device(index, handle)
        self._static(dev)
        return dev

    def _static(self, dev: _Device) -> None:
        nv = self._nvml
        try:
            name = self._field(dev, "name", lambda: nv.nvmlDeviceGetName(dev.handle))
            dev.name = _text(name) if name is not None else "?"
            uuid = self._field(dev, "uuid", lambda: nv.nvmlDeviceGetUUID(dev.handle))
            dev.uuid = _text(uuid) if uuid is not None else ""
            if dev.parent_index is not None:
                return
            mig = self._field(dev, "mig", lambda: nv.nvmlDeviceGetMigMode(dev.handle))
            if mig is not None:
                dev.mig_enabled = int(mig[0]) == _MIG_ENABLE
            if dev.mig_enabled:
                dev.children = self._mig_children(dev)
        except _Lost:
            dev.lost, dev.lost_since_s = True, self._wall()

    def _mig_children(self, dev: _Device) -> list[_Device]:
        nv = self._nvml
        count = self._field(dev, "mig_count", lambda: nv.nvmlDeviceGetMaxMigDeviceCount(dev.handle))
        children: list[_Device] = []
        for i in range(int(count or 0)):
            try:
                self.calls += 1
                handle = nv.nvmlDeviceGetMigDeviceHandleByIndex(dev.handle, i)
            except Exception:  # NotFound: that slot holds no MIG device
                continue
            child = _Device(i, handle, parent_index=dev.index)
            self._static(child)
            children.append(child)
        return children

    # -- sampling ---------------------------------------------------------------------------

    def _field(self, dev: _Device, name: str, fn: Callable[[], T]) -> T | None:
        """One NVML call: NotSupported → None and never again; GPU lost → `_Lost`."""
        if name in dev.skip:
            return None
        self.calls += 1
        try:
            return fn()
        except Exception as err:
            code = _err_code(err)
            if code == _GPU_IS_LOST:
                raise _Lost from err
            if code in (_UNINITIALIZED, _DRIVER_NOT_LOADED):
                raise _Reinit(str(err) or type(err).__name__) from err
            if code in (_NOT_SUPPORTED, _FUNCTION_NOT_FOUND, _NOT_FOUND) or code is None:
                # code None: NVMLLibraryMismatchError (binding newer than the driver) or
                # a malformed answer; neither will get better by asking again.
                dev.skip.add(name)
            elif code == _NO_PERMISSION:
                dev.skip.add(name)
                if name == "processes":
                    dev.processes_note = "no permission to list processes"
            return None

    def _memory(self, dev: _Device) -> tuple[int | None, int | None]:
        nv = self._nvml
        info: Any = None
        if not dev.memory_v1 and "memory_v2" not in dev.skip:
            try:
                self.calls += 1
                info = nv.nvmlDeviceGetMemoryInfo(dev.handle, version=_MEMORY_V2)
            except Exception as err:
                code = _err_code(err)
                if code == _GPU_IS_LOST:
                    raise _Lost from err
                if code in (_UNINITIALIZED, _DRIVER_NOT_LOADED):
                    raise _Reinit(str(err)) from err
                if code in (_FUNCTION_NOT_FOUND, _ARGUMENT_VERSION_MISMATCH, None):
                    dev.memory_v1 = True  # an older driver: fall back to v1 for good
                elif code == _NOT_SUPPORTED:
                    dev.skip.add("memory_v2")
                    dev.skip.add("memory")
                    return None, None
                else:
                    return None, None
        if info is None:
            info = self._field(dev, "memory", lambda: nv.nvmlDeviceGetMemoryInfo(dev.handle))
        if info is None:
            return None, None
        total = int(info.total)
        if total <= 0:  # unified-memory parts report 0
            return None, None
        return int(info.used), total

    def _sample_device(self, dev: _Device, slow_due: bool, wall: float) -> GpuDeviceSample:
        if dev.lost or dev.handle is None:
            return self._lost_sample(dev)
        nv = self._nvml
        h = dev.handle
        try:
            util = self._field(dev, "util", lambda: nv.nvmlDeviceGetUtilizationRates(h))
            used, total = self._memory(dev)
            temp = self._field(dev, "temp", lambda: nv.nvmlDeviceGetTemperature(h, 0))
            power = self._field(dev, "power", lambda: nv.nvmlDeviceGetPowerUsage(h))
            sm = self._field(dev, "sm_clock", lambda: nv.nvmlDeviceGetClockInfo(h, 1))
            fan = self._field(dev, "fan", lambda: nv.nvmlDeviceGetFanSpeed(h))
            pstate = self._field(dev, "pstate", lambda: nv.nvmlDeviceGetPerformanceState(h))
            reasons = self._field(dev, "throttle", lambda: self._throttle_mask(h))
            if slow_due:
                self._slow(dev)
            children = tuple(self._sample_device(c, slow_due, wall) for c in dev.children)
        except _Lost:
            dev.lost, dev.lost_since_s = True, wall
            return self._lost_sample(dev)
        if dev.mig_enabled and used is None and children:
            known = [c.mem_used_bytes for c in children if c.mem_used_bytes is not None]
            totals = [c.mem_total_bytes for c in children if c.mem_total_bytes is not None]
            used = sum(known) if known else None
            total = sum(totals) if totals else None
        return GpuDeviceSample(
            index=dev.index,
            name=dev.name,
            uuid=dev.uuid,
            util_pct=None if util is None else float(util.gpu),
            mem_used_bytes=used,
            mem_total_bytes=total,
            temperature_c=None if temp is None else float(temp),
            power_w=None if power is None else power / 1000.0,
            power_limit_w=dev.power_limit_w,
            fan_pct=None if fan is None else float(fan),
            sm_clock_mhz=None if sm is None else int(sm),
            pstate=None if pstate is None else int(pstate),
            throttle_reasons=None if reasons is None else throttle_words(int(reasons)),
            ecc_errors=dev.ecc_errors,
            processes=self._mark_training(dev),
            processes_note=dev.processes_note,
            error=_text(dev.error),
            mig_enabled=dev.mig_enabled,
            mig_devices=children,
            parent_index=dev.parent_index,
        )

    def _prune_pid_cache(self, devices: tuple[GpuDeviceSample, ...]) -> None:
        """Forget pids no GPU lists any more (a reused pid is looked up afresh)."""
        live: set[int] = set()
        for dev in devices:
            for d in (dev, *dev.mig_devices):
                live.update(p.pid for p in d.processes or ())
        for pid in [pid for pid in self._pid_info if pid not in live]:
            del self._pid_info[pid]

    def _safe_sample(self, dev: _Device, slow_due: bool, wall: float) -> GpuDeviceSample:
        """One device; an unexpected failure marks that device, never the whole sample."""
        try:
            return self._sample_device(dev, slow_due, wall)
        except _Reinit:
            raise
        except Exception as err:
            return replace(self._lost_sample(dev), error=_text(f"sampling failed: {err!r}"))

    def _throttle_mask(self, handle: Any) -> int:
        nv = self._nvml
        fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None)
        if fn is None:  # bindings older than R535
            fn = nv.nvmlDeviceGetCurrentClocksThrottleReasons
        return int(fn(handle))

    def _slow(self, dev: _Device) -> None:
        """The expensive tier: process list (ms per call), ECC, power limit."""
        nv = self._nvml
        h = dev.handle
        limit = self._field(dev, "power_limit", lambda: nv.nvmlDeviceGetEnforcedPowerLimit(h))
        dev.power_limit_w = None if limit is None else limit / 1000.0
        if dev.parent_index is None:
            ecc = self._field(
                dev, "ecc", lambda: nv.nvmlDeviceGetTotalEccErrors(h, 1, 0)
            )  # uncorrected, volatile
            dev.ecc_errors = None if ecc is None else int(ecc)
        if dev.mig_enabled:
            # The parent's list needs privileges in MIG mode; the MIG devices hold them.
            dev.processes, dev.processes_note = None, "see MIG devices"
            return
        raw = self._field(dev, "processes", lambda: nv.nvmlDeviceGetComputeRunningProcesses(h))
        if raw is None:
            dev.processes = None
            if not dev.processes_note:
                dev.processes_note = "process list not supported"
            return
        procs: list[GpuProcess] = []
        cache = self._pid_info
        for p in raw:
            pid = int(p.pid)
            mem = getattr(p, "usedGpuMemory", None)
            # User and command do not change while a pid lives: look each pid up once.
            if pid in cache:
                info = cache[pid]
            else:
                info = cache[pid] = self._process_info(pid)
            if info is None:
                procs.append(GpuProcess(pid, _mem(mem), visible=False))
            else:
                # User and command line belong to whoever started the process.
                user, command = _optional_text(info[0]), _optional_text(info[1])
                procs.append(GpuProcess(pid, _mem(mem), user, command))
        dev.processes = tuple(procs)
        if procs and not any(p.visible for p in procs):
            dev.processes_note = "host PIDs not visible here (container? run with --pid=host)"
        else:
            dev.processes_note = ""

    def _mark_training(self, dev: _Device) -> tuple[GpuProcess, ...] | None:
        """The cached process list with the trainer's processes flagged (rebuilt on change)."""
        procs = dev.processes
        if not procs:
            return procs
        # Holding the source tuple itself (not its id) so a recycled id cannot match.
        if dev.marked_src is not procs or dev.marked_pids != self._training_pids:
            pids = self._training_pids
            dev.marked = tuple(
                p if p.is_training == (p.pid in pids) else replace(p, is_training=p.pid in pids)
                for p in procs
            )
            dev.marked_src, dev.marked_pids = procs, pids
        return dev.marked

    def _lost_sample(self, dev: _Device) -> GpuDeviceSample:
        return GpuDeviceSample(
            index=dev.index,
            name=dev.name,
            uuid=dev.uuid,
            lost=dev.lost,
            lost_since_s=dev.lost_since_s,
            error=_text(dev.error),
            parent_index=dev.parent_index,
        )


def _mem(value: object) -> int | None:
    """NVML's usedGpuMemory: None (or a huge sentinel) when not available."""
    if not isinstance(value, int) or value < 0 or value >= 2**63:
        return None
    return value


class DisabledGpuSource:
    """`--no-gpu`: never imports pynvml; every sample says the pane is off and why."""

    def __init__(self, reason: str = "GPU panel off (--no-gpu)") -> None:
        self._reason = reason

    def set_training_pids(self, pids: frozenset[int]) -> None:
        """Nothing to highlight."""

    def sample(self) -> GpuSnapshot:
        return GpuSnapshot(time.time(), "disabled", self._reason)

    def close(self) -> None:
        """Nothing to close."""


def make_gpu_source(no_gpu: bool = False) -> NvmlGpuSource | DisabledGpuSource:
    """The GPU source the dashboard should use for these options."""
    return DisabledGpuSource() if no_gpu else NvmlGpuSource()
