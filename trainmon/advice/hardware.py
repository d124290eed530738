"""Hardware rules over the GPU and CPU samplers' snapshots.

Judged over time windows (seconds on the samplers' clock), never on one sample: a single
low-utilisation reading is an eval or a checkpoint save, not a bottleneck. Memory "used"
near full is only information, because caching allocators keep freed memory reserved.
"""

from __future__ import annotations

from collections import deque

from trainmon.advice.base import Hit, RuleInfo
from trainmon.advice.stats import fmt
from trainmon.i18n import _
from trainmon.sources.history import SystemHistory
from trainmon.sources.samples import CpuSnapshot, GpuDeviceSample, GpuSnapshot

WINDOW_S = 60.0
SHORT_S = 30.0
HISTORY = 600

HARDWARE_RULES: tuple[RuleInfo, ...] = (
    RuleInfo("gpu-memory-pressure", "hardware", "info", "GPU memory nearly full"),
    RuleInfo("gpu-idle", "hardware", "info", "GPU idle while training: input pipeline"),
    RuleInfo("gpu-throttle", "hardware", "warning", "thermal or power-brake throttling"),
    RuleInfo("gpu-ecc", "hardware", "critical", "uncorrectable GPU memory errors"),
    RuleInfo("gpu-lost", "hardware", "critical", "a GPU fell off the bus"),
    RuleInfo("ram-pressure", "hardware", "warning", "host RAM nearly exhausted"),
    RuleInfo("swapping", "hardware", "warning", "host swapping"),
    RuleInfo("cpu-bound", "hardware", "warning", "CPU saturated while the GPU waits"),
    RuleInfo("node-straggler", "hardware", "warning", "one node's GPUs idle while the others work"),
    RuleInfo("gpu-xid", "hardware", "critical", "a GPU reported an XID error (cluster GPUs)"),
)

_SLOW = ("hw slowdown", "thermal (sw)", "thermal (hw)", "power brake")

STRAGGLER_RATIO = 0.5
"""A node is a straggler when its GPUs are busy less than this share of the other nodes'
median, while those work (median at least `STRAGGLER_BUSY` %)."""
STRAGGLER_BUSY = 50.0


def gpu_name(dev: GpuDeviceSample) -> str:
    """`GPU 3`, or `node-b GPU 3` for a cluster GPU (indices repeat on every node)."""
    return f"{dev.host} GPU {dev.index}" if dev.host else f"GPU {dev.index}"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _devices(snapshot: GpuSnapshot) -> list[GpuDeviceSample]:
    """The GPUs the trainer uses when the process lists say so, else all live GPUs."""
    live = [d for d in snapshot.devices if not d.lost]
    used = [d for d in live if d.processes and any(p.is_training for p in d.processes)]
    return used or live


class HardwareRules:
    """The hardware verdicts after each new sample, judged over the system history.

    The dashboard hands in its one `SystemHistory` (the panes read the same one) and adds
    each sample to it before `observe`; without one, the rules keep their own and add the
    samples themselves.
    """

    def __init__(self, history: SystemHistory | None = None) -> None:
        self.history = history if history is not None else SystemHistory(maxlen=HISTORY)
        self._feeds_history = history is None
        self.ecc_base: dict[str, int] = {}

    @property
    def gpu(self) -> list[GpuSnapshot]:
        """The GPU samples NVML answered (a pane's "no GPU" states carry no readings)."""
        return [s for s in self.history.gpu if s.status == "ok"]

    @property
    def cpu(self) -> deque[CpuSnapshot]:
        return self.history.cpu

    def observe(self, sample: object) -> list[tuple[str, Hit | None]]:
        """Judge a new sample; return (rule id, hit or None) for every rule it informs."""
        if self._feeds_history and isinstance(sample, GpuSnapshot | CpuSnapshot):
            self.history.add(sample)
        if isinstance(sample, GpuSnapshot):
            if sample.status != "ok":
                return []
            return [
                ("gpu-memory-pressure", self._memory()),
                ("gpu-idle", self._idle()),
                ("gpu-throttle", self._throttle()),
                ("gpu-ecc", self._ecc(sample)),
                ("gpu-lost", self._lost(sample)),
                ("cpu-bound", self._cpu_bound()),
                ("node-straggler", self._straggler()),
                ("gpu-xid", self._xid(sample)),
            ]
        if isinstance(sample, CpuSnapshot):
            return [
                ("ram-pressure", self._ram()),
                ("swapping", self._swap()),
                ("cpu-bound", self._cpu_bound()),
            ]
        return []

    # -- windows ---------------------------------------------------------------------------

    def _gpu_window(self, seconds: float) -> list[GpuSnapshot]:
        gpu = self.gpu
        if not gpu:
            return []
        end = gpu[-1].time_s
        return [s for s in gpu if s.time_s >= end - seconds]

    def _cpu_window(self, seconds: float) -> list[CpuSnapshot]:
        if not self.cpu:
            return []
        end = self.cpu[-1].time_s
        return [s for s in self.cpu if s.time_s >= end - seconds]

    @staticmethod
    def _spans(samples: list[GpuSnapshot] | list[CpuSnapshot], seconds: float) -> bool:
        return len(samples) >= 3 and samples[-1].time_s - samples[0].time_s >= 0.8 * seconds

    def _utils(self, seconds: float) -> list[float]:
        out: list[float] = []
        for snap in self._gpu_window(seconds):
            vals = [d.util_pct for d in _devices(snap) if d.util_pct is not None]
            if vals:
                out.append(sum(vals) / len(vals))
        return out

    # -- rules -----------------------------------------------------------------------------

    def _memory(self) -> Hit | None:
        window = self._gpu_window(SHORT_S)
        if not self._spans(window, SHORT_S):
            return None
        worst: tuple[float, GpuDeviceSample] | None = None
        for snap in window:
            fracs = [(d.mem_fraction, d) for d in _devices(snap) if d.mem_fraction is not None]
            if not fracs or (min(f for f, _ in fracs) <= 0.97 and max(f for f, _ in fracs) <= 0.97):
                return None
            top = max(fracs, key=lambda fd: fd[0] or 0.0)
            worst = (top[0] or 0.0, top[1])
        assert worst is not None
        frac, dev = worst
        return Hit(
            "info",
            None,
            _("{gpu} memory is {share:.0%} used").format(gpu=gpu_name(dev), share=frac),
            _("{gpu} {share:.1%} of memory used for {seconds:.0f} s").format(
                gpu=gpu_name(dev), share=frac, seconds=SHORT_S
            ),
            _(
                "Often normal (caching allocators keep memory reserved). If you hit OOM: "
                "smaller per-device batch with gradient accumulation, gradient checkpointing, "
                "bf16, shorter sequences, or PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True."
            ),
        )

    def _idle(self) -> Hit | None:
        window = self._gpu_window(WINDOW_S)
        utils = self._utils(WINDOW_S)
        if not self._spans(window, WINDOW_S) or len(utils) < 3:
            return None
        utils_sorted = sorted(utils)
        med = utils_sorted[len(utils_sorted) // 2]
        if med >= 50 or not self._training_running():
            return None
        cpu = self.cpu[-1] if self.cpu else None
        why = ""
        if cpu is not None and cpu.training is not None:
            t = cpu.training
            if t.cpu_pct >= 90 and t.workers == 0:
                why = _("trainer at {share:.0%} of a core with no worker processes").format(
                    share=t.cpu_pct / 100
                )
            elif t.io_wait_pct is not None and t.io_wait_pct > 20:
                why = _("trainer blocked on I/O {share:.0%} of the time").format(
                    share=t.io_wait_pct / 100
                )
        if not why and cpu is not None and cpu.iowait_pct is not None and cpu.iowait_pct > 20:
            why = _("host iowait {pct:.0f}%").format(pct=cpu.iowait_pct)
        return Hit(
            "warning" if why else "info",
            None,
            _("GPU busy only {share:.0%} of the time while training").format(share=med / 100),
            _("median GPU utilisation {share:.0%} over {seconds:.0f} s").format(
                share=med / 100, seconds=WINDOW_S
            )
            + (f"; {why}" if why else ""),
            _(
                "The input pipeline is the bottleneck: DataLoader num_workers > 0, "
                "pin_memory=True, persistent_workers=True; pre-tokenise or cache the data."
            ),
        )

    def _training_running(self) -> bool:
        """Whether something is training: the trainer is known and alive, or a compute process
        runs on the GPU. With neither, an idle GPU is just a finished or paused run."""
        if self.cpu and self.cpu[-1].training is not None:
            return self.cpu[-1].training.status not in ("zombie", "stopped", "dead")
        gpu = self.gpu
        return bool(gpu) and any(d.processes for d in gpu[-1].devices)

    def _throttle(self) -> Hit | None:
        window = self._gpu_window(WINDOW_S)
        if not self._spans(window, WINDOW_S):
            return None
        slowed = 0
        reasons: set[str] = set()
        temp: float | None = None
        names: list[str] = []
        for snap in window:
            hit = False
            names = []
            for d in _devices(snap):
                active = [r for r in (d.throttle_reasons or ()) if r in _SLOW]
                if active:
                    hit = True
                    reasons.update(active)
                    temp = d.temperature_c
                    names.append(gpu_name(d))
            slowed += hit
        if slowed < 0.5 * len(window):
            return None
        return Hit(
            "warning",
            None,
            _("GPU is being throttled: {reasons}").format(reasons=", ".join(sorted(reasons))),
            _("{count} of {total} samples over {seconds:.0f} s throttled").format(
                count=slowed, total=len(window), seconds=WINDOW_S
            )
            + (f" ({', '.join(names[:4])}{' …' if len(names) > 4 else ''})" if names else "")
            + (f"; {fmt(temp)} °C" if temp is not None else ""),
            _(
                "Clocks are cut: check airflow, fans, ambient temperature and power limits; "
                "expect slower steps."
            ),
        )

    def _ecc(self, snap: GpuSnapshot) -> Hit | None:
        new: list[str] = []
        for d in snap.devices:
            if d.ecc_errors is None:
                continue
            base = self.ecc_base.setdefault(d.uuid, d.ecc_errors)
            if d.ecc_errors > base:
                new.append(f"{gpu_name(d)}: {base}→{d.ecc_errors}")
        if not new:
            return None
        return Hit(
            "critical",
            None,
            _("GPU reported uncorrectable memory errors"),
            _("volatile uncorrected ECC errors {errors}").format(errors="; ".join(new)),
            _(
                "Results after this point may be corrupted: checkpoint, stop, and move the job "
                "off this GPU."
            ),
        )

    @staticmethod
    def _lost(snap: GpuSnapshot) -> Hit | None:
        lost = snap.lost
        if not lost:
            return None
        return Hit(
            "critical",
            None,
            _("A GPU is lost (fell off the bus)"),
            _("lost GPU index {indices}").format(indices=", ".join(str(i) for i in lost)),
            _(
                "The job on it is dead or will hang: stop, check `dmesg` for Xid errors, reset "
                "or drain the node, and restart from the last checkpoint."
            ),
        )

    def _ram(self) -> Hit | None:
        window = self._cpu_window(SHORT_S)
        if not self._spans(window, SHORT_S):
            return None
        if any(not s.ram_total_bytes for s in window):
            return None
        fracs = [s.ram_available_bytes / s.ram_total_bytes for s in window]
        if max(fracs) >= 0.05:
            return None
        return Hit(
            "warning",
            None,
            _("Host RAM nearly exhausted"),
            _("available RAM {low:.1%}–{high:.1%} of total for {seconds:.0f} s").format(
                low=min(fracs), high=max(fracs), seconds=SHORT_S
            ),
            _(
                "The OOM killer may end the run: fewer DataLoader workers and less prefetch, "
                "memory-mapped or streamed datasets, no per-worker copies of Python-object "
                "data."
            ),
        )

    def _swap(self) -> Hit | None:
        window = self._cpu_window(SHORT_S)
        if not self._spans(window, SHORT_S):
            return None
        rates = [(s.swap_in_bps or 0.0) + (s.swap_out_bps or 0.0) for s in window[1:]]
        if not rates or min(rates) <= 10e6:
            return None
        return Hit(
            "warning",
            None,
            _("The host is swapping"),
            _("swap traffic {low:.0f}–{high:.0f} MB/s for {seconds:.0f} s").format(
                low=min(rates) / 1e6, high=max(rates) / 1e6, seconds=SHORT_S
            ),
            _(
                "Every step slows down: free RAM with fewer workers or a smaller in-memory "
                "dataset or cache."
            ),
        )

    def _cpu_bound(self) -> Hit | None:
        cpus = self._cpu_window(WINDOW_S)
        utils = self._utils(WINDOW_S)
        if not self._spans(cpus, WINDOW_S) or len(utils) < 3:
            return None
        if min(s.total_pct for s in cpus) <= 90 or max(utils) >= 70:
            return None
        return Hit(
            "warning",
            None,
            _("CPU is saturated while the GPU waits"),
            _("CPU ≥{cpu:.0f}% and GPU ≤{gpu:.0f}% busy for {seconds:.0f} s").format(
                cpu=min(s.total_pct for s in cpus), gpu=max(utils), seconds=WINDOW_S
            ),
            _(
                "Data preprocessing is the bottleneck: move transforms to the GPU, pre-process "
                "offline, use faster decoders."
            ),
        )

    def _straggler(self) -> Hit | None:
        """One node (or a few) whose GPUs idle while the other nodes' GPUs work, through most
        of the window: the others wait for it at every collective."""
        window = self._gpu_window(SHORT_S)
        if not self._spans(window, SHORT_S):
            return None
        counts: dict[str, int] = {}
        means: dict[str, float] = {}
        for snap in window:
            per_host: dict[str, list[float]] = {}
            for d in snap.devices:
                if d.host and not d.lost and d.util_pct is not None:
                    per_host.setdefault(d.host, []).append(d.util_pct)
            if len(per_host) < 2:
                return None
            means = {h: sum(v) / len(v) for h, v in per_host.items()}
            for host, mean in means.items():
                others = _median([m for h, m in means.items() if h != host])
                if others >= STRAGGLER_BUSY and mean < STRAGGLER_RATIO * others:
                    counts[host] = counts.get(host, 0) + 1
        slow = sorted(h for h, n in counts.items() if n >= 0.8 * len(window))
        if not slow or len(slow) * 2 > len(means):
            return None
        rest = _median([m for h, m in means.items() if h not in slow])
        shown = ", ".join(f"{h} {means[h]:.0f}%" for h in slow)
        return Hit(
            "warning",
            None,
            _("Straggler node: {nodes} idles while the others work").format(nodes=", ".join(slow)),
            _(
                "GPUs busy {shown} vs {rest:.0%} on the other {count} nodes (median) for "
                "{seconds:.0f} s"
            ).format(shown=shown, rest=rest / 100, count=len(means) - len(slow), seconds=SHORT_S),
            _(
                "Every collective waits for the slowest rank: check that node's data loading, "
                "CPU, network (NCCL), throttling and XID errors; drain it and restart from the "
                "last checkpoint if it stays slow."
            ),
        )

    @staticmethod
    def _xid(snap: GpuSnapshot) -> Hit | None:
        """DCGM's last XID error per GPU: non-zero means the driver saw a GPU fault."""
        bad = [d for d in snap.devices if d.xid]
        if not bad:
            return None
        shown = "; ".join(f"{gpu_name(d)}: XID {d.xid}" for d in bad[:6])
        more = " " + _("(and {count} more)").format(count=len(bad) - 6) if len(bad) > 6 else ""
        return Hit(
            "critical",
            None,
            _("XID error on {gpu} and {count} more").format(
                gpu=gpu_name(bad[0]), count=len(bad) - 1
            )
            if len(bad) > 1
            else _("XID error on {gpu}").format(gpu=gpu_name(bad[0])),
            _("last XID error {errors}").format(errors=f"{shown}{more}"),
            _(
                "An XID is a driver-reported GPU fault (e.g. 79: fell off the bus, 48/94/95: "
                "memory errors, 13/31/43: faults from the job): look it up in NVIDIA's XID "
                "table, check `dmesg` on that node, drain it if it recurs."
            ),
        )
