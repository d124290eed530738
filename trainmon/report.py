"""`trainmon report`: read a whole log once (no following) and summarise it.

Reading is split across two processes for big files, because the parse and the store are
pure Python: one process tops out near 1 GB/s on the best case, and the machine this runs
beside a trainer on usually has a spare core. The file is cut at a `\\n` after its middle;
each part fills its own `MetricStore` and parser counters, and the parts are merged in file
order. A record's step must not depend on the part it was read in: the second part is
trusted only when every one of its train records carries a step the log printed (tqdm
counter, explicit field) and it starts with one (eval records sit on the step before
them). Otherwise the whole file is read again in one process, so records and steps always
equal a single-process read. (`unparsed_lines` can differ by a few lines where the parser
counts blank-looking lines differently in its dict-only mode.)

A file truncated or rewritten while it is read (a trainer restarted with `>`) is read again
from its start: the report describes one version of the file, never parts of two. The helper
process is reaped on every exit path, and dies with its parent (a SIGKILL to `report` takes
it along). FIFOs and pipes (`report <(zcat run.log.gz)`) are read to their end in one
process.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from trainmon.ingest import Ingest, apply
from trainmon.parsing import LogParser
from trainmon.records import SEVERITY_RANK, Finding, FollowEvent, MetricRecord, Severity
from trainmon.run import ParserProgress, Run
from trainmon.store import DEFAULT_MAX_SERIES, MetricStore, ignored_series_note
from trainmon.text import display_name, terminal_safe, terminal_safe_lines

SPLIT_BYTES: Final = 64 << 20
"""Files at least this big are read by two processes (below it, a fork costs more than it
saves)."""
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
    """How many processes read the file (1, or 2 for a big file)."""
    series_sources: dict[str, str] = field(default_factory=dict)
    """The printed name each main series was read from (`loss = lm_loss`)."""

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


def _read_part(path: str, start: int, stop: int | None, arrival_s: float, max_series: int) -> _Part:
    """Read bytes [start, stop) of `path` into a store; count records with inferred steps."""
    ingest = Ingest(path, follow=False, start=start, stop=stop, chunk_bytes=READ_CHUNK_BYTES)
    store = MetricStore(max_series)
    untrusted = 0
    first = True
    changed = False
    errors: list[str] = []
    start_mark: bytes | None = None
    while not ingest.finished:
        items = ingest.poll()
        if start_mark is None and ingest.follower.identity is not None:
            start_mark = ingest.follower.mark  # read from the file once it was opened
        for item in items:
            if isinstance(item, FollowEvent):
                if item.kind == "error":
                    errors.append(item.detail)
                elif item.kind == "truncated":
                    changed = True  # the read stopped there: what it holds is one version
            else:
                untrusted += _untrusted(item, first)
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
    """The offset that halves the estimated reading work, from a few sampled windows.

    Work follows lines more than bytes (each parsed line costs microseconds, a byte of tqdm
    redraw a fraction of a nanosecond), and a log's lines grow longer as its step counters
    grow: on a 1 GB Hugging Face log the byte middle gave the first process 53 % of the
    records and left the second one idle for the difference.
    """
    if size < SAMPLE_WINDOWS * SAMPLE_BYTES * 4:
        return size // 2
    stripe = size / SAMPLE_WINDOWS
    costs: list[float] = []
    with open(path, "rb") as f:
        for i in range(SAMPLE_WINDOWS):
            f.seek(int((i + 0.5) * stripe) - SAMPLE_BYTES // 2)  # the middle of each stripe
            block = f.read(SAMPLE_BYTES)
            lines = block.count(b"\n") * stripe / max(1, len(block))
            costs.append(stripe * NS_PER_BYTE + lines * NS_PER_LINE)
    half = sum(costs) / 2
    done = 0.0
    for i, cost in enumerate(costs):
        if done + cost >= half:
            return int((i + (half - done) / cost) * stripe)
        done += cost
    return size // 2


def _fork_part(path: str, start: int, arrival_s: float, max_series: int) -> tuple[int, int] | None:
    """Read [start, end) in a forked child; returns (pid, pipe fd) for `_collect`."""
    if not hasattr(os, "fork"):
        return None
    parent = os.getpid()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: parse, pickle, exit without running the parent's cleanup
        code = 1
        try:
            _die_with_parent(parent)
            os.close(read_fd)
            part = _read_part(path, start, None, arrival_s, max_series)
            payload = pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


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
    path: str, *, split_bytes: int = SPLIT_BYTES, max_series: int = DEFAULT_MAX_SERIES
) -> LogSummary:
    """Read the whole file at `path` (no following) into a summary.

    Args:
        path: a regular file (callers check readability first for a clear exit code).
        split_bytes: files of at least this size are read by two processes (0: never).
        max_series: series kept; further metric names are dropped and counted.
    """
    from trainmon.inputs import input_kind

    if input_kind(path) != "log":
        split_bytes = 0  # framed binary records: a cut at a newline would split one
    with _gc_paused():
        return _read_log(path, split_bytes, max_series)


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


def _read_log(path: str, split_bytes: int, max_series: int) -> LogSummary:
    """Read until one version of the file was read whole (READ_ATTEMPTS at most)."""
    arrival_s = time.time()
    for _ in range(READ_ATTEMPTS):
        summary, changed = _read_once(path, split_bytes, arrival_s, max_series)
        if not changed:
            return summary
    summary.errors.append(
        f"{path} was truncated or rewritten under the reader {READ_ATTEMPTS} times; "
        "these figures cover its last version up to that change"
    )
    return summary


def _read_once(
    path: str, split_bytes: int, arrival_s: float, max_series: int
) -> tuple[LogSummary, bool]:
    """One read of the file (in two processes when it is big); True when it changed meanwhile."""
    size = _regular_size(path)
    cut = None
    if size is not None and 0 < split_bytes <= size:
        cut = split_point(path, size, work_middle(path, size))
    before = _fingerprint(path, cut) if cut is not None else None
    child = None
    if cut is not None and before is not None:
        child = _fork_part(path, cut, arrival_s, max_series)
    collected = False
    try:
        first = _read_part(path, 0, cut if child is not None else None, arrival_s, max_series)
        summary = _summary(path, first)
        if child is None:
            return _finish(summary), first.changed
        if first.changed:
            return summary, True  # the helper is stopped below
        second = _collect(child)
        collected = True
    finally:
        if child is not None and not collected:  # a change, Ctrl-C, SIGTERM, or a bug
            _abandon(child)
    assert before is not None and cut is not None
    if second is not None and _split_changed(before, first, second):
        return summary, True
    if second is None or second.untrusted or second.errors or second.store.ignored_series:
        # Steps were inferred in the second part (they depend on what came before), or the
        # child failed, or it hit the series cap (only a single read knows which names came
        # first): read the file in one process, which is always right.
        return _read_once(path, 0, arrival_s, max_series)
    summary.store.absorb(second.store)
    _merge_counts(summary, second)
    summary.parts = 2
    return _finish(summary), False


def _split_changed(before: tuple[int, int, bytes, bytes], first: _Part, second: _Part) -> bool:
    """True when the two parts may not have read the version of the file that the cut was
    chosen in: it was rewritten while the helper read, or before either part opened it
    (their heads, or the bytes before the cut, differ), or the path named another file.

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
    )
    run.take((), progress)
    return run


def findings_for(
    summary: LogSummary, user_context: Mapping[str, object] | None = None
) -> list[Finding]:
    """The advice engine's findings over the whole run (none without records)."""
    if not summary.store.records:
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
    }


def renamed_series(sources: Mapping[str, str]) -> dict[str, str]:
    """The main series the log printed under another name (`{"loss": "lm_loss"}`)."""
    return {k: v for k, v in sources.items() if v != k}


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}"


def as_text(summary: LogSummary, findings: list[Finding]) -> str:
    """A readable summary: format, records, series ranges, progress, findings."""
    store = summary.store
    counts = store.kind_counts
    lines = [
        f"log       {summary.path}",
        f"format    {summary.format}",
        f"lines     {summary.lines:,} ({summary.unparsed_lines:,} without metrics"
        + (f", {summary.long_lines:,} over-long skipped" if summary.long_lines else "")
        + ")",
        f"records   {store.records:,} (train {counts['train']:,}, eval {counts['eval']:,}, "
        f"summary {counts['summary']:,})",
    ]
    renamed = renamed_series(summary.series_sources)
    if renamed:
        lines.append("read as   " + ", ".join(f"{k} = {v}" for k, v in renamed.items()))
    progress = store.progress()
    if progress.step is not None:
        step = f"steps     {store.first_step:,} → {progress.step:,}"
        if progress.total_steps:
            step += f" of {progress.total_steps:,}"
            if progress.fraction is not None:
                step += f" ({progress.fraction:.0%})"
        if progress.epoch is not None and progress.epoch == progress.epoch:
            step += f", epoch {progress.epoch:.4g}"
        lines.append(step)
    stats = store.stats()
    if stats:
        # Names come from the log: shown safe and cut, so one odd name cannot reprogram the
        # terminal or pad every row (`--json` keeps them whole).
        names = {name: display_name(name) for name in stats}
        width = max(12, *(len(n) for n in names.values()))
        lines.append("")
        lines.append(
            f"{'series':<{width}} {'count':>8} {'nonfin':>6} {'first':>11} {'last':>11} "
            f"{'min':>11} {'max':>11}"
        )
        for name, s in stats.items():
            lines.append(
                f"{names[name]:<{width}} {s.count:>8,} {s.nonfinite:>6,} {_num(s.first):>11} "
                f"{_num(s.last):>11} {_num(s.min):>11} {_num(s.max):>11}"
            )
    if store.ignored_series:
        lines.append(ignored_series_note(store.ignored_series, store.max_series))
    lines.append("")
    if not findings:
        lines.append("findings  none")
    else:
        lines.append(f"findings  {len(findings)}")
        for f in findings:
            at = f" at step {f.step:,}" if f.step is not None else ""
            lines.append(f"  [{f.severity}] {f.rule}{at}: {f.title}")
            if f.evidence:
                lines.append(f"      evidence: {f.evidence}")
            if f.advice:
                lines.append(f"      advice:   {f.advice}")
    for error in summary.errors:
        lines.append(f"error     {error}")
    # The path, findings and errors quote the log and the file system too.
    return terminal_safe_lines("\n".join(lines) + "\n")


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
