"""The Prometheus GPU source's reading of answers: series older than the limit (a federated or
timestamped source that stopped) make their node stale. The answers here are built by hand;
the real server's road is in tests/prometheus."""

from __future__ import annotations

from trainmon.sources.prometheus import PrometheusGpuSource, Series


def _labels(host: str, gpu: int, name: str) -> dict[str, str]:
    return {"__name__": name, "Hostname": host, "gpu": str(gpu), "UUID": f"{host}-{gpu}"}


def test_a_node_whose_samples_are_old_is_stale_and_left_out() -> None:
    now = 1000.0
    sampled_at = {"fresh": now - 5, "old": now - 100}

    def answer(url: str, promql: str, timeout_s: float) -> list[Series]:
        if promql.startswith("timestamp("):
            return [
                Series(_labels(h, g, "DCGM_FI_DEV_GPU_UTIL"), t, now)
                for h, t in sampled_at.items()
                for g in range(2)
            ]
        if promql.startswith("{"):
            return [
                Series(_labels(h, g, "DCGM_FI_DEV_GPU_UTIL"), 90.0, now)
                for h in sampled_at
                for g in range(2)
            ]
        return []  # no node exporter

    snap = PrometheusGpuSource("http://prom:9090", query=answer, stale_after_s=60).sample()
    assert snap.status == "ok"
    assert {(d.host, d.index) for d in snap.devices} == {("fresh", 0), ("fresh", 1)}
    assert snap.stale_hosts == (("old", 100.0),)
    assert snap.devices[0].mem_used_bytes is None and snap.devices[0].util_pct == 90.0
