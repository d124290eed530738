"""The exporter, scraped by a real Prometheus: `trainmon serve` as a subprocess on a real log,
and the values read back through Prometheus' HTTP API (`/api/v1/query`)."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.prometheus.helpers import (
    PrometheusServer,
    Target,
    free_port,
    kill_quietly,
    trainmon_command,
    wait_for,
)

pytestmark = pytest.mark.slow

pytest.importorskip("prometheus_client", reason="the exporter needs trainmon[prometheus]")


def _records(steps: range, *, nan_at: int | None = None) -> str:
    lines = []
    for step in steps:
        loss = "NaN" if step == nan_at else round(4.0 - step / 100, 3)
        lines.append(
            json.dumps(
                {"step": step, "loss": loss, "learning_rate": 3e-4, "grad_norm": 1.25}
            ).replace('"NaN"', "NaN")
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[PrometheusServer, subprocess.Popen[bytes], Path]]:
    log = tmp_path / "train.log"
    log.write_text('{"max_steps": 400}\n' + _records(range(1, 41), nan_at=37))
    port = free_port()
    (tmp_path / "prom").mkdir()
    prometheus = PrometheusServer(tmp_path / "prom", [Target("trainmon", f"127.0.0.1:{port}")])
    process = subprocess.Popen(
        [*trainmon_command(), "serve", str(log), "--serve-metrics", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield prometheus, process, log
    finally:
        kill_quietly(process)
        prometheus.stop()


def test_prometheus_scrapes_the_runs_metrics_and_findings(
    served: tuple[PrometheusServer, subprocess.Popen[bytes], Path],
) -> None:
    prometheus, process, log = served
    port = int(process.args[-1].rsplit(":", 1)[1])  # type: ignore[index,union-attr]
    run = '{run="train.log"}'
    wait_for(lambda: prometheus.value(f"trainmon_step{run}") == 40.0, "step 40 in Prometheus")
    assert prometheus.value('trainmon_metric{run="train.log",name="loss"}') == pytest.approx(3.6)
    assert prometheus.value('trainmon_metric{run="train.log",name="learning_rate"}') == 3e-4
    assert prometheus.value('trainmon_metric{run="train.log",name="grad_norm"}') == 1.25
    assert prometheus.value('trainmon_nonfinite_total{run="train.log",name="loss"}') == 1.0
    assert prometheus.value('trainmon_nonfinite_total{run="train.log",name="grad_norm"}') == 0
    assert prometheus.value(f"trainmon_total_steps{run}") == 400.0
    assert prometheus.value(f"trainmon_progress_ratio{run}") == pytest.approx(0.1)
    assert prometheus.value(f"trainmon_seconds_since_record{run}") is not None
    finding = prometheus.query('trainmon_finding{run="train.log",severity="critical"}')
    assert "nan-loss" in {f["metric"]["rule"] for f in finding}

    with log.open("a") as f:  # the exporter follows the log: new records reach Prometheus
        f.write(_records(range(41, 46)))
    wait_for(lambda: prometheus.value(f"trainmon_step{run}") == 45.0, "step 45 in Prometheus")
    assert prometheus.value('trainmon_metric{run="train.log",name="loss"}') == pytest.approx(3.55)

    process.send_signal(signal.SIGTERM)  # how a service is stopped: exit 0
    assert process.wait(timeout=15) == 0
    assert process.stderr is not None
    assert f"serving metrics on http://127.0.0.1:{port}/".encode() in process.stderr.read()
