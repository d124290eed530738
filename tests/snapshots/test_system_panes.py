"""SVG snapshots of the GPU and CPU panes in every state, from fixed snapshots (no sampling)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical

from trainmon.sources.samples import (
    CpuSnapshot,
    GpuDeviceSample,
    GpuProcess,
    GpuSnapshot,
    TrainingProcess,
)
from trainmon.ui.widgets.cpu_panel import CpuPanel
from trainmon.ui.widgets.gpu_panel import GpuPanel

GIB = 1024**3
SnapCompare = Callable[..., bool]


def h100(index: int, util: float = 87.0, **changes: object) -> GpuDeviceSample:
    dev = GpuDeviceSample(
        index=index,
        name="NVIDIA H100 80GB HBM3",
        uuid=f"GPU-{index:04d}",
        util_pct=util,
        mem_used_bytes=int((60 + index) * GIB),
        mem_total_bytes=80 * GIB,
        temperature_c=60.0 + index,
        power_w=600.0 + 5 * index,
        power_limit_w=700.0,
        fan_pct=None,
        sm_clock_mhz=1980,
        pstate=0,
        throttle_reasons=(),
        ecc_errors=0,
        processes=(
            GpuProcess(
                4242, 58 * GIB, "alice", "python train.py --config [bold]x[/]", is_training=True
            ),
            GpuProcess(5151, 2 * GIB, "bob", "python notebook_kernel.py"),
        ),
    )
    return replace(dev, **changes)  # type: ignore[arg-type]


def gpus(*devices: GpuDeviceSample, took_s: float = 0.01) -> GpuSnapshot:
    return GpuSnapshot(
        1000.0,
        "ok",
        devices=devices,
        driver_version="550.54.14",
        cuda_version="12.4",
        took_s=took_s,
    )


def geforce() -> GpuDeviceSample:
    return h100(
        1,
        util=35.0,
        name="NVIDIA GeForce RTX 3090",
        uuid="GPU-3090",
        fan_pct=41.0,
        ecc_errors=None,
        mem_total_bytes=24 * GIB,
        mem_used_bytes=int(23.5 * GIB),
        temperature_c=83.0,
        throttle_reasons=("thermal (sw)", "power cap"),
        processes=(GpuProcess(999999, None, visible=False),),
        processes_note="host PIDs not visible here (container? run with --pid=host)",
    )


def mig_parent() -> GpuDeviceSample:
    child = GpuDeviceSample(
        0,
        "NVIDIA H100 80GB HBM3 MIG 3g.40gb",
        "MIG-0",
        mem_used_bytes=12 * GIB,
        mem_total_bytes=40 * GIB,
        processes=(GpuProcess(4242, 11 * GIB, "alice", "python train.py", is_training=True),),
        parent_index=0,
    )
    return h100(
        0,
        util=None,  # type: ignore[arg-type]
        mig_enabled=True,
        mig_devices=(child, replace(child, index=1, uuid="MIG-1", processes=())),
        processes=None,
        processes_note="see MIG devices",
    )


LOST = h100(1, lost=True, util=None, processes=None)  # type: ignore[arg-type]

GPU_CASES: dict[str, GpuSnapshot] = {
    "one": gpus(h100(0)),
    "two": gpus(h100(0), geforce()),
    "eight": gpus(*(h100(i, util=10.0 * i + 5) for i in range(8))),
    "lost": gpus(h100(0), LOST, h100(2), took_s=0.8),
    "mig": gpus(mig_parent()),
    "no_gpu": GpuSnapshot(1000.0, "unavailable", "no GPU: NVML not found (no NVIDIA driver)"),
    "disabled": GpuSnapshot(1000.0, "disabled", "GPU panel off (--no-gpu)"),
    "no_permission": gpus(
        h100(0, processes=None, processes_note="no permission to list processes")
    ),
}

TRAINER = TrainingProcess(
    pid=4242,
    cmdline=("python", "train.py", "--lr", "[red]3e-4[/red]"),
    found_by="tee",
    cpu_pct=412.0,
    rss_bytes=int(18.2 * GIB),
    threads=57,
    workers=8,
    status="running",
    io_wait_pct=3.0,
    allowed_cores=16,
    cuda_visible_devices="0,1,2,3",
)


def cpu(training: TrainingProcess | None, cores: int = 16) -> CpuSnapshot:
    return CpuSnapshot(
        time_s=1000.0,
        per_core_pct=tuple(float((i * 37) % 101) for i in range(cores)),
        total_pct=49.0,
        load_avg=(7.9, 6.5, 5.0),
        ram_used_bytes=int(41.2 * GIB),
        ram_total_bytes=62 * GIB,
        ram_available_bytes=int(20.8 * GIB),
        swap_used_bytes=0,
        swap_total_bytes=8 * GIB,
        ram_used_rate_bps=12 * 1024**2,
        swap_in_bps=0.0,
        swap_out_bps=0.0,
        iowait_pct=2.0,
        shm_used_bytes=60 * 1024**2,
        shm_total_bytes=64 * 1024**2,
        training=training,
        training_reason="" if training else "no process has run.log open for writing; use --pid",
    )


class PaneApp(App[None]):
    """Mounts the panes with fixed snapshots, like the dashboard does after a sample."""

    CSS = "Vertical { height: auto; border: round $primary; }"

    def __init__(
        self,
        gpu: Sequence[GpuSnapshot] = (),
        cpu: CpuSnapshot | None = None,
        width: int | None = None,
        compact: bool = False,
    ) -> None:
        super().__init__()
        self._gpu = gpu
        self._cpu = cpu
        self._width = width
        self._compact = compact

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            if self._width is not None:
                box.styles.width = self._width
            if self._gpu:
                yield GpuPanel()
            if self._cpu is not None:
                yield CpuPanel()

    def on_mount(self) -> None:
        for snap in self._gpu:
            self.query_one(GpuPanel).update_snapshot(snap)
            self.query_one(GpuPanel).compact = self._compact
        if self._cpu is not None:
            self.query_one(CpuPanel).update_snapshot(self._cpu)


@pytest.mark.parametrize("case", sorted(GPU_CASES))
def test_gpu_pane_wide(snap_compare: SnapCompare, case: str) -> None:
    assert snap_compare(PaneApp([GPU_CASES[case]]), terminal_size=(120, 30))


@pytest.mark.parametrize("case", ["eight", "lost", "two"])
@pytest.mark.parametrize("width", [70, 50, 34])
def test_gpu_pane_narrow(snap_compare: SnapCompare, case: str, width: int) -> None:
    assert snap_compare(PaneApp([GPU_CASES[case]], width=width), terminal_size=(100, 14))


def test_gpu_pane_compact_flag_when_wide(snap_compare: SnapCompare) -> None:
    app = PaneApp([GPU_CASES["eight"]], compact=True)
    assert snap_compare(app, terminal_size=(120, 12))


def test_gpu_sparklines_from_history(snap_compare: SnapCompare) -> None:
    history = [gpus(h100(0, util=float(u))) for u in (5, 20, 40, 90, 95, 100, 30, 0, 60, 87)]
    assert snap_compare(PaneApp(history), terminal_size=(120, 8))


@pytest.mark.parametrize("found", [True, False])
def test_cpu_pane(snap_compare: SnapCompare, found: bool) -> None:
    app = PaneApp(cpu=cpu(TRAINER if found else None))
    assert snap_compare(app, terminal_size=(100, 10))


def test_cpu_pane_many_cores_narrow(snap_compare: SnapCompare) -> None:
    assert snap_compare(PaneApp(cpu=cpu(TRAINER, cores=96), width=50), terminal_size=(80, 8))


def test_cpu_pane_many_cores_wide(snap_compare: SnapCompare) -> None:
    assert snap_compare(PaneApp(cpu=cpu(TRAINER, cores=96)), terminal_size=(80, 10))


def _plain(panel: GpuPanel | CpuPanel) -> str:
    rendered = panel.render()
    assert hasattr(rendered, "plain")
    return str(rendered.plain)


async def test_command_lines_are_never_markup() -> None:
    app = PaneApp([GPU_CASES["one"]], cpu(TRAINER))
    async with app.run_test(size=(120, 20)):
        assert "--config [bold]x[/]" in _plain(app.query_one(GpuPanel))
        assert "--lr [red]3e-4[/red]" in _plain(app.query_one(CpuPanel))


async def test_eight_gpus_fit_eight_rows_in_a_narrow_pane() -> None:
    app = PaneApp([GPU_CASES["eight"]], width=52)
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.query_one(GpuPanel)
        await pilot.pause()
        assert panel.size.height == 8
        assert all(line.startswith(str(i)) for i, line in enumerate(_plain(panel).split("\n")))


async def test_compact_toggle_changes_the_layout() -> None:
    app = PaneApp([GPU_CASES["two"]])
    async with app.run_test(size=(120, 30)) as pilot:
        panel = app.query_one(GpuPanel)
        await pilot.pause()
        wide = panel.size.height
        panel.compact = True
        await pilot.pause()
        assert panel.size.height == 2 < wide
        panel.add_class("-compact")
        panel.compact = False
        await pilot.pause()
        assert panel.size.height == 2  # the CSS class alone keeps it compact


async def test_unavailable_is_one_line_and_lost_is_loud() -> None:
    app = PaneApp([GPU_CASES["no_gpu"]])
    async with app.run_test(size=(120, 30)) as pilot:
        panel = app.query_one(GpuPanel)
        await pilot.pause()
        assert panel.size.height == 1
        assert _plain(panel) == "no GPU: NVML not found (no NVIDIA driver)"
        panel.update_snapshot(GPU_CASES["lost"])
        await pilot.pause()
        assert "GPU 1 LOST" in _plain(panel)


@pytest.mark.parametrize("width", [200, 160, 100, 60, 45])
async def test_reasons_wrap_over_the_empty_rows_instead_of_being_cut(width: int) -> None:
    """At every width the reason reads whole (its end, `--pid`, is what to do), and the
    GPU's reason too; nothing is cut while the pane has rows to spare."""
    no_gpu = GpuSnapshot(1000.0, "unavailable", "no GPU: NVML not found (no NVIDIA driver)")
    app = PaneApp([no_gpu], cpu(None), width=width - 2)
    async with app.run_test(size=(width, 20)) as pilot:
        await pilot.pause()
        cpu_text, gpu_text = _plain(app.query_one(CpuPanel)), _plain(app.query_one(GpuPanel))
        assert "…" not in cpu_text and "…" not in gpu_text
        assert "use --pid" in cpu_text and "(no NVIDIA driver)" in gpu_text
        for line in (*cpu_text.splitlines(), *gpu_text.splitlines()):
            assert len(line) <= app.query_one(CpuPanel).content_size.width


async def test_the_compact_trainer_lines_spell_out_state_and_workers() -> None:
    app = PaneApp(cpu=cpu(TRAINER), width=50)
    async with app.run_test(size=(80, 12)) as pilot:
        await pilot.pause()
        text = _plain(app.query_one(CpuPanel))
        assert "running, 8 workers" in text and " w8 " not in text
