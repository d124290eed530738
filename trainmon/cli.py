"""Command line: the dashboard (`trainmon PATH`), `report`, `stream` and `replay`.

`report` and `stream` are headless: this module imports nothing from the UI at module level,
so `trainmon report` never loads Textual (it is imported inside `_run_dashboard`).

Exit codes: 0 ok; 1 `report` found no recognisable metrics; 2 usage errors and unreadable
paths (one line naming the problem); 3 `report --fail-on` matched a finding; 130 a report
interrupted by Ctrl-C (`stream` ends with 0: Ctrl-C is how it is meant to stop). With
`-- CMD`: the command's exit code (128 + N for signal N), 127 when it cannot be run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn, TypeVar

from trainmon import __version__
from trainmon.alert_options import AlertOptions
from trainmon.config import DashboardOptions, Mode
from trainmon.i18n import N_, _
from trainmon.store import DEFAULT_MAX_SERIES
from trainmon.text import json_terminal_safe, terminal_safe, terminal_safe_lines

Number = TypeVar("Number", int, float)

EXIT_OK = 0
EXIT_NO_METRICS = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 3
EXIT_INTERRUPTED = 130
EXIT_NO_COMMAND = 127
"""`trainmon -- CMD`: CMD cannot be found or executed (as a shell says it)."""

SUBCOMMANDS = ("report", "stream", "replay", "formats", "serve")

EXAMPLES = N_("""\
examples:
  trainmon run.log                      follow a log (from its start) in the dashboard
  trainmon -- python train.py --lr 3e-4   run the training in trainmon (output saved to
                                        ./trainmon-logs/, --log PATH; --headless: no screen)
  python train.py 2>&1 | trainmon -     monitor a run through a pipe; q offers to detach
                                        (the pipe is saved to ./trainmon-logs/, --log PATH)
  trainmon --from-end --no-gpu run.log  only what is appended from now on, no GPU panes
  trainmon --demo                       a synthetic run, to see every pane
  trainmon replay old.log --speed 100   replay a finished log 100x faster than it ran
  trainmon report run.log               summary: format, records, series, findings
  trainmon report run.log --json --fail-on critical   for CI (exit 3 on a critical finding)
  trainmon stream run.log | jq .metrics.loss   one JSON object per record, as it arrives
  trainmon stream --once run.log        what the log holds now, then exit
  trainmon formats                      the log formats trainmon reads, with examples
  trainmon report run.log --explain     how the first lines were read (or why not)
  trainmon --pattern 'it (?P<step>\\d+) L=(?P<loss>\\S+)' run.log   teach a format
  trainmon ./report                     a log file literally named `report`
  trainmon run.log --notify json://host/hook   alerts off the terminal (trainmon[notify])
  trainmon serve run.log --serve-metrics 9400  Prometheus metrics, no screen
  trainmon runs/                        a folder of runs (logs, TensorBoard, W&B): pick one
  trainmon report runs/ --csv           every series of every run: run,step,name,value
  trainmon --metrics eval_accuracy run.log   chart another series (key M lists them)
""")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (exit 2) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        # The message quotes the command line, which may hold any bytes.
        safe = terminal_safe(message)
        line = _("{prog}: error: {message} (see {prog} --help)").format(
            prog=self.prog, message=safe
        )
        self.exit(EXIT_USAGE, line + "\n")

    def format_help(self) -> str:
        return terminal_safe_lines(super().format_help())

    def format_usage(self) -> str:
        return terminal_safe_lines(super().format_usage())


def _checked(
    convert: Callable[[str], Number], ok: Callable[[Number], bool], not_one: str, rule: str
) -> Callable[[str], Number]:
    """An argparse `type`: `convert` the text, then check it; each failure is one clear line."""

    def parse(text: str) -> Number:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{_(not_one)}: {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{_(rule)}: {text!r}")
        return value

    return parse


_positive_int = _checked(int, lambda v: v > 0, N_("not a whole number"), N_("must be positive"))
_positive_float = _checked(
    float, lambda v: 0 < v < math.inf, N_("not a number"), N_("must be a positive number")
)
_smoothing = _checked(
    float, lambda v: 0.0 <= v < 1.0, N_("not a number"), N_("smoothing must be in [0, 1)")
)
_pid = _checked(int, lambda v: v > 0, N_("not a process id"), N_("not a process id"))
_max_series = _checked(int, lambda v: v >= 1, N_("not a whole number"), N_("must be at least 1"))


def _add_max_series(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-series", type=_max_series, default=DEFAULT_MAX_SERIES, metavar="N",
        help=_("series kept per run; further metric names are counted, not kept "
        "(default {count})").format(count=DEFAULT_MAX_SERIES),
    )  # fmt: skip


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(_("expected KEY=VALUE, got {text!r}").format(text=text))
    return key.strip(), value.strip()


def _add_context_option(p: argparse.ArgumentParser, help_text: str) -> None:
    """`--context KEY=VALUE` (repeatable): run facts for the advice rules."""
    p.add_argument(
        "--context", action="append", default=[], type=_key_value, metavar="KEY=VALUE",
        help=help_text,
    )  # fmt: skip


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
    was a large share of each command's start-up."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=_("show the version")
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


def _add_pattern_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pattern", default=None, metavar="REGEX",
        help=_("read lines with this regex first: named groups step, total, epoch and metrics, "
        "e.g. 'it (?P<step>\\d+) L=(?P<loss>\\S+)'"),
    )  # fmt: skip


def _install_formats(pattern: str | None) -> str | None:
    """Install `--pattern` and formats.toml before the built-in table; a problem, or None."""
    from trainmon.parsing.user import (
        UserFormatError,
        compile_pattern,
        load_formats,
        set_user_formats,
    )

    try:
        taught = (compile_pattern(pattern, "--pattern"),) if pattern is not None else ()
        set_user_formats(taught + load_formats())
    except UserFormatError as exc:
        return str(exc)
    return None


def _add_dashboard_options(p: argparse.ArgumentParser) -> None:
    _add_pattern_option(p)
    p.add_argument(
        "--from-end", action="store_true", help=_("skip the existing history; show only appends")
    )
    p.add_argument(
        "--refresh", type=_positive_float, default=1.0, metavar="SECONDS",
        help=_("redraw interval (default 1.0)"),
    )  # fmt: skip
    p.add_argument(
        "--smoothing", type=_smoothing, default=0.6, metavar="W",
        help=_("EMA weight of the smoothed loss line, 0 to <1 (default 0.6)"),
    )  # fmt: skip
    p.add_argument("--no-gpu", action="store_true", help=_("do not use NVML (no GPU panes)"))
    p.add_argument(
        "--pid", type=_pid, default=None, help=_("the training process, if it is not found")
    )
    p.add_argument("--no-bell", action="store_true", help=_("never ring the terminal bell"))
    p.add_argument(
        "--mute", action="append", default=[], metavar="RULE", help=_("hide an advice rule")
    )
    _add_context_option(p, _("a run fact for the advice rules, e.g. vocab_size=32000 (repeatable)"))
    p.add_argument(
        "--metrics", default=None, metavar="NAME,...",
        help=_("chart these series in the metric plot (any logged name; key M lists them)"),
    )  # fmt: skip
    _add_max_series(p)
    _add_jobs(p)  # a big history at start is read as `report` reads a file
    from trainmon.alert_options import add_alert_options

    add_alert_options(p)


def _main_parser() -> _Parser:
    p = _Parser(
        prog="trainmon",
        description=_(
            "A terminal monitor for training runs: follows a plain training log and "
            "shows loss/LR, grad norm, GPUs, CPU and advice. Subcommands: report, stream, replay "
            "(see `trainmon report --help`)."
        ),
        epilog=_(EXAMPLES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths", nargs="*", metavar="PATH",
        help=_("log files to follow (- for stdin), event files, W&B run folders, folders of runs"),
    )  # fmt: skip
    p.add_argument("--demo", action="store_true", help=_("show a synthetic run"))
    p.add_argument(
        "--log", default=None, metavar="PATH",
        help=_("with -: append standard input to this file (default "
        "./trainmon-logs/stdin-<YYYYmmdd-HHMMSS>.log); on quit a background process can "
        "keep saving it, so the writer never meets a closed pipe; with -- CMD: where the "
        "command's output is saved"),
    )  # fmt: skip
    p.add_argument(
        "--headless", action="store_true",
        help=_("with -- CMD: no screen; the output goes through, a JSON summary line ends it"),
    )  # fmt: skip
    _add_dashboard_options(p)
    p.add_argument("--version", action=_VersionAction)
    _add_lang_option(p)
    return p


def _add_lang_option(p: argparse.ArgumentParser) -> None:
    from trainmon.i18n import LANGUAGES, _

    languages = ", ".join(LANGUAGES)
    p.add_argument(
        "--lang",
        metavar="LANG",
        help=_(
            "language of the messages: {languages} (default: from LANGUAGE, LC_ALL, "
            "LC_MESSAGES, LANG; English when none matches)"
        ).format(languages=languages),
    )


def _report_parser() -> _Parser:
    p = _Parser(
        prog="trainmon report",
        description=_(
            "Read a whole log (no following) and summarise it: format, records, "
            "series ranges, progress and findings."
        ),
        epilog=_(
            "exit codes: 0 ok, 1 no recognisable metrics, 2 unreadable path or usage "
            "error, 3 a finding at or above --fail-on"
        ),
    )
    p.add_argument(
        "path", metavar="PATH", help=_("a log file, or a FIFO or pipe such as <(zcat run.log.gz); "
        "an event file, a W&B run folder, or a folder of runs (every run is reported)"),
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help=_("print exactly one JSON object"))
    p.add_argument(
        "--csv", action="store_true",
        help=_("print every series in long format: run,step,name,value (for pandas)"),
    )  # fmt: skip
    p.add_argument(
        "--fail-on", choices=("warning", "critical"), default=None,
        help=_("exit 3 when a finding of this severity or higher exists"),
    )  # fmt: skip
    _add_context_option(p, _("a run fact for the advice rules (repeatable)"))
    p.add_argument(
        "--explain", action="store_true",
        help=_("print how the first lines were read (format, step, values) or why not"),
    )  # fmt: skip
    p.add_argument(
        "--lines", type=_positive_int, default=40, metavar="N",
        help=_("lines shown by --explain (default 40)"),
    )  # fmt: skip
    _add_pattern_option(p)
    _add_max_series(p)
    _add_jobs(p)
    _add_lang_option(p)
    return p


def _add_jobs(p: argparse.ArgumentParser) -> None:
    from trainmon.report import default_jobs

    p.add_argument(
        "--jobs", type=_positive_int, default=None, metavar="N",
        help=_("processes that read a big file (default one fewer than the cores, at most 8: "
        "{count} here)").format(count=default_jobs()),

    )  # fmt: skip


def _stream_parser() -> _Parser:
    p = _Parser(
        prog="trainmon stream",
        description=_(
            "Follow a log like the dashboard does and print one JSON object per "
            'record, {"kind": ..., "step": N, "metrics": {NAME: value}}, and {"event": ...} for '
            "waiting, truncated and rotated. It follows until Ctrl-C, like `tail -f`; with --once "
            "it prints what the log holds and exits."
        ),
    )
    p.add_argument("path", metavar="PATH", help=_("log file, or - for stdin"))
    p.add_argument("--from-end", action="store_true", help=_("skip the existing history"))
    p.add_argument(
        "--once", action="store_true",
        help=_("print what the log holds now (stdin: until it closes), then exit 0"),
    )  # fmt: skip
    _add_pattern_option(p)
    return p


def _replay_parser() -> _Parser:
    p = _Parser(
        prog="trainmon replay",
        description=_("Replay a finished log in the dashboard, faster than it ran."),
    )
    p.add_argument("path", metavar="PATH")
    p.add_argument(
        "--speed", type=_positive_float, default=50.0, metavar="N",
        help=_("times faster than the original pace (default 50)"),
    )  # fmt: skip
    _add_dashboard_options(p)
    return p


def path_problem(path: str, *, must_exist: bool) -> str | None:
    """One line naming why `path` cannot be read as a log, or None when it can (or may).

    A FIFO is checked without opening it: opening and closing it would release a writer
    blocked in its own `open()`, whose next write would then meet no reader (SIGPIPE).
    """
    from trainmon.follow import STDIN, describe_os_error, unsupported_kind

    if path == STDIN:
        return _stdin_problem()
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        return describe_os_error(path, exc) if must_exist else None
    except OSError as exc:
        return describe_os_error(path, exc)
    if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
        from trainmon.inputs import input_problem  # a run folder, or an extra not installed

        if (problem := input_problem(path)) is not None or stat.S_ISDIR(st.st_mode):
            return problem
    reason = unsupported_kind(st.st_mode)
    if reason is not None:
        return f"{path}: {reason}"
    if stat.S_ISFIFO(st.st_mode):
        if not os.access(path, os.R_OK):
            return describe_os_error(path, PermissionError())
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return describe_os_error(path, exc)
    os.close(fd)
    return None


def _folder_problem(path: str, command: str) -> str | None:
    from trainmon.inputs import folder_problem

    return folder_problem(path, command)


def log_problem(path: str) -> str | None:
    """One line naming why standard input cannot be saved to `path`, or None when it can."""
    from trainmon.follow import describe_os_error

    if os.path.isdir(path):
        return describe_os_error(path, IsADirectoryError())
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):  # the missing folders will be created
        folder = os.path.dirname(folder)
    target = path if os.path.exists(path) else folder
    if not os.access(target, os.W_OK):
        return f"{path}: " + _("permission denied (cannot write it)")
    return None


def _stdin_problem() -> str | None:
    """Standard input may be a pipe, a file or a terminal, not a device like `/dev/zero`."""
    from trainmon.follow import unsupported_kind

    try:
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, AttributeError):
        return None  # nothing to inspect: the follower says what it finds
    if stat.S_ISCHR(mode) and not os.isatty(fd):
        return _("standard input is {kind}").format(kind=unsupported_kind(mode))

    return None


def _fail(message: str) -> int:
    """Say what went wrong on stderr (paths in it shown terminal-safe); exit code 2."""
    sys.stderr.write(f"trainmon: {terminal_safe(message)}\n")
    return EXIT_USAGE


# -- report --------------------------------------------------------------------------------


class _Terminated(BaseException):
    """SIGTERM or SIGHUP arrived while reading: unwind, so the helper process is reaped."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _unwind_on_termination() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into `_Terminated` (the default action would exit at once,
    leaving a forked helper parsing on its own)."""

    from trainmon.signal_handlers import handlers_installed

    def raise_terminated(signum: int, frame: object) -> None:
        raise _Terminated(signum)

    signums = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    with handlers_installed(signums, raise_terminated):
        yield


def _report(argv: Sequence[str]) -> int:
    import orjson

    from trainmon.inputs import input_kind
    from trainmon.parsing import known_formats
    from trainmon.parsing.formats import closest_example
    from trainmon.report import (
        as_json,
        as_text,
        fails,
        no_metrics_message,
        report_log,
        write_stdout,
    )

    args = _report_parser().parse_args(argv)
    if args.path == "-":
        return _fail(_("report reads a file; use `trainmon stream -` for standard input"))
    problem = path_problem(args.path, must_exist=True) or _install_formats(args.pattern)
    if problem is not None:
        return _fail(problem)
    if args.explain and (os.path.isdir(args.path) or input_kind(args.path) != "log"):
        return _fail(
            _("{path}: --explain reads a log file, not a folder or a binary run").format(
                path=args.path
            )
        )
    if args.explain:
        from trainmon.parsing.explain import explain

        with open(args.path, "rb") as f:
            head = b"".join(f.readline(1 << 20) for _ in range(args.lines))
        write_stdout("\n".join(explain(head, args.lines)) + "\n")
        return EXIT_OK
    if args.csv or (os.path.isdir(args.path) and input_kind(args.path) == "log"):
        from trainmon.folder import report_runs  # every run of a folder, or the CSV export

        return report_runs(args.path, args)
    try:
        with _unwind_on_termination():
            summary, findings = report_log(
                args.path, dict(args.context), max_series=args.max_series, jobs=args.jobs
            )  # a FIFO, `<(zcat run.log.gz)`: a stream to EOF
    except _Terminated as exc:  # the helper is reaped by now; end as the signal asked
        signal.signal(exc.signum, signal.SIG_DFL)
        os.kill(os.getpid(), exc.signum)
        return 128 + exc.signum  # only where the signal does not end the process
    if args.json:
        # Exact names; the characters orjson leaves raw are written as \u escapes.
        write_stdout(json_terminal_safe(orjson.dumps(as_json(summary, findings))).decode() + "\n")
    else:
        write_stdout(as_text(summary, findings))
    if not summary.store.records and input_kind(args.path) != "log":
        sys.stderr.write(
            f"trainmon: {terminal_safe(args.path)}: " + _("no scalar metrics in it yet") + "\n"
        )
        return EXIT_NO_METRICS
    if not summary.store.records:
        closest = closest_example(args.path)
        sys.stderr.write(no_metrics_message(summary, known_formats(), closest) + "\n")
        # a crash before the first record (CUDA out of memory at step 0) still fails the check
        return EXIT_FINDINGS if fails(findings, args.fail_on) else EXIT_NO_METRICS
    if fails(findings, args.fail_on):
        return EXIT_FINDINGS
    return EXIT_OK


# -- formats -------------------------------------------------------------------------------


def _formats(argv: Sequence[str]) -> int:
    from trainmon.parsing import FORMATS
    from trainmon.parsing.user import config_path
    from trainmon.report import write_stdout

    p = _Parser(
        prog="trainmon formats",
        description=_(
            "List the log formats trainmon reads, with example lines, and the "
            "formats taught in formats.toml."
        ),
    )
    p.parse_args(argv)
    problem = _install_formats(None)
    if problem is not None:
        return _fail(problem)
    from trainmon.parsing.user import user_formats

    lines: list[str] = []
    for entry in FORMATS:
        if entry.printed_by:
            lines.append(f"{entry.name}  ({entry.printed_by})")
        lines.extend(f"    {example}" for example in entry.examples)
    taught = user_formats()
    lines.append("")
    lines.append(f"taught in {config_path()}: " + (", ".join(f.name for f in taught) or "none"))
    lines.append("teach one for a run: trainmon --pattern 'it (?P<step>\\d+) L=(?P<loss>\\S+)' LOG")
    write_stdout("\n".join(lines) + "\n")
    return EXIT_OK


# -- stream --------------------------------------------------------------------------------


STREAM_EVENTS = frozenset({"waiting", "truncated", "rotated"})


def _stream(argv: Sequence[str]) -> int:
    args = _stream_parser().parse_args(argv)
    problem = path_problem(args.path, must_exist=args.once)  # --once cannot wait for it
    problem = problem or _folder_problem(args.path, "stream")
    problem = problem or _install_formats(args.pattern)
    if problem is not None:
        return _fail(problem)
    try:
        return _stream_loop(args.path, from_end=args.from_end, once=args.once)
    except KeyboardInterrupt:
        return EXIT_OK


def _stream_loop(path: str, *, from_end: bool, once: bool = False) -> int:
    import orjson

    from trainmon.ingest import Ingest
    from trainmon.records import FollowEvent
    from trainmon.report import write_stdout

    ingest = Ingest(path, from_end=from_end, follow=not once)
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
                    # Metrics under their own key: one named `kind`, `event` or `step` can
                    # never overwrite the schema's keys. orjson writes NaN/inf as null.
                    row = {"kind": record.kind, "step": record.step, "metrics": record.values}
                    lines.append(dumps(row))
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
        log_path=getattr(args, "log", None),
        max_series=args.max_series,
        jobs=getattr(args, "jobs", None),
        alerts=_alerts(args),
        metrics=tuple(n.strip() for n in (args.metrics or "").split(",") if n.strip()),
    )


def _alerts(args: argparse.Namespace) -> AlertOptions:
    from trainmon.alert_options import alert_options

    return alert_options(args)


def _run_dashboard(options: DashboardOptions) -> int:
    from trainmon.ui.launch import run  # Textual is imported only for the dashboard

    return run(options)


def _replay(argv: Sequence[str]) -> int:
    from trainmon.alert_options import alert_problem

    args = _replay_parser().parse_args(argv)
    problem = path_problem(args.path, must_exist=True) or _folder_problem(args.path, "replay")
    problem = problem or _install_formats(args.pattern) or alert_problem(_alerts(args))
    if problem is not None:
        return _fail(problem)
    return _run_dashboard(_options(args, (args.path,), "replay"))


def _dashboard(argv: Sequence[str]) -> int:
    parser = _main_parser()
    argv = list(argv)
    if "--" in argv:  # trainmon [OPTIONS] -- CMD ...: run the command
        split = argv.index("--")
        return _wrap(parser, parser.parse_args(argv[:split]), tuple(argv[split + 1 :]))
    args = parser.parse_args(argv)
    if args.headless:
        parser.error(_("--headless runs a command: trainmon --headless -- python train.py"))
    paths = tuple(args.paths)
    if args.demo:
        if paths:
            parser.error(_("--demo takes no PATH"))
        return _run_dashboard(_options(args, (), "demo"))
    if not paths:
        parser.error(_("a log PATH (or - for stdin, or --demo) is required"))
    if paths.count("-") > 1:
        parser.error(_("standard input (-) can be followed only once"))
    if args.log is not None and "-" not in paths:
        parser.error(_("--log saves standard input: it needs - among the paths"))
    if args.log is not None:
        problem = log_problem(args.log)
        if problem is not None:
            return _fail(problem)
    if "-" in paths and sys.stdin.isatty():
        return _fail(
            _(
                "standard input is a terminal: pipe a log into it "
                "(python train.py 2>&1 | trainmon -)"
            )
        )
    for path in paths:
        problem = path_problem(path, must_exist=False)
        if problem is not None:
            return _fail(problem)
    from trainmon.alert_options import alert_problem
    from trainmon.inputs.discover import expand_folders

    paths, problem = expand_folders(paths)  # a folder of runs: its runs, newest first
    if not problem and len(paths) > 1 and len(args.paths) == 1 and sys.stdout.isatty():
        from trainmon.inputs.discover import discover_runs
        from trainmon.ui.run_list import pick_runs  # the folder's run list, to pick from

        paths = pick_runs(discover_runs(args.paths[0]))
        if not paths:
            return EXIT_OK
    problem = problem or _install_formats(args.pattern) or alert_problem(_alerts(args))
    if problem is not None:
        return _fail(problem)
    return _run_dashboard(_options(args, paths, "dashboard"))


# -- serve ---------------------------------------------------------------------------------


def _serve(argv: Sequence[str]) -> int:
    from trainmon.alert_options import add_alert_options, alert_problem
    from trainmon.serve import add_serve_arguments, serve

    p = _Parser(
        prog="trainmon serve",
        description=_(
            "Follow logs without a screen: serve their metrics for Prometheus "
            "(--serve-metrics) and send alerts (--notify), until SIGINT or SIGTERM."
        ),
    )
    add_serve_arguments(p)
    _add_context_option(p, _("a run fact for the advice rules (repeatable)"))
    _add_pattern_option(p)
    _add_max_series(p)
    add_alert_options(p, cluster=False)
    args = p.parse_args(argv)
    alerts = _alerts(args)
    if alerts.serve_metrics is None and not alerts.notify:
        p.error("serve needs --serve-metrics [HOST:]PORT or --notify URL")
    if "-" in args.paths:
        return _fail(_("serve follows files; pipe into `trainmon -` for standard input"))
    for path in args.paths:
        problem = path_problem(path, must_exist=False)
        if problem is not None:
            return _fail(problem)
    problem = _install_formats(args.pattern) or alert_problem(alerts)
    if problem is not None:
        return _fail(problem)
    with _unwind_on_termination():
        try:
            return serve(
                args.paths, alerts, context=args.context, muted=args.mute,
                max_series=args.max_series,
            )  # fmt: skip
        except _Terminated:
            return EXIT_OK


def _wrap(parser: _Parser, args: argparse.Namespace, command: tuple[str, ...]) -> int:
    """`trainmon -- CMD`: run CMD in a pty, save its output, and show (or sum up) its log."""
    from trainmon.wrap import command_problem, default_command_log

    if args.paths or args.demo:
        parser.error(_("a command (after --) and log paths or --demo cannot be combined"))

    problem = command_problem(command)
    if problem is not None:
        sys.stderr.write(f"trainmon: {terminal_safe(problem)}\n")
        return EXIT_NO_COMMAND
    log = args.log
    if log is None:
        log = default_command_log(command)
        if log_problem(log) is not None:  # the current folder is not writable
            import tempfile

            folder = os.path.join(tempfile.gettempdir(), "trainmon-logs")
            log = default_command_log(command, directory=folder)
    problem = log_problem(log) or _install_formats(args.pattern)
    if problem is not None:
        return _fail(problem)
    headless = args.headless or not (sys.stdin.isatty() and sys.stdout.isatty())
    if headless:
        from trainmon.wrap_headless import run_headless

        try:
            return run_headless(command, log, args.context)
        except OSError as exc:
            return _fail(
                _("cannot run {command}: {error}").format(
                    command=command[0], error=exc.strerror or exc
                )
            )
    options = dataclasses.replace(_options(args, (log,), "dashboard"), command=command)
    return _run_dashboard(dataclasses.replace(options, log_path=log))


def main(argv: Sequence[str] | None = None) -> int:
    """Run trainmon; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    from trainmon.i18n import language_from_command_line

    args, problem = language_from_command_line(args)
    if problem is not None:
        return _fail(problem)
    from trainmon.argparse_words import speak_argparse

    speak_argparse()
    try:
        if args and args[0] in SUBCOMMANDS:
            command, rest = args[0], args[1:]
            if command == "report":
                return _report(rest)
            if command == "stream":
                return _stream(rest)
            if command == "formats":
                return _formats(rest)
            if command == "serve":
                return _serve(rest)
            return _replay(rest)
        return _dashboard(args)
    except SystemExit as exc:  # argparse: --help / --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:  # `stream` ends with 0 by itself; anything else was cut short
        sys.stderr.write("trainmon: " + _("interrupted") + "\n")
        return EXIT_INTERRUPTED
