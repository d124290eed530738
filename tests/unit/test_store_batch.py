"""`MetricStore.extend` appends column-wise; it must equal appending one record at a time."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from trainmon.records import MetricRecord
from trainmon.store import MetricStore

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
