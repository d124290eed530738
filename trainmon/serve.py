"""`trainmon serve PATH... --serve-metrics PORT`: follow logs without a screen, for nodes
where nobody watches a terminal, serving their metrics (and sending `--notify` alerts).

The same road as the dashboard: an `Ingest` per log, a `Run` per log judged by the advice
engine, and `Outbound` for the exporter and the notifier, on one thread with a short sleep
when every log is caught up. It runs until SIGINT or SIGTERM (exit 0: that is how a service
stops) and says where it listens on standard error.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from trainmon.alert_options import AlertOptions
from trainmon.ingest import NEW_SEGMENT_EVENTS, Ingest
from trainmon.outbound import Outbound, RunState
from trainmon.records import FollowEvent
from trainmon.run import Run
from trainmon.store import MetricStore
from trainmon.text import terminal_safe

ADVISE_EVERY_S: Final = 1.0
"""Findings are brought up to date at most this often (and the clock rules with them)."""
IDLE_SLEEP_S: Final = 0.25


def labels_for(paths: Sequence[str]) -> list[str]:
    """A run's label is its file name, or its path where two logs share a file name."""
    names = [os.path.basename(p) or p for p in paths]
    return [
        terminal_safe(name if names.count(name) == 1 else path)
        for name, path in zip(names, paths, strict=True)
    ]


@dataclass(slots=True)
class _Served:
    label: str
    ingest: Ingest
    run: Run
    live: bool = False


def serve(
    paths: Sequence[str],
    options: AlertOptions,
    *,
    context: Sequence[tuple[str, str]] = (),
    muted: Sequence[str] = (),
    max_series: int | None = None,
    stop: threading.Event | None = None,
    say: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> int:
    """Follow `paths` until `stop` is set (or Ctrl-C); returns the exit code."""
    say = say or (lambda text: print(f"trainmon: {text}", file=sys.stderr, flush=True))
    stop = stop or threading.Event()
    outbound = Outbound(options)
    try:
        outbound.start()
    except OSError as exc:
        host, port = options.serve_metrics or ("", 0)
        say(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}")
        return 2
    if outbound.exporter is not None:
        say(f"serving metrics on http://{outbound.exporter.host}:{outbound.exporter.port}/metrics")
    served = [
        _Served(
            label,
            Ingest(path, follow=True),
            Run(
                path,
                user_context=dict(context),
                muted=muted,
                store=MetricStore(max_series) if max_series else None,
            ),
        )
        for label, path in zip(labels_for(paths), paths, strict=True)
    ]
    advised = 0.0
    try:
        while not stop.is_set():
            busy = False
            now = clock()
            for one in served:
                busy |= _poll(one, now, say)
            if now - advised >= ADVISE_EVERY_S:
                advised = now
                for one in served:
                    one.run.advise(now, force=True)
                states: list[RunState] = [(one.label, one.run, None) for one in served]
                outbound.update(states, now)
                note = outbound.new_failure()
                if note:
                    say(note)
            if not busy:
                stop.wait(IDLE_SLEEP_S)
    except KeyboardInterrupt:
        pass
    finally:
        for one in served:
            one.ingest.close()
        outbound.close()
    return 0


def _poll(one: _Served, now: float, say: Callable[[str], None]) -> bool:
    """One chunk of one log into its run; True when there is more to read at once."""
    if one.ingest.finished:
        return False
    for item in one.ingest.poll():
        if isinstance(item, FollowEvent):
            if item.kind in NEW_SEGMENT_EVENTS:
                one.run.new_segment()
            elif item.kind == "error":
                say(f"{one.label}: {item.detail}")
            continue
        one.run.take(item, one.ingest.progress(), now)
        if not one.live:
            one.run.store.mark_backlog()  # the history's arrival times are no speed
    if one.ingest.caught_up:
        one.live = True
    return not one.ingest.caught_up


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    """The positional paths and the run options `serve` shares with the dashboard."""
    p.add_argument("paths", nargs="+", metavar="PATH", help="log files to follow")
    p.add_argument(
        "--mute", action="append", default=[], metavar="RULE", help="leave out an advice rule"
    )
