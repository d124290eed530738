"""The GPU pane's cluster form: 8 nodes × 8 GPUs read through Prometheus fit the narrow side
pane, one line per node, with what needs a look named on its node's line."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical

from trainmon.sources.samples import GpuDeviceSample, GpuSnapshot
from trainmon.ui.widgets.gpu_panel import GpuPanel

GIB = 1024**3


def _cluster(nodes: int = 8, per_node: int = 8) -> GpuSnapshot:
    devices = [
        GpuDeviceSample(
            index=i,
            name="NVIDIA H100 80GB HBM3",
            uuid=f"GPU-{n}-{i}",
            util_pct=95.0,
            mem_used_bytes=60 * GIB,
            mem_total_bytes=80 * GIB,
            temperature_c=63.0,
            power_w=600.0,
            throttle_reasons=(),
            host=f"gpu-node-{n:02d}",
            xid=0,
        )
        for n in range(nodes)
        for i in range(per_node)
    ]
    devices[3 * per_node + 6] = replace(devices[3 * per_node + 6], xid=48)
    devices[5 * per_node + 1] = replace(
        devices[5 * per_node + 1], throttle_reasons=("power brake",)
    )
    devices[7 * per_node + 0] = replace(devices[7 * per_node + 0], mem_used_bytes=79 * GIB)
    return GpuSnapshot(
        time_s=1.0, status="ok", devices=tuple(devices), source="Prometheus at http://prom:9090",
        stale_hosts=(("gpu-node-08", 95.0),),
    )  # fmt: skip


class PaneHost(App[None]):
    def __init__(self, width: int, snapshot: GpuSnapshot) -> None:
        super().__init__()
        self._width = width
        self._snapshot = snapshot

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.styles.width = self._width
            yield GpuPanel(id="gpu")

    def on_mount(self) -> None:
        self.query_one(GpuPanel).update_snapshot(self._snapshot)


@pytest.mark.parametrize("width", [40, 50, 70, 120])
async def test_64_gpus_fit_one_line_per_node(width: int) -> None:
    app = PaneHost(width, _cluster())
    async with app.run_test(size=(130, 30)) as pilot:
        await pilot.pause()
        panel = app.query_one(GpuPanel)
        lines = panel.render_text().plain.split("\n")
        assert len(lines) == 1 + 8 + 1  # header, 8 nodes, the stale one
        assert lines[0].startswith("64 H100 GPUs · 8 nodes")
        assert all(len(line) <= panel.content_size.width for line in lines[:-1])
        assert "XID 48 g6" in lines[1 + 3]
        assert "⚠power g1" in lines[1 + 5]
        assert "mem g0" in lines[1 + 7]
        if panel.content_size.width >= 46:  # room for the fullest GPU's memory
            assert lines[1 + 7].split()[3] == "M99%" and lines[1].split()[3] == "M75%"
        assert lines[-1].startswith("gpu-node-08 stale: no data for")


async def test_a_cluster_state_is_said_whole_over_the_pane_rows() -> None:
    snap = GpuSnapshot(
        time_s=1.0, status="unavailable", source="Prometheus at http://prom:9090",
        reason="Prometheus unreachable at http://prom:9090: [Errno 111] Connection refused",
    )  # fmt: skip
    app = PaneHost(60, snap)
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        panel = app.query_one(GpuPanel)
        lines = panel.render_text().plain.splitlines()
        assert all(len(line) <= panel.content_size.width for line in lines)  # wrapped, not cut
        assert (
            " ".join(line.strip() for line in lines)
            == "GPU: Prometheus unreachable at http://prom:9090: [Errno 111] Connection refused"
        )
