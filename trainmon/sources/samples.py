"""Immutable GPU and CPU snapshots: what the samplers hand to the UI thread and advice rules.

Frozen and slotted so a sampler thread can post them without copying or locking. Values are
in raw units (bytes, watts, °C, %); `None` always means "not available on this hardware or
not permitted", never zero, so the panes can print N/A instead of lying.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trainmon.i18n import _

GpuStatus = Literal["ok", "unavailable", "disabled"]
"""`ok`: NVML answered (devices may still be lost individually); `unavailable`: no library,
no driver, a driver/library mismatch or zero GPUs (`reason` says which); `disabled`:
`--no-gpu`, NVML never touched."""

FoundBy = Literal["log-writer", "tee", "pid", "pipe"]
"""How the training process was found: it holds the log open for writing; it feeds a
`tee` that does; `--pid` named it; or it writes into trainmon's standard input."""


@dataclass(frozen=True, slots=True)
class GpuProcess:
    """One compute process on a GPU, as NVML reports it, joined with what psutil knows."""

    pid: int
    """Host PID (NVML never translates PID namespaces)."""
    used_memory_bytes: int | None
    """None when NVML does not say (WDDM, MIG without privilege)."""
    user: str | None = None
    """None when psutil cannot see the process or is denied."""
    command: str | None = None
    """Short command line; plain text, never markup."""
    visible: bool = True
    """False when psutil cannot see this PID (another PID namespace, or it has exited)."""
    is_training: bool = False
    """The process, or one in its tree, is the training process."""


@dataclass(frozen=True, slots=True)
class GpuDeviceSample:
    """One GPU (or one MIG device under its parent) at one moment."""

    index: int
    name: str
    uuid: str
    util_pct: float | None = None
    mem_used_bytes: int | None = None
    mem_total_bytes: int | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    fan_pct: float | None = None
    sm_clock_mhz: int | None = None
    pstate: int | None = None
    """Performance state 0..15 (P0 = fastest)."""
    throttle_reasons: tuple[str, ...] | None = None
    """Active clock-event reasons in words ("thermal", "power cap"); () = none; None = N/A.
    "idle" is left out: an idle GPU clocking down is not a problem."""
    ecc_errors: int | None = None
    """Volatile uncorrected ECC errors; None where ECC is unsupported or off."""
    processes: tuple[GpuProcess, ...] | None = None
    """Compute processes; () = none running; None = not supported or not permitted."""
    processes_note: str = ""
    """Why the process list is missing or incomplete ("no permission", "host PIDs ...")."""
    lost: bool = False
    """NVML said GPU_IS_LOST; sticky for the rest of the run."""
    lost_since_s: float | None = None
    error: str = ""
    """A per-device error other than a lost GPU, in words."""
    mig_enabled: bool | None = None
    """None before Ampere (MIG not supported)."""
    mig_devices: tuple[GpuDeviceSample, ...] = ()
    """MIG devices under this parent (memory and processes live there)."""
    parent_index: int | None = None
    """Set on a MIG device: the index of its parent GPU."""
    host: str = ""
    """The node this GPU is on, when the readings come from a cluster (Prometheus); "" for
    the local GPUs NVML reads."""
    xid: int | None = None
    """The last XID error the driver reported for this GPU (0: none); None where not read."""

    @property
    def mem_fraction(self) -> float | None:
        """Memory used / total, 0..1, when both are known and total is not zero."""
        if self.mem_used_bytes is None or not self.mem_total_bytes:
            return None
        return self.mem_used_bytes / self.mem_total_bytes

    @property
    def short_name(self) -> str:
        """The name without the vendor prefix, as nvitop shows it."""
        name = self.name
        for prefix in ("NVIDIA ", "Tesla "):
            if name.startswith(prefix):
                name = name[len(prefix) :]
        return name


@dataclass(frozen=True, slots=True)
class GpuSnapshot:
    """All GPUs at one moment, or the reason there are none to show."""

    time_s: float
    status: GpuStatus
    reason: str = ""
    """Why there is nothing to show (one line, for the dim unavailable state)."""
    devices: tuple[GpuDeviceSample, ...] = ()
    driver_version: str | None = None
    cuda_version: str | None = None
    took_s: float = 0.0
    """Wall time the sample took (NVML calls can block on a busy driver)."""
    source: str = ""
    """Where the readings come from when not the local driver (`Prometheus at URL`)."""
    stale_hosts: tuple[tuple[str, float], ...] = ()
    """Cluster nodes seen earlier whose series stopped (host, seconds since last seen)."""
    host_ram_pct: tuple[tuple[str, float], ...] = ()
    """Cluster nodes' RAM in use (%), from the node exporter where Prometheus scrapes it."""

    @property
    def lost(self) -> tuple[int, ...]:
        """Indices of lost GPUs."""
        return tuple(d.index for d in self.devices if d.lost)


@dataclass(frozen=True, slots=True)
class TrainingProcess:
    """The training process and its whole tree (DataLoader workers included)."""

    pid: int
    cmdline: tuple[str, ...]
    found_by: FoundBy
    cpu_pct: float
    """Whole tree, % of one core (so it can exceed 100)."""
    rss_bytes: int
    """Whole tree; double-counts memory shared between workers, as htop does."""
    threads: int
    """Threads in the whole tree."""
    workers: int
    """Child processes in the tree (DataLoader workers, ranks)."""
    status: str = ""
    """psutil status of the root ("running", "sleeping", "disk-sleep", ...)."""
    io_wait_pct: float | None = None
    """Share of the last interval the tree spent blocked on I/O (delay accounting), if known."""
    allowed_cores: int | None = None
    """len(cpu_affinity()): the cores the trainer may use."""
    note: str = ""
    """Partial information, e.g. "some children not readable"."""
    cuda_visible_devices: str | None = None
    """The trainer's CUDA_VISIBLE_DEVICES, if set and readable: which GPUs it uses even
    where NVML's host PIDs cannot be matched (inside a container)."""

    @property
    def command(self) -> str:
        """The command line as one string (plain text, never markup)."""
        return " ".join(self.cmdline)


@dataclass(frozen=True, slots=True)
class ExitStatus:
    """How a process ended, as codes: rules and alerts compare these, never the words, which
    are in the user's language."""

    code: int | None = None
    """The exit status (0-255); None when a signal ended it."""
    signal: str | None = None
    """The signal's name (`SIGKILL`, or `signal 99` for one Python does not name)."""

    @property
    def clean(self) -> bool:
        """It exited with status 0."""
        return self.signal is None and self.code == 0

    @property
    def sigkill(self) -> bool:
        """SIGKILL ended it (what the kernel's OOM killer sends)."""
        return self.signal == "SIGKILL"

    @property
    def text(self) -> str:
        """`exit status 1` or `killed by SIGKILL`, in the user's language."""
        if self.signal is not None:
            return _("killed by {signal}").format(signal=self.signal)
        return _("exit status {code}").format(code=self.code)


@dataclass(frozen=True, slots=True)
class ProcessExit:
    """The training process ended: an observed fact for the status line, the CPU pane and
    the `process-exited` advice rule."""

    pid: int
    status: ExitStatus | None = None
    """How it ended; None where that cannot be known (a process that is not trainmon's
    child and was already reaped)."""
    time_s: float = 0.0
    """Wall-clock time it was seen gone."""
    log_path: str | None = None
    """The log it wrote; None when it concerns every followed log (`--pid`, the pipe)."""

    @property
    def how(self) -> str:
        """`exit status 1`, `killed by SIGKILL` (in the user's language), or "" when unknown."""
        return self.status.text if self.status is not None else ""

    @property
    def text(self) -> str:
        """`training process 4242 exited (killed by SIGKILL)`."""
        if self.status is None:
            return _("training process {pid} exited").format(pid=self.pid)
        return _("training process {pid} exited ({how})").format(pid=self.pid, how=self.how)


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """The host at one moment, and the training process if it was found."""

    time_s: float
    per_core_pct: tuple[float, ...] = ()
    total_pct: float = 0.0
    load_avg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    ram_used_bytes: int = 0
    ram_total_bytes: int = 0
    ram_available_bytes: int = 0
    swap_used_bytes: int = 0
    swap_total_bytes: int = 0
    ram_used_rate_bps: float | None = None
    """Change of used RAM, bytes/s, since the previous sample (None on the first)."""
    swap_in_bps: float | None = None
    """Bytes swapped in per second since the previous sample (None on the first)."""
    swap_out_bps: float | None = None
    iowait_pct: float | None = None
    """Host-wide iowait share since the previous sample (Linux only)."""
    shm_used_bytes: int | None = None
    """/dev/shm in use: DataLoader workers pass batches through it (Docker's default is
    64 MB, which kills workers with a bus error). None where there is no /dev/shm."""
    shm_total_bytes: int | None = None
    training: TrainingProcess | None = None
    training_reason: str = ""
    """Why the training process is not shown (when `training` is None)."""
    training_exit: ProcessExit | None = None
    """The training process found earlier has exited (until another one is found)."""
