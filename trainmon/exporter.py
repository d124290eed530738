"""The Prometheus exporter (`--serve-metrics [HOST:]PORT`): the followed runs as metrics.

The thread that owns the runs (the dashboard's UI thread, `trainmon serve`'s loop) builds an
immutable `RunMetrics` per run and `publish`es the tuple; prometheus-client's HTTP thread
reads the newest tuple at each scrape (one reference, swapped whole: no lock, no access to
a `Run` from another thread). Only "seconds since the last record" is computed at the
scrape, so it stays true between publications. prometheus-client is an optional extra:
`pip install 'trainmon[prometheus]'`.

Metrics (labels in braces):
`trainmon_metric{run,name}` last value of every series (canonical names: loss, eval_loss,
learning_rate, grad_norm, ...), `trainmon_step{run}`, `trainmon_total_steps{run}`,
`trainmon_progress_ratio{run}`, `trainmon_steps_per_second{run}`, `trainmon_eta_seconds{run}`,
`trainmon_seconds_since_record{run}`, `trainmon_nonfinite_total{run,name}`,
`trainmon_finding{run,rule,severity}` (1 while active).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from trainmon.extras import require
from trainmon.records import Finding
from trainmon.run import Run


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """One run as the exporter shows it; built on the thread that owns the run."""

    run: str
    last: tuple[tuple[str, float], ...] = ()
    nonfinite: tuple[tuple[str, int], ...] = ()
    step: int | None = None
    total_steps: int | None = None
    progress_ratio: float | None = None
    steps_per_s: float | None = None
    eta_s: float | None = None
    last_record_s: float | None = None
    """When the newest record arrived (wall clock), for `trainmon_seconds_since_record`."""
    findings: tuple[tuple[str, str], ...] = ()
    """(rule, severity) of every active finding."""


class RunMetricsCache:
    """Builds `RunMetrics` again only when a run's records or findings changed (counting the
    non-finite values reads a whole series)."""

    def __init__(self) -> None:
        self._built: dict[str, tuple[int, tuple[Finding, ...], bool, RunMetrics]] = {}

    def metrics(self, label: str, run: Run, *, moving: bool = True) -> RunMetrics:
        """`moving`: False once the training process has ended (no rate, no ETA)."""
        key = (run.data_version, run.advice.active, moving)
        cached = self._built.get(label)
        if cached is not None and cached[:3] == key:
            return cached[3]
        built = run_metrics(label, run, moving=moving)
        self._built[label] = (*key, built)
        return built


def run_metrics(label: str, run: Run, *, moving: bool = True) -> RunMetrics:
    """The exporter's view of one run now."""
    store = run.store
    last: list[tuple[str, float]] = []
    nonfinite: list[tuple[str, int]] = []
    for name in store.names():
        series = store.get(name)
        if series is None or not len(series):
            continue
        value = series.last()
        if value is not None:
            last.append((name, value))
        nonfinite.append((name, series.nonfinite))
    progress = store.progress()
    return RunMetrics(
        run=label,
        last=tuple(last),
        nonfinite=tuple(nonfinite),
        step=progress.step,
        total_steps=progress.total_steps,
        progress_ratio=progress.fraction,
        steps_per_s=progress.steps_per_s if moving else None,
        eta_s=progress.eta_s if moving else None,
        last_record_s=store.last_arrival_s,
        findings=tuple((f.rule, f.severity) for f in run.advice.active),
    )


class MetricsExporter:
    """Serves the newest published `RunMetrics` over HTTP in the Prometheus text format."""

    def __init__(self, host: str, port: int, *, clock: Callable[[], float] = time.time) -> None:
        self.host = host
        self.requested_port = port
        self._clock = clock
        self._runs: tuple[RunMetrics, ...] = ()
        self._server: Any = None
        self.port: int | None = None
        """The port it listens on (the one chosen by the system when 0 was asked)."""

    def start(self) -> None:
        """Listen; raises MissingExtra without prometheus-client, OSError when the address
        cannot be bound (both one line for the command line)."""
        client: Any = require("prometheus_client", "prometheus", "--serve-metrics")
        registry_module: Any = require(
            "prometheus_client.registry", "prometheus", "--serve-metrics"
        )
        registry = registry_module.CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self))
        server, _thread = client.start_http_server(
            self.requested_port, addr=self.host, registry=registry
        )
        self._server = server
        self.port = int(server.server_address[1])

    def publish(self, runs: tuple[RunMetrics, ...]) -> None:
        """Replace what the next scrape reads (any thread; one reference swap)."""
        self._runs = runs

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def families(self) -> Iterator[Any]:
        """The metric families of the newest publication (called on the HTTP thread)."""
        core: Any = require("prometheus_client.core", "prometheus", "--serve-metrics")
        gauge, counter = core.GaugeMetricFamily, core.CounterMetricFamily
        runs = self._runs
        now = self._clock()
        metric = gauge("trainmon_metric", "Last value of each series", labels=["run", "name"])
        nonfinite = counter(
            "trainmon_nonfinite", "NaN or infinite values seen per series", labels=["run", "name"]
        )
        finding = gauge(
            "trainmon_finding", "1 while an advice finding is active",
            labels=["run", "rule", "severity"],
        )  # fmt: skip
        per_run: dict[str, tuple[str, Callable[[RunMetrics], float | None]]] = {
            "trainmon_step": ("Newest step", lambda r: r.step),
            "trainmon_total_steps": ("Planned steps", lambda r: r.total_steps),
            "trainmon_progress_ratio": ("Share of the run done (0..1)", lambda r: r.progress_ratio),
            "trainmon_steps_per_second": ("Recent training speed", lambda r: r.steps_per_s),
            "trainmon_eta_seconds": ("Time left at the recent speed", lambda r: r.eta_s),
            "trainmon_seconds_since_record": (
                "Seconds since the newest record arrived",
                lambda r: None if r.last_record_s is None else max(0.0, now - r.last_record_s),
            ),
        }
        simple = {name: gauge(name, doc, labels=["run"]) for name, (doc, _) in per_run.items()}
        for r in runs:
            for name, value in r.last:
                metric.add_metric([r.run, name], value)
            for name, count in r.nonfinite:
                nonfinite.add_metric([r.run, name], count)
            for rule, severity in r.findings:
                finding.add_metric([r.run, rule, severity], 1.0)
            for name, (_doc, read) in per_run.items():
                reading = read(r)
                if reading is not None and math.isfinite(reading):
                    simple[name].add_metric([r.run], float(reading))
        yield metric
        yield nonfinite
        yield finding
        yield from simple.values()


class _Collector:
    """prometheus-client's collector protocol over an exporter's publications."""

    def __init__(self, exporter: MetricsExporter) -> None:
        self._exporter = exporter

    def collect(self) -> Iterator[Any]:
        return self._exporter.families()

    def describe(self) -> list[Any]:
        return []  # nothing to check at registration: the families change with the runs
