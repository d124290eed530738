"""TensorBoard event files written by TensorBoard's own writer, read while they grow."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.trainmon_process import trainmon
from trainmon.ingest import Ingest
from trainmon.inputs import input_kind
from trainmon.records import MetricRecord
from trainmon.report import read_log

summary_writer = pytest.importorskip(
    "tensorboard.summary", reason="the tensorboard package (trainmon[tensorboard]) is not installed"
)
event_file_writer = pytest.importorskip(
    "tensorboard.summary.writer.event_file_writer",
    reason="the tensorboard package (trainmon[tensorboard]) is not installed",
)


def _poll_records(ingest: Ingest, want: int, timeout_s: float = 30.0) -> list[MetricRecord]:
    """Poll until `want` records came (generous timeout: the machine may be loaded)."""
    records: list[MetricRecord] = []
    deadline = time.monotonic() + timeout_s
    while len(records) < want and time.monotonic() < deadline:
        for item in ingest.poll():
            if isinstance(item, tuple):
                records.extend(item)
        if ingest.caught_up:
            time.sleep(0.02)
    return records


def test_report_reads_the_writers_scalars(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "exp1"
    writer = summary_writer.Writer(str(run))
    for step in range(0, 50, 10):
        writer.add_scalar("train/loss", 2.0 / (step + 1), step)
        writer.add_scalar("train/learning_rate", 1e-3 * (1 + step), step)
        if step % 20 == 0:
            writer.add_scalar("eval/loss", 3.0 / (step + 1), step)
    writer.close()
    assert input_kind(str(run)) == "tensorboard"
    summary = read_log(str(run))
    assert summary.format == "tensorboard"
    store = summary.store
    loss = store.get("loss")
    assert loss is not None
    assert loss.steps_np().tolist() == [0, 10, 20, 30, 40]
    # float32 in the file: equal to the written value as a float32
    assert loss.values_np().tolist() == pytest.approx([2.0 / (s + 1) for s in range(0, 50, 10)])
    assert store.get("learning_rate") is not None
    eval_loss = store.get("eval_loss")
    assert eval_loss is not None and eval_loss.steps_np().tolist() == [0, 20, 40]
    assert store.kind_counts["eval"] == 3 and store.kind_counts["train"] == 5


def test_simple_value_events_are_read_too(tmp_path: Path) -> None:
    """tensorboardX and torch.utils.tensorboard write `simple_value` scalars."""
    from tensorboard.compat.proto import event_pb2, summary_pb2

    writer = event_file_writer.EventFileWriter(str(tmp_path))
    for step in (1, 2, 3):
        value = summary_pb2.Summary.Value(tag="Loss/train", simple_value=1.0 / step)
        writer.add_event(
            event_pb2.Event(
                step=step, wall_time=time.time(), summary=summary_pb2.Summary(value=[value])
            )
        )
    writer.close()
    (path,) = [p for p in tmp_path.iterdir() if "tfevents" in p.name]
    summary = read_log(str(path))
    series = summary.store.get("loss") or summary.store.get("Loss/train")
    assert series is not None
    assert series.values_np().tolist() == pytest.approx([1.0, 0.5, 1 / 3])


def test_a_growing_event_file_is_followed(tmp_path: Path) -> None:
    writer = summary_writer.Writer(str(tmp_path))
    for step in range(3):
        writer.add_scalar("loss", 1.0 + step, step)
    writer.flush()
    ingest = Ingest(str(tmp_path), poll_interval_s=0.01)
    try:
        first = _poll_records(ingest, 3)
        assert [r.step for r in first] == [0, 1, 2]
        for step in range(3, 6):
            writer.add_scalar("loss", 1.0 + step, step)
        writer.flush()
        later = _poll_records(ingest, 3)
        assert [r.step for r in later] == [3, 4, 5]
        assert [r.values["loss"] for r in later] == [4.0, 5.0, 6.0]
        assert ingest.progress().log_format == "tensorboard"
    finally:
        writer.close()
        ingest.close()


def test_a_new_event_file_in_the_run_folder_is_followed(tmp_path: Path) -> None:
    """A resumed run writes a second event file beside the first: its steps follow on."""
    first = summary_writer.Writer(str(tmp_path))
    first.add_scalar("loss", 3.0, 1)
    first.close()
    ingest = Ingest(str(tmp_path), poll_interval_s=0.01)
    try:
        assert [r.step for r in _poll_records(ingest, 1)] == [1]
        time.sleep(1.1)  # the writer names its file by the second it was created
        second = summary_writer.Writer(str(tmp_path))
        second.add_scalar("loss", 2.0, 2)
        second.flush()
        later = _poll_records(ingest, 1)
        assert [(r.step, r.values["loss"]) for r in later] == [(2, 2.0)]
        second.close()
    finally:
        ingest.close()
    assert len([p for p in os.listdir(tmp_path) if "tfevents" in p]) == 2


def test_the_dashboard_and_stream_see_the_same_records(tmp_path: Path) -> None:
    writer = summary_writer.Writer(str(tmp_path))
    for step in range(4):
        writer.add_scalar("loss", 0.5 * step, step)
    writer.close()
    out = trainmon("stream", "--once", str(tmp_path), check=True)
    assert out.stdout.count('"kind":"train"') == 4


def test_a_missing_extra_is_one_line_and_exit_2(tmp_path: Path) -> None:
    writer = summary_writer.Writer(str(tmp_path))
    writer.add_scalar("loss", 1.0, 1)
    writer.close()
    code = (
        "import sys; sys.modules['tensorboard'] = None; sys.modules['tensorflow'] = None\n"
        "from trainmon.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    for argv in (["report", str(tmp_path)], [str(tmp_path)], ["report", str(tmp_path.parent)]):
        out = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 2, out.stderr
        assert out.stderr.strip().count("\n") == 0
        assert "pip install 'trainmon[tensorboard]'" in out.stderr
    assert any("tfevents" in p for p in os.listdir(tmp_path))  # nothing lost


def test_replay_plays_an_event_file_back_as_the_parser_reads_it(tmp_path: Path) -> None:
    from trainmon.parsing import LogParser
    from trainmon.playback import start_replay

    run = tmp_path / "run"
    writer = summary_writer.Writer(str(run))
    for step in range(6):
        writer.add_scalar("train/loss", 1.0 / (step + 1), step)
    writer.close()
    playback = start_replay(run, speed=1e6, directory=tmp_path)
    assert playback.player.join(timeout_s=30)
    parser = LogParser()
    records = parser.feed(playback.path.read_bytes()) + parser.finish()
    assert [(r.step, r.values["loss"]) for r in records] == [
        (s, pytest.approx(1.0 / (s + 1))) for s in range(6)
    ]


def test_any_cut_of_an_event_file_gives_the_same_records(tmp_path: Path) -> None:
    from trainmon.inputs.framing import TFRecordFramer

    writer = summary_writer.Writer(str(tmp_path))
    for step in range(20):
        writer.add_scalar("loss", float(step), step)
    writer.close()
    (path,) = [p for p in tmp_path.iterdir() if "tfevents" in p.name]
    data = path.read_bytes()
    whole = TFRecordFramer().feed(data)
    assert len(whole) == 21  # the file version event, then one per scalar
    for size in (1, 3, 16, 100):
        framer = TFRecordFramer()
        parts = [p for i in range(0, len(data), size) for p in framer.feed(data[i : i + size])]
        assert parts == whole
