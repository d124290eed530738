"""A follower over a binary run file that hands out its metrics as JSON lines.

A TensorBoard event file or a W&B transaction log is followed like a log (`tail -F`, bounded
reads, truncation and rotation: `trainmon.follow.Follower` in binary mode), its records are
cut by a framer and decoded by the library that wrote them, and each step's scalars become
one line `{"step": N, "name": value, ...}`. The log parser reads those lines like any JSON
lines log, so names are canonicalised once (`train/loss` is `loss`), and `report`, `stream`,
`replay` and the dashboard take these runs through the one road (`trainmon.ingest`) unchanged.
Evaluation values (`eval/…`, `val/…`, `test/…`) go on a line of their own, so a record is
either a training or an evaluation record, as in a printed log.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final, Protocol

import orjson

from trainmon.follow import Follower
from trainmon.records import FollowEvent

EVAL_PREFIXES: Final = frozenset({"eval", "val", "valid", "validation", "test", "dev"})
STEP_KEY: Final = "step"
RESTART_EVENTS: Final = frozenset({"truncated", "rotated"})


class Decoder(Protocol):
    """Turns a file's bytes into (step, {name: value}) pairs, holding partial records."""

    format_name: str

    def feed(self, data: bytes) -> list[tuple[int, dict[str, float]]]: ...

    def reset(self) -> None: ...


def each_decoded(payloads: Iterable[bytes], decode: Callable[[bytes], Any]) -> Iterator[Any]:
    """Each whole record a framer cut, decoded; a damaged one is skipped, as a log's garbled
    line is."""
    for payload in payloads:
        try:
            message = decode(payload)
        except Exception:
            continue
        yield message


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def is_eval_name(name: str) -> bool:
    """`eval/loss`, `val_acc`, `test/mAP`: a value of an evaluation, not of a training step."""
    head = name.replace("-", "_").split("/", 1)[0].split("_", 1)[0].lower()
    return head in EVAL_PREFIXES


def metric_lines(step: int, values: Mapping[str, float]) -> bytes:
    """One JSON line per kind (training values first) for the values logged at `step`."""
    train = [(k, v) for k, v in values.items() if k != STEP_KEY and not is_eval_name(k)]
    evals = [(k, v) for k, v in values.items() if k != STEP_KEY and is_eval_name(k)]
    out = b""
    for group in (train, evals):
        if group:
            fields = ", ".join(f"{orjson.dumps(k).decode()}: {_number(v)}" for k, v in group)
            out += f'{{"{STEP_KEY}": {step}, {fields}}}\n'.encode()
    return out


class DecodedFollower:
    """A binary `Follower` plus a decoder: `poll()` yields JSON lines and the follower's events.

    Values of one step are merged into one line; the line is handed out when another step
    begins or when the file has nothing more for now (a step logged across two polls may then
    give two records of the same step, each with its own values).
    """

    def __init__(self, follower: Follower, decoder: Decoder) -> None:
        self.follower = follower
        self.decoder = decoder
        self._step: int | None = None
        self._values: dict[str, float] = {}

    # the Follower attributes the ingest, `report` and the dashboard read
    path = property(lambda self: self.follower.path)
    caught_up = property(lambda self: self.follower.caught_up)
    finished = property(lambda self: self.follower.finished)
    poll_interval_s = property(lambda self: self.follower.poll_interval_s)
    offset = property(lambda self: self.follower.offset)
    size = property(lambda self: self.follower.size)
    identity = property(lambda self: self.follower.identity)
    head = property(lambda self: self.follower.head)
    mark = property(lambda self: self.follower.mark)
    long_lines = property(lambda self: self.follower.long_lines)
    format_name = property(lambda self: self.decoder.format_name)

    def poll(self) -> list[FollowEvent | bytes]:
        out: list[FollowEvent | bytes] = []
        for item in self.follower.poll():
            if isinstance(item, bytes):
                self._take(out, self.decoder.feed(item))
                continue
            if item.kind in RESTART_EVENTS or item.kind == "eof":
                self._flush(out)
            if item.kind in RESTART_EVENTS:
                self.decoder.reset()
            out.append(item)
        if self.follower.caught_up:
            self._flush(out)
        return out

    def _take(
        self, out: list[FollowEvent | bytes], pairs: Iterable[tuple[int, dict[str, float]]]
    ) -> None:
        lines = b""
        for step, values in pairs:
            if step != self._step and self._values:
                lines += metric_lines(self._step or 0, self._values)
                self._values = {}
            self._step = step
            self._values.update(values)
        if lines:
            out.append(lines)

    def _flush(self, out: list[FollowEvent | bytes]) -> None:
        if self._values:
            out.append(metric_lines(self._step or 0, self._values))
            self._values = {}

    def close(self) -> None:
        self.follower.close()
