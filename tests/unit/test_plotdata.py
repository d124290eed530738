"""Plot data: finite, bounded, decimated values from the store, cached incrementally."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainmon import plotdata
from trainmon.plotdata import (
    GradNormData,
    LossPlotData,
    PlotCache,
    grad_norm_data,
    loss_plot_data,
)
from trainmon.records import MetricRecord
from trainmon.smoothing import IncrementalEma, debiased_ema
from trainmon.store import MetricStore


def train(step: int, **values: float) -> MetricRecord:
    return MetricRecord("train", step, values)


def evalrec(step: int, **values: float) -> MetricRecord:
    return MetricRecord("eval", step, values)


def run_store(n: int, *, eval_every: int = 10, t0: float = 1000.0) -> MetricStore:
    store = MetricStore()
    for i in range(1, n + 1):
        rec = train(
            i * 10,
            loss=2.0 / math.sqrt(i),
            learning_rate=1e-4 * (1 - i / (n + 1)),
            grad_norm=1.0 + (i % 7) / 10,
            epoch=i / n * 2,
        )
        store.extend([rec._replace(time_s=t0 + i * 2.0)], t0 + i * 2.0)
        if i % eval_every == 0:
            rec = evalrec(i * 10, eval_loss=2.2 / math.sqrt(i), epoch=i / n * 2)
            store.extend([rec], t0 + i * 2.0)
    return store


def all_finite(data: LossPlotData) -> bool:
    for xy in (data.train_raw, data.train_smooth, data.eval, data.lr, data.step_map):
        if not all(math.isfinite(v) for v in (*xy.x, *xy.y)):
            return False
    return True


def test_empty_store_gives_empty_data() -> None:
    data = loss_plot_data(MetricStore(), width=80)
    assert data.empty
    assert data.train_count == 0 and not data.train_raw and not data.lr
    assert grad_norm_data(MetricStore(), 40) == GradNormData(present=False)


def test_small_run_is_drawn_exactly() -> None:
    store = run_store(30)
    data = loss_plot_data(store, width=80, smoothing=0.0)
    assert data.train_raw.x == tuple(float(10 * i) for i in range(1, 31))
    assert data.train_raw.y == pytest.approx([2.0 / math.sqrt(i) for i in range(1, 31)])
    assert data.eval.x == (100.0, 200.0, 300.0)
    assert len(data.lr) == 30
    assert not data.train_smooth  # smoothing 0 means no second curve
    assert (data.train_count, data.eval_count, data.lr_count) == (30, 3, 30)
    assert data.x_label == "step" and data.y_label == "loss"


def test_smoothed_curve_is_the_debiased_ema() -> None:
    store = run_store(50)
    data = loss_plot_data(store, width=80, smoothing=0.6)
    raw = np.array([2.0 / math.sqrt(i) for i in range(1, 51)])
    assert data.train_smooth.y == pytest.approx(debiased_ema(raw, 0.6).tolist())
    assert data.smoothing == 0.6


def test_points_are_bounded_by_width_whatever_the_history() -> None:
    store = run_store(20_000, eval_every=10)
    for width in (1, 10, 60, 200):
        data = loss_plot_data(store, width=width)
        limit = max(8, width * plotdata.POINTS_PER_COLUMN)
        for xy in (data.train_raw, data.train_smooth, data.eval, data.lr):
            assert 0 < len(xy) <= limit
        assert all_finite(data)
        assert data.train_raw.x[0] == 10.0 and data.train_raw.x[-1] == 200_000.0
        assert max(data.train_raw.y) == pytest.approx(2.0)


def test_nonfinite_values_are_counted_and_marked_never_drawn() -> None:
    store = run_store(100)
    store.extend([train(1010, loss=math.nan), train(1020, loss=math.inf)], 0)
    store.extend([train(1030, loss=-math.inf, grad_norm=math.nan)], 0)
    store.extend([evalrec(1030, eval_loss=math.nan)], 0)
    data = loss_plot_data(store, width=40)
    assert all_finite(data)
    nf = data.train_nonfinite
    assert (nf.nan, nf.posinf, nf.neginf) == (1, 1, 1)
    assert set(nf.positions) <= {1010.0, 1020.0, 1030.0} and nf.positions
    assert data.eval_nonfinite.nan == 1
    g = grad_norm_data(store, 40)
    assert g.nonfinite == 1 and all(math.isfinite(v) for v in g.values)


def test_only_nan_data_gives_markers_and_no_points() -> None:
    store = MetricStore()
    store.extend([train(s, loss=math.nan, grad_norm=math.inf) for s in (1, 2, 3)], 0)
    data = loss_plot_data(store, width=40)
    assert not data.train_raw and not data.train_smooth
    assert data.train_nonfinite.nan == 3 and not data.empty
    g = grad_norm_data(store, 40)
    assert g.present and g.values == () and g.nonfinite == 3 and g.last is None


def test_log_y_plots_log10_and_counts_nonpositive() -> None:
    store = MetricStore()
    store.extend([train(1, loss=100.0), train(2, loss=0.0), train(3, loss=-1.0)], 0)
    store.extend([train(4, loss=0.01)], 0)
    data = loss_plot_data(store, width=40, log_y=True, smoothing=0.0)
    assert data.train_raw.y == pytest.approx([2.0, -2.0])
    assert data.train_raw.x == (1.0, 4.0)
    assert data.nonpositive == 2
    assert data.y_label == "log10 loss"
    assert data.lr == plotdata.EMPTY_XY


def test_eval_can_be_hidden() -> None:
    data = loss_plot_data(run_store(40), width=40, show_eval=False)
    assert not data.eval and data.eval_count == 0


def test_epoch_axis_uses_logged_epochs_and_maps_steps() -> None:
    store = run_store(100)
    data = loss_plot_data(store, width=80, x_axis="epoch", smoothing=0)
    assert data.x_axis == "epoch" and data.x_label == "epoch"
    assert data.train_raw.x[0] == pytest.approx(0.02)
    assert data.train_raw.x[-1] == pytest.approx(2.0)
    assert data.eval.x[-1] == pytest.approx(2.0)
    assert data.x_for_step(500) == pytest.approx(1.0)
    assert data.x_for_step(10**9) is None


def test_epoch_axis_without_epochs_falls_back_to_steps() -> None:
    store = MetricStore()
    store.extend([train(5, loss=1.0), train(6, loss=0.9)], 0)
    data = loss_plot_data(store, width=40, x_axis="epoch")
    assert data.x_axis == "step" and "no epoch" in data.x_label
    assert data.train_raw.x == (5.0, 6.0)


def test_time_axis_is_relative_with_a_readable_unit() -> None:
    store = run_store(200)  # 2 s per record: 398 s span -> minutes
    data = loss_plot_data(store, width=80, x_axis="time", smoothing=0)
    assert data.x_label == "time (min)"
    assert data.train_raw.x[0] == 0.0
    assert data.train_raw.x[-1] == pytest.approx(398 / 60)
    assert data.x_for_step(10) == pytest.approx(0.0)


def test_steps_going_backwards_are_drawn_in_step_order() -> None:
    store = MetricStore()
    store.extend([train(s, loss=float(s)) for s in (1, 2, 3, 4)], 0)
    store.extend([train(s, loss=float(s) + 0.5) for s in (2, 3)], 0)  # resumed run
    data = loss_plot_data(store, width=40, smoothing=0)
    assert list(data.train_raw.x) == sorted(data.train_raw.x)
    assert len(data.train_raw) == 6


def test_store_can_grow_after_plot_data_was_read() -> None:
    """Views of the store's arrays must not outlive the call (they would pin buffers)."""
    store = run_store(50)
    for axis in plotdata.X_AXES:
        loss_plot_data(store, width=20, x_axis=axis, log_y=True)
        grad_norm_data(store, 20)
        store.extend([train(10_000, loss=0.5, learning_rate=1e-5, grad_norm=1.0, epoch=3.0)], 0)


def test_smoothing_cache_extends_with_only_new_points(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    original = IncrementalEma.extend

    def counting(self: IncrementalEma, new_values: np.ndarray) -> None:
        seen.append(len(new_values))
        original(self, new_values)

    monkeypatch.setattr(IncrementalEma, "extend", counting)
    store = run_store(1000)
    cache = PlotCache()
    first = loss_plot_data(store, width=50, smoothing=0.9, cache=cache)
    store.extend([train(20_000, loss=0.01)], 0)
    second = loss_plot_data(store, width=50, smoothing=0.9, cache=cache)
    assert seen == [1000, 1]
    loss_plot_data(store, width=50, smoothing=0.9)  # no cache: from scratch, nothing kept
    assert seen == [1000, 1, 1001]
    fresh = MetricStore()
    losses = [*(2.0 / math.sqrt(i) for i in range(1, 1001)), 0.01]
    fresh.extend([train(s, loss=v) for s, v in enumerate(losses, start=1)], 0)
    assert second.train_smooth.y[-1] == pytest.approx(
        loss_plot_data(fresh, width=50, smoothing=0.9).train_smooth.y[-1]
    )
    assert first != second


def test_cache_resets_on_a_new_segment() -> None:
    store = run_store(100)
    cache = PlotCache()
    loss_plot_data(store, width=50, smoothing=0.6, cache=cache)
    store.new_segment()
    store.extend([train(1, loss=3.0), train(2, loss=3.0)], 0)
    data = loss_plot_data(store, width=50, smoothing=0.6, cache=cache)
    assert data.train_smooth.y == pytest.approx([3.0, 3.0])


def test_same_input_gives_equal_data() -> None:
    store = run_store(300)
    assert loss_plot_data(store, width=60) == loss_plot_data(store, width=60)
    assert grad_norm_data(store, 30) == grad_norm_data(store, 30)


def test_grad_norm_summary_and_cells() -> None:
    store = run_store(700)
    g = grad_norm_data(store, 50, max_grad_norm=1.5)
    values = np.array([1.0 + (i % 7) / 10 for i in range(1, 701)])
    assert g.present and g.count == 700 and g.nonfinite == 0
    assert len(g.values) == 50
    assert g.max == pytest.approx(values.max()) and max(g.values) == pytest.approx(g.max)
    assert g.min == pytest.approx(values.min())
    assert g.last == pytest.approx(values[-1])
    assert g.median == pytest.approx(float(np.median(values)))
    assert g.clip == 1.5 and g.clipped == int((values > 1.5).sum())
    assert g.spikes == ()


def test_grad_norm_spike_is_visible_in_its_cell() -> None:
    store = MetricStore()
    store.extend([train(i, grad_norm=1.0 + (i % 3) * 0.01) for i in range(1, 10_001)], 0)
    store.extend([train(10_001 + i, grad_norm=1.0) for i in range(100)], 0)
    spike_store = MetricStore()
    norms = [1.0 + (i % 3) * 0.01 for i in range(10_000)]
    norms[5_000] = 80.0
    spike_store.extend([train(i + 1, grad_norm=v) for i, v in enumerate(norms)], 0)
    g = grad_norm_data(spike_store, 20)
    assert len(g.values) == 20
    assert g.spikes == (10,)
    assert g.values[10] == 80.0
    assert grad_norm_data(store, 20).spikes == ()


def test_short_grad_norm_gives_one_cell_per_value() -> None:
    store = MetricStore()
    store.extend([train(1, grad_norm=0.5), train(2, grad_norm=2.0)], 0)
    g = grad_norm_data(store, 40)
    assert g.values == (0.5, 2.0)
    assert g.clip is None


def test_grad_norm_absent() -> None:
    store = run_store(5)
    g = grad_norm_data(MetricStore(), 10, max_grad_norm=1.0)
    assert not g.present and g.clip == 1.0
    assert grad_norm_data(store, 10).present


def test_long_history_uses_block_summaries_and_keeps_extremes() -> None:
    """Past a few blocks per bucket, extremes come from cached summaries, not a full scan."""
    rng = np.random.default_rng(5)
    n = 60_000
    losses = 1.0 + rng.random(n)
    losses[31_337] = 9.0
    losses[40_000] = 0.01
    losses[[100, 50_000]] = math.nan
    losses[45_000] = -1.0
    store = MetricStore()
    store.extend([train(i + 1, loss=float(v)) for i, v in enumerate(losses)], 0)
    cache = PlotCache()
    for log_y in (False, True):
        data = loss_plot_data(store, width=10, smoothing=0.0, log_y=log_y, cache=cache)
        state = cache.series["loss"]
        assert state.blocks[("raw", log_y)].blocks == n // 1024
        ys = np.array(data.train_raw.y)
        top, bottom = (math.log10(9.0), -2.0) if log_y else (9.0, -1.0)
        assert ys.max() == pytest.approx(top) and ys.min() == pytest.approx(bottom)
        assert data.train_raw.x[0] == 1.0 and data.train_raw.x[-1] == float(n)
        assert len(data.train_raw) <= 10 * plotdata.POINTS_PER_COLUMN
        assert data.train_nonfinite.nan == 2
        assert set(data.train_nonfinite.positions) == {101.0, 50_001.0}
        assert data.nonpositive == (1 if log_y else 0)
        if not log_y:
            assert -1.0 in data.train_raw.y  # a negative loss is drawn on a linear axis
    store.extend([train(n + 1, loss=20.0)], 0)
    data = loss_plot_data(store, width=10, smoothing=0.0, cache=cache)
    assert max(data.train_raw.y) == 20.0


def _noisy_loss_store(n: int, start: int = 0, store: MetricStore | None = None) -> MetricStore:
    store = store if store is not None else MetricStore()
    rng = np.random.default_rng(start)
    noise = rng.normal(0.0, 0.05, n)
    records = []
    for k in range(n):
        i = start + k + 1
        value = float("nan") if i % 9973 == 0 else 2.0 / math.sqrt(i) + float(noise[k])
        records.append(train(i, loss=value))
    store.extend(records, 1.0)
    return store


@pytest.mark.parametrize("log_y", [False, True])
def test_long_smoothed_history_keeps_only_summaries_and_draws_the_same(
    monkeypatch: pytest.MonkeyPatch, log_y: bool
) -> None:
    """Past EMA_KEPT_WHOLE points the smoothed history is block summaries plus the unfinished
    block: its size does not grow with the run, and the curve is the one the whole EMA gives."""
    monkeypatch.setattr(plotdata, "EMA_KEPT_WHOLE", 4096)
    monkeypatch.setattr(plotdata, "EMA_BLOCK", 5000)
    store = MetricStore()
    cache, reference = PlotCache(), PlotCache()  # (the same redraws: the same float sums)
    sizes = []
    for part in range(4):  # a live run: redraws between appends
        _noisy_loss_store(60_000 + 17 * part, start=len(store.get("loss") or ()), store=store)
        data = loss_plot_data(store, width=30, smoothing=0.9, log_y=log_y, cache=cache)
        ema = cache.series["loss"].ema
        assert ema is not None and ema.start > 0
        sizes.append(ema.nbytes)
        monkeypatch.setattr(plotdata, "EMA_KEPT_WHOLE", 1 << 40)  # the reference keeps it all
        whole = loss_plot_data(store, width=30, smoothing=0.9, log_y=log_y, cache=reference)
        monkeypatch.setattr(plotdata, "EMA_KEPT_WHOLE", 4096)
        assert data == whole
        assert (
            data.train_smooth and data.train_nonfinite.nan == len(store.get("loss") or ()) // 9973
        )
    assert max(sizes) <= 8 * 2048  # one unfinished block of 1024 points (and slack)
    # A new weight or log-y setting smooths the raw values again, with the same result.
    for weight, flip in ((0.5, log_y), (0.5, not log_y)):
        data = loss_plot_data(store, width=30, smoothing=weight, log_y=flip, cache=cache)
        monkeypatch.setattr(plotdata, "EMA_KEPT_WHOLE", 1 << 40)
        assert data == loss_plot_data(store, width=30, smoothing=weight, log_y=flip)
        monkeypatch.setattr(plotdata, "EMA_KEPT_WHOLE", 4096)
    # A width the summaries cannot serve falls back to the whole EMA, recomputed.
    wide = loss_plot_data(store, width=2000, smoothing=0.5, log_y=log_y, cache=cache)
    assert wide.train_smooth.y and wide == loss_plot_data(
        store, width=2000, smoothing=0.5, log_y=log_y
    )
