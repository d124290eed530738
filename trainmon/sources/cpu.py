"""Host CPU, memory and swap sampler (psutil), with the training process tree attached.

A tick is a handful of psutil calls (tens of µs); rates (swap in/out, RAM growth, iowait)
are deltas against the previous tick, so the first snapshot has them as None rather than
made-up zeros.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from trainmon.i18n import _
from trainmon.sources.process import TrainingTracker
from trainmon.sources.samples import CpuSnapshot, ProcessExit
from trainmon.text import terminal_safe


class PsutilCpuSource:
    """Samples the host and the training process; `sample()` is cheap enough for every tick."""

    def __init__(
        self,
        log_paths: Sequence[str] = (),
        pid: int | None = None,
        *,
        pipe: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        tracker: TrainingTracker | None = None,
    ) -> None:
        import psutil

        self._psutil = psutil
        self._clock = clock
        self._wall = wall
        self.tracker = tracker or TrainingTracker(log_paths, pid, clock=clock, wall=wall, pipe=pipe)
        # The first cpu_percent() call returns a meaningless 0.0: prime it now.
        psutil.cpu_percent(percpu=True)
        self._prev: tuple[float, int, int, int, float, float] | None = None
        """(time, ram used, swap in, swap out, iowait seconds, total cpu seconds)."""

    def tree_pids(self) -> frozenset[int]:
        """The training process tree (for highlighting its GPU processes)."""
        return self.tracker.tree_pids()

    def watching(self) -> bool:
        """True while a training process is known: `check_exit()` is then worth calling."""
        return self.tracker.watching()

    def check_exit(self) -> ProcessExit | None:
        """The training process's end, the moment it is seen (a cheap check)."""
        try:
            return self.tracker.check_exit()
        except Exception:  # an odd /proc entry: the next full sample will tell
            return None

    def sample(self) -> CpuSnapshot:
        """One snapshot of the host and the training process. Never raises."""
        ps = self._psutil
        now = self._clock()
        try:
            cores = tuple(float(c) for c in ps.cpu_percent(percpu=True))
            vm = ps.virtual_memory()
            sw = ps.swap_memory()
            times = ps.cpu_times()
        except Exception as err:  # /proc unreadable (sandbox): say so, do not crash
            reason = terminal_safe(_("host stats unavailable: {error}").format(error=err))
            return CpuSnapshot(self._wall(), training_reason=reason)
        try:
            load = os.getloadavg()
        except OSError:
            load = (0.0, 0.0, 0.0)
        shm_used = shm_total = None
        try:
            shm = os.statvfs("/dev/shm")
            shm_total = shm.f_blocks * shm.f_frsize
            shm_used = (shm.f_blocks - shm.f_bfree) * shm.f_frsize
        except OSError:
            pass
        used = int(vm.total - vm.available)
        sin = int(getattr(sw, "sin", 0))
        sout = int(getattr(sw, "sout", 0))
        iowait_s = float(getattr(times, "iowait", 0.0))
        total_s = float(sum(times))
        ram_rate = sin_rate = sout_rate = iowait_pct = None
        if self._prev is not None and now > self._prev[0]:
            dt = now - self._prev[0]
            ram_rate = (used - self._prev[1]) / dt
            sin_rate = max(0, sin - self._prev[2]) / dt
            sout_rate = max(0, sout - self._prev[3]) / dt
            d_total = total_s - self._prev[5]
            if d_total > 0:
                iowait_pct = max(0.0, 100.0 * (iowait_s - self._prev[4]) / d_total)
        self._prev = (now, used, sin, sout, iowait_s, total_s)
        try:
            training, reason = self.tracker.sample()
        except Exception as err:  # an odd /proc entry must not cost the host numbers
            training, reason = None, _("training process: {error}").format(error=repr(err))
        return CpuSnapshot(
            time_s=self._wall(),
            per_core_pct=cores,
            total_pct=sum(cores) / len(cores) if cores else 0.0,
            load_avg=(float(load[0]), float(load[1]), float(load[2])),
            ram_used_bytes=used,
            ram_total_bytes=int(vm.total),
            ram_available_bytes=int(vm.available),
            swap_used_bytes=int(sw.used),
            swap_total_bytes=int(sw.total),
            ram_used_rate_bps=ram_rate,
            swap_in_bps=sin_rate,
            swap_out_bps=sout_rate,
            iowait_pct=iowait_pct,
            shm_used_bytes=shm_used,
            shm_total_bytes=shm_total,
            training=training,
            training_reason=terminal_safe(reason),  # names log files and processes
            training_exit=self.tracker.exit,
        )
