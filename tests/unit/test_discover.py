"""Folders of runs: what is found, in which order, and `report DIR` / `report --csv`."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path

import pytest

from tests.trainmon_process import trainmon
from trainmon.folder import read_rows, run_state
from trainmon.inputs.discover import discover_runs, expand_folders
from trainmon.report import read_log

HF_STATE = {
    "log_history": [
        {"loss": 2.0, "learning_rate": 1e-4, "step": 10},
        {"loss": 1.5, "learning_rate": 9e-5, "step": 20},
        {"eval_loss": 1.7, "step": 20},
    ],
    "max_steps": 40,
}


def _state(steps: int) -> str:
    history = [{"loss": 3.0 - s / 100, "step": s} for s in range(10, steps + 1, 10)]
    return json.dumps({"log_history": history, "max_steps": 40})


def _touch(path: Path, text: str, age_s: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder as trainers leave it, written by hand (ages: newest first below)."""
    _touch(tmp_path / "train.log", "step=1 loss=2.5\nstep=2 loss=2.4\n", age_s=10)
    _touch(
        tmp_path / "lightning_logs/version_0/metrics.csv",
        "epoch,step,train_loss\n0,5,0.9\n0,10,0.8\n",
        100,
    )
    out = tmp_path / "output"
    _touch(out / "checkpoint-10/trainer_state.json", _state(10), 400)
    _touch(out / "checkpoint-30/trainer_state.json", _state(30), 300)
    _touch(out / "checkpoint-20/trainer_state.json", _state(20), 350)
    final = tmp_path / "final"
    _touch(final / "checkpoint-20/trainer_state.json", _state(20), 700)
    _touch(final / "trainer_state.json", json.dumps(HF_STATE), 600)
    _touch(tmp_path / "README.md", "# notes\n", 1)
    _touch(tmp_path / "requirements.txt", "torch\n", 1)
    _touch(tmp_path / ".venv/pyvenv.cfg", "home = /usr\n", 1)
    _touch(tmp_path / "env/pyvenv.cfg", "home = /usr\n", 1)
    _touch(tmp_path / "env/lib/train.log", "step=1 loss=1\n", 1)
    _touch(tmp_path / "data/dataset.csv", "text,label\nhi,1\n", 1)
    os.symlink(tmp_path / "train.log", tmp_path / "latest.log")
    return tmp_path


def test_runs_are_found_newest_first_with_their_names(project: Path) -> None:
    runs = discover_runs(str(project)).runs
    assert [r.name for r in runs] == [
        "train.log",
        "lightning_logs/version_0/metrics.csv",
        "output/checkpoint-30/trainer_state.json",  # the newest checkpoint stands for the run
        "final/trainer_state.json",  # the output folder's final state over its checkpoints
    ]
    assert {r.kind for r in runs} == {"log"}


def test_report_dir_json_reports_every_run(project: Path) -> None:
    out = trainmon("report", str(project), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["folder"] == str(project)
    by_name = {run["name"]: run for run in report["runs"]}
    assert by_name["train.log"]["records"] == 2
    assert by_name["output/checkpoint-30/trainer_state.json"]["steps"] == {
        "first": 10,
        "last": 30,
        "total": 40,
    }
    assert by_name["final/trainer_state.json"]["records"] == 3
    assert by_name["final/trainer_state.json"]["state"] == "stalled"
    for run in report["runs"]:  # the single-run schema, with name, kind and state
        assert {"path", "format", "records", "series", "steps", "findings", "state"} <= set(run)


def test_report_dir_text_lists_one_row_per_run(project: Path) -> None:
    out = trainmon("report", str(project))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1].split() == ["runs", "4"]
    assert lines[3].split()[:4] == ["run", "format", "step", "last"]
    assert lines[4].split()[:5] == ["train.log", "key-value", "2", "2.4", "running"]


def test_csv_holds_every_value_in_long_format(project: Path) -> None:
    out = trainmon("report", str(project), "--csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert set(rows[0]) == {"run", "step", "name", "value"}
    final = [r for r in rows if r["run"] == "final/trainer_state.json"]
    assert [(r["step"], r["name"], float(r["value"])) for r in final] == [
        ("10", "loss", 2.0),
        ("20", "loss", 1.5),
        ("10", "learning_rate", 1e-4),
        ("20", "learning_rate", 9e-5),
        ("20", "eval_loss", 1.7),
    ]
    total = sum(read_log(str(project / r)).store.records for r in ("train.log",))
    assert len([r for r in rows if r["run"] == "train.log"]) == total


def test_csv_of_one_log_writes_nonfinite_values(tmp_path: Path) -> None:
    log = _touch(tmp_path / "run.log", "step=1 loss=2.0\nstep=2 loss=nan\n", 0)
    out = trainmon("report", str(log), "--csv")
    assert out.stdout.splitlines() == [
        "run,step,name,value",
        "run.log,1,loss,2.0",
        "run.log,2,loss,nan",
    ]


def test_an_empty_folder_says_so(tmp_path: Path) -> None:
    out = trainmon("report", str(tmp_path))
    assert out.returncode == 1
    assert "no runs found" in out.stderr and out.stderr.count("\n") == 1
    assert expand_folders((str(tmp_path),))[1] is not None


def test_states(project: Path) -> None:
    rows = {row.entry.name: row for row in read_rows(discover_runs(str(project)))}
    assert rows["train.log"].state == "running"
    assert rows["output/checkpoint-30/trainer_state.json"].state == "stalled"
    summary = rows["final/trainer_state.json"].summary
    assert run_state(summary, mtime=0, now_s=1e9, exit_code=0) == "finished"
    assert run_state(summary, mtime=0, now_s=1e9, exit_code=1) == "crashed"
    summary.store.total_steps = summary.total_steps = 20
    assert run_state(summary, mtime=0, now_s=1e9) == "finished"


def test_shared_trainer_states_as_a_folder(shared_trainer_states: Path) -> None:
    """Every file is a run (the corpus flattens checkpoint folders into file names), each with
    the records a report of the file alone finds."""
    files = sorted(p for p in shared_trainer_states.iterdir() if p.name.endswith(".json"))
    rows = read_rows(discover_runs(str(shared_trainer_states)))
    assert sorted(row.entry.path for row in rows) == [str(p) for p in files]
    assert len(rows) == 82
    records = {row.entry.path: row.summary.store.records for row in rows}
    for path in files[::9]:
        assert records[str(path)] == read_log(str(path)).store.records
    assert sum(records.values()) == 16339  # the MANIFEST's log_history entries


@pytest.mark.parametrize("fixture", ["shared_logs", "shared_logs2"])
def test_shared_log_folders(fixture: str, request: pytest.FixtureRequest) -> None:
    folder: Path = request.getfixturevalue(fixture)
    logs = sorted(p for p in folder.iterdir() if p.suffix == ".log")
    runs = discover_runs(str(folder)).runs
    assert sorted(r.path for r in runs) == [str(p) for p in logs]
    for run in runs[::7]:
        row = read_rows(type(discover_runs(str(folder)))(str(folder), (run,)))[0]
        assert row.summary.store.records == read_log(run.path).store.records


def test_explain_and_stream_take_one_log_not_a_folder(project: Path) -> None:
    for argv in (["report", str(project), "--explain"], ["stream", "--once", str(project)]):
        out = trainmon(*argv)
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
        assert str(project) in out.stderr
