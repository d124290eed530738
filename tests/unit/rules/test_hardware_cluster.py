"""The hardware rules on cluster GPUs (read through Prometheus): a straggler node, XID errors,
and the GPU naming that tells nodes apart (indices repeat on every node)."""

from __future__ import annotations

from trainmon.advice.hardware import HardwareRules
from trainmon.sources.samples import GpuDeviceSample, GpuSnapshot


def _snap(t: float, utils: dict[str, list[float]], xid: dict[tuple[str, int], int] | None = None):
    devices = tuple(
        GpuDeviceSample(
            index=i,
            name="NVIDIA H100",
            uuid=f"{host}-{i}",
            util_pct=u,
            mem_used_bytes=10,
            mem_total_bytes=100,
            host=host,
            xid=(xid or {}).get((host, i), 0),
        )
        for host, values in utils.items()
        for i, u in enumerate(values)
    )
    return GpuSnapshot(time_s=t, status="ok", devices=devices, source="Prometheus at x")


def _verdicts(rules: HardwareRules, snaps: list[GpuSnapshot]) -> dict[str, object]:
    out: dict[str, object] = {}
    for snap in snaps:
        out = dict(rules.observe(snap))
    return out


BUSY = [95.0] * 8
IDLE = [9.0] * 8


def test_one_idle_node_among_busy_ones_is_a_straggler_once_the_window_is_full() -> None:
    cluster = {"n1": BUSY, "n2": BUSY, "n3": IDLE, "n4": BUSY}
    rules = HardwareRules()
    early = _verdicts(rules, [_snap(t, cluster) for t in (0, 5, 10)])
    assert early["node-straggler"] is None  # 10 s of samples: not yet judged
    hit = _verdicts(rules, [_snap(t, cluster) for t in range(15, 40, 5)])["node-straggler"]
    assert hit is not None
    assert hit.title == "Straggler node: n3 idles while the others work"  # type: ignore[attr-defined]
    assert "n3 9% vs 95% on the other 3 nodes" in hit.evidence  # type: ignore[attr-defined]


def test_two_nodes_one_idle_is_a_straggler() -> None:
    rules = HardwareRules()
    hit = _verdicts(rules, [_snap(t, {"a": BUSY, "b": IDLE}) for t in range(0, 40, 5)])
    assert hit["node-straggler"] is not None


def test_no_straggler_when_all_work_all_idle_a_brief_dip_or_one_node() -> None:
    even = [_snap(t, {"a": BUSY, "b": [80.0] * 8}) for t in range(0, 40, 5)]
    assert _verdicts(HardwareRules(), even)["node-straggler"] is None
    idle = [_snap(t, {"a": IDLE, "b": IDLE}) for t in range(0, 40, 5)]
    assert _verdicts(HardwareRules(), idle)["node-straggler"] is None
    dip = [_snap(t, {"a": BUSY, "b": IDLE if t == 20 else BUSY}) for t in range(0, 40, 5)]
    assert _verdicts(HardwareRules(), dip)["node-straggler"] is None
    alone = [_snap(t, {"a": IDLE}) for t in range(0, 40, 5)]
    assert _verdicts(HardwareRules(), alone)["node-straggler"] is None


def test_an_xid_error_is_critical_at_once_and_names_the_node_and_gpu() -> None:
    rules = HardwareRules()
    clean = _verdicts(rules, [_snap(0, {"a": BUSY, "b": BUSY})])
    assert clean["gpu-xid"] is None
    hit = _verdicts(rules, [_snap(5, {"a": BUSY, "b": BUSY}, {("b", 3): 79})])["gpu-xid"]
    assert hit is not None
    assert hit.severity == "critical"  # type: ignore[attr-defined]
    assert hit.title == "XID error on b GPU 3"  # type: ignore[attr-defined]
    assert hit.evidence == "last XID error b GPU 3: XID 79"  # type: ignore[attr-defined]


def test_local_gpus_keep_their_short_names() -> None:
    snap = GpuSnapshot(
        time_s=0, status="ok",
        devices=(GpuDeviceSample(index=0, name="x", uuid="u", ecc_errors=0),),
    )  # fmt: skip
    later = GpuSnapshot(
        time_s=2, status="ok",
        devices=(GpuDeviceSample(index=0, name="x", uuid="u", ecc_errors=2),),
    )  # fmt: skip
    verdicts = _verdicts(HardwareRules(), [snap, later])
    assert verdicts["gpu-ecc"].evidence == "volatile uncorrected ECC errors GPU 0: 0→2"  # type: ignore[union-attr]
    assert verdicts["node-straggler"] is None and verdicts["gpu-xid"] is None
