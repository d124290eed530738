"""`trainmon report --explain`: how the first lines of a log were read, line by line.

Each line gets the format entry and record it gave (kind, step, canonical values), or why it
gave none: blank, a progress bar, a configuration dump or source code, no `name: value`
pairs, no metric among its names, or the start of a record that continues on later lines.
The lines are read by a real `LogParser`, so what is shown is what the dashboard gets.
"""

from __future__ import annotations

from trainmon.parsing.formats import read_line
from trainmon.parsing.general import CONFIG, pairs_of
from trainmon.parsing.lines import ANSI, LineState, is_metric_name, key_text
from trainmon.parsing.parser import LogParser
from trainmon.parsing.prefixes import strip_prefix
from trainmon.records import MetricRecord

TEXT_WIDTH = 70


def explain(data: bytes, max_lines: int) -> list[str]:
    """One text line per log line (at most `max_lines`): what it gave, or why nothing."""
    lines = data.split(b"\n")[:max_lines]
    parser = LogParser()
    records = parser.feed(b"\n".join(lines) + b"\n") + parser.finish()
    by_line: dict[int, list[MetricRecord]] = {}
    for record in records:
        by_line.setdefault(record.line_no, []).append(record)
    out: list[str] = []
    for number, raw in enumerate(lines, 1):
        text = raw.decode("utf-8", "replace").rstrip("\r")
        shown = text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 1] + "…"
        got = by_line.get(number)
        if got:
            for record in got:
                values = " ".join(f"{k}={v:.6g}" for k, v in record.values.items())
                step = f"step {record.step}" + ("" if record.step_exact else " (counted)")
                out.append(f"{number:>5}  {record.kind:<7} {step}: {values}")
            out.append(f"       | {shown}")
        else:
            out.append(f"{number:>5}  skipped: {why_skipped(raw)}")
            out.append(f"       | {shown}")
    if parser.series_sources:
        renamed = {k: v for k, v in parser.series_sources.items() if k != v}
        if renamed:
            out.append("read as " + ", ".join(f"{k} = {v}" for k, v in renamed.items()))
    out.append(f"format: {parser.format} ({len(records)} records in {len(lines)} lines)")
    return out


def why_skipped(line: bytes) -> str:
    """Why one line gave no record of its own (best effort, for `--explain`)."""
    seg = line.rstrip(b"\r").rsplit(b"\r", 1)[-1]
    if b"\x1b" in seg:
        seg = ANSI.sub(b"", seg)
    body = strip_prefix(seg).strip()
    if not body:
        return "blank"
    if body.endswith((b"it/s]", b"s/it]")):
        return "a progress bar (its counter gives the step of the dict after it)"
    if body.startswith((b"{", b"}", b"'", b'"')):
        return "part of a dict or JSON document (read with the lines around it)"
    if CONFIG.search(body) is not None:
        return "a configuration or argument dump, or source code"
    state = LineState()
    if read_line(body, state):
        return "joined to the record of an earlier line (one record over several lines)"
    if state.header is not None:
        return f"a header: step {state.header.step}, joined to the metric lines after it"
    pairs, _parts = pairs_of(body)
    if not pairs:
        return "no `name: value` pairs"
    names = [key_text(p[0]) for p in pairs]
    if not any(is_metric_name(n) for n in names):
        listed = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
        return f"no metric among its names ({listed}): settings or counters, not a record"
    return "not a record on its own"
