"""Cluster GPUs through a real Prometheus: it scrapes a loopback server replaying the DCGM
exporter's and the node exporter's text for 2 nodes × 8 GPUs, and `--prometheus` reads them
back with instant queries: the source's snapshot, its states (stale node, no match,
unreachable), and the dashboard's pane and hardware rules (pilot)."""

from __future__ import annotations

import itertools
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.helpers import make_app, screen_text, wait_until, write_steps
from tests.prometheus.helpers import (
    ExpositionServer,
    Gpu,
    Node,
    PrometheusServer,
    WebhookReceiver,
    free_port,
    wait_for,
)
from trainmon.alert_options import AlertOptions
from trainmon.notify import Notifier, apprise_sender
from trainmon.outbound import Outbound
from trainmon.sources.prometheus import PrometheusGpuSource
from trainmon.sources.samples import GpuSnapshot
from trainmon.ui.app import TrainmonApp

pytestmark = pytest.mark.slow

SELECTOR = 'job="dcgm"'


def _nodes() -> list[Node]:
    """node-a works hard (one GPU thermally throttled, one with memory nearly full); node-b
    idles, the straggler, and its GPU 3 reported XID 79 (fell off the bus)."""
    a = Node("node-a")
    a.gpus[5] = Gpu(throttle=0x40, temp=91.0)
    a.gpus[2] = Gpu(fb_used=80900.0)
    b = Node("node-b", gpus=[Gpu(util=7.0, power=120.0) for _ in range(8)])
    b.gpus[3] = Gpu(util=0.0, xid=79, power=90.0)
    return [a, b]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[PrometheusServer, ExpositionServer]]:
    exporters = ExpositionServer(_nodes())
    prometheus = PrometheusServer(tmp_path, exporters.targets())
    try:
        yield prometheus, exporters
    finally:
        prometheus.stop()
        exporters.close()


def _sampled(source: PrometheusGpuSource, gpus: int) -> GpuSnapshot:
    snaps: list[GpuSnapshot] = []

    def enough() -> bool:
        snaps.append(source.sample())
        return len(snaps[-1].devices) == gpus

    wait_for(enough, f"{gpus} GPUs through Prometheus")
    return snaps[-1]


def test_every_gpu_of_both_nodes_is_read_with_its_readings(
    cluster: tuple[PrometheusServer, ExpositionServer],
) -> None:
    prometheus, _ = cluster
    snap = _sampled(PrometheusGpuSource(prometheus.url, SELECTOR), 16)
    assert snap.status == "ok"
    assert [(d.host, d.index) for d in snap.devices] == [
        (host, i) for host in ("node-a", "node-b") for i in range(8)
    ]
    a2 = snap.devices[2]
    assert a2.short_name == "H100 80GB HBM3"
    assert a2.mem_fraction == pytest.approx(80900 / 81559)
    assert a2.util_pct == 96.0 and a2.temperature_c == 64.0 and a2.power_w == 610.0
    assert snap.devices[5].throttle_reasons == ("thermal (hw)",)
    assert snap.devices[0].throttle_reasons == ()
    assert snap.devices[8 + 3].xid == 79 and snap.devices[8 + 2].xid == 0
    assert len({d.uuid for d in snap.devices}) == 16
    wait_for(
        lambda: (
            dict(PrometheusGpuSource(prometheus.url, SELECTOR).sample().host_ram_pct)
            == pytest.approx({"node-a": 40.0, "node-b": 40.0})
        ),
        "the nodes' RAM from the node exporter",
    )


def test_a_node_that_stops_reporting_is_stale_and_its_gpus_leave_the_snapshot(
    cluster: tuple[PrometheusServer, ExpositionServer],
) -> None:
    prometheus, exporters = cluster
    source = PrometheusGpuSource(prometheus.url, SELECTOR)
    _sampled(source, 16)
    exporters.nodes["node-b"].up = False  # its exporters fail: Prometheus marks it stale

    def node_b_stale() -> bool:
        snap = source.sample()
        return "node-b" in dict(snap.stale_hosts) and {d.host for d in snap.devices} == {"node-a"}

    wait_for(node_b_stale, "node-b to be reported stale")
    exporters.nodes["node-a"].up = False

    def all_stale() -> bool:
        return source.sample().status == "unavailable"

    wait_for(all_stale, "every node stale")
    snap = source.sample()
    assert "no fresh DCGM series" in snap.reason and "node-a" in snap.reason


def test_no_match_a_refused_query_and_an_unreachable_server_are_states(
    cluster: tuple[PrometheusServer, ExpositionServer],
) -> None:
    prometheus, _ = cluster
    _sampled(PrometheusGpuSource(prometheus.url, SELECTOR), 16)
    empty = PrometheusGpuSource(prometheus.url, 'job="no-such-job"').sample()
    assert empty.status == "unavailable"
    assert empty.reason == 'GPU (Prometheus): no DCGM series match {job="no-such-job"}'
    refused = PrometheusGpuSource(prometheus.url, 'Hostname=~"("').sample()  # a bad regex
    assert refused.status == "unavailable"
    assert refused.reason.startswith("Prometheus refused the query: bad_data:")
    everything = PrometheusGpuSource(prometheus.url).sample()  # no selector: every DCGM series
    assert len(everything.devices) == 16
    gone = PrometheusGpuSource(f"http://127.0.0.1:{free_port()}").sample()
    assert gone.status == "unavailable"
    assert gone.reason.startswith("Prometheus unreachable at http://127.0.0.1:")


async def test_the_dashboard_shows_the_cluster_and_its_hardware_findings(
    cluster: tuple[PrometheusServer, ExpositionServer], tmp_path: Path
) -> None:
    """The sampler's clock is stepped 5 s per sample so that the rules' windows (30-60 s of
    samples) fill within seconds; every reading comes from Prometheus."""
    prometheus, _ = cluster
    _sampled(PrometheusGpuSource(prometheus.url, SELECTOR), 16)
    lock = threading.Lock()
    ticks = itertools.count()

    def stepped() -> float:
        with lock:
            return 1_800_000_000.0 + 5.0 * next(ticks)

    source = PrometheusGpuSource(prometheus.url, SELECTOR, clock=stepped)
    log = tmp_path / "run.log"
    write_steps(log, range(1, 6), mode="w")
    receiver = WebhookReceiver()
    options = AlertOptions(notify=(receiver.url,), serve_metrics=("127.0.0.1", 0))
    notifier = Notifier(apprise_sender([receiver.url]), min_gap_s=0.1)
    outbound = Outbound(options, notifier=notifier)
    outbound.start()
    app = make_app([log], gpu_source=source, sample_interval_s=0.5, outbound=outbound)
    try:
        await _watch_the_cluster(app, outbound, receiver)
    finally:
        outbound.close()
        receiver.close()


async def _watch_the_cluster(app: TrainmonApp, outbound: Outbound, hook: WebhookReceiver) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: "16 H100 GPUs · 2 nodes" in screen_text(app), "the cluster")
        await wait_until(
            pilot, lambda: "node-a ████████  96%" in screen_text(app), "a line per node"
        )
        text = screen_text(app)
        assert "node-b ▁▁▁▁▁▁▁▁   6%" in text
        assert "XID 79 g3" in text
        assert "⚠thermal g5" in text

        def rules() -> set[str]:
            return {f.rule for f in app.host.advice.active}

        wanted = {"node-straggler", "gpu-xid", "gpu-throttle", "gpu-memory-pressure"}
        await wait_until(pilot, lambda: wanted <= rules(), f"the findings {wanted}")
        found = {f.rule: f for f in app.host.advice.active}
        assert "node-b" in found["node-straggler"].title
        assert "node-b GPU 3: XID 79" in found["gpu-xid"].evidence
        assert "node-a GPU 5" in found["gpu-throttle"].evidence
        assert "node-a GPU 2" in found["gpu-memory-pressure"].title
        assert "Straggler node: node-b" in screen_text(app)
        # The machine's findings go beyond the terminal too, as the run `host`.
        await wait_until(
            pilot,
            lambda: "trainmon: host: XID error on node-b GPU 3" in hook.titles(),
            "the XID alert",
        )
        assert outbound.exporter is not None and outbound.exporter.port
        url = f"http://127.0.0.1:{outbound.exporter.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            scraped = r.read().decode()
        assert 'trainmon_finding{rule="gpu-xid",run="host",severity="critical"} 1.0' in scraped
        assert (
            'trainmon_finding{rule="node-straggler",run="host",severity="warning"} 1.0' in scraped
        )
