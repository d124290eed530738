"""Command line: the dashboard (`trainmon PATH`), `report`, `stream` and `replay`.

`report` and `stream` are headless: this module imports nothing from the UI at module level,
so `trainmon report` never loads Textual (it is imported inside `_run_dashboard`).

Exit codes: 0 ok; 1 `report` found no recognisable metrics; 2 usage errors and unreadable
paths (one line naming the problem); 3 `report --fail-on` matched a finding; 130 a report
interrupted by Ctrl-C (`stream` ends with 0: Ctrl-C is how it is meant to stop).
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from trainmon import __version__
from trainmon.config import DashboardOptions, Mode
from trainmon.store import DEFAULT_MAX_SERIES
from trainmon.text import json_terminal_safe, terminal_safe, terminal_safe_lines

EXIT_OK = 0
EXIT_NO_METRICS = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 3
EXIT_INTERRUPTED = 130

SUBCOMMANDS = ("report", "stream", "replay")

EXAMPLES = """\
examples:
  trainmon run.log                      follow a log (from its start) in the dashboard
  python train.py 2>&1 | trainmon -     monitor a run through a pipe
  trainmon --from-end --no-gpu run.log  only what is appended from now on, no GPU panes
  trainmon --demo                       a synthetic run, to see every pane
  trainmon replay old.log --speed 100   replay a finished log 100x faster than it ran
  trainmon report run.log               summary: format, records, series, findings
  trainmon report run.log --json --fail-on critical   for CI (exit 3 on a critical finding)
  trainmon stream run.log | jq .loss    one JSON object per record, as it arrives
  trainmon ./report                     a log file literally named `report`
"""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (exit 2) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        # The message quotes the command line, which may hold any bytes.
        safe = terminal_safe(message)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {safe} (see {self.prog} --help)\n")

    def format_help(self) -> str:
        return terminal_safe_lines(super().format_help())

    def format_usage(self) -> str:
        return terminal_safe_lines(super().format_usage())


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def _smoothing(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"smoothing must be in [0, 1): {text!r}")
    return value


def _pid(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}")
    return value


def _max_series(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _add_max_series(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-series", type=_max_series, default=DEFAULT_MAX_SERIES, metavar="N",
        help=f"series kept per run; further metric names are counted, not kept "
        f"(default {DEFAULT_MAX_SERIES})",
    )  # fmt: skip


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def version_text() -> str:
    """trainmon's version and Textual's, without importing Textual (metadata only)."""
    from importlib import metadata

    try:
        textual = metadata.version("textual")
    except metadata.PackageNotFoundError:
        textual = "not installed"
    return f"trainmon {__version__} (textual {textual}, Python {sys.version.split()[0]})"


class _VersionAction(argparse.Action):
    """`--version`, its text built only when asked: reading package metadata at every start
    cost about 50 ms of each command's start-up."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version"
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(version_text())
        parser.exit()


def _add_dashboard_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from-end", action="store_true", help="skip the existing history; show only appends"
    )
    p.add_argument(
        "--refresh", type=_positive_float, default=1.0, metavar="SECONDS",
        help="redraw interval (default 1.0)",
    )  # fmt: skip
    p.add_argument(
        "--smoothing", type=_smoothing, default=0.6, metavar="W",
        help="EMA weight of the smoothed loss line, 0 to <1 (default 0.6)",
    )  # fmt: skip
    p.add_argument("--no-gpu", action="store_true", help="do not use NVML (no GPU panes)")
    p.add_argument(
        "--pid", type=_pid, default=None, help="the training process, if it is not found"
    )
    p.add_argument("--no-bell", action="store_true", help="never ring the terminal bell")
    p.add_argument(
        "--mute", action="append", default=[], metavar="RULE", help="hide an advice rule"
    )
    p.add_argument(
        "--context", action="append", default=[], type=_key_value, metavar="KEY=VALUE",
        help="a run fact for the advice rules, e.g. vocab_size=32000 (repeatable)",
    )  # fmt: skip
    _add_max_series(p)


def _main_parser() -> _Parser:
    p = _Parser(
        prog="trainmon",
        description="A terminal monitor for training runs: follows a plain training log and "
        "shows loss/LR, grad norm, GPUs, CPU and advice. Subcommands: report, stream, replay "
        "(see `trainmon report --help`).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="log files to follow; - for stdin")
    p.add_argument("--demo", action="store_true", help="show a synthetic run")
    _add_dashboard_options(p)
    p.add_argument("--version", action=_VersionAction)
    return p


def _report_parser() -> _Parser:
    p = _Parser(
        prog="trainmon report",
        description="Read a whole log (no following) and summarise it: format, records, "
        "series ranges, progress and findings.",
        epilog="exit codes: 0 ok, 1 no recognisable metrics, 2 unreadable path or usage "
        "error, 3 a finding at or above --fail-on",
    )
    p.add_argument("path", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.add_argument(
        "--fail-on", choices=("warning", "critical"), default=None,
        help="exit 3 when a finding of this severity or higher exists",
    )  # fmt: skip
    p.add_argument(
        "--context", action="append", default=[], type=_key_value, metavar="KEY=VALUE",
        help="a run fact for the advice rules (repeatable)",
    )  # fmt: skip
    _add_max_series(p)
    return p


def _stream_parser() -> _Parser:
    p = _Parser(
        prog="trainmon stream",
        description="Follow a log like the dashboard does and print one JSON object per "
        'record (metrics, "step", "kind") and {"event": ...} for waiting, truncated and '
        "rotated. Ctrl-C ends it.",
    )
    p.add_argument("path", metavar="PATH", help="log file, or - for stdin")
    p.add_argument("--from-end", action="store_true", help="skip the existing history")
    return p


def _replay_parser() -> _Parser:
    p = _Parser(
        prog="trainmon replay",
        description="Replay a finished log in the dashboard, faster than it ran.",
    )
    p.add_argument("path", metavar="PATH")
    p.add_argument(
        "--speed", type=_positive_float, default=50.0, metavar="N",
        help="times faster than the original pace (default 50)",
    )  # fmt: skip
    _add_dashboard_options(p)
    return p


def path_problem(path: str, *, must_exist: bool) -> str | None:
    """One line naming why `path` cannot be read as a log, or None when it can (or may)."""
    from trainmon.follow import STDIN, describe_os_error

    if path == STDIN:
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        return describe_os_error(path, exc) if must_exist else None
    except OSError as exc:
        return describe_os_error(path, exc)
    if stat.S_ISDIR(st.st_mode):
        return describe_os_error(path, IsADirectoryError())
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return describe_os_error(path, exc)
    os.close(fd)
    return None


def _fail(message: str) -> int:
    """Say what went wrong on stderr (paths in it shown terminal-safe); exit code 2."""
    sys.stderr.write(f"trainmon: {terminal_safe(message)}\n")
    return EXIT_USAGE


# -- report --------------------------------------------------------------------------------


def _report(argv: Sequence[str]) -> int:
    import orjson

    from trainmon.parsing import KNOWN_FORMATS
    from trainmon.report import (
        as_json,
        as_text,
        fails,
        findings_for,
        no_metrics_message,
        read_log,
        write_stdout,
    )

    args = _report_parser().parse_args(argv)
    if args.path == "-":
        return _fail("report reads a file; use `trainmon stream -` for standard input")
    problem = path_problem(args.path, must_exist=True)
    if problem is not None:
        return _fail(problem)
    if not stat.S_ISREG(os.stat(args.path).st_mode):
        return _fail(f"{args.path}: not a regular file")
    summary = read_log(args.path, max_series=args.max_series)
    context: dict[str, object] = dict(summary.context)
    context.update(dict(args.context))
    findings = findings_for(summary.store, context) if summary.store.records else []
    if args.json:
        # Exact names; the characters orjson leaves raw are written as \u escapes.
        write_stdout(json_terminal_safe(orjson.dumps(as_json(summary, findings))).decode() + "\n")
    else:
        write_stdout(as_text(summary, findings))
    if not summary.store.records:
        sys.stderr.write(no_metrics_message(summary, tuple(map(str, KNOWN_FORMATS))) + "\n")
        return EXIT_NO_METRICS
    if fails(findings, args.fail_on):
        return EXIT_FINDINGS
    return EXIT_OK


# -- stream --------------------------------------------------------------------------------


STREAM_EVENTS = frozenset({"waiting", "truncated", "rotated"})


def _stream(argv: Sequence[str]) -> int:
    args = _stream_parser().parse_args(argv)
    problem = path_problem(args.path, must_exist=False)
    if problem is not None:
        return _fail(problem)
    try:
        return _stream_loop(args.path, from_end=args.from_end)
    except KeyboardInterrupt:
        return EXIT_OK


def _stream_loop(path: str, *, from_end: bool) -> int:
    import orjson

    from trainmon.ingest import Ingest
    from trainmon.records import FollowEvent
    from trainmon.report import write_stdout

    ingest = Ingest(path, from_end=from_end)
    out = sys.stdout.buffer
    dumps = orjson.dumps
    try:
        while not ingest.finished:
            lines: list[bytes] = []
            for item in ingest.poll():
                if isinstance(item, FollowEvent):
                    if item.kind in STREAM_EVENTS:
                        lines.append(dumps({"event": item.kind}))
                    elif item.kind == "error":
                        sys.stderr.write(f"trainmon: {terminal_safe(item.detail)}\n")
                        sys.stderr.flush()
                    continue
                for record in item:
                    row: dict[str, object] = {"step": record.step, "kind": record.kind}
                    row.update(record.values)
                    lines.append(dumps(row))  # orjson writes NaN/inf as null
            if lines:
                lines.append(b"")
                out.write(json_terminal_safe(b"\n".join(lines)))
                out.flush()
            if ingest.caught_up and not ingest.finished:
                time.sleep(ingest.follower.poll_interval_s)
    except BrokenPipeError:
        write_stdout("")  # points stdout at /dev/null so the exit stays quiet
        return EXIT_OK
    finally:
        ingest.close()
    return EXIT_OK


# -- dashboard -----------------------------------------------------------------------------


def _options(args: argparse.Namespace, paths: tuple[str, ...], mode: Mode) -> DashboardOptions:
    return DashboardOptions(
        paths=paths,
        mode=mode,
        from_end=args.from_end,
        refresh_s=args.refresh,
        smoothing=args.smoothing,
        no_gpu=args.no_gpu,
        pid=args.pid,
        bell=not args.no_bell,
        replay_speed=getattr(args, "speed", 50.0),
        muted_rules=tuple(args.mute),
        context=tuple(args.context),
        max_series=args.max_series,
    )


def _run_dashboard(options: DashboardOptions) -> int:
    from trainmon.ui.launch import run  # Textual is imported only for the dashboard

    return run(options)


def _replay(argv: Sequence[str]) -> int:
    args = _replay_parser().parse_args(argv)
    problem = path_problem(args.path, must_exist=True)
    if problem is not None:
        return _fail(problem)
    return _run_dashboard(_options(args, (args.path,), "replay"))


def _dashboard(argv: Sequence[str]) -> int:
    parser = _main_parser()
    args = parser.parse_args(argv)
    paths = tuple(args.paths)
    if args.demo:
        if paths:
            parser.error("--demo takes no PATH")
        return _run_dashboard(_options(args, (), "demo"))
    if not paths:
        parser.error("a log PATH (or - for stdin, or --demo) is required")
    if paths.count("-") > 1:
        parser.error("standard input (-) can be followed only once")
    if "-" in paths and sys.stdin.isatty():
        return _fail(
            "standard input is a terminal: pipe a log into it (python train.py 2>&1 | trainmon -)"
        )
    for path in paths:
        problem = path_problem(path, must_exist=False)
        if problem is not None:
            return _fail(problem)
    return _run_dashboard(_options(args, paths, "dashboard"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run trainmon; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            command, rest = args[0], args[1:]
            if command == "report":
                return _report(rest)
            if command == "stream":
                return _stream(rest)
            return _replay(rest)
        return _dashboard(args)
    except SystemExit as exc:  # argparse: --help / --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:  # `stream` ends with 0 by itself; anything else was cut short
        sys.stderr.write("trainmon: interrupted\n")
        return EXIT_INTERRUPTED
