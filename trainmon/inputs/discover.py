"""Find the runs in a folder: logs, metric tables, trainer states, event files, W&B runs.

`trainmon DIR` and `trainmon report DIR` start here. A run is a file (a log, `metrics.csv`,
`results.csv`, `trainer_state.json`, `trainer_log.jsonl`, ...), a folder of TensorBoard event
files, or a W&B run folder. A Hugging Face output folder keeps a `trainer_state.json` per
checkpoint, each a prefix of the next: the run is the newest checkpoint's (or the output
folder's own final one), not one run per checkpoint. Runs are listed newest first, each named
by its path under the folder. Folders that hold no runs of their own (hidden folders, virtual
environments, caches, a W&B run's `files/` and `logs/`) are not searched.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Final

from trainmon.inputs import InputKind
from trainmon.inputs.tensorboard import event_files
from trainmon.inputs.wandb_offline import is_run_folder, transaction_log

MAX_DEPTH: Final = 8
MAX_RUNS: Final = 512
"""A folder with more runs than this lists the newest this many (and says how many more)."""

LOG_SUFFIXES: Final = (".log", ".txt", ".out", ".jsonl", ".err")
TABLE_NAMES: Final = re.compile(
    r"(?:^|[-_.])(metrics|results|history|log|progress|train)\w*\.(?:csv|tsv)$", re.I
)
"""Tables a trainer writes (`metrics.csv`, `results.csv`, `training_log.csv`), not data sets."""
JSON_NAMES: Final = re.compile(r"(trainer_state|metrics)\.json$", re.I)
NOT_RUNS: Final = re.compile(
    r"^(readme|manifest|license|licence|changelog|notice|authors|requirements|"
    r"constraints|setup|cmakelists|vocab|merges|dependency_links|top_level|sources)\b",
    re.I,
)
SKIPPED_FOLDERS: Final = frozenset(
    {"__pycache__", "node_modules", "site-packages", "dist-packages", ".git", "wandb-cache"}
)
CHECKPOINT: Final = re.compile(r"^checkpoint-(\d+)$")


@dataclass(frozen=True, slots=True)
class RunEntry:
    """One run found in a folder."""

    name: str
    """Its path under the folder searched (`runs/exp1`, `wandb/offline-run-…`, `train.log`)."""
    path: str
    kind: InputKind
    mtime: float
    """When it was last written (seconds since the epoch): the list is newest first."""


@dataclass(frozen=True, slots=True)
class Discovery:
    """The runs of a folder, newest first, and how many were left out past `MAX_RUNS`."""

    folder: str
    runs: tuple[RunEntry, ...]
    left_out: int = 0


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def is_run_file(name: str) -> bool:
    """True for a file name that holds a run's metrics (a log, a metrics table, a state)."""
    if NOT_RUNS.match(name):
        return False
    lower = name.lower()
    return (
        lower.endswith(LOG_SUFFIXES)
        or bool(TABLE_NAMES.search(name))
        or bool(JSON_NAMES.search(name))
        or lower == "results.txt"
    )


def _skipped(name: str, path: str) -> bool:
    return (
        name.startswith(".")
        or name in SKIPPED_FOLDERS
        or os.path.exists(os.path.join(path, "pyvenv.cfg"))
    )


def discover_runs(folder: str, *, max_runs: int = MAX_RUNS) -> Discovery:
    """Every run under `folder`, newest first (at most `max_runs`)."""
    found: list[RunEntry] = []
    states: dict[str, list[tuple[int, str]]] = {}
    """Output folder -> (checkpoint step, trainer_state path) of its checkpoints."""
    root_depth = os.path.normpath(folder).count(os.sep)
    for here, folders, files in os.walk(folder):
        depth = os.path.normpath(here).count(os.sep) - root_depth
        if here != folder and is_run_folder(here):
            found.append(_entry(folder, here, "wandb", transaction_log(here) or here))
            folders[:] = []
            continue
        folders[:] = sorted(
            name
            for name in folders
            if depth < MAX_DEPTH and not _skipped(name, os.path.join(here, name))
        )
        events = event_files(here)
        if events:
            found.append(_entry(folder, here, "tensorboard", events[-1]))
        checkpoint = CHECKPOINT.match(os.path.basename(here))
        for name in sorted(files):
            path = os.path.join(here, name)
            if not is_run_file(name) or _linked_inside(path, folder) or _wandb_own(here, name):
                continue
            if checkpoint and name == "trainer_state.json":
                owner = os.path.dirname(here)
                states.setdefault(owner, []).append((int(checkpoint.group(1)), path))
                continue
            found.append(_entry(folder, path, "log", path))
    for owner, checkpoints in states.items():
        if os.path.exists(os.path.join(owner, "trainer_state.json")):
            continue  # the output folder's final state holds every checkpoint's history
        _, newest = max(checkpoints)
        found.append(_entry(folder, newest, "log", newest))
    found.sort(key=lambda run: (-run.mtime, run.name))
    return Discovery(folder, tuple(found[:max_runs]), max(0, len(found) - max_runs))


def _wandb_own(folder: str, name: str) -> bool:
    """The W&B client's own debug logs (`debug-internal.log`, `core-debug-….log`)."""
    return "debug" in name and "wandb" in os.path.normpath(folder).split(os.sep)


def _linked_inside(path: str, folder: str) -> bool:
    """A link to a file under `folder` (W&B's `debug.log` beside its runs): found twice."""
    if not os.path.islink(path):
        return False
    target, root = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([target, root]) == root


def _entry(folder: str, path: str, kind: InputKind, written: str) -> RunEntry:
    name = os.path.relpath(path, folder)
    if name == ".":
        name = os.path.basename(os.path.abspath(path))
    return RunEntry(name, path, kind, _mtime(written))


def expand_folders(paths: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """The paths to follow: a folder of runs becomes its runs, newest first; a run folder
    (event files, W&B) stays one path. Returns (paths, one line naming a problem or None)."""
    from trainmon.inputs import input_kind, input_problem

    out: list[str] = []
    for path in paths:
        if path == "-" or not os.path.isdir(path) or input_kind(path) != "log":
            out.append(path)
            continue
        runs = discover_runs(path).runs
        if not runs:
            return (), f"{path}: no runs found (logs, metrics.csv, trainer_state.json, "
            "TensorBoard event files, W&B run folders)"
        for run in runs:
            problem = input_problem(run.path)
            if problem is not None:
                return (), problem
            out.append(run.path)
    return tuple(out), None
