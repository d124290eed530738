"""Inputs beside plain logs: TensorBoard event files, W&B run folders, and folders of runs.

`input_kind(path)` says what a path holds; `open_follower(path, ...)` returns the follower
that reads it: the plain `Follower` for a log, a decoding follower for an event file, an
event-file folder or a W&B run (their metrics as JSON lines, read by the log parser). The
readers' libraries are optional extras, imported only when such a run is opened
(`trainmon.inputs.extras`), so plain logs cost nothing new. Run folders are listed by
`trainmon.inputs.discover`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal

from trainmon.follow import Follower
from trainmon.parsing import LogParser
from trainmon.records import MetricRecord

InputKind = Literal["log", "tensorboard", "wandb"]


def input_kind(path: str) -> InputKind:
    """What `path` holds (by its name and, for a folder, what is directly in it)."""
    from trainmon.inputs.tensorboard import event_files, is_event_file
    from trainmon.inputs.wandb_offline import TRANSACTION_LOG_SUFFIX, is_run_folder

    if path == "-":
        return "log"
    if os.path.isdir(path):
        if is_run_folder(path):
            return "wandb"
        if event_files(path):
            return "tensorboard"
        return "log"
    if is_event_file(path):
        return "tensorboard"
    if path.endswith(TRANSACTION_LOG_SUFFIX):
        return "wandb"
    return "log"


def open_follower(path: str, **options: Any) -> Any:
    """The follower for `path` (`Follower` options apply); raises `MissingExtra` when the
    library that reads it is not installed."""
    kind = input_kind(path)
    if kind == "tensorboard":
        from trainmon.inputs.tensorboard import EventFolderFollower, event_file_follower

        if os.path.isdir(path):
            return EventFolderFollower(path, **options)
        return event_file_follower(path, **options)
    if kind == "wandb":
        from trainmon.inputs.wandb_offline import wandb_follower

        return wandb_follower(path, **options)
    return Follower(path, **options)


class InputParser(LogParser):
    """The log parser for a decoded input: its records count under the input's format
    (`tensorboard`, `wandb`), not under `jsonl`, the lines it is handed."""

    def __init__(self, input_format: str) -> None:
        self.input_format = input_format
        super().__init__()

    def _relabel(self, records: list[MetricRecord]) -> list[MetricRecord]:
        counts = self.format_counts
        if counts and list(counts) != [self.input_format]:
            total = sum(counts.values())
            counts.clear()
            counts[self.input_format] = total
        return records

    def feed(self, data: bytes) -> list[MetricRecord]:
        return self._relabel(super().feed(data))

    def finish(self, data: bytes = b"") -> list[MetricRecord]:
        return self._relabel(super().finish(data))

    def release(self) -> list[MetricRecord]:
        return self._relabel(super().release())


def parser_for(follower: object, default: Callable[[], LogParser]) -> Callable[[], LogParser]:
    """The parser factory for what `follower` reads: `default` for a plain log."""
    name = getattr(follower, "format_name", None)
    if isinstance(name, str):
        return lambda: InputParser(name)
    return default


def input_problem(path: str) -> str | None:
    """One line naming why `path` cannot be read (its reader's extra is not installed), or
    None (a log, a run whose reader is there, or a folder to search for runs)."""
    from trainmon.inputs.extras import MissingExtra, event_decoder, wandb_record_decoder

    kind = input_kind(path)
    try:
        if kind == "tensorboard":
            event_decoder(path)
        elif kind == "wandb":
            wandb_record_decoder(path)
    except MissingExtra as exc:
        return str(exc)
    return None


def decoded_lines(path: str) -> bytes:
    """A run's metrics as the JSON lines its follower hands the parser (for `replay`, which
    plays a log's lines back): the whole run, read once."""
    follower = open_follower(path, follow=False)
    out: list[bytes] = []
    try:
        while not follower.finished:
            out.extend(item for item in follower.poll() if isinstance(item, bytes))
    finally:
        follower.close()
    return b"".join(out)


def folder_problem(path: str, command: str) -> str | None:
    """One line when `path` is a folder of runs, which `command` (stream, replay) cannot take."""
    if path == "-" or not os.path.isdir(path) or input_kind(path) != "log":
        return None
    return (
        f"{path}: a folder of runs; {command} reads one run (`trainmon report {path}` lists them)"
    )
