"""Failure signatures in the lines that are not metrics: tracebacks, OOM, NCCL, killed, ...

A run that goes wrong often ends with text, not with a bad loss: a Python traceback, CUDA out
of memory, an NCCL watchdog timeout, the kernel's OOM killer, a DeepSpeed loss scale that
keeps skipping steps. The parser hands this scanner only text it has already found holds no
record (`scan_line` for one line of the line path, `scan_range` for text it skipped), and the
scanner looks further only where one of a few literal anchors occurs (`bytes.find`, or `in`
for one line), so metric lines cost nothing and other text one keyword test.

A multi-line traceback is one event, titled with its exception line (chained tracebacks, "During
handling of the above exception", end with the last one). Lines of several ranks interleave
(`[rank3]: Traceback ...`): each rank has its own open traceback, and the event names the
rank. Whether an event ended the run (a crash) or was caught and logged is decided later, from
whether records followed it (`TextEvent.records_before`): see `trainmon.advice.text_events`.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from trainmon.parsing.prefixes import rank_of, strip_prefix

MAX_EVENTS: Final = 256
"""Events kept per segment; later ones are only counted (`TextEventScanner.dropped`)."""
MAX_TITLE: Final = 200
MAX_TRACEBACK_LINES: Final = 400
"""A traceback still open after this many lines (no exception line came) is closed."""

ANCHORS: Final = (
    b"Traceback",
    b"Error",
    b"Exception",
    b"of memory",
    b"NCCL",
    b"Killed",
    b"SIGKILL",
    b"OVERFLOW",
    b"verflow",
    b"loss scale",
    b"No space left",
    b"heckpoint",
    b"above exception",
)
"""Literal bytes that every signature's line holds; text without any is not looked at."""

# Signature ids: also the advice rule ids (`trainmon.advice.text_events`).
TRACEBACK: Final = "python-exception"
CUDA_OOM: Final = "cuda-oom"
NCCL_TIMEOUT: Final = "nccl-timeout"
NCCL_ERROR: Final = "nccl-error"
KILLED: Final = "process-killed"
NAN_ERROR: Final = "nan-error"
FP16_OVERFLOW: Final = "fp16-overflow"
LOSS_SCALE_MIN: Final = "loss-scale-collapse"
CHECKPOINT_FAILED: Final = "checkpoint-failed"
DISK_FULL: Final = "disk-full"

_TRACEBACK_START: Final = re.compile(rb"Traceback \(most recent call last\):")
_CHAIN: Final = re.compile(rb"(?:During handling of the above exception|The above exception was)")
_EXCEPTION_LINE: Final = re.compile(
    rb"((?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Failure|Fault))(?::\s*(.*))?$"
)
"""`RuntimeError: ...`, `torch.OutOfMemoryError: ...`, `KeyboardInterrupt` at a line start."""
_OOM: Final = re.compile(
    rb"(?:^|Error:\s*|\]\s*)((?:CUDA|MPS backend|HIP|XPU) out of memory|CUDA error: out of memory)"
)
_ALLOC: Final = re.compile(rb"[Tt]ried to allocate ([\d.]+ ?[KMGT]?i?B)")
_FREE: Final = re.compile(rb"(?:of which )?([\d.]+ ?[KMGT]?i?B) (?:is )?free")
_KERNEL_OOM: Final = re.compile(
    rb"(?:Out of memory|Memory cgroup out of memory): Kill(?:ed)? process (\d+)"
)
_KILLED: Final = re.compile(
    rb"(?:^Killed\s*$|\bline \d+: +\d+ Killed\b|Signal 9 \(SIGKILL\) received)"
)
_WATCHDOG: Final = re.compile(rb"Watchdog caught collective operation timeout")
_RAN_FOR: Final = re.compile(rb"ran for (\d+) milliseconds")
_NCCL_ERROR: Final = re.compile(
    rb"(?:NCCL error|NCCL WARN|nccl\w*Error\b|ncclSystemError|ncclInternalError"
    rb"|ncclUnhandledCudaError|ncclRemoteError|ncclInvalidUsage|DistBackendError)"
)
_NAN: Final = re.compile(rb"(?i)(?:\bnan\b|\binf\b|non-finite|not finite)")
_DS_OVERFLOW: Final = re.compile(
    rb"OVERFLOW!.*?[Ss]kipping step.*?(?:reducing to ([\d.eE+-]+))?\s*$"
)
_OVERFLOW: Final = re.compile(
    rb"[Gg]radient overflow.*?(?:loss scale(?:r \d+ reducing loss scale)? to:? ([\d.eE+-]+))?\s*$"
)
_SCALE_MIN: Final = re.compile(
    rb"(?:loss scale already at minimum|[Mm]inimum loss scale reached"
    rb"|loss scale .{0,20}below minimum)"
)
_DISK_FULL: Final = re.compile(rb"(?:No space left on device|\[Errno 28\]|\bENOSPC\b)")
_CHECKPOINT_LINE: Final = re.compile(
    rb"(?i)(?:(?:fail(?:ed|ure)?|error|unable|could ?n[o']t)\b.{0,40}"
    rb"\b(?:sav|writ|stor)\w*\b.{0,40}checkpoint|checkpoint\b.{0,40}\b(?:sav|writ)\w*\b.{0,20}\b(?:fail(?:ed|ure)?|error)\b)"
)
_CHECKPOINT_FRAME: Final = re.compile(
    rb"(?i)(?:save_checkpoint|_save_checkpoint|save_pretrained|save_model|torch\.save"
    rb"|serialization\.py|PytorchStreamWriter)"
)


class TextEvent(NamedTuple):
    """One failure signature found in the log's text."""

    kind: str
    """The signature id (`cuda-oom`, `python-exception`, ...), also the advice rule id."""
    line_no: int
    """1-based line (within the segment) of the event's title line."""
    step: int | None
    """The step of the newest record before it (None before the first record)."""
    records_before: int
    """How many records the parser had emitted before it: records after it mean the run
    went on (a caught and logged exception, not a crash)."""
    rank: int | None
    """The launcher's rank tag on the line, when there was one."""
    title: str
    """The line that says what happened (the exception line of a traceback), cut short."""
    detail: str = ""
    """Figures read from the text: requested and free memory, a timeout, a loss scale."""
    value: float | None = None
    """A number the advice judges by (the loss scale an overflow reduced to)."""


class _Open(NamedTuple):
    """A traceback whose exception line has not come yet."""

    line_no: int
    step: int | None
    records_before: int
    lines: int
    saving: bool
    """A frame mentions saving a checkpoint (torch.save, save_pretrained, ...)."""
    chained: bool
    """It follows "During handling of the above exception": it replaces the event before."""


class TextEventScanner:
    """Finds failure signatures in non-record text; one per parser segment."""

    def __init__(self) -> None:
        self.events: list[TextEvent] = []
        self.dropped = 0
        """Events beyond `MAX_EVENTS` (not kept)."""
        self.open_tracebacks: dict[int | None, _Open] = {}
        """Tracebacks (per rank) whose exception line has not come yet."""
        self._chain_next: set[int | None] = set()
        """Ranks whose last exception line was followed by a chaining sentence."""

    # -- input -----------------------------------------------------------------------------

    def scan_line(self, line: bytes, line_no: int, step: int | None, records: int) -> None:
        """One line the parser found no record in (the line path)."""
        if not self.open_tracebacks and not _has_anchor(line):
            return
        self._line(line, line_no, step, records)

    def scan_range(
        self, data: bytes, a: int, b: int, line_no: int, step: int | None, records: int
    ) -> None:
        """Whole lines in `data[a:b]` (the first is line `line_no`) that the parser skipped."""
        find = data.find
        pos = a
        next_at = [-2] * len(ANCHORS)  # each anchor's next position (-1: none left)
        while pos < b:
            if not self.open_tracebacks:
                hit = _first_anchor(data, pos, b, next_at)
                if hit < 0:
                    return
                start = data.rfind(b"\n", pos, hit) + 1 or pos
                start = max(start, pos)
                line_no += data.count(b"\n", pos, start)
                pos = start
            end = find(b"\n", pos, b)
            if end < 0:
                end = b
            self._line(data[pos:end], line_no, step, records)
            line_no += 1
            pos = end + 1

    def finish(self) -> None:
        """End of the segment: a traceback still open (the log stops in it) is an event."""
        for rank, open_tb in list(self.open_tracebacks.items()):
            self._close(rank, open_tb, b"", missing=True)
        self.open_tracebacks.clear()

    # -- one line --------------------------------------------------------------------------

    def _line(self, raw: bytes, line_no: int, step: int | None, records: int) -> None:
        for seg in raw.split(b"\r") if b"\r" in raw else (raw,):
            if seg and not seg.isspace():
                self._segment(seg, line_no, step, records)

    def _segment(self, seg: bytes, line_no: int, step: int | None, records: int) -> None:
        rank, body = _rank_and_body(seg)
        text = body.strip()
        open_tb = self.open_tracebacks.get(rank)
        if open_tb is not None and self._continue_traceback(rank, open_tb, body, text):
            return
        if _TRACEBACK_START.match(text):
            chained = rank in self._chain_next
            self._chain_next.discard(rank)
            self.open_tracebacks[rank] = _Open(line_no, step, records, 0, False, chained)
            return
        if _CHAIN.match(text):
            self._chain_next.add(rank)
            return
        if not _has_anchor(text):
            return
        found = _classify_line(text)
        if found is not None:
            kind, title, detail, value = found
            self._add(TextEvent(kind, line_no, step, records, rank, title, detail, value))

    def _continue_traceback(self, rank: int | None, tb: _Open, body: bytes, text: bytes) -> bool:
        """Feed a line to an open traceback; False when the line is not part of it."""
        if not text:
            return True
        if body[:1] in (b" ", b"\t") or text.startswith((b"File ", b"^", b"~")):
            saving = tb.saving or _CHECKPOINT_FRAME.search(text) is not None
            lines = tb.lines + 1
            if lines > MAX_TRACEBACK_LINES:
                self._close(rank, tb, b"", missing=True)
                return True
            self.open_tracebacks[rank] = tb._replace(lines=lines, saving=saving)
            return True
        if _TRACEBACK_START.match(text):
            return False  # a new traceback of the same rank: the old one had no exception line
        self._close(rank, tb, text, missing=False)
        return True

    def _close(self, rank: int | None, tb: _Open, text: bytes, missing: bool) -> None:
        self.open_tracebacks.pop(rank, None)
        if not missing and text.startswith(b"KeyboardInterrupt"):
            return  # the user stopped the run (Ctrl-C): its exit says so; it is no crash
        if missing:
            title = "Python traceback with no exception line (the log stops inside it)"
            kind, detail, value = TRACEBACK, "", None
        else:
            kind, title, detail, value = _classify_exception(text, tb.saving)
        if tb.chained and self.events:
            # the exception raised while handling the previous one: one event, the last title
            for i in range(len(self.events) - 1, -1, -1):
                if self.events[i].rank == rank:
                    first = self.events.pop(i)
                    tb = tb._replace(line_no=first.line_no, step=first.step)
                    tb = tb._replace(records_before=first.records_before)
                    break
        self._add(
            TextEvent(kind, tb.line_no, tb.step, tb.records_before, rank, title, detail, value)
        )

    def _add(self, event: TextEvent) -> None:
        if len(self.events) < MAX_EVENTS:
            self.events.append(event)
        else:
            self.dropped += 1


# -- helpers --------------------------------------------------------------------------------


def _has_anchor(text: bytes) -> bool:
    return any(anchor in text for anchor in ANCHORS)


def _first_anchor(data: bytes, a: int, b: int, next_at: list[int]) -> int:
    """The position of the first anchor in data[a:b], or -1; `next_at` keeps each anchor's
    next position between calls, so a range is searched once per anchor however many hits."""
    best = -1
    find = data.find
    for i, anchor in enumerate(ANCHORS):
        at = next_at[i]
        if at != -1 and at < a:
            at = next_at[i] = find(anchor, a, b)
        if at >= 0 and (best < 0 or at < best):
            best = at
    return best


def _rank_and_body(seg: bytes) -> tuple[int | None, bytes]:
    """The launcher's rank tag (if any) and the line without its prefixes."""
    rank, start = rank_of(seg)
    return rank, strip_prefix(seg[start:] if start else seg)


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1] + "…"


def _memory_detail(text: bytes) -> str:
    parts = []
    alloc = _ALLOC.search(text)
    if alloc is not None:
        parts.append(f"tried to allocate {alloc.group(1).decode()}")
    free = _FREE.search(text)
    if free is not None:
        parts.append(f"{free.group(1).decode()} free")
    return ", ".join(parts)


def _classify_exception(text: bytes, saving: bool) -> tuple[str, str, str, float | None]:
    """What a traceback's exception line says happened (disk full or out of memory while
    saving a checkpoint is said as its cause)."""
    found = _classify_line(text)
    if found is not None and (not saving or found[0] in (DISK_FULL, CUDA_OOM)):
        return found
    if saving:
        return CHECKPOINT_FAILED, _text(text), "raised while saving a checkpoint", None
    return TRACEBACK, _text(text), "", None


def _classify_line(text: bytes) -> tuple[str, str, str, float | None] | None:
    """The signature one stripped line shows on its own, if any (each pattern is tried only
    when the literal it needs is in the line: a line with a common word stays cheap)."""
    if b"of memory" in text:
        if _OOM.search(text) is not None:
            return CUDA_OOM, _text(text), _memory_detail(text), None
        m = _KERNEL_OOM.search(text)
        if m is not None:
            pid = m.group(1).decode()
            return KILLED, _text(text), f"the kernel's OOM killer ended process {pid}", None
    if (b"Killed" in text or b"SIGKILL" in text) and _KILLED.search(text) is not None:
        return KILLED, _text(text), "killed by SIGKILL", None
    if b"NCCL" in text or b"nccl" in text or b"DistBackendError" in text:
        if _WATCHDOG.search(text) is not None:
            m = _RAN_FOR.search(text)
            ms = m.group(1) if m is not None else None
            detail = f"a collective ran for {int(ms) / 1000:g} s before timing out" if ms else ""
            return NCCL_TIMEOUT, _text(text), detail, None
        if _NCCL_ERROR.search(text) is not None:
            return NCCL_ERROR, _text(text), "", None
    if b"loss scale" in text and _SCALE_MIN.search(text) is not None:
        return LOSS_SCALE_MIN, _text(text), "", None
    if b"OVERFLOW" in text or b"verflow" in text:
        m = _DS_OVERFLOW.search(text) or _OVERFLOW.search(text)
        if m is not None:
            scale = _float(m.group(1))
            detail = f"loss scale reduced to {scale:g}" if scale is not None else ""
            return FP16_OVERFLOW, _text(text), detail, scale
    if b"No space left" in text and _DISK_FULL.search(text) is not None:
        return DISK_FULL, _text(text), "", None
    if b"heckpoint" in text and _CHECKPOINT_LINE.search(text) is not None:
        return CHECKPOINT_FAILED, _text(text), "", None
    if (
        (b"Error" in text or b"Exception" in text)
        and _EXCEPTION_LINE.match(text) is not None
        and _NAN.search(text) is not None
    ):
        return NAN_ERROR, _text(text), "", None
    return None


def _float(raw: bytes | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None
