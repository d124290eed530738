"""The psutil host sampler: shape of the numbers, rates from the second sample on."""

from __future__ import annotations

from pathlib import Path

import psutil

from trainmon.sources.cpu import PsutilCpuSource
from trainmon.sources.process import TrainingTracker


def test_host_numbers(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("")
    clock = [0.0]
    src = PsutilCpuSource([str(log)], clock=lambda: clock[0])
    first = src.sample()
    assert len(first.per_core_pct) == psutil.cpu_count()
    assert all(0.0 <= c <= 100.0 for c in first.per_core_pct)
    assert 0 < first.ram_used_bytes <= first.ram_total_bytes
    assert first.ram_available_bytes <= first.ram_total_bytes
    assert first.swap_used_bytes <= max(first.swap_total_bytes, first.swap_used_bytes)
    assert first.ram_used_rate_bps is None and first.swap_in_bps is None  # no made-up rates
    if Path("/dev/shm").is_dir():
        assert first.shm_total_bytes is not None and first.shm_used_bytes is not None
        assert 0 <= first.shm_used_bytes <= first.shm_total_bytes
    assert first.training is None and "open for writing" in first.training_reason
    clock[0] = 1.0
    second = src.sample()
    assert second.ram_used_rate_bps is not None
    assert second.swap_in_bps is not None and second.swap_in_bps >= 0
    assert second.swap_out_bps is not None and second.swap_out_bps >= 0
    assert second.load_avg[0] >= 0.0


def test_training_process_by_pid_is_attached() -> None:
    import os

    src = PsutilCpuSource(tracker=TrainingTracker([], pid=os.getpid()))
    snap = src.sample()
    assert snap.training is not None
    assert snap.training.pid == os.getpid() and snap.training.found_by == "pid"
    assert snap.training.rss_bytes > 0 and snap.training.threads >= 1
    assert os.getpid() in src.tree_pids()
