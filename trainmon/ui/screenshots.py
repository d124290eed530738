"""Regenerate `screenshots/*.svg` from deterministic demo data: `python -m trainmon.ui.screenshots`.

The same scene builders feed the SVG snapshot tests, so the README pictures and the pinned
layouts cannot drift apart. Everything is fixed: the simulated run's seed, the point in the
run, the clock, the system samples (labelled as demo samples in the file names below, never
shown by the product itself) and the terminal sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from textual.pilot import Pilot

from trainmon.config import DashboardOptions
from trainmon.records import MetricRecord
from trainmon.run import ParserProgress
from trainmon.simulate import demo_run
from trainmon.sources.samples import (
    CpuSnapshot,
    GpuDeviceSample,
    GpuProcess,
    GpuSnapshot,
    TrainingProcess,
)
from trainmon.ui.app import TrainmonApp
from trainmon.ui.messages import CpuSampled, GpuSampled

T0: Final = 1_767_225_600.0
"""2026-01-01 00:00 UTC: the simulated run's start on the fixed clock."""
DEMO_STEPS: Final = 1200
SHOWN_FRACTION: Final = 0.8
"""How far into the run the pictures are taken: past the spike and the overfitting onset."""
LOG_NAME: Final = "demo-run.log"
GIB: Final = 1024**3


@dataclass(frozen=True, slots=True)
class Scene:
    """One screenshot: its file name, terminal size and whether GPUs are present."""

    name: str
    size: tuple[int, int]
    gpus: int


SCENES: Final[tuple[Scene, ...]] = (
    Scene("wide", (160, 48), 2),
    Scene("narrow", (60, 48), 2),
    Scene("no-gpu", (120, 40), 0),
)


def demo_records() -> tuple[tuple[MetricRecord, ...], float]:
    """The demo run's records up to `SHOWN_FRACTION` of it, and the time of the last one."""
    run = demo_run(seed=7, steps=DEMO_STEPS)
    cutoff = int(SHOWN_FRACTION * DEMO_STEPS)
    out: list[MetricRecord] = []
    last_t = 0.0
    for t, record in run.records():
        if record.step > cutoff:
            break
        out.append(record._replace(time_s=T0 + t))
        last_t = t
    return tuple(out), T0 + last_t


def gpu_snapshot(count: int, now_s: float) -> GpuSnapshot:
    """Fixed GPU samples for the pictures (or the no-GPU state when `count` is 0)."""
    if count == 0:
        return GpuSnapshot(now_s, "unavailable", "no GPU: NVML not found (no NVIDIA driver)")
    devices = tuple(
        GpuDeviceSample(
            index=i,
            name="NVIDIA H100 80GB HBM3",
            uuid=f"GPU-demo-{i}",
            util_pct=(97.0, 94.0)[i % 2],
            mem_used_bytes=int((61.3, 60.8)[i % 2] * GIB),
            mem_total_bytes=80 * GIB,
            temperature_c=(66.0, 63.0)[i % 2],
            power_w=(612.0, 588.0)[i % 2],
            power_limit_w=700.0,
            fan_pct=None,
            pstate=0,
            processes=(GpuProcess(4242, int(60 * GIB), "demo", "python train.py", True, True),),
        )
        for i in range(count)
    )
    return GpuSnapshot(now_s, "ok", devices=devices, driver_version="550.54", cuda_version="12.4")


def cpu_snapshot(now_s: float) -> CpuSnapshot:
    """A fixed host sample for the pictures."""
    cores = tuple(float(v) for v in (88, 92, 75, 81, 34, 29, 41, 37, 12, 9, 15, 11, 6, 8, 5, 7))
    trainer = TrainingProcess(
        pid=4242,
        cmdline=("python", "train.py"),
        found_by="log-writer",
        cpu_pct=412.0,
        rss_bytes=int(18.2 * GIB),
        threads=48,
        workers=4,
        status="running",
    )
    return CpuSnapshot(
        now_s,
        per_core_pct=cores,
        total_pct=sum(cores) / len(cores),
        load_avg=(7.9, 7.6, 7.2),
        ram_used_bytes=int(41 * GIB),
        ram_total_bytes=62 * GIB,
        ram_available_bytes=int(21 * GIB),
        training=trainer,
    )


def scene_app(scene: Scene) -> TrainmonApp:
    """An app for `scene` with workers off, a fixed clock and instant plot redraws."""
    del scene  # every scene starts from the same app; `fill` and the size differ
    _records, last_s = demo_records()
    now = last_s + 4.0
    options = DashboardOptions(paths=(LOG_NAME,), refresh_s=3600.0, bell=False)
    app = TrainmonApp(
        options,
        clock=lambda: now,
        start_workers=False,
        plot_cpu_budget=None,
        gpu_source=None,
        cpu_source=None,
    )
    return app


async def fill(pilot: Pilot[None], scene: Scene) -> None:
    """Inject the scene's data and draw it (the snapshot tests' `run_before`)."""
    app = pilot.app
    assert isinstance(app, TrainmonApp)
    records, last_s = demo_records()
    now = last_s + 4.0
    context = tuple(sorted(demo_run(seed=7, steps=DEMO_STEPS).context.items()))
    progress = ParserProgress(log_format="hf-trainer", total_steps=DEMO_STEPS, context=context)
    app.inject(0, records, progress)
    app.post_message(GpuSampled(gpu_snapshot(scene.gpus, now)))
    app.post_message(CpuSampled(cpu_snapshot(now)))
    await pilot.pause()
    app.refresh_now()
    await pilot.pause()
    app.refresh_now()  # the advice found in the first pass is drawn as plot markers
    await pilot.pause()


async def _save(scene: Scene, directory: Path) -> Path:
    app = scene_app(scene)
    async with app.run_test(size=scene.size) as pilot:
        await pilot.pause()
        await fill(pilot, scene)
        await pilot.wait_for_scheduled_animations()
        path = directory / f"{scene.name}.svg"
        path.write_text(app.export_screenshot(title=f"trainmon {LOG_NAME}"), encoding="utf-8")
        return path


def main(argv: Sequence[str] | None = None) -> int:
    """Write every scene's SVG into the screenshots directory; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m trainmon.ui.screenshots", description=__doc__.splitlines()[0]
    )
    parser.add_argument("directory", nargs="?", default="screenshots", type=Path)
    args = parser.parse_args(argv)
    directory: Path = args.directory
    directory.mkdir(parents=True, exist_ok=True)
    for scene in SCENES:
        path = asyncio.run(_save(scene, directory))
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
