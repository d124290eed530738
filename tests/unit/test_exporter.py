"""The exporter over HTTP (port 0 on loopback): every metric the README lists, the rate and
ETA of a run read live, and none of them once the trainer has exited."""

from __future__ import annotations

import urllib.request

import pytest

from trainmon.exporter import MetricsExporter, RunMetricsCache
from trainmon.records import MetricRecord
from trainmon.run import Run

pytest.importorskip("prometheus_client", reason="the exporter needs trainmon[prometheus]")


def _scrape(exporter: MetricsExporter) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{exporter.port}/metrics", timeout=5) as r:
        return r.read().decode()


def test_a_live_run_has_its_speed_and_eta_until_its_trainer_exits() -> None:
    run = Run("a.log")
    run.store.total_steps = 1000
    for step in range(10, 110, 10):  # one record every 2 s: 5 steps per second
        run.take([MetricRecord("train", step, {"loss": 1.0, "grad_norm": float("inf")})],
                 arrival_s=100.0 + step / 5)  # fmt: skip
    exporter = MetricsExporter("127.0.0.1", 0, clock=lambda: 130.0)
    exporter.start()
    try:
        cache = RunMetricsCache()
        exporter.publish((cache.metrics("a.log", run),))
        text = _scrape(exporter)
        assert 'trainmon_steps_per_second{run="a.log"} 5.0' in text
        assert 'trainmon_eta_seconds{run="a.log"} 180.0' in text
        assert 'trainmon_seconds_since_record{run="a.log"} 10.0' in text
        assert 'trainmon_nonfinite_total{name="grad_norm",run="a.log"} 10.0' in text
        assert 'trainmon_metric{name="grad_norm",run="a.log"} +Inf' in text
        assert 'trainmon_progress_ratio{run="a.log"} 0.1' in text
        assert cache.metrics("a.log", run) is cache.metrics("a.log", run)  # nothing changed
        exporter.publish((cache.metrics("a.log", run, moving=False),))
        text = _scrape(exporter)
        assert "trainmon_steps_per_second{" not in text and "trainmon_eta_seconds{" not in text
        assert 'trainmon_step{run="a.log"} 100.0' in text
    finally:
        exporter.close()
