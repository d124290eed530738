"""The options that take trainmon beyond its terminal: `--notify`, `--notify-on`,
`--stall-after`, `--serve-metrics`, `--prometheus`, `--prom-selector`.

Defined here once for the dashboard, `replay` and `trainmon serve`; each bad value is one
line and exit 2 (through the command line's parser), and so is a missing optional extra.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from trainmon.extras import MissingExtra
from trainmon.records import Severity

DEFAULT_HOST: Final = "127.0.0.1"

_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$")
_UNIT_S: Final = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """`90`, `90s`, `10m`, `1.5h` as seconds (positive); ValueError with one line."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (e.g. 600, 10m, 1h)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def parse_listen(text: str) -> tuple[str, int]:
    """`9400`, `0.0.0.0:9400` or `[::1]:9400` as (host, port); ValueError with one line."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        host, port_text = DEFAULT_HOST, text.strip()
    host = host.strip("[]") or DEFAULT_HOST
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"not a port: {text!r} (expected [HOST:]PORT, e.g. 9400)") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range: {text!r}")
    return host, port


def _prometheus_url(text: str) -> str:
    from trainmon.sources.prometheus import parse_url

    return parse_url(text)


def _selector(text: str) -> str:
    from trainmon.sources.prometheus import parse_selector

    return parse_selector(text)


def _typed(parse: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse `type` from a parser that raises ValueError with its own message."""

    def convert(text: str) -> object:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


@dataclass(frozen=True, slots=True)
class AlertOptions:
    """Where alerts and metrics go, and where cluster GPUs come from (all off by default)."""

    notify: tuple[str, ...] = ()
    """apprise URLs (`json://host/path`, `slack://...`, `ntfy://...`, `mailto://...`)."""
    notify_on: Severity = "critical"
    stall_after_s: float | None = None
    """None: 5× the median record interval, at least 10 min."""
    serve_metrics: tuple[str, int] | None = None
    """(host, port) of the Prometheus exporter."""
    prometheus: str | None = None
    """Base URL of a Prometheus server to read the cluster's GPUs from (DCGM exporter)."""
    prom_selector: str = ""

    @property
    def outbound(self) -> bool:
        """Anything to send or serve (the dashboard does nothing extra otherwise)."""
        return bool(self.notify) or self.serve_metrics is not None


_ValuedOption = tuple[str, Callable[[str], object], str, str]
"""(flag, parser raising ValueError, metavar, help) of an option that takes a checked value."""

_VALUED_OPTIONS: tuple[_ValuedOption, ...] = (
    ("--stall-after", parse_duration, "DURATION",
     "alert when no record came for this long (default 5x the median record interval, at "
     "least 10m)"),
    ("--serve-metrics", parse_listen, "[HOST:]PORT",
     "serve the runs as Prometheus metrics (default host 127.0.0.1); needs "
     "trainmon[prometheus]"),
)  # fmt: skip
_CLUSTER_OPTIONS: tuple[_ValuedOption, ...] = (
    ("--prometheus", _prometheus_url, "URL",
     "show every GPU of the job from this Prometheus (DCGM exporter metrics) instead of the "
     "local ones"),
    ("--prom-selector", _selector, "SELECTOR",
     'with --prometheus: label matchers for the job\'s GPUs, e.g. job="dcgm" or '
     'Hostname=~"node-.*"'),
)  # fmt: skip
"""--prometheus and --prom-selector: only where a GPU pane shows them."""


def add_alert_options(p: argparse.ArgumentParser, *, cluster: bool = True) -> None:
    """Add the options (`cluster`: also --prometheus / --prom-selector, for a GPU pane)."""
    g = p.add_argument_group("alerts and metrics")
    g.add_argument(
        "--notify", action="append", default=[], metavar="URL",
        help="send alerts to this apprise URL (repeatable): json://host:port/path, "
        "slack://..., ntfy://..., mailto://...; needs trainmon[notify]",
    )  # fmt: skip
    g.add_argument(
        "--notify-on", choices=("info", "warning", "critical"), default="critical",
        help="the least severity of findings sent (default critical)",
    )  # fmt: skip
    for flag, parse, metavar, text in _VALUED_OPTIONS + (_CLUSTER_OPTIONS if cluster else ()):
        g.add_argument(flag, type=_typed(parse), default=None, metavar=metavar, help=text)


def alert_options(args: argparse.Namespace) -> AlertOptions:
    """The parsed options as one value."""
    return AlertOptions(
        notify=tuple(args.notify),
        notify_on=args.notify_on,
        stall_after_s=args.stall_after,
        serve_metrics=args.serve_metrics,
        prometheus=getattr(args, "prometheus", None),
        prom_selector=getattr(args, "prom_selector", None) or "",
    )


def alert_problem(options: AlertOptions) -> str | None:
    """One line naming what cannot work (a missing extra, a URL apprise does not know)."""
    if options.prom_selector and options.prometheus is None:
        return "--prom-selector needs --prometheus URL"
    try:
        if options.notify:
            from trainmon.notify import check_urls

            problem = check_urls(options.notify)
            if problem is not None:
                return problem
        if options.serve_metrics is not None:
            from trainmon.extras import require

            require("prometheus_client", "prometheus", "--serve-metrics")
    except MissingExtra as exc:
        return str(exc)
    return None
