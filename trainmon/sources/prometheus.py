"""Cluster GPUs through Prometheus: DCGM exporter (and node exporter) series via PromQL.

A job spread over many nodes already has its GPUs scraped by NVIDIA's DCGM exporter; this
source asks Prometheus for them with instant queries (`/api/v1/query`) and returns the same
immutable `GpuSnapshot` the NVML sampler returns, one `GpuDeviceSample` per GPU with its
`host`, so the system pane, the history and the hardware rules take it unchanged. Every
failure is a state of the snapshot, never an exception: Prometheus unreachable or refusing
the query, no series matching the selector, and series that went stale (a node that stopped
reporting). Only the standard library's HTTP client is used.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from trainmon.sources.nvml import throttle_words
from trainmon.sources.samples import GpuDeviceSample, GpuSnapshot
from trainmon.text import terminal_safe

MIB: Final = 1024**2

DCGM_FIELDS: Final[Mapping[str, str]] = {
    "util": "DCGM_FI_DEV_GPU_UTIL",
    "fb_used": "DCGM_FI_DEV_FB_USED",
    "fb_free": "DCGM_FI_DEV_FB_FREE",
    "fb_reserved": "DCGM_FI_DEV_FB_RESERVED",
    "power": "DCGM_FI_DEV_POWER_USAGE",
    "power_limit": "DCGM_FI_DEV_POWER_MGMT_LIMIT",
    "temp": "DCGM_FI_DEV_GPU_TEMP",
    "sm_clock": "DCGM_FI_DEV_SM_CLOCK",
    "xid": "DCGM_FI_DEV_XID_ERRORS",
    "throttle": "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS",
    "events": "DCGM_FI_DEV_CLOCKS_EVENT_REASONS",
}
"""What each reading is called by the DCGM exporter (frame buffer in MiB; the clock-event
reasons are NVML's bit mask, under its old name and the newer one)."""

STALE_AFTER_S: Final = 60.0
"""A series whose newest sample is older than this is stale: its node stopped reporting."""

TIMEOUT_S: Final = 3.0
"""One query's limit: a slow Prometheus stretches the sampling cadence, never more."""

_MATCHER = r'\s*[A-Za-z_][A-Za-z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*'
_SELECTOR = re.compile(rf"^(?:{_MATCHER}(?:,{_MATCHER})*,?\s*)?$")


def parse_selector(text: str) -> str:
    """`job="dcgm"` or `{job="dcgm",Hostname=~"node-.*"}` as matchers without braces.

    Raises ValueError with one line saying what is wrong; the command line exits 2 on it.
    """
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    if not _SELECTOR.match(inner):
        raise ValueError(
            f'not a label selector: {text!r} (expected matchers such as job="dcgm" or '
            'Hostname=~"node-.*", comma-separated)'
        )
    return inner.strip().rstrip(",")


def parse_url(text: str) -> str:
    """A Prometheus base URL (`http://prom:9090`); raises ValueError on anything else."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not a Prometheus URL: {text!r} (expected http://HOST:PORT)")
    return text.strip().rstrip("/")


class QueryError(Exception):
    """Prometheus could not be asked, or refused the query (the message says which)."""


@dataclass(frozen=True, slots=True)
class Series:
    """One series of an instant query's answer: its labels, its value and the query's time."""

    labels: Mapping[str, str]
    value: float
    at_s: float


def instant_query(base_url: str, promql: str, timeout_s: float = TIMEOUT_S) -> list[Series]:
    """Evaluate `promql` now (`/api/v1/query`); raises QueryError with one line."""
    url = f"{base_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:  # 400/422: Prometheus says why in its JSON body
        body = exc.read()
        detail = _error_detail(body) or f"HTTP {exc.code} {exc.reason}"
        raise QueryError(f"Prometheus refused the query: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise QueryError(f"Prometheus unreachable at {base_url}: {reason}") from None
    try:
        answer = json.loads(body)
        result = answer["data"]["result"]
        return [
            Series(dict(item["metric"]), float(item["value"][1]), float(item["value"][0]))
            for item in result
        ]
    except (ValueError, KeyError, TypeError, IndexError):
        raise QueryError(f"not a Prometheus answer from {base_url}") from None


def _error_detail(body: bytes) -> str:
    try:
        answer = json.loads(body)
        return f"{answer.get('errorType', 'error')}: {answer.get('error', '')}"
    except (ValueError, AttributeError):
        return ""


def host_of(labels: Mapping[str, str]) -> str:
    """The node a series comes from: DCGM's `Hostname`, else the scrape target's host."""
    host = labels.get("Hostname") or labels.get("instance", "")
    if not labels.get("Hostname") and host.count(":") == 1:
        host = host.split(":", 1)[0]
    return terminal_safe(host) or "?"


def _gpu_key(labels: Mapping[str, str]) -> tuple[str, str]:
    return (host_of(labels), labels.get("UUID") or labels.get("gpu", "?"))


class PrometheusGpuSource:
    """A `GpuSource` reading every GPU of a job from Prometheus (DCGM exporter series).

    Called on the sampler thread only. `clock` stamps the snapshots (the hardware rules'
    windows run on it); staleness is judged on Prometheus' own times.
    """

    def __init__(
        self,
        url: str,
        selector: str = "",
        *,
        stale_after_s: float = STALE_AFTER_S,
        timeout_s: float = TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        query: Callable[[str, str, float], list[Series]] = instant_query,
    ) -> None:
        self.url = parse_url(url)
        self.selector = parse_selector(selector) if selector else ""
        self._stale_after_s = stale_after_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._query = query
        self._last_seen: dict[str, float] = {}
        """Host -> Prometheus time of its newest fresh sample (for hosts that vanish)."""

    @property
    def source_text(self) -> str:
        where = f"Prometheus at {self.url}"
        return f"{where} {{{self.selector}}}" if self.selector else where

    def set_training_pids(self, pids: frozenset[int]) -> None:
        """Cluster GPUs cannot be matched with local processes: nothing to do."""

    def close(self) -> None:
        """Nothing is held between queries."""

    def _ask(self, promql: str) -> list[Series]:
        return self._query(self.url, promql, self._timeout_s)

    def sample(self) -> GpuSnapshot:
        """Every GPU the selector matches, now; failures are snapshot states."""
        started = time.monotonic()
        now = self._clock()
        names = "|".join(n.removeprefix("DCGM_FI_DEV_") for n in DCGM_FIELDS.values())
        matchers = f'__name__=~"DCGM_FI_DEV_({names})"'
        if self.selector:
            matchers += f",{self.selector}"
        try:
            readings = self._ask("{" + matchers + "}")
            util_name = DCGM_FIELDS["util"]
            times = self._ask(f"timestamp({util_name}{{{self.selector}}})")
        except QueryError as exc:
            return self._snapshot(now, started, reason=str(exc))
        devices, evaluated, host_age = self._devices(readings, times)
        stale = self._stale_hosts(host_age, evaluated)
        fresh = [d for d in devices if d.host not in dict(stale)]
        if not fresh:
            if self._last_seen:
                ages = ", ".join(f"{h} {age:.0f}s" for h, age in stale) or "every node"
                reason = f"GPU (Prometheus): no fresh DCGM series (stale: {ages})"
            else:
                reason = "GPU (Prometheus): no DCGM series match " + (
                    f"{{{self.selector}}}" if self.selector else "(no selector)"
                )
            return self._snapshot(now, started, reason=reason)
        return self._snapshot(now, started, devices=tuple(fresh), stale=stale)

    def _snapshot(
        self,
        now: float,
        started: float,
        *,
        reason: str | None = None,
        devices: tuple[GpuDeviceSample, ...] = (),
        stale: tuple[tuple[str, float], ...] = (),
    ) -> GpuSnapshot:
        """Status "ok" with the fresh `devices`, or "unavailable" for `reason`."""
        return GpuSnapshot(
            time_s=now,
            status="ok" if reason is None else "unavailable",
            reason="" if reason is None else terminal_safe(reason),
            devices=devices,
            took_s=time.monotonic() - started,
            source=self.source_text,
            stale_hosts=stale,
            host_ram_pct=self._host_ram() if reason is None else (),
        )

    def _host_ram(self) -> tuple[tuple[str, float], ...]:
        """Host RAM in use (%) from the node exporter, where it is scraped (() otherwise)."""
        promql = (
            "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)"
            " * on(instance) group_left(nodename) node_uname_info"
        )
        try:
            answer = self._ask(promql)
        except QueryError:  # the GPUs are what matters; the nodes' RAM is a bonus
            return ()
        ram = {terminal_safe(s.labels.get("nodename", "?")): s.value for s in answer}
        return tuple(sorted(ram.items()))

    def _devices(
        self, readings: list[Series], times: list[Series]
    ) -> tuple[list[GpuDeviceSample], float, dict[str, float]]:
        """One device per (host, UUID), the readings grouped by name; the query's time; and
        per host the age of its freshest sample."""
        by_gpu: dict[tuple[str, str], dict[str, float]] = {}
        labels_of: dict[tuple[str, str], Mapping[str, str]] = {}
        field_of = {name: key for key, name in DCGM_FIELDS.items()}
        evaluated = 0.0
        for series in readings:
            key = _gpu_key(series.labels)
            field = field_of.get(series.labels.get("__name__", ""))
            if field is None:
                continue
            by_gpu.setdefault(key, {})[field] = series.value
            labels_of.setdefault(key, series.labels)
            evaluated = max(evaluated, series.at_s)
        sampled_at = {_gpu_key(s.labels): s.value for s in times}
        devices = []
        host_age: dict[str, float] = {}
        for key, values in by_gpu.items():
            age = evaluated - sampled_at[key] if key in sampled_at else 0.0
            host_age[key[0]] = min(age, host_age.get(key[0], age))
            stale = age > self._stale_after_s
            devices.append(_device(key[0], labels_of[key], values, age if stale else None))
        devices.sort(key=lambda d: (d.host, d.index))
        return devices, evaluated, host_age

    def _stale_hosts(
        self, host_age: Mapping[str, float], evaluated: float
    ) -> tuple[tuple[str, float], ...]:
        """Hosts whose every series is stale, and hosts seen before that vanished, with how
        long ago each last reported."""
        stale = {h: age for h, age in host_age.items() if age > self._stale_after_s}
        now = evaluated or time.time()  # nothing answered: Prometheus' time is unknown
        for host in host_age:
            if host not in stale:
                self._last_seen[host] = now
        for host, seen in self._last_seen.items():
            if host not in host_age:
                stale[host] = max(0.0, now - seen)
        return tuple(sorted(stale.items()))


def _device(
    host: str,
    labels: Mapping[str, str],
    values: Mapping[str, float],
    stale_s: float | None,
) -> GpuDeviceSample:
    """One GPU's readings as the sample the panes and rules know (None where not scraped)."""
    used = values.get("fb_used")
    free = values.get("fb_free")
    total = None
    if used is not None and free is not None:
        total = int((used + free + values.get("fb_reserved", 0.0)) * MIB)
    mask = values.get("throttle", values.get("events"))
    xid = values.get("xid")
    try:
        index = int(labels.get("gpu", "0"))
    except ValueError:
        index = 0
    error = "" if stale_s is None else f"stale {stale_s:.0f}s"
    return GpuDeviceSample(
        index=index,
        name=terminal_safe(labels.get("modelName", "GPU")),
        uuid=terminal_safe(labels.get("UUID", f"{host}#{index}")),
        util_pct=values.get("util"),
        mem_used_bytes=None if used is None else int(used * MIB),
        mem_total_bytes=total,
        temperature_c=values.get("temp"),
        power_w=values.get("power"),
        power_limit_w=values.get("power_limit"),
        sm_clock_mhz=None if "sm_clock" not in values else int(values["sm_clock"]),
        throttle_reasons=None if mask is None else throttle_words(int(mask)),
        error=error,
        host=host,
        xid=None if xid is None else int(xid),
    )
