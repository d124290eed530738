"""`trainmon --headless -- CMD` (or no terminal): run the command, no screen.

The command's output goes through to standard output as it comes and into the log file;
SIGINT, SIGTERM and SIGHUP are passed on to the command's process group (the command is in a
session of its own, so a Ctrl-C in the terminal reaches only trainmon). At the end one JSON
line on standard error sums the log up (records, findings, as `trainmon report` reads it),
and trainmon exits with the command's exit code (128 + N for signal N).
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Sequence

import orjson

from trainmon.signal_handlers import handlers_installed
from trainmon.text import json_terminal_safe
from trainmon.wrap import CommandEnd, WrappedCommand

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def summary_line(
    command: WrappedCommand, end: CommandEnd, context: Sequence[tuple[str, str]] = ()
) -> bytes:
    """One JSON object: the log, the command's end, its records and the findings (those of
    `trainmon report`, and `process-exited` when the log did not show the run finishing)."""
    from trainmon.report import read_log, summary_run
    from trainmon.sources.samples import ProcessExit

    summary = read_log(command.path)
    run = summary_run(summary, dict(context))
    # The end is known exactly: the `process-exited` rule judges it as in the dashboard.
    run.observe_process_exit(ProcessExit(command.pid or 0, end.status, time.time(), command.path))
    run.advise()
    findings = run.findings()
    row = {
        "log": command.path,
        "exit_code": end.exit_code,
        "signal": end.signal_name,
        "format": summary.format,
        "records": summary.store.records,
        "last_step": summary.store.last_step,
        "findings": [f.as_json() for f in findings],
        "bytes_lost": command.copy.bytes_lost,
    }
    return json_terminal_safe(orjson.dumps(row)) + b"\n"


def run_headless(
    command: Sequence[str], log_path: str, context: Sequence[tuple[str, str]] = ()
) -> int:
    """Run `command` to its end as described above; returns trainmon's exit code."""
    sys.stdout.flush()
    wrapped = WrappedCommand(command, log_path, passthrough_fd=sys.stdout.fileno())

    def forward(signum: int, frame: object) -> None:
        wrapped.interrupt(signum)

    with handlers_installed(FORWARDED, forward):
        wrapped.start()
        end = None
        while end is None:  # short waits, so the handlers run between them
            end = wrapped.wait(timeout=0.5)
        wrapped.wait_output()
    wrapped.reap()
    wrapped.close()
    sys.stderr.buffer.write(summary_line(wrapped, end, context))
    sys.stderr.flush()
    return end.exit_code
