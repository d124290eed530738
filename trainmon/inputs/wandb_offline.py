"""W&B runs kept on disk (`wandb/run-*/`, `wandb/offline-run-*/`): their transaction log.

A current W&B client writes, online or offline, one `run-<id>.wandb` file per run folder: every
`wandb.log` call is a history record there (step, and each value as JSON under its key or its
nested key path), written as the run goes; `files/wandb-summary.json` only holds the last
values, and no history file is written any more. The log is followed like any file, so a run
still training shows its new steps. Keys starting with `_` are the client's own (`_step`,
`_runtime`, `_timestamp`) and non-numeric values (media, tables, text) are skipped. The run's
exit record (exit code) is kept for the run's state.
"""

from __future__ import annotations

import json
import os
from typing import Any, Final

from trainmon.follow import Follower
from trainmon.inputs.decoded import DecodedFollower, each_decoded
from trainmon.inputs.extras import wandb_record_decoder
from trainmon.inputs.framing import WandbLogFramer

RUN_FOLDER_PREFIXES: Final = ("run-", "offline-run-")
TRANSACTION_LOG_SUFFIX: Final = ".wandb"


def is_run_folder(path: str) -> bool:
    """A W&B run folder: `run-…` or `offline-run-…` holding a `.wandb` transaction log."""
    return (
        os.path.basename(os.path.normpath(path)).startswith(RUN_FOLDER_PREFIXES)
        and transaction_log(path) is not None
    )


def transaction_log(folder: str) -> str | None:
    """The run's `.wandb` file in `folder`, None when there is none."""
    try:
        names = sorted(
            e.path for e in os.scandir(folder) if e.name.endswith(TRANSACTION_LOG_SUFFIX)
        )
    except OSError:
        return None
    return names[0] if names else None


def _number(text: str) -> float | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class WandbDecoder:
    """Transaction-log bytes -> (step, {key: value}) per history record."""

    format_name = "wandb"

    def __init__(self, path: str) -> None:
        self._decode = wandb_record_decoder(path)
        self._framer = WandbLogFramer()
        self.exit_code: int | None = None
        """The run's exit code once its exit record was read (0: finished)."""

    def feed(self, data: bytes) -> list[tuple[int, dict[str, float]]]:
        out: list[tuple[int, dict[str, float]]] = []
        for record in each_decoded(self._framer.feed(data), self._decode):
            kind = record.WhichOneof("record_type")
            if kind == "history":
                step, values = self._history(record.history)
                if values:
                    out.append((step, values))
            elif kind == "exit":
                self.exit_code = int(record.exit.exit_code)
        return out

    @staticmethod
    def _history(history: Any) -> tuple[int, dict[str, float]]:
        step = int(history.step.num)
        values: dict[str, float] = {}
        for item in history.item:
            key = "/".join(item.nested_key) if item.nested_key else item.key
            if not key or key.startswith("_"):
                if key == "_step":
                    step = int(_number(item.value_json) or step)
                continue
            number = _number(item.value_json)
            if number is not None:
                values[key] = number
        return step, values

    def reset(self) -> None:
        self._framer.reset()
        self.exit_code = None


def wandb_follower(path: str, **options: Any) -> DecodedFollower:
    """Follow a W&B run folder's (or a `.wandb` file's) history (raises `MissingExtra`)."""
    log = transaction_log(path) if os.path.isdir(path) else path
    log = log or os.path.join(path, "run.wandb")  # waited for, like a log not written yet
    return DecodedFollower(Follower(log, binary=True, **options), WandbDecoder(path))


def exit_code_of(path: str) -> int | None:
    """The exit code a W&B run recorded (None while it runs, or when it died unrecorded)."""
    log = transaction_log(path) if os.path.isdir(path) else path
    if log is None:
        return None
    decoder = WandbDecoder(path)
    try:
        with open(log, "rb") as f:
            while chunk := f.read(1 << 20):
                decoder.feed(chunk)
    except OSError:
        return None
    return decoder.exit_code
