"""A folder of runs, headless: each run read whole, its state, and the folder's report.

`trainmon report DIR` reads every run `trainmon.inputs.discover` finds, through the same
`read_log` and advice as a single run, and prints a table (or, with `--json`, one object with
the single-run object of each run). The dashboard's run list shows the same rows. `--csv`
writes every series of every run in long format (run, step, name, value), for pandas or a
spreadsheet.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from trainmon.i18n import _
from trainmon.inputs.discover import Discovery, RunEntry, _mtime
from trainmon.records import SEVERITY_RANK, Finding
from trainmon.report import LogSummary, as_json, findings_for, read_log
from trainmon.store import DEFAULT_MAX_SERIES
from trainmon.text import display_name, terminal_safe, terminal_safe_lines

RunState = Literal["running", "stalled", "finished", "crashed"]

RUNNING_WITHIN_S: Final = 300.0
"""A run written to within this long, with no sign of an end, is running; older, stalled."""


@dataclass(slots=True)
class RunRow:
    """One run of a folder as the run list and `report DIR` show it."""

    entry: RunEntry
    summary: LogSummary
    findings: list[Finding]
    state: RunState

    @property
    def last_loss(self) -> float | None:
        series = self.summary.store.get("loss")
        return series.last() if series is not None and len(series) else None

    @property
    def worst(self) -> Finding | None:
        """The most severe finding (the latest of equals)."""
        if not self.findings:
            return None
        return max(self.findings, key=lambda f: (SEVERITY_RANK[f.severity], f.step or 0))


def run_state(
    summary: LogSummary, mtime: float, now_s: float, exit_code: int | None = None
) -> RunState:
    """How the run stands: crashed (a non-zero exit recorded), finished (exit 0, a summary
    record, or the last step at its total), else running or stalled by its last write."""
    store = summary.store
    if exit_code is not None and exit_code != 0:
        return "crashed"
    total = summary.total_steps
    last = store.last_step
    if (
        exit_code == 0
        or store.kind_counts.get("summary", 0) > 0
        or (total is not None and last is not None and last >= total)
    ):
        return "finished"
    return "running" if now_s - mtime <= RUNNING_WITHIN_S else "stalled"


def read_row(
    entry: RunEntry,
    *,
    max_series: int = DEFAULT_MAX_SERIES,
    user_context: Mapping[str, object] | None = None,
    now_s: float | None = None,
) -> RunRow:
    """Read one run of a folder whole, with its findings and state."""
    try:
        summary = read_log(entry.path, max_series=max_series)
    except OSError as exc:  # removed or unreadable since it was found: a row that says so
        from trainmon.follow import describe_os_error
        from trainmon.store import MetricStore

        summary = LogSummary(entry.path, MetricStore(max_series))
        summary.errors.append(describe_os_error(entry.path, exc))
    findings = findings_for(summary, user_context)
    exit_code = None
    if entry.kind == "wandb":
        from trainmon.inputs.wandb_offline import exit_code_of

        exit_code = exit_code_of(entry.path)
    state = run_state(summary, entry.mtime, time.time() if now_s is None else now_s, exit_code)
    return RunRow(entry, summary, findings, state)


def read_rows(
    discovery: Discovery,
    *,
    max_series: int = DEFAULT_MAX_SERIES,
    user_context: Mapping[str, object] | None = None,
) -> list[RunRow]:
    """Every run of a folder, newest first."""
    now_s = time.time()
    return [
        read_row(entry, max_series=max_series, user_context=user_context, now_s=now_s)
        for entry in discovery.runs
    ]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def step_text(row: RunRow) -> str:
    """`1,200/5,000`, `1,200`, or `-`."""
    last, total = row.summary.store.last_step, row.summary.total_steps
    if last is None:
        return "-"
    return f"{last:,}/{total:,}" if total else f"{last:,}"


def worst_text(row: RunRow) -> str:
    worst = row.worst
    return f"{worst.severity}: {worst.title}" if worst else "-"


def folder_text(discovery: Discovery, rows: list[RunRow]) -> str:
    """The folder report: one row per run, newest first."""
    header = ("run", "format", "step", "last loss", "state", "worst finding")
    table = [
        (
            display_name(row.entry.name),
            row.summary.format,
            step_text(row),
            _num(row.last_loss),
            row.state,
            worst_text(row),
        )
        for row in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(header[:-1])]
    lines = [f"folder    {discovery.folder}", f"runs      {len(rows)}"]
    if discovery.left_out:
        lines[-1] += f" (the newest; {discovery.left_out} older not read)"
    lines.append("")
    for cells in (header, *table):
        lines.append(
            "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + "  " + cells[-1]
        )
    return "\n".join(line.rstrip() for line in lines) + "\n"


def folder_json(discovery: Discovery, rows: list[RunRow]) -> dict[str, object]:
    """The `report DIR --json` object: each run's single-run object, with name and state."""
    runs = []
    for row in rows:
        run: dict[str, object] = {
            "name": row.entry.name,
            "kind": row.entry.kind,
            "state": row.state,
        }
        run.update(as_json(row.summary, row.findings))
        runs.append(run)
    return {"folder": discovery.folder, "runs": runs, "runs_left_out": discovery.left_out}


def csv_rows(named: Iterable[tuple[str, LogSummary]]) -> Iterable[tuple[str, int, str, float]]:
    """(run, step, name, value) for every value of every series, run by run."""
    for run, summary in named:
        store = summary.store
        for name in store.names():
            series = store.get(name)
            if series is None:
                continue
            steps = series.steps_np()
            values = series.values_np()
            for step, value in zip(steps.tolist(), values.tolist(), strict=True):
                yield run, int(step), name, value


def csv_chunks(
    named: Iterable[tuple[str, LogSummary]], rows_per_chunk: int = 4096
) -> Iterator[str]:
    """Every series in long format with a header, a few thousand rows at a time (a long run
    is never one string); NaN and inf are written `nan`, `inf`, which pandas reads back."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("run", "step", "name", "value"))
    for i, (run, step, name, value) in enumerate(csv_rows(named), 1):
        writer.writerow((run, step, name, repr(value) if math.isfinite(value) else str(value)))
        if i % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def run_name(path: str) -> str:
    """A single run's name in the CSV: its file (or folder) name."""
    return os.path.basename(os.path.normpath(path)) or path


def report_runs(path: str, args: argparse.Namespace) -> int:
    """`trainmon report DIR` (every run of a folder), and `report PATH --csv`; exit code."""
    import orjson

    from trainmon.inputs import input_kind, input_problem
    from trainmon.inputs.discover import discover_runs
    from trainmon.report import fails, write_stdout
    from trainmon.text import json_terminal_safe

    context = dict(args.context)
    if os.path.isdir(path) and input_kind(path) == "log":
        discovery = discover_runs(path)
    else:
        entry = RunEntry(run_name(path), path, input_kind(path), _mtime(path))
        discovery = Discovery(os.path.dirname(path) or ".", (entry,))
    for entry in discovery.runs:
        problem = input_problem(entry.path)
        if problem is not None:
            sys.stderr.write(f"trainmon: {terminal_safe(problem)}\n")
            return 2
    if not discovery.runs:
        found = _(
            "no runs found (logs, metrics.csv, trainer_state.json, TensorBoard event files, "
            "W&B run folders)"
        )
        sys.stderr.write(f"trainmon: {terminal_safe(path)}: {found}\n")
        return 1
    rows = read_rows(discovery, max_series=args.max_series, user_context=context)
    if args.csv:
        for chunk in csv_chunks((row.entry.name, row.summary) for row in rows):
            write_stdout(chunk)
    elif args.json:
        write_stdout(json_terminal_safe(orjson.dumps(folder_json(discovery, rows))).decode() + "\n")
    else:
        write_stdout(terminal_safe_lines(folder_text(discovery, rows)))
    if not any(row.summary.store.records for row in rows):
        return 1
    findings = [f for row in rows for f in row.findings]
    return 3 if fails(findings, args.fail_on) else 0
