"""W&B offline runs written by the real `wandb` client (no network), read while they grow."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.trainmon_process import trainmon
from trainmon.ingest import Ingest
from trainmon.inputs import input_kind
from trainmon.inputs.discover import discover_runs
from trainmon.inputs.wandb_offline import exit_code_of
from trainmon.records import MetricRecord
from trainmon.report import read_log

pytest.importorskip("wandb", reason="the wandb package (trainmon[wandb]) is not installed")

pytestmark = pytest.mark.slow

TRAINER = textwrap.dedent(
    """
    import os, sys, time
    import wandb
    go = sys.argv[1]
    # a config over 32 KiB: its record spans blocks of the log (first, middle, last chunks)
    config = {"lr": 1e-3, "notes": "x" * 70000}
    run = wandb.init(project="trainmon-test", dir=os.getcwd(), config=config)
    for step in range(5):
        run.log({"loss": 1.0 / (step + 1), "eval/acc": 0.5 + step / 10}, step=step * 10)
    deadline = time.time() + 120
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.05)
    for step in range(5, 8):
        run.log({"loss": 1.0 / (step + 1), "learning_rate": 1e-4}, step=step * 10)
    run.finish(exit_code=int(sys.argv[2]))
    """
)


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_DISABLE_GIT="true",
        WANDB_CONFIG_DIR=str(tmp_path / "config"),
        WANDB_CACHE_DIR=str(tmp_path / "cache"),
        WANDB_DATA_DIR=str(tmp_path / "data"),
    )
    return env


def _wait_for(predicate: object, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def _poll(ingest: Ingest, records: list[MetricRecord]) -> bool:
    for item in ingest.poll():
        if isinstance(item, tuple):
            records.extend(item)
    return True


def test_an_offline_run_is_read_while_it_trains_and_after(tmp_path: Path) -> None:
    go = tmp_path / "go"
    trainer = subprocess.Popen(
        [sys.executable, "-c", TRAINER, str(go), "0"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wandb_dir = tmp_path / "wandb"
        _wait_for(lambda: any(wandb_dir.glob("offline-run-*/*.wandb")))
        (folder,) = wandb_dir.glob("offline-run-*")
        assert input_kind(str(folder)) == "wandb"
        ingest = Ingest(str(folder), poll_interval_s=0.01)
        records: list[MetricRecord] = []
        train = lambda: [r for r in records if r.kind == "train"]  # noqa: E731
        # The client commits a step's row when the next step begins, and writes its log in
        # bursts: steps 0-30 reach the file while the trainer waits, step 40 after it goes on.
        _wait_for(lambda: _poll(ingest, records) and len(train()) >= 4)
        assert [r.step for r in train()][:4] == [0, 10, 20, 30]
        assert exit_code_of(str(folder)) is None  # still running
        go.touch()
        _wait_for(lambda: _poll(ingest, records) and len(train()) >= 8)
        assert trainer.wait(timeout=120) == 0
        _poll(ingest, records)
        ingest.close()
    finally:
        go.touch()
        if trainer.poll() is None:
            trainer.kill()
            trainer.wait()
    assert [r.values["loss"] for r in train()] == pytest.approx([1 / (s + 1) for s in range(8)])
    evals = [r for r in records if r.kind == "eval"]
    assert [r.values["eval/acc"] for r in evals] == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])
    assert exit_code_of(str(folder)) == 0

    # the framing holds partial records: any cut of the bytes gives the same records
    from trainmon.inputs.framing import WandbLogFramer

    (log,) = folder.glob("*.wandb")
    data = log.read_bytes()
    whole = WandbLogFramer().feed(data)
    assert len(data) > 70000 and any(len(p) > 70000 for p in whole)
    for size in (1, 7, 4096, 32768):
        framer = WandbLogFramer()
        parts = [p for i in range(0, len(data), size) for p in framer.feed(data[i : i + size])]
        assert parts == whole

    summary = read_log(str(folder))
    assert summary.format == "wandb"
    assert summary.store.records == len(records)
    runs = discover_runs(str(tmp_path)).runs
    (entry,) = runs
    assert entry.kind == "wandb" and entry.name == os.path.relpath(folder, tmp_path)


def test_a_run_that_exits_with_an_error_is_crashed(tmp_path: Path) -> None:
    (tmp_path / "go").touch()
    subprocess.run(
        [sys.executable, "-c", TRAINER, str(tmp_path / "go"), "3"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        timeout=180,
        check=False,
    )
    out = trainmon("report", str(tmp_path), "--json")
    import json

    (run,) = json.loads(out.stdout)["runs"]
    assert run["state"] == "crashed" and run["format"] == "wandb"
    assert run["series"]["loss"]["count"] == 8
