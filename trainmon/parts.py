"""A big log read in parts by forked helper processes, merged in file order.

`report` and the dashboard's history loader read a big file the same way: the file is cut at
`\\n`s where the estimated work divides evenly (`cut_points`), each later part is read by a
forked helper (`fork_part`, `collect`) into its own `MetricStore` and parser counters, and
the parts are merged in file order (`merge_part`: the store's `absorb` and the counters).

A record's step must not depend on the part it was read in: a later part is trusted only
when every one of its train records carries a step the log printed (tqdm counter, explicit
field) and it starts with one (eval records sit on the step before them), when no record
straddles a cut (the parts on either side of it do not end and start on the same step: a
multi-line record), and when no part read a format whose rows need a header read before them
(CSV, tables). The caller reads the whole file again in one process otherwise, so records and
steps always equal a single-process read. A part also says what it saw of the file (identity,
head, the bytes either side of its cut) so that a file rewritten during the read is noticed
(`split_changed`).

The helper processes die with their parent (a SIGKILL to it takes them along), and the
caller reaps them on every exit path (`abandon`). Headless: no Textual, no threads of its own
except a parent watch where prctl is missing.
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from trainmon.ingest import Ingest, apply
from trainmon.parsing import LogParser
from trainmon.parsing.text_events import TextEvent
from trainmon.records import FollowEvent, MetricRecord
from trainmon.store import MetricStore

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
store has taken them: with short lines, large feeds held a lot of memory at once for no gain
in time (`bench/README.md`)."""
MIN_FIRST_SHARE: Final = 0.25
"""A first part that does other work too is never given less than this share of an even
part's reading."""
FIXED_POINT_STEPS: Final = 4
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


FirstPartExtra: TypeAlias = Callable[[float], float]
"""The other work of the first part's reader, in the units of `NS_PER_LINE`, for a first
part of that many lines (`report` judges the first part while the helpers read)."""
Helper: TypeAlias = tuple[int, int]
"""A forked helper: (process id, the read end of the pipe its part comes through)."""
Mark: TypeAlias = tuple[int, int, bytes, bytes]
"""(device, inode, first bytes, bytes before a cut): the version of the file a split read
relies on (`fingerprint`)."""


@dataclass(frozen=True, slots=True)
class PartRequest:
    """Which bytes of which file one part reads, and how its records are stored."""

    path: str
    start: int
    stop: int | None
    """Offset the part ends at (None: the end of the file)."""
    arrival_s: float
    """The arrival time of records that print no time of their own."""
    max_series: int


@dataclass(slots=True)
class Part:
    """One part's records and parser, and what it saw of the file (to check the split)."""

    store: MetricStore
    parser: LogParser
    long_lines: int
    untrusted: int
    """Records whose step depends on what came before this part (see `untrusted_records`)."""
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


def read_part(request: PartRequest, on_read: Callable[[int], object] | None = None) -> Part:
    """Read bytes [start, stop) of the file into a store; count records with inferred steps.
    `on_read` is told the offset reached after each chunk (the dashboard's progress)."""
    ingest = Ingest(
        request.path,
        follow=False,
        start=request.start,
        stop=request.stop,
        chunk_bytes=READ_CHUNK_BYTES,
    )
    store = MetricStore(request.max_series)
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
                untrusted += untrusted_records(item, first)
                if first_key is None:
                    first_key = (item[0].kind, item[0].step)
                last = item[-1]
                first = False
        apply(store, [i for i in items if not isinstance(i, FollowEvent)], request.arrival_s)
        if ingest.caught_up and not ingest.finished:  # a FIFO whose writer is not done
            time.sleep(ingest.follower.poll_interval_s)
    ingest.close()
    store.total_steps = ingest.parser.total_steps or store.total_steps
    return Part(
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


def untrusted_records(batch: tuple[MetricRecord, ...], first: bool) -> int:
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


def work_cuts(
    path: str, size: int, parts: int, first_extra: FirstPartExtra | None = None
) -> list[int]:
    """The `parts - 1` offsets that divide the estimated reading work evenly, from a few
    sampled windows; with `first_extra`, the first part's reader also does that other work,
    and the cuts even out reading plus that.

    Work follows lines more than bytes (each parsed line costs microseconds, a byte of tqdm
    redraw a fraction of a nanosecond), and a log's lines grow longer as its step counters
    grow: the byte middle gives the first process more records than the second, which then
    idles for the difference.
    """
    if size < SAMPLE_WINDOWS * SAMPLE_BYTES * 4:
        return [size * i // parts for i in range(1, parts)]
    stripe = size / SAMPLE_WINDOWS
    costs: list[float] = []
    lines = 0.0
    with open(path, "rb") as f:
        for i in range(SAMPLE_WINDOWS):
            f.seek(int((i + 0.5) * stripe) - SAMPLE_BYTES // 2)  # the middle of each stripe
            block = f.read(SAMPLE_BYTES)
            stripe_lines = block.count(b"\n") * stripe / max(1, len(block))
            costs.append(stripe * NS_PER_BYTE + stripe_lines * NS_PER_LINE)
            lines += stripe_lines
    total = sum(costs)
    first = total / parts
    if first_extra is not None:
        first = _first_part_work(total, lines, parts, first_extra)
    rest = (total - first) / (parts - 1)
    cuts: list[int] = []
    done = 0.0
    i = 0
    for k in range(parts - 1):
        target = first + rest * k
        while i < len(costs) - 1 and done + costs[i] < target:
            done += costs[i]
            i += 1
        cuts.append(int((i + (target - done) / costs[i]) * stripe))
    return cuts


def _first_part_work(total: float, lines: float, parts: int, extra: FirstPartExtra) -> float:
    """The reading work of a first part whose reader finishes with the others although it
    also does `extra` work for its lines: w + extra(w's lines) = (total - w) / (parts - 1),
    found by a few fixed-point steps (lines taken in proportion to work). Never less than
    `MIN_FIRST_SHARE` of an even part: a first part without records is not trusted."""
    first = total / parts
    for _ in range(FIXED_POINT_STEPS):
        first = (total - (parts - 1) * extra(lines * first / total)) / parts
        first = max(first, MIN_FIRST_SHARE * total / parts)
    return first


def default_jobs() -> int:
    """Processes a big file is read by: one fewer than the usable cores (one stays with the
    training job when it runs on the same box), at most `DEFAULT_JOBS_CAP`, at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(DEFAULT_JOBS_CAP, cores - 1))


def cut_points(
    path: str, size: int, split_bytes: int, jobs: int, first_extra: FirstPartExtra | None = None
) -> list[int]:
    """Line-boundary offsets where the file is cut into parts (none: one process); the
    first part's reader's other work as in `work_cuts`."""
    if not 0 < split_bytes <= size or jobs < 2:
        return []
    parts = min(jobs, MAX_JOBS, max(2, size // PART_MIN_BYTES))
    middles = work_cuts(path, size, parts, first_extra)
    found = (split_point(path, size, m) for m in middles)
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


def fork_part(
    request: PartRequest, on_read: Callable[[int], object] | None = None
) -> Helper | None:
    """Read a part in a forked helper process, for `collect` (None: no fork here, or no
    process or pipe to spare: EAGAIN, ENOMEM, EMFILE)."""
    if not hasattr(os, "fork"):
        return None
    parent = os.getpid()
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # child: parse, pickle, exit without running the parent's cleanup
        code = 1
        try:
            _default_signals()
            _die_with_parent(parent)
            os.close(read_fd)
            part = read_part(request, on_read)
            payload = pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def fork_all(
    requests: Sequence[PartRequest],
    on_read: Sequence[Callable[[int], object] | None] | None = None,
) -> list[Helper]:
    """A helper process per part (`on_read[i]` told part i's progress), or none at all when
    one cannot be forked: the caller then reads the whole file itself."""
    children: list[Helper] = []
    try:
        for i, request in enumerate(requests):
            child = fork_part(request, None if on_read is None else on_read[i])
            if child is None:
                break
            children.append(child)
    except BaseException:  # Ctrl-C, SIGTERM between two forks
        for child in children:
            abandon(child)
        raise
    if len(children) < len(requests):
        for child in children:
            abandon(child)
        return []
    return children


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


def abandon(child: Helper) -> None:
    """Stop and reap the helper process of a read that is being abandoned."""
    pid, read_fd = child
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        os.close(read_fd)


def collect(child: Helper) -> Part | None:
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
    return part if isinstance(part, Part) else None


def fingerprint(path: str, cut: int) -> Mark | None:
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


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is read (the helper process too).

    Every record allocates a dict and a tuple, and the parser and store make no reference
    cycles (refcounting frees everything): the collector's passes cost time and find nothing
    to collect.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def trusted(part: Part) -> bool:
    """A later part whose records a single read would give alike (see the module doc)."""
    return not (part.untrusted or part.errors or part.store.ignored_series)


def joined_cleanly(parts: list[Part | None]) -> bool:
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


def split_changed(before: Mark, first: Part, second: Part) -> bool:
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


def changed_under(parts: list[Part | None], marks: list[Mark]) -> bool:
    """True when the file was rewritten under a split read: the parts either side of some
    cut did not read the version it was chosen in (`split_changed`; a failed part, None, is
    for `trusted_split` to judge)."""
    return any(
        earlier is not None and later is not None and split_changed(mark, earlier, later)
        for mark, earlier, later in zip(marks, parts, parts[1:], strict=False)
    )


def trusted_split(parts: list[Part | None]) -> bool:
    """The parts, merged in order, give the records and steps of a single read: every later
    part is `trusted` and they join cleanly. Otherwise steps were inferred in a later part
    (they depend on what came before), or a helper failed, or hit the series cap (only a
    single read knows which names came first), or a record or a table straddles a cut."""
    later_ok = all(part is not None and trusted(part) for part in parts[1:])
    return later_ok and joined_cleanly(parts)


def summary_of(path: str, part: Part) -> LogSummary:
    """The first part's records and counters, as the summary the later parts merge into."""
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


def merge_part(summary: LogSummary, part: Part) -> None:
    """A later part's records and counters after the summary's, in file order."""
    summary.store.absorb(part.store)
    _merge_counts(summary, part)


def _merge_counts(summary: LogSummary, part: Part) -> None:
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
