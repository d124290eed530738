"""TensorBoard event files: one file, or a run folder of them, as a followed run.

Scalars are read from both encodings writers use: the old `simple_value` (tensorboardX,
`torch.utils.tensorboard`) and a one-number tensor tagged by the scalars plugin (TensorBoard's
own `tensorboard.summary.Writer`, TF2). Histograms, images, text and hyper-parameter summaries
carry no scalar and are skipped. A run folder holds one event file per start of the writer
(a resumed run adds one): they are read in the order they were created, and the newest is
followed; a file that appears later is moved to once the current one has nothing new.
"""

from __future__ import annotations

import os
import re
from typing import Any, Final

from trainmon.follow import Follower
from trainmon.inputs.decoded import DecodedFollower, each_decoded
from trainmon.inputs.extras import event_decoder, tensor_scalar
from trainmon.inputs.framing import TFRecordFramer
from trainmon.records import FollowEvent

EVENT_FILE: Final = re.compile(r"(?:^|\.)tfevents\.")
"""`events.out.tfevents.<time>.<host>.<pid>.<n>[.v2]`, and names with a prefix before it."""
_SCALAR_PLUGIN: Final = "scalars"
_DATA_CLASS_SCALAR: Final = 1


def is_event_file(name: str) -> bool:
    """True for a TensorBoard event file name."""
    return bool(EVENT_FILE.search(os.path.basename(name)))


def _created(name: str) -> tuple[int, str]:
    """Sort key: the creation time the writer put in the name, then the name."""
    parts = os.path.basename(name).split(".")
    for i, part in enumerate(parts):
        if part == "tfevents" and i + 1 < len(parts) and parts[i + 1].isdigit():
            return int(parts[i + 1]), name
    return 0, name


def event_files(folder: str) -> list[str]:
    """The event files directly in `folder`, oldest first."""
    try:
        names = [e.path for e in os.scandir(folder) if e.is_file() and is_event_file(e.name)]
    except OSError:
        return []
    return sorted(names, key=_created)


class EventDecoder:
    """TFRecord bytes -> (step, {tag: value}) per event that holds scalars."""

    format_name = "tensorboard"

    def __init__(self, path: str) -> None:
        self._decode = event_decoder(path)
        self._scalar = tensor_scalar()
        self._framer = TFRecordFramer()

    def feed(self, data: bytes) -> list[tuple[int, dict[str, float]]]:
        out: list[tuple[int, dict[str, float]]] = []
        for event in each_decoded(self._framer.feed(data), self._decode):
            if not event.HasField("summary"):
                continue
            values = self._values(event.summary)
            if values:
                out.append((int(event.step), values))
        return out

    def _values(self, summary: Any) -> dict[str, float]:
        values: dict[str, float] = {}
        for value in summary.value:
            kind = value.WhichOneof("value")
            if kind == "simple_value":
                values[value.tag] = float(value.simple_value)
            elif kind == "tensor" and self._is_scalar(value.metadata):
                number = self._scalar(value.tensor)
                if number is not None:
                    values[value.tag] = number
        return values

    @staticmethod
    def _is_scalar(metadata: Any) -> bool:
        return bool(
            metadata.plugin_data.plugin_name == _SCALAR_PLUGIN
            or metadata.data_class == _DATA_CLASS_SCALAR
        )

    def reset(self) -> None:
        self._framer.reset()


def event_file_follower(path: str, **options: Any) -> DecodedFollower:
    """Follow one event file (raises `MissingExtra` without the tensorboard package)."""
    return DecodedFollower(Follower(path, binary=True, **options), EventDecoder(path))


class EventFolderFollower:
    """The event files of one run folder, read in creation order, the newest followed."""

    format_name = "tensorboard"

    def __init__(self, folder: str, **options: Any) -> None:
        self.path = folder
        self._options = options
        self._follow = bool(options.get("follow", True))
        EventDecoder(folder)  # fail now, with the extra's name, if the reader is missing
        self._done: set[str] = set()
        self._current: DecodedFollower | None = None
        self.caught_up = False
        self.finished = False
        self.poll_interval_s = float(options.get("poll_interval_s", 0.25))

    def _next_file(self) -> str | None:
        for name in event_files(self.path):
            if name not in self._done:
                return name
        return None

    def poll(self) -> list[FollowEvent | bytes]:
        out: list[FollowEvent | bytes] = []
        self.caught_up = self.finished  # a finished folder has nothing more to read
        if self.finished:
            return out
        if self._current is None:
            name = self._next_file()
            if name is None:
                self.caught_up = True
                self.finished = not self._follow
                if self.finished:
                    out.append(FollowEvent("eof", self.path))
                return out
            self._done.add(name)
            self._current = event_file_follower(name, **self._options)
        current = self._current
        for item in current.poll():
            if isinstance(item, FollowEvent) and item.kind in ("eof", "opened", "waiting"):
                continue  # one folder, one run: a file's own start and end are not news
            out.append(item)
        if current.finished or (current.caught_up and self._next_file() is not None):
            current.close()
            self._current = None  # the next poll opens the newer file
            return out
        self.caught_up = current.caught_up
        return out

    @property
    def offset(self) -> int:
        return self._current.offset if self._current else 0

    @property
    def size(self) -> int:
        return self._current.size if self._current else 0

    @property
    def identity(self) -> tuple[int, int] | None:
        return self._current.identity if self._current else None

    @property
    def head(self) -> bytes:
        return self._current.head if self._current else b""

    @property
    def mark(self) -> bytes:
        return self._current.mark if self._current else b""

    long_lines = 0

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
