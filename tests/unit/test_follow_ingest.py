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


def test_truncation_starts_a_new_segment(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("step=1 loss=3.0\nstep=2 loss=2.5\n")
    ingest = Ingest(str(log))
    store = MetricStore()
    items = drain(ingest)
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
    log.write_text("step=1 loss=3.0\n")
    ingest = Ingest(str(log))
    drain(ingest)
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
