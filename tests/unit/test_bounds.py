"""Bounds on what a log can make trainmon hold or print: series per run, name length."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.trainmon_process import trainmon
from trainmon.columns import CHUNK
from trainmon.records import MetricRecord
from trainmon.report import as_text, read_log
from trainmon.store import DEFAULT_MAX_SERIES, IGNORED_COUNTED, MetricStore
from trainmon.text import MAX_NAME_CHARS


def _train(step: int, values: dict[str, float]) -> MetricRecord:
    return MetricRecord("train", step, values)


def test_series_beyond_the_cap_are_dropped_and_counted() -> None:
    store = MetricStore(max_series=3)
    store.extend([_train(1, {"loss": 1.0, "a": 1.0})], arrival_s=0.0)
    store.extend([_train(2, {"loss": 0.9, "b": 2.0, "c": 3.0, "d": 4.0})], arrival_s=0.0)
    store.extend([_train(3, {"loss": 0.8, "c": 5.0, "e": 6.0})], arrival_s=0.0)
    assert store.names() == ["loss", "a", "b"]
    assert store.ignored_series == 3  # c, d, e: each counted once
    loss = store.get("loss")
    assert loss is not None and list(loss.values_np()) == [1.0, 0.9, 0.8]
    assert store.records == 3


def test_the_cap_survives_a_new_segment_and_a_merge() -> None:
    store = MetricStore(max_series=2)
    store.new_segment()
    assert store.max_series == 2
    other = MetricStore(max_series=2)
    other.extend([_train(1, {"x": 1.0, "y": 2.0, "z": 3.0})], arrival_s=0.0)
    store.extend([_train(0, {"loss": 1.0})], arrival_s=0.0)
    store.absorb(other)
    assert store.names() == ["loss", "x"]
    assert store.ignored_series == 2  # y (new here) and z (ignored there)


def test_ignored_names_are_counted_in_bounded_memory() -> None:
    store = MetricStore(max_series=1)
    n = IGNORED_COUNTED + 10
    store.extend([_train(i, {"loss": 1.0, f"id_{i}": 1.0}) for i in range(n)], arrival_s=0.0)
    assert store.ignored_series == IGNORED_COUNTED
    assert store.names() == ["loss"]


def _log_with_names(path: Path, count: int) -> None:
    rows = [json.dumps({"step": s, "loss": 1.0 / s, **{f"m{i}": s for i in range(count)}})
            for s in range(1, 4)]  # fmt: skip
    path.write_text("\n".join(rows) + "\n")


def test_report_says_how_many_series_were_ignored(tmp_path: Path) -> None:
    log = tmp_path / "wide.log"
    _log_with_names(log, DEFAULT_MAX_SERIES + 50)
    summary = read_log(str(log))
    assert len(summary.store.names()) == DEFAULT_MAX_SERIES
    assert summary.store.ignored_series == 51  # step is not a series; loss and m0… are
    assert "51 more series ignored (--max-series 256)" in as_text(summary, [])

    result = trainmon("report", "--json", "--max-series", "10", str(log))
    doc = json.loads(result.stdout)
    assert len(doc["series"]) == 10
    assert doc["ignored_series"] == DEFAULT_MAX_SERIES + 51 - 10


def test_a_huge_name_is_cut_in_the_text_report_and_whole_in_json(tmp_path: Path) -> None:
    name = "n" * 200_000
    log = tmp_path / "long.log"
    log.write_text("".join(json.dumps({"step": s, "loss": 1.0, name: s}) + "\n" for s in (1, 2)))
    summary = read_log(str(log))
    text = as_text(summary, [])
    assert max(len(line) for line in text.splitlines()) < MAX_NAME_CHARS + 80
    assert "n" * (MAX_NAME_CHARS - 1) + "…" in text
    result = trainmon("report", "--json", str(log))
    assert name in json.loads(result.stdout)["series"]


def test_max_series_must_be_a_positive_number() -> None:
    result = trainmon("report", "--max-series", "0", "x.log")
    assert result.returncode == 2
    assert "--max-series" in result.stderr


def test_store_memory_per_record_is_bounded() -> None:
    """What 10^7 records cost comes from this figure (bench/bench_memory.py measures RSS)."""
    n = 300_000
    one = MetricStore()
    four = MetricStore()
    for start in range(0, n, 1000):  # batches as a follower hands them over
        one.extend([_train(s, {"loss": 1.0 / (s + 1)}) for s in range(start, start + 1000)], 5.0)
        four.extend(
            [
                _train(s, {"loss": 1.0 / (s + 1), "learning_rate": 1e-4, "grad_norm": 1.5,
                           "epoch": s / 1000})
                for s in range(start, start + 1000)
            ],
            5.0,
        )  # fmt: skip
    # A value (8 bytes) and its record index (4) per point, a kind byte per record, with
    # `array`'s over-allocation; sealed steps and arrival times take almost nothing, their
    # unsealed tails at most one chunk of 8-byte values each.
    tails = 2 * 8 * CHUNK / n
    assert one.nbytes / n <= 1.07 * 13 + tails
    assert four.nbytes / n <= 1.07 * (1 + 4 * 12) + tails


def test_a_store_pickles_whole_for_the_report_helper() -> None:
    import pickle

    store = MetricStore()
    store.extend([_train(s, {"loss": 1.0 / s, "lr": s * 1e-5}) for s in range(1, 5000)], 3.0)
    for protocol in (4, pickle.HIGHEST_PROTOCOL):
        copy = pickle.loads(pickle.dumps(store, protocol=protocol))
        assert copy.names() == store.names()
        for name in store.names():
            theirs, mine = copy.get(name), store.get(name)
            assert theirs is not None and mine is not None
            assert list(theirs.values) == list(mine.values)
            assert list(theirs.record_index) == list(mine.record_index)
            assert theirs.steps_np().tolist() == mine.steps_np().tolist()
            assert theirs.last_step() == mine.last_step() == 4999


def test_a_series_on_every_record_costs_its_values_and_almost_no_index() -> None:
    """The record index of a series on every record (or every k-th) seals into strides."""
    n = 4 * CHUNK
    store = MetricStore()
    store.extend(
        [
            _train(s, {"loss": 1.0 / (s + 1), "lr": 1e-4} if s % 10 else {"loss": 0.5})
            for s in range(n)
        ],
        1.0,
    )
    loss, lr = store.get("loss"), store.get("lr")
    assert loss is not None and lr is not None
    assert loss.record_index.nbytes <= 4 * 256  # four sealed chunks, a few numbers each
    # 9 of 10 records: sealed as one-byte deltas (the unsealed tail holds 4 bytes a point)
    assert lr.record_index.nbytes <= len(lr) + 4 * CHUNK < 4 * len(lr)
    assert list(lr.record_index[:12]) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13]
    assert loss.steps_np(n - 3).tolist() == [n - 3, n - 2, n - 1]
    # Values (8 bytes), the record's kind (1 byte), steps and times (sealed strides/runs).
    per_record = (store.nbytes - lr.values.nbytes - lr.record_index.nbytes) / n
    assert per_record < 9.1


def test_a_four_metric_record_costs_a_few_bytes_once_sealed() -> None:
    """A Trainer-style record (loss to 4 decimals, a linear LR, grad norm to 6 decimals, the
    epoch to 2) keeps under 10 bytes of history where four float64 values took 32."""
    n = 4 * CHUNK
    rng = random.Random(0)
    records = []
    for s in range(1, n + 1):
        noise = rng.random()
        values = {
            "loss": round(3.0 / (1 + s / 1e5) + 0.05 * noise, 4),
            "learning_rate": 2e-5 * (1 - s / (n + 1)),
            "grad_norm": round(1.0 + noise, 6),
            "epoch": round(s / 50_000, 2),
        }
        records.append(_train(s, values))
    store = MetricStore()
    store.extend(records, 1.0)
    assert store.nbytes / n < 10
    for name, expected in records[-1].values.items():
        series = store.get(name)
        assert series is not None and series.last() == expected
    assert (
        store.get("loss").values_np(0, 3).tolist()
        == [  # type: ignore[union-attr]
            r.values["loss"] for r in records[:3]
        ]
    )


def test_the_grad_norm_pane_reads_a_long_history_a_chunk_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pane's summary of 10^7 values must not decode them all at once (80 MB of float64):
    it walks the sealed chunks, and reads only a short tail for the median."""
    from trainmon.columns import Column
    from trainmon.plotdata import MEDIAN_WINDOW, grad_norm_data

    values = [1.0 + (i % 13) / 10 for i in range(3 * CHUNK + 77)]
    values[CHUNK + 5] = float("nan")
    store = MetricStore()
    store.extend([_train(i + 1, {"grad_norm": v}) for i, v in enumerate(values)], arrival_s=0.0)
    decoded: list[int] = []
    original = Column.span

    def span(self: Column, lo: int = 0, hi: int | None = None) -> Any:
        out = original(self, lo, hi)
        decoded.append(len(out))
        return out

    monkeypatch.setattr(Column, "span", span)
    data = grad_norm_data(store, 80, max_grad_norm=2.0)
    assert max(decoded, default=0) <= 2 * MEDIAN_WINDOW
    finite = [v for v in values if v == v]
    assert data.count == len(values) and data.nonfinite == 1
    assert (data.min, data.max) == (min(finite), max(finite))
    assert data.clipped == sum(v > 2.0 for v in finite) and len(data.values) == 80
