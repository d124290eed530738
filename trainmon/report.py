"""`trainmon report`: read a whole log once (no following) and summarise it.

Reading is split across processes for big files, because the parse and the store are pure
Python: one process tops out near 1 GB/s on the best case, and a GPU box has cores to spare.
The file is cut at `\\n`s where the estimated work divides evenly, one part per process
(`--jobs`, default one fewer than the cores, at most 8); each part fills its own
`MetricStore` and parser counters, and the parts are merged in file order through the
store's `absorb`. A record's step must not depend on the part it was read in: a later part
is trusted only when every one of its train records carries a step the log printed (tqdm
counter, explicit field) and it starts with one (eval records sit on the step before them),
when no record straddles a cut (the parts on either side of it do not end and start on the
same step: a multi-line record), and when no part read a format whose rows need a header
read before them (CSV, tables). Otherwise the whole file is read again in one process, so
records and steps always equal a single-process read.

A file truncated or rewritten while it is read (a trainer restarted with `>`) is read again
from its start: the report describes one version of the file, never parts of two. The helper
processes are reaped on every exit path, and die with their parent (a SIGKILL to `report`
takes them along). FIFOs and pipes (`report <(zcat run.log.gz)`) are read to their end in
one process.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from trainmon.i18n import N_, _, cell_width, language, pad_cells
from trainmon.ingest import Ingest, apply
from trainmon.parsing import LogParser
from trainmon.parsing.text_events import TextEvent
from trainmon.records import SEVERITY_RANK, Finding, FollowEvent, MetricRecord, Severity
from trainmon.run import ParserProgress, Run
from trainmon.store import DEFAULT_MAX_SERIES, MetricStore, SeriesStats, ignored_series_note
from trainmon.text import display_name, terminal_safe, terminal_safe_lines

SPLIT_BYTES: Final = 16 << 20
"""Files at least this big are read by several processes (below it, a fork costs more than
it saves)."""
PART_MIN_BYTES: Final = 8 << 20
"""No part is made smaller than this (a file of 40 MB is read by at most 5 processes)."""
DEFAULT_JOBS_CAP: Final = 8
"""The default process count never exceeds this (the merge is serial, and memory grows with
the parts in flight)."""
PROBE_BYTES: Final = 256 << 10
"""Bytes after a cut parsed to find the next record that a part can start with."""
MAX_JOBS: Final = 64
"""`--jobs` above this is taken as this."""
HEADER_FORMATS: Final = frozenset(
    {"csv", "fastai", "table", "pandas-series", "yolov5-results", "trainer-state"}
)
"""Formats whose rows are read through a header or a document seen before them: a part that
starts after the header cannot read them, so a split read of such a log is not trusted."""
SAMPLE_WINDOWS: Final = 32
SAMPLE_BYTES: Final = 64 << 10
"""`work_middle` reads this many windows of this size (2 MiB in all) to find the cut."""
NS_PER_BYTE: Final = 0.4
NS_PER_LINE: Final = 5000.0
"""Estimated reading cost of a byte (read, memchr scans) and of a line (one parse), 2026
reference VM; only their ratio matters."""
READ_CHUNK_BYTES: Final = 256 << 10
"""Bytes per parser feed when reading a whole file. Each feed's records live until the
store has taken them, about 350 bytes per record: short lines made 4 MiB feeds cost 160 MB
at once; 256 KiB feeds cost the same time (`bench/README.md`)."""
READ_ATTEMPTS: Final = 3
"""Reads of a file that keeps being rewritten under the reader, before the report settles for
the part of the last version read before it changed (and says so)."""
PR_SET_PDEATHSIG: Final = 1
"""Linux prctl option: a signal the kernel sends a process when its parent exits."""
PARENT_CHECK_S: Final = 0.5
"""Without prctl, the helper checks this often whether its parent is still there."""


@dataclass(slots=True)
class LogSummary:
    """Everything `report` knows after reading a file."""

    path: str
    store: MetricStore
    format_counts: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    unparsed_lines: int = 0
    long_lines: int = 0
    """Lines over the follower's length cap, skipped."""
    total_steps: int | None = None
    context: dict[str, object] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    parts: int = 1
    """How many processes read the file (1, or up to `--jobs` for a big file)."""
    series_sources: dict[str, str] = field(default_factory=dict)
    """The printed name each main series was read from (`loss = lm_loss`)."""
    text_events: list[TextEvent] = field(default_factory=list)
    """Failure signatures in the log's text, with line numbers in the whole file."""
    parsed_records: int = 0
    """Records the parsers emitted (what a text event's `records_before` counts)."""

    @property
    def format(self) -> str:
        """The format that produced the most records ("unknown" when none did)."""
        if not self.format_counts:
            return "unknown"
        return max(self.format_counts.items(), key=lambda item: item[1])[0]


@dataclass(slots=True)
class _Part:
    store: MetricStore
    parser: LogParser
    long_lines: int
    untrusted: int
    """Records whose step depends on what came before this part (see `_untrusted`)."""
    errors: list[str]
    changed: bool = False
    """The file was truncated or rewritten while this part was read (it stopped there)."""
    identity: tuple[int, int] | None = None
    """(device, inode) of the file this part read."""
    head: bytes = b""
    """The file's first bytes, as this part saw them (unchanged while it read)."""
    start_mark: bytes = b""
    """The bytes just before `start`, when this part began."""
    end_mark: bytes = b""
    """The last bytes this part read."""
    first_key: tuple[str, int] | None = None
    last_key: tuple[str, int] | None = None
    """(kind, step) of this part's first and last records: equal across a cut when one
    record's lines were read by two parts."""


def _read_part(
    path: str,
    start: int,
    stop: int | None,
    arrival_s: float,
    max_series: int,
    on_read: Callable[[int], object] | None = None,
) -> _Part:
    """Read bytes [start, stop) of `path` into a store; count records with inferred steps.
    `on_read` is told the offset reached after each chunk (the dashboard's progress)."""
    ingest = Ingest(path, follow=False, start=start, stop=stop, chunk_bytes=READ_CHUNK_BYTES)
    store = MetricStore(max_series)
    untrusted = 0
    first = True
    changed = False
    errors: list[str] = []
    start_mark: bytes | None = None
    first_key: tuple[str, int] | None = None
    last: MetricRecord | None = None
    while not ingest.finished:
        items = ingest.poll()
        if on_read is not None:
            on_read(ingest.follower.offset)
        if start_mark is None and ingest.follower.identity is not None:
            start_mark = ingest.follower.mark  # read from the file once it was opened
        for item in items:
            if isinstance(item, FollowEvent):
                if item.kind == "error":
                    errors.append(item.detail)
                elif item.kind == "truncated":
                    changed = True  # the read stopped there: what it holds is one version
            elif item:
                untrusted += _untrusted(item, first)
                if first_key is None:
                    first_key = (item[0].kind, item[0].step)
                last = item[-1]
                first = False
        apply(store, [i for i in items if not isinstance(i, FollowEvent)], arrival_s)
        if ingest.caught_up and not ingest.finished:  # a FIFO whose writer is not done
            time.sleep(ingest.follower.poll_interval_s)
    ingest.close()
    store.total_steps = ingest.parser.total_steps or store.total_steps
    return _Part(
        store,
        ingest.parser,
        ingest.follower.long_lines,
        untrusted,
        errors,
        changed=changed,
        identity=ingest.follower.identity,
        head=ingest.follower.head,
        start_mark=start_mark or b"",
        end_mark=ingest.follower.mark,
        first_key=first_key,
        last_key=None if last is None else (last.kind, last.step),
    )


def _untrusted(batch: tuple[MetricRecord, ...], first: bool) -> int:
    """Records whose step a reader starting mid-file could get wrong.

    A train record's step is safe when the log printed it (`step_exact`). Eval and summary
    records sit on the step of the train record before them, which is safe once the part
    starts with an exact train record. Anything else (reconstructed train steps) is not.
    """
    bad = sum(1 for r in batch if r.kind == "train" and not r.step_exact)
    if first and batch and not (batch[0].kind == "train" and batch[0].step_exact):
        bad += 1
    return bad


def split_point(path: str, size: int, middle: int | None = None) -> int | None:
    """Offset just past the first `\\n` at or after `middle` (default: half the size), or
    None when there is none."""
    with open(path, "rb") as f:
        pos = size // 2 if middle is None else middle
        f.seek(pos)
        while True:
            block = f.read(1 << 16)
            if not block:
                return None
            hit = block.find(b"\n")
            if hit >= 0:
                cut = pos + hit + 1
                return cut if cut < size else None
            pos += len(block)


def work_middle(path: str, size: int) -> int:
    """The offset that halves the estimated reading work (see `work_cuts`)."""
    return work_cuts(path, size, 2)[0]


def work_cuts(path: str, size: int, parts: int) -> list[int]:
    """The `parts - 1` offsets that divide the estimated reading work evenly, from a few
    sampled windows.

    Work follows lines more than bytes (each parsed line costs microseconds, a byte of tqdm
    redraw a fraction of a nanosecond), and a log's lines grow longer as its step counters
    grow: on a 1 GB Hugging Face log the byte middle gave the first process 53 % of the
    records and left the second one idle for the difference.
    """
    if size < SAMPLE_WINDOWS * SAMPLE_BYTES * 4:
        return [size * i // parts for i in range(1, parts)]
    stripe = size / SAMPLE_WINDOWS
    costs: list[float] = []
    with open(path, "rb") as f:
        for i in range(SAMPLE_WINDOWS):
            f.seek(int((i + 0.5) * stripe) - SAMPLE_BYTES // 2)  # the middle of each stripe
            block = f.read(SAMPLE_BYTES)
            lines = block.count(b"\n") * stripe / max(1, len(block))
            costs.append(stripe * NS_PER_BYTE + lines * NS_PER_LINE)
    total = sum(costs)
    cuts: list[int] = []
    done = 0.0
    i = 0
    for k in range(1, parts):
        target = total * k / parts
        while i < len(costs) - 1 and done + costs[i] < target:
            done += costs[i]
            i += 1
        cuts.append(int((i + (target - done) / costs[i]) * stripe))
    return cuts


def default_jobs() -> int:
    """Processes a big file is read by: one fewer than the usable cores (one stays with the
    training job when it runs on the same box), at most `DEFAULT_JOBS_CAP`, at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(DEFAULT_JOBS_CAP, cores - 1))


def _cuts(path: str, size: int, split_bytes: int, jobs: int) -> list[int]:
    """Line-boundary offsets where the file is cut into parts (none: one process)."""
    if not 0 < split_bytes <= size or jobs < 2:
        return []
    parts = min(jobs, MAX_JOBS, max(2, size // PART_MIN_BYTES))
    found = (split_point(path, size, m) for m in work_cuts(path, size, parts))
    return sorted({_record_cut(path, size, cut) for cut in found if cut is not None})


def _record_cut(path: str, size: int, cut: int) -> int:
    """Move a cut to the start of the line of the next train record with a printed step, as
    a parser starting at `cut` reads it: the part after the cut then starts with a record
    whose step it knows (an eval record first would make the whole split untrusted). The
    cut stays where it is when the window holds no such record."""
    with open(path, "rb") as f:
        f.seek(cut)
        window = f.read(min(PROBE_BYTES, size - cut))
    for record in LogParser().feed(window):
        if record.kind == "train" and record.step_exact:
            start = 0
            for _ in range(record.line_no - 1):
                start = window.index(b"\n", start) + 1
            return cut + start
    return cut


def _fork_part(
    path: str,
    start: int,
    stop: int | None,
    arrival_s: float,
    max_series: int,
    on_read: Callable[[int], object] | None = None,
) -> tuple[int, int] | None:
    """Read [start, stop) in a forked child; returns (pid, pipe fd) for `_collect`."""
    if not hasattr(os, "fork"):
        return None
    parent = os.getpid()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: parse, pickle, exit without running the parent's cleanup
        code = 1
        try:
            _default_signals()
            _die_with_parent(parent)
            os.close(read_fd)
            part = _read_part(path, start, stop, arrival_s, max_series, on_read)
            payload = pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def _default_signals() -> None:
    """A helper takes signals as a plain process: the handlers it inherited belong to its
    parent (the dashboard's would act on the parent's terminal and event loop)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signum, signal.SIG_DFL)
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)


def _die_with_parent(parent: int) -> None:
    """Make this (helper) process end when `parent` does, however the parent ends.

    Linux: the kernel sends SIGKILL when the parent exits (prctl PR_SET_PDEATHSIG), so even a
    SIGKILL to `report` leaves no helper parsing for minutes. Elsewhere a daemon thread
    watches the parent process id.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _abandon(child: tuple[int, int]) -> None:
    """Stop and reap the helper process of a read that is being abandoned."""
    pid, read_fd = child
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        os.close(read_fd)


def _collect(child: tuple[int, int]) -> _Part | None:
    pid, read_fd = child
    part: object = None
    with os.fdopen(read_fd, "rb") as f:
        try:
            # Unpickled from the pipe as it arrives: the whole payload held beside the store
            # it decodes to would double the memory of the merge.
            part = pickle.load(f)
        except Exception:  # a broken child result: the caller re-reads that part itself
            part = None
        while f.read(1 << 20):  # whatever is left, so the child can finish writing
            pass
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return None
    return part if isinstance(part, _Part) else None


def _regular_size(path: str) -> int | None:
    """The size of a regular file; None for a stream (FIFO, pipe, `/proc` file)."""
    from trainmon.follow import is_stream

    st = os.stat(path)
    return None if is_stream(st) else st.st_size


def _fingerprint(path: str, cut: int) -> tuple[int, int, bytes, bytes] | None:
    """(device, inode, first bytes, bytes before `cut`): the version a split read relies on
    (the same windows as a follower's `head` and `mark`)."""
    from trainmon.follow import HEAD_BYTES, MARK_BYTES

    mark = min(MARK_BYTES, cut)
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            head = os.pread(f.fileno(), HEAD_BYTES, 0)
            before_cut = os.pread(f.fileno(), mark, cut - mark)
    except OSError:
        return None
    return st.st_dev, st.st_ino, head, before_cut


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
    jobs = default_jobs() if jobs is None else max(1, min(MAX_JOBS, jobs))
    from trainmon.inputs import input_kind

    if input_kind(path) != "log":
        split_bytes = 0  # framed binary records: a cut at a newline would split one
    with _gc_paused():
        return _read_log(path, split_bytes, max_series, jobs)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is read (the helper process too).

    Every record allocates a dict and a tuple, and the parser and store make no reference
    cycles (refcounting frees everything): the collector's passes were about 6 % of a read
    and found nothing to collect.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_log(path: str, split_bytes: int, max_series: int, jobs: int) -> LogSummary:
    """Read until one version of the file was read whole (READ_ATTEMPTS at most)."""
    arrival_s = time.time()
    for _attempt in range(READ_ATTEMPTS):
        summary, changed = _read_once(path, split_bytes, arrival_s, max_series, jobs)
        if not changed:
            return summary
    summary.errors.append(
        f"{path} was truncated or rewritten under the reader {READ_ATTEMPTS} times; "
        "these figures cover its last version up to that change"
    )
    return summary


def _read_once(
    path: str, split_bytes: int, arrival_s: float, max_series: int, jobs: int = 1
) -> tuple[LogSummary, bool]:
    """One read of the file (in several processes when it is big); True when it changed
    meanwhile."""
    size = _regular_size(path)
    cuts = _cuts(path, size, split_bytes, jobs) if size is not None else []
    marks = [_fingerprint(path, cut) for cut in cuts]
    if any(mark is None for mark in marks):
        cuts, marks = [], []
    children: list[tuple[int, int]] = []
    later: list[_Part | None] = []
    try:
        for i, cut in enumerate(cuts):
            stop = cuts[i + 1] if i + 1 < len(cuts) else None
            child = _fork_part(path, cut, stop, arrival_s, max_series)
            if child is None:  # no fork on this platform: one process
                break
            children.append(child)
        if len(children) < len(cuts):
            for child in children:
                _abandon(child)
            children, cuts, marks = [], [], []
        first = _read_part(path, 0, cuts[0] if cuts else None, arrival_s, max_series)
        summary = _summary(path, first)
        if not children:
            return _finish(summary), first.changed
        if first.changed:
            return summary, True  # the helpers are stopped below
        while children:  # in file order; each is reaped as it is collected
            later.append(_collect(children[0]))
            children.pop(0)
    finally:
        for child in children:  # a change, Ctrl-C, SIGTERM, or a bug
            _abandon(child)
    parts = [first, *later]
    for i, mark in enumerate(marks):
        earlier, part = parts[i], parts[i + 1]
        if (
            earlier is not None
            and part is not None
            and mark is not None
            and _split_changed(mark, earlier, part)
        ):
            return summary, True
    if not all(part is not None and _trusted(part) for part in later) or not _joined_cleanly(parts):
        # Steps were inferred in a later part (they depend on what came before), or a
        # helper failed, or hit the series cap (only a single read knows which names came
        # first), or a record or a table straddles a cut: read the file in one process,
        # which is always right.
        return _read_once(path, 0, arrival_s, max_series)
    for part in later:
        assert part is not None
        summary.store.absorb(part.store)
        _merge_counts(summary, part)
    summary.parts = len(parts)
    return _finish(summary), False


def _trusted(part: _Part) -> bool:
    """A later part whose records a single read would give alike (see the module doc)."""
    return not (part.untrusted or part.errors or part.store.ignored_series)


def _joined_cleanly(parts: list[_Part | None]) -> bool:
    """Every part read records, none a header-bound format, and no record's lines were read
    by two parts (the records either side of a cut are on different steps). A part without
    records is most likely inside one document or table that began before it."""
    for part in parts:
        if (
            part is None
            or not part.store.records
            or HEADER_FORMATS.intersection(part.parser.format_counts)
        ):
            return False
    for earlier, later in itertools.pairwise(parts):
        assert earlier is not None and later is not None
        if earlier.last_key is not None and earlier.last_key == later.first_key:
            return False
    return True


def _split_changed(before: tuple[int, int, bytes, bytes], first: _Part, second: _Part) -> bool:
    """True when the two parts either side of a cut may not have read the version of the file
    that the cut was chosen in: it was rewritten while the later one read, or before either
    opened it (their heads, or the bytes before the cut, differ), or the path named another
    file.

    Each part's follower checked its own reading; these compare what the parts began and
    ended with, which a rewrite between the parts' reads (even back to the first content)
    would change."""
    dev, ino, head, before_cut = before
    return (
        second.changed
        or first.identity != (dev, ino)
        or second.identity != (dev, ino)
        or not first.head.startswith(head)  # a head may have grown with a short file
        or not second.head.startswith(head)
        or first.end_mark != before_cut
        or second.start_mark != before_cut
    )


def _summary(path: str, part: _Part) -> LogSummary:
    parser = part.parser
    return LogSummary(
        path=path,
        store=part.store,
        format_counts=dict(parser.format_counts),
        lines=parser.lines,
        unparsed_lines=parser.unparsed_lines,
        long_lines=part.long_lines,
        total_steps=parser.total_steps,
        context=dict(parser.context),
        errors=list(part.errors),
        series_sources=dict(parser.series_sources),
        text_events=list(parser.text_events.events),
        parsed_records=parser.records,
    )


def _finish(summary: LogSummary) -> LogSummary:
    if summary.total_steps is None:
        summary.total_steps = summary.store.total_steps
    summary.store.total_steps = summary.total_steps
    return summary


def _merge_counts(summary: LogSummary, part: _Part) -> None:
    """Add a later part's parser counters to the summary."""
    parser = part.parser
    summary.lines += parser.lines
    summary.unparsed_lines += parser.unparsed_lines
    summary.long_lines += part.long_lines
    for name, count in parser.format_counts.items():
        summary.format_counts[name] = summary.format_counts.get(name, 0) + count
    if summary.total_steps is None:
        summary.total_steps = parser.total_steps
    for key, value in parser.context.items():
        summary.context.setdefault(key, value)
    for key, value in parser.series_sources.items():
        summary.series_sources.setdefault(key, value)
    lines, records = summary.lines - parser.lines, summary.parsed_records
    summary.text_events.extend(
        e._replace(line_no=e.line_no + lines, records_before=e.records_before + records)
        for e in parser.text_events.events
    )
    summary.parsed_records += parser.records


# -- findings ------------------------------------------------------------------------------


def summary_run(summary: LogSummary, user_context: Mapping[str, object] | None = None) -> Run:
    """The summary as a `Run`, whose context and advice are the dashboard's for the same log."""
    run = Run(summary.path, user_context=user_context, store=summary.store)
    progress = ParserProgress(
        log_format=summary.format if summary.format_counts else None,
        lines=summary.lines,
        unparsed_lines=summary.unparsed_lines,
        total_steps=summary.total_steps,
        context=tuple(sorted(summary.context.items())),
        text_events=tuple(summary.text_events),
        records=summary.parsed_records,
    )
    run.take((), progress)
    return run


def findings_for(
    summary: LogSummary, user_context: Mapping[str, object] | None = None
) -> list[Finding]:
    """The advice engine's findings over the whole run (none without records)."""
    if not summary.store.records and not summary.text_events:
        return []
    return summary_run(summary, user_context).findings()


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
