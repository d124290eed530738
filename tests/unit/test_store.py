"""The metric store: appends (a batch appended column-wise equals appending one record at a
time), statistics over finite values, segments and progress."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainmon.records import MetricRecord
from trainmon.store import MetricStore


def _train(step: int, **values: float) -> MetricRecord:
    return MetricRecord("train", step, values)


def test_extend_keeps_series_in_order_on_the_step_axis() -> None:
    store = MetricStore()
    added = store.extend([_train(10, loss=2.0), _train(20, loss=1.5, grad_norm=0.9)], arrival_s=5.0)

    assert added == 2
    loss = store.get("loss")
    assert loss is not None
    assert list(loss.values_np()) == [2.0, 1.5]
    assert list(loss.steps_np()) == [10.0, 20.0]
    grad = store.get("grad_norm")
    assert grad is not None and list(grad.steps_np()) == [20.0]
    assert store.records == 2 and store.kind_counts["train"] == 2
    assert store.first_step == 10 and store.last_step == 20
    assert store.last_arrival_s == 5.0


def test_stats_count_nonfinite_but_take_extremes_over_finite_values() -> None:
    store = MetricStore()
    store.extend(
        [
            _train(1, loss=math.nan),
            _train(2, loss=3.0),
            _train(3, loss=math.inf),
            _train(4, loss=1.0),
        ],
        arrival_s=0.0,
    )
    stats = store.stats()["loss"]
    assert (stats.count, stats.nonfinite) == (4, 2)
    assert (stats.first, stats.last, stats.min, stats.max) == (3.0, 1.0, 1.0, 3.0)
    assert store.get("loss").nonfinite == 2  # type: ignore[union-attr]


def test_stats_of_an_all_nan_series_are_null_not_nan() -> None:
    store = MetricStore()
    store.extend([_train(1, grad_norm=math.nan)], arrival_s=0.0)
    stats = store.stats()["grad_norm"]
    assert stats.as_json() == {
        "count": 1,
        "nonfinite": 1,
        "first": None,
        "last": None,
        "min": None,
        "max": None,
    }


def test_new_segment_forgets_history_but_keeps_the_known_total() -> None:
    store = MetricStore()
    store.total_steps = 1000
    store.extend([_train(5, loss=1.0)], arrival_s=0.0)
    store.new_segment()
    assert store.records == 0 and "loss" not in store and store.segment == 1
    assert store.total_steps == 1000
    store.extend([_train(1, loss=2.0)], arrival_s=1.0)
    assert store.get("loss").last() == 2.0  # type: ignore[union-attr]


def test_progress_rate_comes_from_record_times_and_gives_an_eta() -> None:
    store = MetricStore()
    store.total_steps = 100
    for i in range(1, 6):  # 10 steps every 2 s
        store.extend(
            [MetricRecord("train", i * 10, {"loss": 1.0, "epoch": i / 10})], arrival_s=i * 2.0
        )
    progress = store.progress()
    assert progress.step == 50 and progress.epoch == 0.5
    assert progress.steps_per_s is not None and math.isclose(progress.steps_per_s, 5.0)
    assert progress.eta_s is not None and math.isclose(progress.eta_s, 10.0)
    assert progress.fraction == 0.5


def test_progress_has_no_rate_when_everything_arrived_at_once() -> None:
    store = MetricStore()
    store.extend([_train(i, loss=1.0) for i in range(1, 50)], arrival_s=3.0)
    assert store.progress().steps_per_s is None


def test_printed_timestamps_win_over_arrival_time() -> None:
    store = MetricStore()
    store.extend([MetricRecord("train", 1, {"loss": 1.0}, time_s=100.0)], arrival_s=7.0)
    assert list(store.get("loss").times_np()) == [100.0]  # type: ignore[union-attr]


def test_the_rate_ignores_arrival_times_of_a_backlog() -> None:
    """History read at start arrives in a burst: with it, one live record 10 s later made a
    1 step/s run look like 49 steps/s (and its ETA 50x too short)."""
    store = MetricStore()
    store.total_steps = 100_000
    store.extend([MetricRecord("train", 10 * i, {"loss": 1.0}) for i in range(1, 101)], 0.0)
    store.mark_backlog()
    store.extend([MetricRecord("train", 1010, {"loss": 1.0})], 10.0)
    assert store.progress().steps_per_s is None  # one live record: no rate yet
    store.extend([MetricRecord("train", 1020, {"loss": 1.0})], 20.0)
    store.extend([MetricRecord("train", 1030, {"loss": 1.0})], 30.0)
    progress = store.progress()
    assert progress.steps_per_s == pytest.approx(1.0)
    assert progress.eta_s == pytest.approx(100_000 - 1030)


def test_printed_timestamps_keep_the_backlog_usable() -> None:
    store = MetricStore()
    store.extend(
        [MetricRecord("train", 10 * i, {"loss": 1.0}, time_s=5.0 * i) for i in range(1, 11)], 0.0
    )
    store.mark_backlog()
    assert store.progress().steps_per_s == pytest.approx(2.0)


# -- appending a batch column-wise -------------------------------------------------------------


_NAMES = ("loss", "grad_norm", "learning_rate", "epoch", "eval_loss")

_records = st.lists(
    st.builds(
        MetricRecord,
        kind=st.sampled_from(("train", "eval", "summary")),
        step=st.integers(0, 10**6),
        values=st.dictionaries(
            st.sampled_from(_NAMES),
            st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5),
            max_size=4,
        ),
        time_s=st.none() | st.floats(0, 1e9),
    ),
    max_size=40,
)


def _snapshot(store: MetricStore) -> object:
    def same(x: float) -> object:
        return "nan" if math.isnan(x) else x

    return (
        store.records,
        list(store.record_kinds),
        list(store.record_steps),
        list(store.record_times),
        dict(store.kind_counts),
        store.names(),
        {
            name: ([same(v) for v in s.values], list(s.record_index))
            for name in store.names()
            if (s := store.get(name)) is not None
        },
    )


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(_records, max_size=4))
def test_batch_extend_equals_one_record_at_a_time(batches: list[list[MetricRecord]]) -> None:
    batched, single = MetricStore(), MetricStore()
    for i, batch in enumerate(batches):
        assert batched.extend(tuple(batch), 100.0 + i) == len(batch)
        for record in batch:
            single.extend([record], 100.0 + i)
    assert _snapshot(batched) == _snapshot(single)


def test_runs_of_same_names_in_any_order_share_columns() -> None:
    store = MetricStore()
    records = [
        MetricRecord("train", 1, {"loss": 1.0, "epoch": 0.1}),
        MetricRecord("train", 2, {"epoch": 0.2, "loss": 2.0}),
        MetricRecord("eval", 2, {"eval_loss": 3.0}),
        MetricRecord("train", 3, {"loss": 4.0, "epoch": 0.3}, time_s=7.0),
    ]
    assert store.extend(iter(records), 5.0) == 4
    loss, epoch, eval_loss = store.get("loss"), store.get("epoch"), store.get("eval_loss")
    assert loss is not None and epoch is not None and eval_loss is not None
    assert list(loss.values) == [1.0, 2.0, 4.0]
    assert list(loss.record_index) == [0, 1, 3]
    assert list(epoch.values) == [0.1, 0.2, 0.3]
    assert list(eval_loss.record_index) == [2]
    assert list(store.record_times) == [5.0, 5.0, 5.0, 7.0]
    assert store.kind_counts == {"train": 3, "eval": 1, "summary": 0}
    assert store.extend([], 9.0) == 0
    assert store.last_arrival_s == 5.0
