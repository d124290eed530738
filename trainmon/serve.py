"""`trainmon serve PATH... --serve-metrics PORT`: follow logs without a screen, for nodes
where nobody watches a terminal, serving their metrics (and sending `--notify` alerts).

The same road as the dashboard: an `Ingest` per log, a `Run` per log judged by the advice
engine, and `Outbound` for the exporter and the notifier, on one thread with a short sleep
when every log is caught up. The training process writing each log is watched as the
dashboard's CPU sampler does (`TrainingTracker`), so its end is told as finished or crashed.
It runs until SIGINT or SIGTERM (exit 0: that is how a service stops) and says where it
listens on standard error.
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
from trainmon.i18n import _
from trainmon.ingest import NEW_SEGMENT_EVENTS, Ingest
from trainmon.outbound import Outbound, RunState
from trainmon.records import FollowEvent
from trainmon.run import Run
from trainmon.sources.samples import ProcessExit
from trainmon.store import MetricStore
from trainmon.text import terminal_safe

ADVISE_EVERY_S: Final = 1.0
"""Findings are brought up to date at most this often (new records) ..."""
FORCE_EVERY_S: Final = 5.0
"""... and re-judged this often without new records (the clock rules, a stall)."""
WATCH_EVERY_S: Final = 2.0
"""The training process is looked for (and its end checked) this often."""
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
    ended: ProcessExit | None = None
    """Its training process was seen to end (until another one is found)."""


class _TrainerWatch:
    """The training process writing the logs (found as their writer), and its end."""

    def __init__(self, paths: Sequence[str]) -> None:
        from trainmon.sources.process import TrainingTracker

        self._tracker = TrainingTracker(paths)
        self._due = 0.0

    def update(self, served: Sequence[_Served], now_monotonic: float) -> None:
        if now_monotonic < self._due:
            return
        self._due = now_monotonic + WATCH_EVERY_S
        try:
            if self._tracker.watching():
                self._tracker.check_exit()
            training, _why = self._tracker.sample()
            fact = self._tracker.exit
        except Exception:  # an odd /proc entry: the next look will tell
            return
        for one in served:
            if fact is not None and (fact.log_path is None or _same(fact.log_path, one.run.path)):
                if one.ended != fact:
                    one.ended = fact
                    one.run.observe_process_exit(fact)
            elif training is not None and one.ended is not None:
                one.ended = None  # a trainer runs again (a restart)
                one.run.observe_process_exit(None)


def _same(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


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
    say = say or (
        lambda text: print(f"trainmon: {terminal_safe(text)}", file=sys.stderr, flush=True)
    )
    stop = stop or threading.Event()
    outbound = Outbound(options)
    try:
        outbound.start()
    except OSError as exc:
        host, port = options.serve_metrics or ("", 0)
        say(
            _("cannot serve metrics on {host}:{port}: {error}").format(
                host=host, port=port, error=exc.strerror or exc
            )
        )
        return 2
    if outbound.exporter is not None:
        say(
            _("serving metrics on {url}").format(
                url=f"http://{outbound.exporter.host}:{outbound.exporter.port}/metrics"
            )
        )
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
    watch = _TrainerWatch(paths)
    advised = forced = 0.0
    try:
        while not stop.is_set():
            busy = False
            now = clock()
            for one in served:
                busy |= _poll(one, now, say)
            watch.update(served, time.monotonic())
            if now - advised >= ADVISE_EVERY_S:
                advised = now
                force = now - forced >= FORCE_EVERY_S
                forced = now if force else forced
                for one in served:
                    one.run.advise(now, force=force)
                states: list[RunState] = [(one.label, one.run, one.ended) for one in served]
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
