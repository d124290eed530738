"""`trainmon report`: read a whole log once (no following), judge it, and summarise it.

A big file is read in parts by forked helper processes and merged in file order
(`trainmon.parts`: the cuts, the helpers, the checks that the parts give the records and steps
of a single read; otherwise the whole file is read again in one process). The advice pass
begins over the first part, in this process, while the helpers still read the rest
(`report_log`): the engine's checkpoints depend on the record count alone, so the findings are
those of one pass over the merged history.

A file truncated or rewritten while it is read (a trainer restarted with `>`) is read again
from its start: the report describes one version of the file, never parts of two. FIFOs and
pipes (`report <(zcat run.log.gz)`) are read to their end in one process.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Mapping
from typing import Final

from trainmon.advice.engine import DENSE_CHECKPOINTS, PER_DOUBLING, whole_store_facts
from trainmon.i18n import N_, _, cell_width, language, pad_cells
from trainmon.parts import (
    MAX_JOBS,
    Helper,
    Part,
    PartRequest,
    abandon,
    changed_under,
    collect,
    cut_points,
    fingerprint,
    fork_all,
    gc_paused,
    merge_part,
    read_part,
    summary_of,
    trusted_split,
)
from trainmon.parts import SPLIT_BYTES as SPLIT_BYTES  # these three are asked of `report` too
from trainmon.parts import LogSummary as LogSummary
from trainmon.parts import default_jobs as default_jobs
from trainmon.records import SEVERITY_RANK, Finding, Severity
from trainmon.run import ParserProgress, Run
from trainmon.store import DEFAULT_MAX_SERIES, SeriesStats, ignored_series_note
from trainmon.text import display_name, terminal_safe, terminal_safe_lines

READ_ATTEMPTS: Final = 3
"""Reads of a file that keeps being rewritten under the reader, before the report settles for
the part of the last version read before it changed (and says so)."""
ADVICE_NS_PER_CHECKPOINT: Final = 1.15e6
ADVICE_NS_PER_LINE: Final = 800.0
"""Estimated cost of the advice pass over a history's first lines: its rules at each
checkpoint, and the scans over every record; in the units of `parts.NS_PER_LINE` (the same
VM, `bench/README.md`). `report_log` reads that much less itself, as it judges its part
while the helpers read theirs."""


def _regular_size(path: str) -> int | None:
    """The size of a regular file; None for a stream (FIFO, pipe, `/proc` file)."""
    from trainmon.follow import is_stream

    st = os.stat(path)
    return None if is_stream(st) else st.st_size


def read_log(
    path: str,
    *,
    split_bytes: int = SPLIT_BYTES,
    max_series: int = DEFAULT_MAX_SERIES,
    jobs: int | None = None,
) -> LogSummary:
    """Read the whole file at `path` (no following) into a summary.

    Args:
        path: a regular file (callers check readability first for a clear exit code).
        split_bytes: files of at least this size are read by several processes (0: never).
        max_series: series kept; further metric names are dropped and counted.
        jobs: processes at most (None: `default_jobs()`; 1: this process alone).
    """
    return _read_log(path, split_bytes, max_series, jobs, None)


def report_log(
    path: str,
    user_context: Mapping[str, object] | None = None,
    *,
    split_bytes: int = SPLIT_BYTES,
    max_series: int = DEFAULT_MAX_SERIES,
    jobs: int | None = None,
) -> tuple[LogSummary, list[Finding]]:
    """`read_log` and `findings_for` at once: the advice pass over the first part runs while
    the helpers read the others, so little of it is left once they are done."""
    early = _EarlyAdvice(user_context)
    summary = _read_log(path, split_bytes, max_series, jobs, early)
    return summary, early.findings(summary)


def _read_log(
    path: str, split_bytes: int, max_series: int, jobs: int | None, early: _EarlyAdvice | None
) -> LogSummary:
    """Read until one version of the file was read whole (READ_ATTEMPTS at most)."""
    jobs = default_jobs() if jobs is None else max(1, min(MAX_JOBS, jobs))
    from trainmon.inputs import input_kind

    if input_kind(path) != "log":
        split_bytes = 0  # framed binary records: a cut at a newline would split one
    arrival_s = time.time()
    with gc_paused():
        for _attempt in range(READ_ATTEMPTS):
            reader = _Reader(path, arrival_s, max_series, early)
            summary, changed = reader.read(split_bytes, jobs)
            if not changed:
                return summary
    summary.errors.append(
        f"{path} was truncated or rewritten under the reader {READ_ATTEMPTS} times; "
        "these figures cover its last version up to that change"
    )
    return summary


class _Reader:
    """One read of the file (in several processes when it is big)."""

    def __init__(
        self, path: str, arrival_s: float, max_series: int, early: _EarlyAdvice | None
    ) -> None:
        self.path = path
        self.arrival_s = arrival_s
        self.max_series = max_series
        self.early = early

    def request(self, start: int, stop: int | None) -> PartRequest:
        """Bytes [start, stop) of this file, as one part reads them."""
        return PartRequest(self.path, start, stop, self.arrival_s, self.max_series)

    def read(self, split_bytes: int, jobs: int) -> tuple[LogSummary, bool]:
        """The summary, and True when the file changed meanwhile."""
        path = self.path
        size = _regular_size(path)
        extra = None if self.early is None else _advice_ns
        cuts = cut_points(path, size, split_bytes, jobs, extra) if size is not None else []
        marks = [fingerprint(path, cut) for cut in cuts]
        if any(mark is None for mark in marks):
            cuts, marks = [], []
        stops = [*cuts[1:], None][: len(cuts)]  # the last part runs to the end
        requests = [self.request(start, stop) for start, stop in zip(cuts, stops, strict=True)]
        children: list[Helper] = []
        later: list[Part | None] = []
        try:
            children = fork_all(requests)
            if not children:  # no fork here, or no process to spare: one process
                cuts, marks = [], []
            first = read_part(self.request(0, cuts[0] if cuts else None))
            summary = summary_of(path, first)
            if not children:
                return _finish(summary), first.changed
            if first.changed:
                return summary, True  # the helpers are stopped below
            if self.early is not None:
                self.early.begin(summary)
            while children:  # in file order; each is reaped as it is collected
                later.append(collect(children[0]))
                children.pop(0)
        finally:
            for child in children:  # a change, Ctrl-C, SIGTERM, or a bug
                abandon(child)
        parts = [first, *later]
        if changed_under(parts, [mark for mark in marks if mark is not None]):
            return summary, True
        if not trusted_split(parts):  # read the file in one process, which is always right
            return _Reader(path, self.arrival_s, self.max_series, None).read(0, 1)
        for part in later:
            assert part is not None
            merge_part(summary, part)
        summary.parts = len(parts)
        return _finish(summary), False


def _advice_ns(lines: float) -> float:
    """The estimated cost of the advice pass over the first `lines` lines of a log (one
    record a line), from the engine's checkpoint schedule."""
    if lines <= DENSE_CHECKPOINTS:
        checkpoints = lines
    else:
        checkpoints = DENSE_CHECKPOINTS + PER_DOUBLING * math.log2(lines / DENSE_CHECKPOINTS)
    return checkpoints * ADVICE_NS_PER_CHECKPOINT + lines * ADVICE_NS_PER_LINE


def _finish(summary: LogSummary) -> LogSummary:
    if summary.total_steps is None:
        summary.total_steps = summary.store.total_steps
    summary.store.total_steps = summary.total_steps
    return summary


# -- findings ------------------------------------------------------------------------------


def summary_progress(summary: LogSummary) -> ParserProgress:
    """What the parsers knew of the log, as the one value a `Run` takes."""
    return ParserProgress(
        log_format=summary.format if summary.format_counts else None,
        lines=summary.lines,
        unparsed_lines=summary.unparsed_lines,
        total_steps=summary.total_steps,
        context=tuple(sorted(summary.context.items())),
        text_events=tuple(summary.text_events),
        records=summary.parsed_records,
    )


def summary_run(summary: LogSummary, user_context: Mapping[str, object] | None = None) -> Run:
    """The summary as a `Run`, whose context and advice are the dashboard's for the same log."""
    run = Run(summary.path, user_context=user_context, store=summary.store)
    run.take((), summary_progress(summary))
    return run


def findings_for(
    summary: LogSummary, user_context: Mapping[str, object] | None = None
) -> list[Finding]:
    """The advice engine's findings over the whole run (none without records)."""
    if not summary.store.records and not summary.text_events:
        return []
    return summary_run(summary, user_context).findings()


class _EarlyAdvice:
    """The advice pass begun over the first part while the helpers read the rest.

    When what the rules read of the whole store (`whole_store_facts`) differs at the end (a
    later part told the total, printed times), or the file was read again, the pass starts
    over, so the findings always equal `findings_for` over the merged history (a changed run
    context starts a new engine in `Run` itself).
    """

    def __init__(self, user_context: Mapping[str, object] | None) -> None:
        self.user_context = user_context
        self.run: Run | None = None
        self.seen: tuple[object, ...] | None = None
        """`whole_store_facts` when the first part was judged."""

    def begin(self, summary: LogSummary) -> None:
        """Judge the first part's records (the summary holds only them yet)."""
        self.run = summary_run(summary, self.user_context)
        self.run.advise()
        self.seen = whole_store_facts(summary.store)

    def findings(self, summary: LogSummary) -> list[Finding]:
        """The findings over the whole merged history."""
        run, store = self.run, summary.store
        if run is None or run.store is not store or self.seen != whole_store_facts(store):
            return findings_for(summary, self.user_context)
        run.take((), summary_progress(summary))
        return run.findings()


def fails(findings: list[Finding], threshold: Severity | None) -> bool:
    """True when a finding at `threshold` severity or above exists (`--fail-on`)."""
    if threshold is None:
        return False
    floor = SEVERITY_RANK[threshold]
    return any(SEVERITY_RANK[f.severity] >= floor for f in findings)


# -- output --------------------------------------------------------------------------------


def as_json(summary: LogSummary, findings: list[Finding]) -> dict[str, object]:
    """The `trainmon report --json` object (NaN never appears: stats are over finite values)."""
    store = summary.store
    return {
        "path": summary.path,
        "format": summary.format,
        "records": store.records,
        "lines": summary.lines,
        "unparsed_lines": summary.unparsed_lines,
        "series": {name: stats.as_json() for name, stats in store.stats().items()},
        "ignored_series": store.ignored_series,
        "steps": {
            "first": store.first_step,
            "last": store.last_step,
            "total": summary.total_steps,
        },
        "findings": [f.as_json() for f in findings],
        "lang": language(),
    }


def renamed_series(sources: Mapping[str, str]) -> dict[str, str]:
    """The main series the log printed under another name (`{"loss": "lm_loss"}`)."""
    return {k: v for k, v in sources.items() if v != k}


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}"


LABEL_CELLS: Final = 9
"""The text report's labels take at least this many cells; a longer translation widens
the column for every line, so the values still line up."""


def as_text(summary: LogSummary, findings: list[Finding]) -> str:
    """A readable summary: format, records, series ranges, progress, findings.

    Its words are in the user's language, aligned in terminal cells; what the log and the
    parser name (the path, the format, the series) stays as it is, like `--json`."""
    store = summary.store
    counts = store.kind_counts
    names = {
        "log": _("log"),
        "format": _("format"),
        "lines": _("lines"),
        "records": _("records"),
        "read as": _("read as"),
        "steps": _("steps"),
        "error": _("error"),
    }
    renamed = renamed_series(summary.series_sources)
    shown = [
        key for key in names if (key != "read as" or renamed) and (key != "error" or summary.errors)
    ]
    cells = max(LABEL_CELLS, *(cell_width(names[key]) for key in shown), findings_cells())

    def labelled(key: str, value: str) -> str:
        return f"{pad_cells(names[key], cells)} {value}"

    read = (
        _("{lines} ({unparsed} without metrics, {long} over-long skipped)")
        if summary.long_lines
        else _("{lines} ({unparsed} without metrics)")
    )
    lines = [
        labelled("log", summary.path),
        labelled("format", summary.format),
        labelled(
            "lines",
            read.format(
                lines=f"{summary.lines:,}",
                unparsed=f"{summary.unparsed_lines:,}",
                long=f"{summary.long_lines:,}",
            ),
        ),
        labelled(
            "records",
            _("{records} (train {train}, eval {eval}, summary {summary})").format(
                records=f"{store.records:,}",
                train=f"{counts['train']:,}",
                eval=f"{counts['eval']:,}",
                summary=f"{counts['summary']:,}",
            ),
        ),
    ]
    if renamed:
        lines.append(labelled("read as", ", ".join(f"{k} = {v}" for k, v in renamed.items())))
    progress = store.progress()
    if progress.step is not None:
        first, last = f"{store.first_step:,}", f"{progress.step:,}"
        if progress.total_steps:
            step = _("{first} → {last} of {total}").format(
                first=first, last=last, total=f"{progress.total_steps:,}"
            )
            if progress.fraction is not None:
                step += f" ({progress.fraction:.0%})"
        else:
            step = f"{first} → {last}"
        if progress.epoch is not None and progress.epoch == progress.epoch:
            step = _("{steps}, epoch {epoch}").format(steps=step, epoch=f"{progress.epoch:.4g}")
        lines.append(labelled("steps", step))
    stats = store.stats()
    if stats:
        lines.append("")
        lines.extend(_series_table(stats))
    if store.ignored_series:
        lines.append(ignored_series_note(store.ignored_series, store.max_series))
    lines.append("")
    lines.extend(findings_text(findings, cells))

    for error in summary.errors:
        lines.append(labelled("error", error))
    # The path, findings and errors quote the log and the file system too.
    return terminal_safe_lines("\n".join(lines) + "\n")


SERIES_COLUMNS: Final = (
    (N_("series"), 12),
    (N_("count"), 8),
    (N_("nonfin"), 6),
    (N_("first"), 11),
    (N_("last"), 11),
    (N_("min"), 11),
    (N_("max"), 11),
)
"""The series table's headers and their least widths in cells (a wider translation widens
its column)."""


def _series_table(stats: Mapping[str, SeriesStats]) -> list[str]:
    """The series table: the names as the log spells them, the headers translated."""
    # Names come from the log: shown safe and cut, so one odd name cannot reprogram the
    # terminal or pad every row (`--json` keeps them whole).
    names = {name: display_name(name) for name in stats}
    heads = [_(head) for head, _least in SERIES_COLUMNS]
    widths = [
        max(least, cell_width(head))
        for head, least in zip(heads, dict(SERIES_COLUMNS).values(), strict=True)
    ]
    widths[0] = max(widths[0], *(cell_width(n) for n in names.values()))
    rows = [
        [
            names[name],
            f"{s.count:,}",
            f"{s.nonfinite:,}",
            _num(s.first),
            _num(s.last),
            _num(s.min),
            _num(s.max),
        ]
        for name, s in stats.items()
    ]
    return [
        " ".join(
            pad_cells(cell, width) if column == 0 else _rjust_cells(cell, width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in [heads, *rows]
    ]


def _rjust_cells(text: str, cells: int) -> str:
    """`text` right-aligned in `cells` terminal cells."""
    return " " * max(0, cells - cell_width(text)) + text


def no_metrics_message(
    summary: LogSummary, known_formats: tuple[str, ...], closest: str | None = None
) -> str:
    """What `report` says when nothing in the file looked like a metric."""
    known = "".join(f"\n  - {name}" for name in known_formats)
    hint = f"\nClosest known format: {closest}" if closest else ""
    return (
        f"trainmon: no recognisable metrics in {terminal_safe(summary.path)} "
        f"({summary.lines:,} lines read). Formats trainmon knows:{known}{hint}\n"
        "Teach yours: trainmon report --pattern 'step (?P<step>\\d+) L=(?P<loss>\\S+)' LOG "
        "(or a formats.toml, see `trainmon formats`); `--explain` shows how lines were read."
    )


def write_stdout(text: str) -> None:
    """Write to stdout; a closed pipe (`| head`) ends quietly."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def findings_cells() -> int:
    """The cells the findings block's own label takes (the report's labels line up on it)."""
    return cell_width(_("findings"))


def findings_text(findings: list[Finding], label_cells: int = LABEL_CELLS) -> list[str]:
    """The findings block of the text report, its labels in the user's language and aligned
    in terminal cells (a Chinese label is two cells a character); rule ids and severities
    stay as machines read them."""
    evidence, advice = _("evidence:"), _("advice:")
    label = max(cell_width(evidence), cell_width(advice))
    head = pad_cells(_("findings"), label_cells) + " "
    if not findings:
        return [head + _("none")]
    lines = [f"{head}{len(findings)}"]
    for f in findings:
        at = " " + _("at step {step}").format(step=f"{f.step:,}") if f.step is not None else ""
        lines.append(f"  [{f.severity}] {f.rule}{at}: {f.title}")
        if f.evidence:
            lines.append(f"      {pad_cells(evidence, label)} {f.evidence}")
        if f.advice:
            lines.append(f"      {pad_cells(advice, label)} {f.advice}")
    return lines
