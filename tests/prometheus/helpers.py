"""Real servers on loopback for the cluster and exporter tests.

- `PrometheusServer`: Debian's `prometheus` binary, started on a free loopback port with a
  temporary config (1 s scrape interval) and data dir, stopped at the end of the test.
- `ExpositionServer`: an HTTP server that serves, per node, the text a DCGM exporter and a
  node exporter would serve (written here in their format, 8 GPUs per node), from a scenario
  the test can change while Prometheus scrapes it.
- `WebhookReceiver`: an HTTP server that records the JSON bodies POSTed to it (apprise's
  `json://` scheme), optionally slow or answering with an error.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SCRAPE_INTERVAL_S = 1


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    """Poll `predicate` until it holds; fail naming `what` after a generous timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# -- Prometheus -----------------------------------------------------------------------------


@dataclass
class Target:
    """One scrape target: a job name, host:port, metrics path and extra target labels."""

    job: str
    address: str
    path: str = "/metrics"
    labels: dict[str, str] = field(default_factory=dict)


def prometheus_binary() -> str:
    """The `prometheus` executable, or skip the test saying how to get it."""
    found = shutil.which("prometheus")
    if found is None:
        pytest.skip(
            "prometheus is not installed (Debian: apt-get install prometheus; .ci/run installs "
            "it when it runs as root)"
        )
    return found


class PrometheusServer:
    """A real Prometheus on loopback, scraping the given targets every second."""

    def __init__(self, workdir: Path, targets: list[Target]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        config = workdir / "prometheus.yml"
        config.write_text(_config(targets))
        self.log = workdir / "prometheus.log"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_for(self._ready, "Prometheus to be ready", timeout_s=60)
        except AssertionError:
            self.stop()
            raise AssertionError("Prometheus did not start:\n" + self.log.read_text()) from None

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError("Prometheus exited:\n" + self.log.read_text())
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant query's result list (`/api/v1/query`)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as r:
            answer = json.loads(r.read())
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def value(self, promql: str) -> float | None:
        """The single value of a query (None while it has no result)."""
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


def _config(targets: list[Target]) -> str:
    """prometheus.yml: one scrape job per job name, each target with its own labels."""
    jobs: dict[str, list[Target]] = {}
    for target in targets:
        jobs.setdefault(target.job, []).append(target)
    lines = ["global:", f"  scrape_interval: {SCRAPE_INTERVAL_S}s", "scrape_configs:"]
    for job, members in jobs.items():
        lines += [f"  - job_name: {json.dumps(job)}", "    static_configs:"]
        for t in members:
            labels = {"__metrics_path__": t.path, **t.labels}
            lines += [f"      - targets: [{json.dumps(t.address)}]", "        labels:"]
            lines += [f"          {k}: {json.dumps(v)}" for k, v in labels.items()]
    return "\n".join(lines) + "\n"


# -- DCGM and node exporter text ------------------------------------------------------------

GPUS_PER_NODE = 8
MODEL = "NVIDIA H100 80GB HBM3"
FB_TOTAL_MIB = 81559


@dataclass
class Gpu:
    """What one GPU reports (memory in MiB, as the DCGM exporter gives it)."""

    util: float = 96.0
    fb_used: float = 61000.0
    temp: float = 64.0
    power: float = 610.0
    xid: int = 0
    throttle: int = 0
    """NVML clock-event reason bits (0x40: hardware thermal slowdown)."""


@dataclass
class Node:
    name: str
    gpus: list[Gpu] = field(default_factory=lambda: [Gpu() for _ in range(GPUS_PER_NODE)])
    ram_used_fraction: float = 0.4
    up: bool = True
    """False: the node's exporters answer 503 (a node that stopped reporting)."""


def dcgm_text(node: Node) -> str:
    """The node's GPUs in the DCGM exporter's exposition format."""
    fields = [
        ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", lambda g: g.util),
        ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", lambda g: g.fb_used),
        ("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).",
         lambda g: FB_TOTAL_MIB - g.fb_used),
        ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", lambda g: g.temp),
        ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", lambda g: g.power),
        ("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", lambda g: 1980),
        ("DCGM_FI_DEV_XID_ERRORS", "Value of the last XID error encountered.", lambda g: g.xid),
        ("DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", "Current clock throttle reasons.",
         lambda g: g.throttle),
    ]  # fmt: skip
    out: list[str] = []
    for name, doc, read in fields:
        out.append(f"# HELP {name} {doc}")
        out.append(f"# TYPE {name} gauge")
        for i, gpu in enumerate(node.gpus):
            uuid = f"GPU-{zlib.crc32(node.name.encode()):08x}-0000-4000-8000-{i:012d}"
            labels = (
                f'gpu="{i}",UUID="{uuid}",device="nvidia{i}",modelName="{MODEL}",'
                f'Hostname="{node.name}",DCGM_FI_DRIVER_VERSION="550.90.07"'
            )
            out.append(f"{name}{{{labels}}} {read(gpu)}")
    return "\n".join(out) + "\n"


def node_text(node: Node, started: float) -> str:
    """A few node exporter series of the node: memory, CPU seconds, uname."""
    total = 2 * 1024**4
    available = int(total * (1 - node.ram_used_fraction))
    busy = time.monotonic() - started
    lines = [
        "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.",
        "# TYPE node_memory_MemTotal_bytes gauge",
        f"node_memory_MemTotal_bytes {total}",
        "# HELP node_memory_MemAvailable_bytes Memory information field MemAvailable_bytes.",
        "# TYPE node_memory_MemAvailable_bytes gauge",
        f"node_memory_MemAvailable_bytes {available}",
        "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.",
        "# TYPE node_cpu_seconds_total counter",
        f'node_cpu_seconds_total{{cpu="0",mode="idle"}} {1000 + 0.3 * busy:.3f}',
        f'node_cpu_seconds_total{{cpu="0",mode="user"}} {500 + 0.7 * busy:.3f}',
        "# HELP node_uname_info Labeled system information as provided by the uname system call.",
        "# TYPE node_uname_info gauge",
        f'node_uname_info{{domainname="(none)",machine="x86_64",nodename="{node.name}",'
        'release="6.1.0-18-amd64",sysname="Linux",version="#1 SMP"} 1',
    ]
    return "\n".join(lines) + "\n"


class ExpositionServer:
    """Serves `/<node>/dcgm` and `/<node>/node` from `nodes`, which a test may change."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = {n.name: n for n in nodes}
        started = time.monotonic()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                node = owner.nodes.get(parts[0]) if len(parts) == 2 else None
                if node is None or not node.up:
                    self.send_error(503 if node is not None else 404)
                    return
                text = dcgm_text(node) if parts[1] == "dcgm" else node_text(node, started)
                body = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def targets(self) -> list[Target]:
        """Scrape targets: each node's DCGM exporter and node exporter, as on a cluster."""
        address = f"127.0.0.1:{self.port}"
        out = []
        for name in self.nodes:
            out.append(Target("dcgm", address, f"/{name}/dcgm", {"instance": f"{name}:9400"}))
            out.append(Target("node", address, f"/{name}/node", {"instance": f"{name}:9100"}))
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- webhook receiver -----------------------------------------------------------------------


class WebhookReceiver:
    """Records the JSON bodies POSTed to it; `delay_s` makes it slow, `status` an error."""

    def __init__(self, *, delay_s: float = 0.0, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.requests = 0
        self.delay_s = delay_s
        self.status = status
        self._release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.requests += 1
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if owner.delay_s:
                    owner._release.wait(owner.delay_s)
                if owner.status == 200:
                    owner.bodies.append(json.loads(body))
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"json://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def titles(self) -> list[str]:
        return [str(b.get("title", "")) for b in self.bodies]

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def trainmon_command() -> list[str]:
    """The installed console script of this checkout's environment."""
    import sys

    script = Path(sys.executable).with_name("trainmon")
    return [str(script)] if script.exists() else [sys.executable, "-m", "trainmon"]


def kill_quietly(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


__all__ = [
    "ExpositionServer",
    "Gpu",
    "Node",
    "PrometheusServer",
    "Target",
    "WebhookReceiver",
    "free_port",
    "kill_quietly",
    "trainmon_command",
    "wait_for",
]
