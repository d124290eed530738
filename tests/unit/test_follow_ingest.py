"""Follower → parser → store: events end segments in the right place."""

from __future__ import annotations

from pathlib import Path

from trainmon.ingest import Ingest, Item, apply
from trainmon.records import FollowEvent, MetricRecord
from trainmon.store import MetricStore


def drain(ingest: Ingest) -> list[Item]:
    out: list[Item] = []
    for _ in range(1000):
        out += ingest.poll()
        if ingest.caught_up:
            return out
    raise AssertionError("never caught up")


def flat(items: list[Item]) -> list[object]:
    seq: list[object] = []
    for item in items:
        if isinstance(item, FollowEvent):
            seq.append(item.kind)
        else:
            seq += [(r.step, r.values.get("loss")) for r in item]
    return seq


def following(log: Path, text: str) -> tuple[Ingest, list[Item]]:
    """`text` written to `log`, and an `Ingest` of it with what it read up to the end."""
    log.write_text(text)
    ingest = Ingest(str(log))
    return ingest, drain(ingest)


def test_truncation_starts_a_new_segment(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ingest, items = following(log, "step=1 loss=3.0\nstep=2 loss=2.5\n")
    store = MetricStore()
    assert flat(items) == ["opened", (1, 3.0), (2, 2.5)]
    apply(store, items, 0.0)
    assert store.records == 2 and store.segment == 0
    log.write_text("step=1 loss=9.0\n")  # restarted with `>`
    items = drain(ingest)
    assert flat(items) == ["truncated", (1, 9.0)]
    events = apply(store, items, 1.0)
    assert [e.kind for e in events] == ["truncated"]
    assert store.segment == 1 and store.records == 1
    series = store.get("loss")
    assert series is not None and series.values_np().tolist() == [9.0]


def test_rotation_parses_the_old_tail_first(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ingest, _ = following(log, "step=1 loss=3.0\n")
    with log.open("a") as f:
        f.write("step=2 loss=2.0\nstep=3 loss=1.5")  # last line unterminated
    log.rename(tmp_path / "run.log.1")
    log.write_text("step=1 loss=8.0\n")
    assert flat(drain(ingest)) == [(2, 2.0), (3, 1.5), "rotated", (1, 8.0)]


def test_no_follow_ends_with_eof_and_the_last_line(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("step=1 loss=3.0\nstep=2 loss=2.0")
    ingest = Ingest(str(log), follow=False)
    items: list[Item] = []
    while not ingest.finished:
        items += ingest.poll()
    assert flat(items) == ["opened", (1, 3.0), (2, 2.0), "eof"]
    assert all(isinstance(i, (FollowEvent, tuple)) for i in items)
    records = [r for i in items if isinstance(i, tuple) for r in i]
    assert all(isinstance(r, MetricRecord) for r in records)


CSV_V1 = "epoch,step,train_loss\n" + "".join(
    f"0,{step},{loss:.18f}\n" for step, loss in ((10, 2.5), (20, 2.25), (30, 2.0))
)
CSV_V2 = (
    "epoch,step,train_loss,val_loss\n0,10,2.5,\n0,20,2.25,\n0,30,2.0,\n0,30,,2.1\n0,40,1.9,\n"
)  # Lightning's CSVLogger rewrites the file with a new header when val_loss first appears


def test_a_table_rewritten_in_place_adds_only_its_new_rows(tmp_path: Path) -> None:
    log = tmp_path / "metrics.csv"
    ingest, items = following(log, CSV_V1)
    store = MetricStore()
    apply(store, items, 0.0)
    assert store.records == 3
    log.write_text(CSV_V2)  # shorter than before here, so the follower sees it shrink
    items = drain(ingest)
    events = apply(store, items, 1.0)
    assert "truncated" not in [e.kind for e in events]  # the same run, no new segment
    assert store.records == 5 and store.segment == 0
    loss = store.get("loss")
    assert loss is not None and loss.values_np().tolist() == [2.5, 2.25, 2.0, 1.9]
    evals = store.get("eval_loss")
    assert evals is not None and evals.values_np().tolist() == [2.1]


def test_a_restarted_text_log_is_still_a_new_segment(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ingest, _ = following(log, "step=1 loss=3.0\nstep=2 loss=2.5\n")
    log.write_text("step=1 loss=9.0\n")
    assert "truncated" in flat(drain(ingest))


def test_a_trainer_state_saved_again_adds_only_new_entries(tmp_path: Path) -> None:
    import json

    history = [{"loss": 2.0 - i / 10, "step": 10 * (i + 1), "epoch": i / 10} for i in range(3)]
    state = tmp_path / "trainer_state.json"
    ingest, items = following(
        state, json.dumps({"log_history": history[:2], "max_steps": 100}, indent=8) + "\n"
    )
    store = MetricStore()
    apply(store, items, 0.0)
    assert store.records == 2
    state.write_text(json.dumps({"log_history": history, "max_steps": 100}) + "\n")  # shorter
    events = apply(store, drain(ingest), 1.0)
    assert [e.kind for e in events if e.kind == "truncated"] == []
    assert store.records == 3 and store.segment == 0
    loss = store.get("loss")
    assert loss is not None and loss.values_np().tolist() == [2.0, 1.9, 1.8]
