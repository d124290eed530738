"""`LogParser`: bytes of a training log in, `MetricRecord`s on one step axis out.

Why it is shaped this way (figures in the performance notes, §2-3):

* A gigabyte of Hugging Face log is mostly tqdm redraws; Python must not look at them one
  by one. The dict lines are found with `find(b"{")` (memchr) and parsed with orjson, with a
  regex fallback (`dicts.py`). The step of a dict comes from the tqdm `N/TOTAL` counter in a
  bounded look-back window, never from a pass over every `\\r` segment.
* Most of those dict lines repeat the one before: the same keys, the step one logging interval
  on. After the scan has read one, the lines just like it are read by `dict_runs.read_run`, one
  loop doing only the scan's own tests for such a line; the first line that differs goes on
  here.
* Everything else goes through the line path (`lines.py`, `tables.py`): every `\\r` or `\\n`
  terminated segment is offered to the format matchers. While dict records outnumber all
  other records four to one, the text between dicts is only searched for `loss` at C speed
  (a memchr for `l` first: tqdm bars hold none), and the line path sees just those segments.
  The choice depends only on the records so far, never on how the bytes were chunked.
* Steps: a printed step/iter field, the tqdm counter (only when its TOTAL matches the known
  total, so eval bars are ignored), or `trainer_state` `step` are exact; otherwise a train
  record gets the previous step plus the usual interval (`logging_steps` when known, else 1)
  and an eval or summary record sits on the last train step (`step_exact=False`).
* `feed()` takes any bytes. Text after the last `\\r`/`\\n` is held until its terminator
  arrives (or `finish()`), so every chunking of the same text gives the same records.
* Nothing here evaluates log text, and nothing recurses on its nesting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from trainmon.parsing import lines as line_formats
from trainmon.parsing.dict_runs import LOOKBACK, read_run
from trainmon.parsing.dicts import (
    hot_dict_values,
    numeric_items,
    parse_json_object,
    parse_repr_dict,
)
from trainmon.parsing.formats import parse_segment
from trainmon.parsing.general import VALUE, number
from trainmon.parsing.lines import Hit, is_metric_name, key_text
from trainmon.parsing.names import canonical_name, choose_series
from trainmon.parsing.prefixes import rank_of, strip_prefix
from trainmon.parsing.tables import TableReader
from trainmon.parsing.text_events import TextEventScanner
from trainmon.records import MetricRecord, RecordKind

MAX_PARTIAL: Final = 8 << 20
"""An unterminated line longer than this is dropped (and counted) instead of buffered."""
MAX_SEGMENT: Final = 64 << 10
"""The line path reads at most this many bytes of one segment (a 10 MB line stays cheap)."""
MAX_BLOCK: Final = 256 << 20
"""A pretty-printed JSON document (trainer_state.json) larger than this is read as lines."""
REWRITTEN_FORMATS: Final = frozenset({"csv", "trainer-state", "fastai", "yolov5-results"})
"""Formats whose files are rewritten in place, not appended to."""
MAX_REWRITE_KEYS: Final = 1 << 20
"""Records remembered to recognise the rows a rewritten file kept (bounded memory)."""

_SQ: Final = 39  # '
_TERMINATORS: Final = (10, 13)
_GLUE_BYTES: Final = frozenset(b" \t]}")
_new_record = tuple.__new__
_DQ: Final = 34  # "
_NL: Final = 10
_CR: Final = 13

_SERIES_ROW: Final = re.compile(rb"^([A-Za-z_][\w/.\-]*)[ \t]{2,}(" + VALUE + rb")$")
_SERIES_END: Final = re.compile(rb"^(?:Name: [^,]{0,80}, )?dtype: \w+$")
"""A pandas Series printed line by line (`loss    0.51`) and its closing `dtype:` line."""
_ANSI_END: Final = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z][ \t]*$")
_BLOCK_TAIL: Final = re.compile(rb"\}[ \t]*(?:\r\n|\r|\n|$)")

_STEP_KEYS: Final = ("step", "global_step", "current_steps", "iteration", "iter", "_step")
_TOTAL_KEYS: Final = ("total_steps", "max_steps")
_PLAIN_METRICS: Final = frozenset(
    {"learning_rate", "lr", "grad_norm", "train_runtime", "total_flos"}
)
"""Names that make a dict a metrics dict although they are no quality metric (an epoch or
progress fields alone do not: LLaMA-Factory's progress-only lines are not records)."""
_CONTEXT_KEYS: Final = (
    "max_steps",
    "logging_steps",
    "eval_steps",
    "save_steps",
    "num_train_epochs",
    "train_batch_size",
)

_DICT_CONTEXT_KEYS: Final = (
    "max_grad_norm",
    "max_steps",
    "num_train_epochs",
    "logging_steps",
    "eval_steps",
    "warmup_steps",
    "learning_rate",
    "vocab_size",
    "num_classes",
    "num_labels",
)

# Per key-tuple of a parsed dict: kind (None: not a metrics dict), renames, step and total key.
_Plan = tuple[RecordKind | None, tuple[tuple[str, str], ...] | None, str | None, str | None]


def _plan_for(keys: tuple[str, ...]) -> _Plan:
    """Decide once per key signature what a dict with those keys means."""
    kind: RecordKind = "train"
    metric = False
    step_key: str | None = next((k for k in _STEP_KEYS if k in keys), None)
    if step_key is None:  # `train/global_step`: a logger's namespaced step
        step_key = next((k for k in keys if k.rpartition("/")[2] in _STEP_KEYS), None)
    total_key = next((k for k in _TOTAL_KEYS if k in keys), None)
    for key in keys:
        low = key.lower()
        if low.startswith(("eval_", "eval/", "val_", "valid_", "test_", "predict_")):
            if kind == "train":
                kind = "eval"
            metric = True
        elif low in ("train_runtime", "train_samples_per_second"):
            kind = "summary"
            metric = True
        elif low in _PLAIN_METRICS or is_metric_name(key):
            metric = True
    if not metric:
        return (None, None, None, None)
    renames: list[tuple[str, str]] = []
    identity = True
    taken: set[str] = set()
    for key in keys:
        if key in (step_key, total_key):
            identity = False
            continue
        name = canonical_name(key, kind)
        if name in taken:
            name = key
        taken.add(name)
        renames.append((key, name))
        if name != key:
            identity = False
    return (kind, None if identity else tuple(renames), step_key, total_key)


class LogParser:
    """Incremental, format-detecting parser for one log (reuse it across segments).

    `feed(data)` takes bytes, ideally complete lines ending in `\\n` or `\\r`; any
    unterminated tail is held for the next call. `finish(data=b"")` ends a segment (or the
    file): it parses the held tail and `data` as a last line, flushes a half-read JSON
    document, and resets the per-segment state (line numbers, step axis). The counters
    `lines`, `unparsed_lines`, `records` and the revealed `context` accumulate over segments.
    """

    def __init__(self, *, dict_runs: bool = True) -> None:
        """`dict_runs=False`: every line goes through the general scan, without the run
        reader of plain train dict lines (what its tests and benchmark compare it with)."""
        self._dict_runs = dict_runs
        self.lines = 0
        """Lines seen (`\\n`-terminated, plus a final unterminated one at `finish`)."""
        self.records = 0
        self._nonblank = 0
        self._record_lines = 0
        self.total_steps: int | None = None
        """The latest total the log revealed (a restarted run's banner or bar replaces it)."""
        self.context: dict[str, object] = {}
        self.format_counts: dict[str, int] = {}
        self._rewrite_keys: set[tuple[object, ...]] = set()
        self._rereading = False
        self.series_sources: dict[str, str] = {}
        """Which printed name each main series was read from (`{"loss": "lm_loss"}`)."""
        self._plans: dict[tuple[str, ...], _Plan] = {}
        self._context_total: int | None = None
        self._names: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, str], ...]] = {}
        self._partial = b""
        self._discard = False
        self._tables = TableReader()
        self._ranks: set[int] = set()
        """Launcher ranks whose tags records carried (`context["ranks"]` counts them)."""
        self.text_events = TextEventScanner()
        """Failure signatures (tracebacks, OOM, NCCL, ...) in the lines that held no record."""
        self._run_keys: tuple[str, ...] | None = None
        """The keys of the last plain train dict the scan inlined (what a run may repeat)."""
        self._reset_segment()

    # ------------------------------------------------------------------ public
    @property
    def unparsed_lines(self) -> int:
        """Non-blank lines that yielded no record (text between dicts counts as non-blank)."""
        return max(0, self._nonblank - self._record_lines)

    @property
    def format(self) -> str:
        """The format that produced most records so far ("unknown" before any)."""
        if not self.format_counts:
            return "unknown"
        return max(self.format_counts.items(), key=lambda item: item[1])[0]

    def feed(self, data: bytes) -> list[MetricRecord]:
        """Parse `data`; return the records completed by it."""
        out: list[MetricRecord] = []
        if self._discard:
            cut = _first_terminator(data)
            if cut == -1:
                return out
            if data[cut] == _NL:
                self._close_lines(1, nonblank=1)
            self._discard = False
            data = data[cut + 1 :]
        if self._partial:
            data = self._partial + data
            self._partial = b""
        end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        if end < len(data):
            tail = data[end:]
            if len(tail) > MAX_PARTIAL:
                self._discard = True
            else:
                self._partial = tail
            data = data[:end]
        if data:
            self._process(data, out)
        return out

    def finish(self, data: bytes = b"") -> list[MetricRecord]:
        """End of a segment or file: parse what is held (plus `data`) and reset the step axis."""
        out = self.feed(data) if data else []
        tail = self._partial
        self._partial = b""
        if self._discard:
            self._discard = False
            self._close_lines(1, nonblank=1)
        if tail:
            self._process(tail + b"\n", out)
        if self._block is not None:
            self._flush_block(out)
        self._close_open_dict(out)
        self._replay_series_rows(out)
        self._flush_held(out)
        self.text_events.finish()
        self._reset_segment()
        return out

    @property
    def rewritable(self) -> bool:
        """The log is a file its writer rewrites in place (a metrics table, a trainer_state)."""
        return self.format in REWRITTEN_FORMATS

    def reread_rewritten(self) -> list[MetricRecord]:
        """The file was rewritten from its start (Lightning's CSVLogger adds a column,
        the Trainer saves trainer_state.json): end this read like `finish()`, then read the
        new content as the same run, dropping every record already read (nothing twice)."""
        out = self.finish()
        self._rereading = True
        return out

    def release(self) -> list[MetricRecord]:
        """The record held for a possible continuation line, now that the log went quiet.

        Multi-line records (a header and its metric lines, glog's lines of one iteration) are
        complete only when a line that does not continue them arrives; a follower calls this
        when it has read everything there is, so a live log's last record shows at once.
        """
        out: list[MetricRecord] = []
        self._replay_series_rows(out)
        self._flush_held(out)
        return out

    # ----------------------------------------------------------------- helpers
    def _reset_segment(self) -> None:
        self._partial = b""
        self._discard = False
        self._seg_lines = self.lines
        self._last_record_line = -1
        self._tail = b""
        self._seg_total: int | None = None
        self._block_tail = b""
        self._scan_prev_end = -1
        self._held: _Held | None = None
        self._header: Hit | None = None
        self._open_dict: list[bytes] | None = None
        self._series_rows: list[tuple[bytes, int]] = []
        self._block: list[bytes] | None = None
        self._block_size = 0
        self._last_step: int | None = None
        self._last_exact: int | None = None
        self._interval: int | None = None
        self._ordinal = 0
        self._other_records = 0
        self._dict_records = 0
        self._tables.reset()
        self._line_state = line_formats.LineState()
        self._rank: int | None = None
        """The rank tag of the record being placed (reconstructed steps count per rank)."""
        self._rank_steps: dict[int, int] = {}

    def _count(self, fmt: str) -> None:
        counts = self.format_counts
        counts[fmt] = counts.get(fmt, 0) + 1

    def _close_lines(self, n: int, nonblank: int) -> None:
        self.lines += n
        self._nonblank += nonblank

    def _emit(self, out: list[MetricRecord], record: MetricRecord, fmt: str = "") -> None:
        if fmt in REWRITTEN_FORMATS:
            key = (record.kind, record.step, tuple(sorted(record.values.items())))
            if self._rereading and key in self._rewrite_keys:
                return  # a row the rewritten file kept: read before, counted once
            if len(self._rewrite_keys) < MAX_REWRITE_KEYS:
                self._rewrite_keys.add(key)
        out.append(record)
        self.records += 1
        if record.line_no != self._last_record_line:
            self._last_record_line = record.line_no
            self._record_lines += 1

    def place(self, kind: RecordKind, step: int | None, exact: bool = True) -> tuple[int, bool]:
        """Put a record on the step axis: the printed step, or a reconstructed one."""
        if step is not None:
            if kind == "train":
                last = self._last_exact
                if exact and last is not None and step > last:
                    self._interval = step - last
                if exact:
                    self._last_exact = step
                self._last_step = step
            return step, exact
        if kind != "train":
            return (self._last_step if self._last_step is not None else 0), False
        interval = self._interval
        if interval is None:
            logging_steps = self.context.get("logging_steps")
            interval = logging_steps if isinstance(logging_steps, int) and logging_steps > 0 else 1
        rank = self._rank
        if rank is not None and len(self._ranks) > 1:
            # every rank prints its own copy of each record: count each rank's prints apart,
            # or two ranks would make every logged step two steps
            own = self._rank_steps.get(rank)
            new = interval if own is None else own + interval
            if len(self._rank_steps) < 4096:
                self._rank_steps[rank] = new
            self._last_step = new if self._last_step is None else max(new, self._last_step)
            return new, False
        new = interval if self._last_step is None else self._last_step + interval
        self._last_step = new
        if rank is not None and len(self._rank_steps) < 4096:
            self._rank_steps[rank] = new
        return new, False

    def _note_rank(self, line: bytes, pos: int = 0) -> None:
        """Remember the rank tag of a record's line (`context["ranks"]` once there are two)."""
        rank = rank_of(line, pos, bracketed=True)[0]
        self._rank = rank
        if rank is not None and rank not in self._ranks and len(self._ranks) < 4096:
            self._ranks.add(rank)
            if len(self._ranks) > 1:
                self.context["ranks"] = len(self._ranks)

    def set_total(self, total: int | None) -> None:
        if total is not None and total > 0:
            self.total_steps = total
            self._seg_total = total

    # ------------------------------------------------------------- main loop
    def _process(self, data: bytes, out: list[MetricRecord]) -> None:
        """Parse `data`, which ends with a terminator and starts after one."""
        pos = 0
        size = len(data)
        self._scan_prev_end = -1
        while pos < size:
            if self._block is not None:
                pos = self._consume_block(data, pos, out)
            else:
                pos = self._scan(data, pos, out, allow_block=True)
        last = self._scan_prev_end
        if last >= 0:
            self._tail = data[max(last + 1, len(data) - LOOKBACK) :]
        else:
            self._tail = (self._tail + data[-LOOKBACK:])[-LOOKBACK:]

    def _scan(self, data: bytes, pos: int, out: list[MetricRecord], allow_block: bool) -> int:
        """Dict scan from `pos`: regions between dicts go to the line path."""
        find = data.find
        size = len(data)
        region = pos  # start of text not yet handed to the line path
        prev_end = -1  # end of the previous dict in this buffer (bounds the look-back)
        count = data.count
        plans = self._plans
        hf_count = 0  # inlined train dicts, added to format_counts on the way out
        # Counters of the hot path live in locals and are flushed before any other code runs.
        pending = 0  # hot-path records (one per line) not yet added to the counters
        pending_lines = 0
        base = self.lines - self._seg_lines
        fast = self._dict_records > 4 * self._other_records
        dirty = False
        held = self._held is not None  # a line-path record waiting for its next line
        s = find(b"{", pos)
        while s != -1:
            nxt = data[s + 1] if s + 1 < size else _NL
            # Hot path: a `{'...}` dict alone at the end of its segment, followed by `\n`.
            if nxt == _SQ and (s == 0 or data[s - 1] in _TERMINATORS):
                if dirty:  # the general path below ran and moved the counters
                    base = self.lines - self._seg_lines
                    fast = self._dict_records > 4 * self._other_records
                    held = self._held is not None
                    dirty = False
                close = find(b"}", s)
                if close != -1 and close + 1 < size and data[close + 1] == _NL:
                    text = data[s : close + 1]
                    if _NL not in text and _CR not in text:
                        if s > region:
                            if fast:
                                # memchr for "l" first: tqdm bars hold no "l" at all
                                ell = find(b"l", region, s)
                                if ell == -1 or find(b"loss", ell, s) == -1:
                                    if ell != -1 or self.text_events.open_tracebacks:
                                        self.text_events.scan_range(
                                            data,
                                            region,
                                            s,
                                            base + pending_lines + 1,
                                            self._last_step,
                                            self.records + pending,
                                        )
                                    # bytes.count is a plain loop, find is memchr: the text
                                    # between dicts rarely holds a newline at all
                                    nl = find(b"\n", region, s)
                                    if nl != -1:
                                        pending_lines += count(b"\n", nl, s)
                                else:
                                    pending, pending_lines = self._flush_pending(
                                        pending, pending_lines, base
                                    )
                                    self._skim(data, region, s, out)
                                    held = self._held is not None
                                    base = self.lines - self._seg_lines
                                    fast = self._dict_records > 4 * self._other_records
                            else:
                                pending, pending_lines = self._flush_pending(
                                    pending, pending_lines, base
                                )
                                self._lines(data, region, s, out)
                                held = self._held is not None
                                base = self.lines - self._seg_lines
                                fast = self._dict_records > 4 * self._other_records
                        if held:  # a multi-line record ends before a dict
                            self._flush_held(out)
                            held = False
                        values = hot_dict_values(text)
                        run_keys = None
                        if values:
                            keys = tuple(values)
                            plan = plans.get(keys)
                            if plan is None:
                                plan = self._new_plan(keys)
                            if plan[0] == "train" and plan[1] is None and plan[2] is None:
                                # the common train dict, inlined: step from the bar, or +interval
                                step, exact = self._train_step(data, s, prev_end, values)
                                hf_count += 1
                                pending += 1
                                out.append(
                                    _new_record(
                                        MetricRecord,
                                        (
                                            "train",
                                            step,
                                            values,
                                            exact,
                                            base + pending_lines + 1,
                                            None,
                                        ),
                                    )
                                )
                                if not fast:
                                    fast = self._dict_records + pending > 4 * self._other_records
                                run_keys = self._run_keys = keys
                            elif plan[0] is not None:
                                pending, pending_lines = self._flush_pending(
                                    pending, pending_lines, base
                                )
                                self._hf_record(data, s, prev_end, values, plan, out)
                                base = self.lines - self._seg_lines
                                fast = self._dict_records > 4 * self._other_records
                                run_keys = self._run_keys  # train lines may follow an eval
                            else:
                                self._dict_context(values)
                        prev_end = close
                        region = close + 2
                        pending_lines += 1
                        if run_keys is not None and fast:
                            # the lines after it may be just like it: read them in one loop
                            n, end = self._dict_run(
                                data, region, run_keys, base + pending_lines, out
                            )
                            if n:
                                hf_count += n
                                pending += n
                                pending_lines += n
                                region = end
                                prev_end = end - 2
                        s = find(b"{", region)
                        continue
            pending, pending_lines = self._flush_pending(pending, pending_lines, base)
            dirty = True
            if nxt in (_SQ, _DQ):
                consumed = self._quoted_dicts(data, s, nxt, region, prev_end, out)
                if consumed is not None:
                    region, prev_end = consumed
                    s = find(b"{", region)
                    continue
            elif allow_block and _may_open_block(nxt):
                region, opened = self._lone_brace(data, s, region, prev_end, out)
                if opened:
                    self._scan_prev_end = prev_end
                    self._add_format("hf-trainer", hf_count)
                    return region
            s = find(b"{", s + 1)
        if pending or pending_lines:
            self._flush(pending, pending_lines, base)
        self._region(data, region, size, out)
        self._scan_prev_end = prev_end
        self._add_format("hf-trainer", hf_count)
        return size

    def _dict_run(
        self, data: bytes, pos: int, keys: tuple[str, ...], lines: int, out: list[MetricRecord]
    ) -> tuple[int, int]:
        """The plain train dict lines like the one just read, from `pos` on (`dict_runs`):
        how many were read, and where they end. `lines`: line number of the one just read."""
        total = self._seg_total
        last = self._last_exact
        interval = self._interval
        if (
            not self._dict_runs
            or total is None
            or last is None
            or interval is None
            or self.text_events.open_tracebacks
        ):
            return 0, pos
        n, end = read_run(data, pos, keys, total, last, interval, lines + 1, out)
        if n:
            self._last_exact = self._last_step = out[-1].step
        return n, end

    def _flush_pending(self, pending: int, pending_lines: int, base: int) -> tuple[int, int]:
        """Add the dict scan's pending records and lines to the counters (when there are
        any); the scan's pending counts start again from (0, 0)."""
        if pending or pending_lines:
            self._flush(pending, pending_lines, base)
        return 0, 0

    def _new_plan(self, keys: tuple[str, ...]) -> _Plan:
        """Plan for a key set not seen yet, remembered up to a bound (keys are free text)."""
        plan = _plan_for(keys)
        if len(self._plans) < 4096:
            self._plans[keys] = plan
        return plan

    def _train_step(
        self, data: bytes, s: int, prev_end: int, values: Mapping[str, float]
    ) -> tuple[int, bool]:
        """Step of a plain train dict: the tqdm bar's count when one is printed before it
        (which also measures the logging interval), else the previous step plus the interval."""
        step = self._tqdm_step(data, s, prev_end, values)
        if step is None:
            return self.place("train", None)
        last = self._last_exact
        if last is not None and step > last:
            self._interval = step - last
        self._last_exact = self._last_step = step
        return step, True

    def _quoted_dicts(
        self, data: bytes, s: int, quote: int, region: int, prev_end: int, out: list[MetricRecord]
    ) -> tuple[int, int] | None:
        """Read the dict at `s` and any dicts glued after it on its segment, the text before
        it going to the line path first; returns the new (region, prev_end), or None when the
        brace opens no dict (mid-line text, or a dict left unclosed)."""
        seg_start = self._dict_start(data, s, region)
        if seg_start < 0:
            return None
        close = self._dict_end(data, s, quote)
        if close == -1:
            return None
        self._region(data, region, seg_start, out)
        self._dict(data, s, close, quote, prev_end, out)
        term = _next_terminator(data, close)
        prev_end = self._glued_dicts(data, close, term, out)
        region = _after_terminator(data, term)
        if data[region - 1] == _NL:
            self._close_lines(1, nonblank=1)
        return region, prev_end

    def _glued_dicts(self, data: bytes, close: int, term: int, out: list[MetricRecord]) -> int:
        """Read the dicts printed right after the one ending at `close`, up to the segment's
        terminator `term` (tqdm redraws glue them together); returns the last dict's end."""
        prev_end = close
        find = data.find
        size = len(data)
        g = find(b"{", close, term)
        while g != -1:
            quote = data[g + 1] if g + 1 < size else _NL
            if quote in (_SQ, _DQ):
                close2 = self._dict_end(data, g, quote)
                if close2 != -1 and close2 < term:
                    self._dict(data, g, close2, quote, prev_end, out)
                    prev_end = close2
                    g = find(b"{", close2, term)
                    continue
            g = find(b"{", g + 1, term)
        return prev_end

    def _lone_brace(
        self, data: bytes, s: int, region: int, prev_end: int, out: list[MetricRecord]
    ) -> tuple[int, bool]:
        """A `{` alone on its line may open a pretty-printed JSON document (a trainer state);
        returns the new region and whether a block was opened there."""
        seg_start = _segment_start(data, s, region)
        if (
            data[seg_start:s].strip() != b""
            or data[s + 1 : _next_terminator(data, s)].strip() != b""
        ):
            return region, False
        # the lines before decide whether a JSON document may start here
        self._region(data, region, seg_start, out)
        if not self._block_allowed():
            return seg_start, False
        self._block = []
        self._block_size = 0
        if prev_end >= 0:
            self._block_tail = data[max(prev_end + 1, seg_start - LOOKBACK) : seg_start]
        else:
            self._block_tail = (self._tail + data[:seg_start])[-LOOKBACK:]
        return seg_start, True

    def _flush(self, records: int, lines: int, base: int) -> None:
        """Add the hot path's local counts: `records` dict lines among `lines` new lines."""
        self.lines += lines
        self._nonblank += lines
        if records:
            self.records += records
            self._record_lines += records
            self._dict_records += records
            self._last_record_line = base + lines

    def _add_format(self, fmt: str, n: int) -> None:
        if n:
            self.format_counts[fmt] = self.format_counts.get(fmt, 0) + n

    def _block_allowed(self) -> bool:
        return self.records == 0 or self.format_counts.get("trainer-state", 0) > 0

    def _dict_start(self, data: bytes, s: int, region: int) -> int:
        """Start of the segment holding a dict at `s`, or -1 when the `{` is mid-text."""
        if s == 0:
            return 0
        prev = data[s - 1]
        if prev in (_NL, _CR):
            return s
        # glued to a tqdm bar (`...it/s]{'loss'`), to another dict, or after an ANSI escape;
        # anything else right before the brace is mid-line text (decided without slicing)
        if prev not in _GLUE_BYTES and not (65 <= prev <= 90 or 97 <= prev <= 122):
            return _prefixed_start(data, s, region)
        lo = max(0, s - 200)
        head = data[lo:s].rstrip(b" \t")
        if not head:
            if lo > 0:
                return -1
            return _segment_start(data, s, region)
        last = head[-1]
        if last == 93 or last == 125 or last in (_NL, _CR):  # ] }
            return _segment_start(data, s, region)
        if b"\x1b" in head[-24:] and _ANSI_END.search(head[-24:]):
            return _segment_start(data, s, region)
        return _prefixed_start(data, s, region)

    @staticmethod
    def _dict_end(data: bytes, s: int, quote: int) -> int:
        """Index of the closing brace of a dict at `s` on the same segment, or -1."""
        if quote == _SQ:
            close = data.find(b"}", s)
            if close == -1:
                return -1
            if data.find(b"\n", s, close) != -1 or data.find(b"\r", s, close) != -1:
                return -1
            return close
        term = _next_terminator(data, s)
        return data.rfind(b"}", s, term)

    def _dict(
        self, data: bytes, s: int, close: int, quote: int, prev_end: int, out: list[MetricRecord]
    ) -> None:
        if self._held is not None:
            self._flush_held(out)
        text = data[s : close + 1]
        if quote == _DQ:
            obj = parse_json_object(text)
            if obj is None:
                values = parse_repr_dict(text)
            elif "log_history" in obj:
                self._trainer_state(obj, self.lines - self._seg_lines + 1, out)
                return
            else:
                values = numeric_items(obj)
        else:
            values = parse_repr_dict(text)
        if not values:
            return
        keys = tuple(values)
        plan = self._plans.get(keys)
        if plan is None:
            plan = _plan_for(keys)
            if len(self._plans) < 4096:
                self._plans[keys] = plan
        if plan[0] is not None:
            self._hf_record(data, s, prev_end, values, plan, out, quote == _DQ)
        else:
            self._dict_context(values)

    def _dict_context(self, values: Mapping[str, float]) -> None:
        """A config dict printed on its own line: keep the run facts the advice rules use."""
        for key in _DICT_CONTEXT_KEYS:
            value = values.get(key)
            if value is not None and value == value and abs(value) < 1e18:
                integral = key.endswith(("steps", "epochs", "size", "classes", "labels"))
                number = float(value)
                self.context[key] = int(number) if integral and number.is_integer() else number
        max_steps = self.context.get("max_steps")
        if self._seg_total is None and isinstance(max_steps, int):
            self.set_total(max_steps)

    def _hf_record(
        self,
        data: bytes,
        s: int,
        prev_end: int,
        values: dict[str, float],
        plan: _Plan,
        out: list[MetricRecord],
        json_line: bool = False,
    ) -> None:
        """Emit the record of one parsed dict (its plan says it is a metrics dict)."""
        kind, renames, step_key, total_key = plan
        assert kind is not None
        step: int | None = None
        if step_key is not None:
            raw = values[step_key]
            if raw == raw and abs(raw) < 1e18:
                step = int(raw)
        if total_key is not None:
            raw = values[total_key]
            if raw == raw and 0 < raw < 1e18:
                self.set_total(int(raw))
        if renames is not None:
            values = {name: values[key] for key, name in renames}
        if step is None and kind == "train":
            step = self._tqdm_step(data, s, prev_end, values)
        if s > 0 and data[s - 1] not in _TERMINATORS:  # a prefix before the dict: a rank tag?
            start = max(data.rfind(b"\n", 0, s), data.rfind(b"\r", 0, s)) + 1
            self._note_rank(data, start)
        placed, exact = self.place(kind, step)
        self._rank = None
        line_no = self.lines - self._seg_lines + 1
        self._dict_records += 1
        fmt = "jsonl" if json_line else "hf-trainer"
        counts = self.format_counts
        counts[fmt] = counts.get(fmt, 0) + 1
        out.append(_new_record(MetricRecord, (kind, placed, values, exact, line_no, None)))
        self.records += 1
        if line_no != self._last_record_line:
            self._last_record_line = line_no
            self._record_lines += 1

    def _tqdm_step(
        self, data: bytes, s: int, prev_end: int, values: Mapping[str, object] | None = None
    ) -> int | None:
        """The training bar's `N/TOTAL` just before a dict, if one is in the look-back.

        tqdm draws `| N/TOTAL [elapsed<remaining, rate]`: find the last `<`, the ` [` before
        it and the number pair before that, with a few bounded C-level searches.
        """
        lo = s - LOOKBACK
        if lo < 0 and prev_end < 0 and self._tail:
            # the bar was drawn at the end of the previous feed
            window = (self._tail + data[:s])[-LOOKBACK:]
            self._tail, tail = b"", self._tail
            try:
                return self._tqdm_step(window, len(window), -1, values)
            finally:
                self._tail = tail
        if lo <= prev_end:
            lo = prev_end + 1
        known = self._seg_total
        last = self._last_exact
        interval = self._interval
        if known is not None and last is not None and interval is not None:
            # Usually the bar shows exactly the predicted step: one bounded rfind confirms it
            # (and no later bar may follow it, so the answer equals the full search below).
            needle = b"| %d/%d [" % (last + interval, known)
            at = data.rfind(needle, lo, s)
            if at != -1:
                first = data.find(b"<", at + len(needle), s)
                if first != -1 and data.find(b"<", first + 1, s) == -1:
                    return last + interval
        k = data.rfind(b"<", lo, s)
        if k == -1:
            return None
        j = data.rfind(b" [", lo, k)
        if j == -1:
            return None
        lo2 = j - 24 if j - 24 > lo else lo
        slash = data.rfind(b"/", lo2, j)
        if slash == -1:
            return None
        space = data.rfind(b" ", lo2, slash)
        try:
            n = int(data[space + 1 if space != -1 else lo2 : slash])
            total = int(data[slash + 1 : j])
        except ValueError:
            return None
        known = self._seg_total
        if known is None:
            self.set_total(total)
        elif total != known:
            return None  # an eval bar, or another progress bar
        epoch = values.get("epoch") if values is not None else None
        if isinstance(epoch, (int, float)) and epoch >= 1 and float(epoch).is_integer():
            # tqdm redraws at most every 0.1 s, so the last bar drawn can lag the step the
            # record was logged at; a whole epoch in the record is its own evidence
            per_epoch = self._steps_per_epoch()
            if per_epoch is not None:
                own = round(epoch * per_epoch)
                if n < own <= total:
                    return own
        return n

    def _steps_per_epoch(self) -> float | None:
        """Optimisation steps per epoch, from the run's banner (`max_steps`, epochs)."""
        steps = self.context.get("max_steps")
        epochs = self.context.get("num_train_epochs")
        if isinstance(steps, int) and isinstance(epochs, (int, float)) and epochs > 0:
            return steps / epochs
        return None

    # ------------------------------------------------------------ line path
    def _region(self, data: bytes, a: int, b: int, out: list[MetricRecord]) -> None:
        """Hand the text in [a, b) (whole segments) to the line formats."""
        if a >= b:
            return
        if self._dict_records > 4 * self._other_records and self._block is None:
            self._skim(data, a, b, out)
        else:
            self._lines(data, a, b, out)

    def _skim(self, data: bytes, a: int, b: int, out: list[MetricRecord]) -> None:
        """Dict-log fast path: only segments that mention `loss` reach the line path."""
        while True:
            k = data.find(b"loss", a, b)
            if k == -1:
                self._scan_text(data, a, b)
                n = data.count(b"\n", a, b)
                self._close_lines(n, nonblank=n)
                return
            seg_a = _segment_start(data, k, a)
            self._scan_text(data, a, seg_a)
            n = data.count(b"\n", a, seg_a)
            self._close_lines(n, nonblank=n)
            seg_b = _next_terminator(data, k) + 1
            self._lines(data, seg_a, seg_b, out)
            a = seg_b
            if self._dict_records <= 4 * self._other_records:
                self._lines(data, a, b, out)
                return

    def _scan_text(self, data: bytes, a: int, b: int) -> None:
        """Skipped text (no record in it) to the failure-signature scanner."""
        if a < b:
            line_no = self.lines - self._seg_lines + 1
            self.text_events.scan_range(data, a, b, line_no, self._last_step, self.records)

    def _lines(self, data: bytes, a: int, b: int, out: list[MetricRecord]) -> None:
        text = data[a:b]
        pieces = text.split(b"\n")
        last = len(pieces) - 1
        for i, line in enumerate(pieces):
            if i == last and not line:
                break
            if self._open_dict is None:
                line = _without_redraws(line)
            nonblank = False
            line_no = self.lines - self._seg_lines + 1
            for seg in line.split(b"\r") if b"\r" in line else (line,):
                if not seg or seg.isspace():
                    continue
                nonblank = True
                if self._segment(seg, line_no, out):
                    pass
            if i < last:
                self.lines += 1
                if nonblank:
                    self._nonblank += 1

    def _segment(self, seg: bytes, line_no: int, out: list[MetricRecord]) -> bool:
        """Offer one segment to the line formats; True when it produced a record."""
        if len(seg) > MAX_SEGMENT:
            seg = seg[:MAX_SEGMENT]
        rows = self._series_rows
        if rows or b"  " in seg or b"dtype: " in seg:
            body = strip_prefix(seg).strip()
            if _SERIES_ROW.match(body) is not None and len(rows) < 256:
                rows.append((seg, line_no))  # maybe a pandas Series printed line by line
                return True
            if rows:
                self._series_rows = []
                if _SERIES_END.match(body) is not None and len(rows) > 1:
                    self._series_record(rows, out)
                    return True
                self._series_rows = rows
                self._replay_series_rows(out)  # not a Series after all
        return self._line(seg, line_no, out)

    def _replay_series_rows(self, out: list[MetricRecord]) -> None:
        """Rows that did not end in a `dtype:` line: read them as ordinary lines."""
        rows, self._series_rows = self._series_rows, []
        for row, row_line in rows:
            self._line(row, row_line, out)

    def _series_record(self, rows: list[tuple[bytes, int]], out: list[MetricRecord]) -> None:
        """`loss    0.51` / `accuracy    0.81` / `dtype: float64`: one record."""
        values: dict[str, float] = {}
        for row, _line in rows:
            m = _SERIES_ROW.match(strip_prefix(row).strip())
            if m is not None:
                values[key_text(m.group(1))] = number(m.group(2))
        epoch = values.get("epoch")
        step = values.pop("step", None)
        hit = Hit(
            "pandas-series",
            "train",
            values,
            int(step) if step is not None and step == step else None,
            step is not None,
            from_epoch=step is None and epoch is not None,
        )
        if step is None and epoch is not None and epoch == epoch:
            hit = hit._replace(step=int(epoch), exact=False)
        self._flush_held(out)
        self._header = None
        self._emit_hit(hit, rows[0][1], out)
        self._record_lines += len(rows) - 1

    def _line(self, seg: bytes, line_no: int, out: list[MetricRecord]) -> bool:
        if self._open_dict is not None:
            if self._dict_line(seg, out):
                return True
        elif b"{" in seg[:400]:
            body = strip_prefix(seg).strip()
            if body[:2] in (b"{'", b'{"') and b"}" not in body:
                self._open_dict = [body]  # a dict pretty-printed over several lines
                return True
        state = self._line_state
        state.in_block = self._header is not None or self._held is not None
        hits = parse_segment(seg, state, self._tables, self.context)
        if not hits:
            header = state.header
            if header is not None:
                state.header = None
                self._flush_held(out)
                self._header = header
            elif self._held is not None or self._header is not None:
                self._flush_held(out)
                self._header = None
            self.text_events.scan_line(seg, line_no, self._last_step, self.records)
            max_steps = self.context.get("max_steps")
            if isinstance(max_steps, int) and max_steps != self._context_total:
                self._context_total = max_steps  # a banner or config line revealed it just now
                self.set_total(max_steps)
            return False
        if seg[:1] == b"[":  # `[rank1]:`, `[default1]:`, `[1,1]<stdout>:`
            self._note_rank(seg)
            self._rank = None
        for hit in hits:
            if hit.fmt == "key-value":
                self._assemble(hit, line_no, state.indented, out)
            else:
                self._flush_held(out)
                self._header = None
                self._emit_hit(hit, line_no, out)
        return True

    def _assemble(self, hit: Hit, line_no: int, indented: bool, out: list[MetricRecord]) -> None:
        """Join the lines of one multi-line record (a header and its metric lines, glog's
        lines of one iteration, an indented block) or emit a one-line record.

        A record is held until the next line shows whether it continues, or until `release()`
        (the log went quiet: a follower calls it when it has caught up) or `finish()`.
        """
        held = self._held
        header = self._header
        single = len(hit.values) == 1
        if hit.step is not None:
            self._header = None
        if held is not None:
            first = held.hit
            if hit.step is not None:
                joins = (
                    hit.step == first.step
                    and hit.kind == first.kind
                    and hit.from_epoch == first.from_epoch
                )
            else:
                joins = indented or (header is not None and single and held.single_lines)
            if joins and _compatible(first.values, hit.values):
                values = dict(first.values)
                values.update(hit.values)
                held.hit = first._replace(values=values, total=first.total or hit.total)
                held.lines += 1
                held.single_lines = held.single_lines and single
                return
            self._flush_held(out)
        if hit.step is None and header is not None:
            values = dict(header.values)
            values.update(hit.values)
            hit = hit._replace(
                step=header.step,
                exact=header.exact,
                total=hit.total or header.total,
                kind="eval" if header.kind == "eval" else hit.kind,
                values=values,
                from_epoch=header.from_epoch,
            )
        self._held = _Held(hit, line_no, 0, single)

    def _flush_held(self, out: list[MetricRecord]) -> None:
        held = self._held
        if held is None:
            return
        self._held = None
        self._record_lines += held.lines
        self._emit_hit(held.hit, held.line_no, out)

    def _emit_hit(self, hit: Hit, line_no: int, out: list[MetricRecord]) -> None:
        kind = hit.kind
        step = hit.step
        if (
            step is not None
            and not hit.exact
            and kind == "train"
            and self._last_step is not None
            and (step < self._last_step or (hit.from_epoch and step == self._last_step))
        ):
            # an epoch number repeated on every batch line, or a per-epoch counter that
            # restarted: count on instead (the same inexact step twice is two ranks' prints)
            step = None
        raw_values = hit.values
        sig = (kind, tuple(raw_values))
        names = self._names.get(sig)
        if names is None:
            names = choose_series(_canonical_names(sig[1], kind), kind, self.series_sources)
            if len(self._names) < 4096:
                self._names[sig] = names
        if not names:
            return
        placed, exact = self.place(kind, step, hit.exact)
        if hit.total is not None:
            self.set_total(hit.total)
        values = {name: raw_values[raw] for raw, name in names}
        self._other_records += 1
        self._count(hit.fmt)
        self._emit(out, MetricRecord(kind, placed, values, exact, line_no, hit.time_s), hit.fmt)

    def _dict_line(self, seg: bytes, out: list[MetricRecord]) -> bool:
        """One more line of a pretty-printed dict; False when it is not one (then dropped)."""
        parts = self._open_dict
        assert parts is not None
        body = strip_prefix(seg).strip()
        if not body.startswith((b"'", b'"', b"}")) or len(parts) >= 1024:
            self._open_dict = None
            return False
        parts.append(body)
        if body.endswith(b"}"):
            self._close_open_dict(out)
        return True

    def _close_open_dict(self, out: list[MetricRecord]) -> None:
        parts = self._open_dict
        self._open_dict = None
        if not parts or not parts[-1].endswith(b"}"):
            return
        text = b" ".join(parts)
        self._record_lines += len(parts) - 1
        self._dict(text, 0, len(text) - 1, text[1], -1, out)

    # ------------------------------------------------------- JSON documents
    def _consume_block(self, data: bytes, pos: int, out: list[MetricRecord]) -> int:
        """Collect a pretty-printed JSON document until its closing `}` line."""
        block = self._block
        assert block is not None
        search = pos
        while True:
            if search == 0 and block and data.startswith(b"}"):
                line_start = 0
            else:
                k = data.find(b"\n}", search)
                if k == -1:
                    break
                line_start = k + 1
            m = _BLOCK_TAIL.match(data, line_start)
            if m is None:
                search = line_start + 1
                continue
            end = m.end()
            block.append(data[pos:end])
            self._close_lines(data.count(b"\n", pos, end), nonblank=0)
            self._finish_block(out)
            return end
        block.append(data[pos:])
        self._block_size += len(data) - pos
        self._close_lines(data.count(b"\n", pos), nonblank=0)
        if self._block_size > MAX_BLOCK:
            self._flush_block(out)
        return len(data)

    def _finish_block(self, out: list[MetricRecord]) -> None:
        block = self._block or []
        text = b"".join(block)
        self._block = None
        obj = parse_json_object(text)
        if obj is not None and "log_history" in obj:
            self._nonblank += 1  # the document counts as one line, parsed when it has records
            before = self.records
            self._trainer_state(obj, self.lines - self._seg_lines, out)
            if self.records == before:
                self._record_lines += 1
                self._last_record_line = self.lines - self._seg_lines
            return
        self._reparse(text, out)

    def _flush_block(self, out: list[MetricRecord]) -> None:
        block = self._block or []
        text = b"".join(block)
        self._block = None
        if text.strip():
            self._reparse(text, out)

    def _reparse(self, text: bytes, out: list[MetricRecord]) -> None:
        """A `{` line that did not open a trainer_state: read its lines the ordinary way."""
        n = text.count(b"\n")
        self.lines -= n
        if not text.endswith((b"\n", b"\r")):
            text += b"\n"
        tail, prev_end = self._tail, self._scan_prev_end
        self._tail = self._block_tail
        pos = 0
        while pos < len(text):
            pos = self._scan(text, pos, out, allow_block=False)
        self._tail, self._scan_prev_end = tail, prev_end

    def _trainer_state(
        self, obj: Mapping[str, object], line_no: int, out: list[MetricRecord]
    ) -> None:
        for key in _CONTEXT_KEYS:
            value = obj.get(key)
            if type(value) is int and value > 0 and value < 1 << 62:
                self.context[key] = value
        max_steps = obj.get("max_steps")
        if type(max_steps) is int:
            self.set_total(max_steps)
        history = obj.get("log_history")
        if not isinstance(history, list):
            return
        for entry in history:
            if type(entry) is not dict:
                continue
            values = numeric_items(entry)
            raw_step = values.pop("step", None)
            step = int(raw_step) if raw_step is not None and raw_step == raw_step else None
            if not values:
                continue
            kind: RecordKind = "train"
            if "train_runtime" in values:
                kind = "summary"
            elif any(k.startswith(("eval_", "predict_", "test_")) for k in values):
                kind = "eval"
            placed, exact = self.place(kind, step)
            named = {canonical_name(k, kind): v for k, v in values.items()}
            self._count("trainer-state")
            self._emit(
                out, MetricRecord(kind, placed, named, exact, line_no, None), "trainer-state"
            )


@dataclass(slots=True)
class _Held:
    """A line-path record waiting for the next line, which may continue it."""

    hit: Hit
    line_no: int
    lines: int
    """Lines joined to it after its first."""
    single_lines: bool
    """Every line so far carried one metric (glog-style one-metric-per-line records)."""


def _compatible(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    """Two lines' values can be one record: names they share have the same value."""
    for key, value in b.items():
        other = a.get(key)
        if other is not None and other != value and not (other != other and value != value):
            return False
    return True


def _canonical_names(keys: tuple[str, ...], kind: str) -> tuple[tuple[str, str], ...]:
    """(raw, canonical) pairs; a second name for the same quantity keeps its printed name,
    and a name printed exactly as the canonical one (`loss` beside `train_loss`) keeps it."""
    taken: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for raw in keys:
        name = canonical_name(raw, kind)  # type: ignore[arg-type]
        if name in taken or (name != raw and name in keys):
            name = raw
            if name in taken:
                continue
        taken.add(name)
        pairs.append((raw, name))
    return tuple(pairs)


def _without_redraws(line: bytes) -> bytes:
    """`line` without the bare progress-bar redraws that the next redraw overwrites.

    A bare bar (`... N/T [00:10<01:30, 9.5it/s]`) yields no record (`parse_segment`): the
    first of a run ends a held multi-line record or header and the others change nothing. So
    when every `\\r` of the line closes a bare bar, only the last bar and what follows it are
    kept: the same effect at the same place, found with byte counts in C instead of a Python
    call per segment (a redirected bar rewrites itself dozens of times per logged line). A
    line that mentions `oss` (a bar's postfix may hold the loss), opens a dict, or holds
    escapes keeps every segment.
    """
    closed = line.count(b"it/s]\r") + line.count(b"s/it]\r")
    if closed < 2 or closed != line.count(b"\r") - (line[:1] == b"\r"):
        return line
    if b"oss" in line or b"{" in line or b"\x1b" in line or b"\x08" in line:
        return line
    final = line.rfind(b"\r")
    return line[line.rfind(b"\r", 0, final) + 1 :]


def _may_open_block(nxt: int) -> bool:
    """Whether the byte after a `{` lets it stand alone on its line (end of line or blank)."""
    return nxt in (_NL, _CR) or nxt in b" \t"


def _after_terminator(data: bytes, term: int) -> int:
    """Start of the next segment after the terminator at `term` (a `\r\n` counts as one)."""
    if data[term] == _CR and term + 1 < len(data) and data[term + 1] == _NL:
        return term + 2
    return term + 1


def _prefixed_start(data: bytes, s: int, region: int) -> int:
    """Start of the segment when only launcher/logger prefixes precede the dict at `s`."""
    start = _segment_start(data, s, max(region, s - 300))
    if start == s or (start == max(region, s - 300) and start > region):
        return -1
    if strip_prefix(data[start : s + 2]) == data[s : s + 2]:
        return start
    return -1


def _first_terminator(data: bytes) -> int:
    n = data.find(b"\n")
    r = data.find(b"\r", 0, n if n != -1 else len(data))
    return r if r != -1 else n


def _next_terminator(data: bytes, i: int) -> int:
    """Index of the next `\\r` or `\\n` at or after `i` (the buffer always ends with one)."""
    n = data.find(b"\n", i)
    if n == -1:
        n = len(data) - 1
    r = data.find(b"\r", i, n)
    return r if r != -1 else n


def _segment_start(data: bytes, i: int, lo: int) -> int:
    """Start of the `\\r`/`\\n`-delimited segment holding index `i` (not before `lo`)."""
    n = data.rfind(b"\n", lo, i)
    r = data.rfind(b"\r", max(lo, n + 1), i)
    return max(n, r) + 1 if max(n, r) >= lo else lo
