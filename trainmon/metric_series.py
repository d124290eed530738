"""Any logged metric, headless: the series a run carries, and their values at a step.

The metric browser lists every series of every run with its last value and a sparkline
(`series_rows`); the metric plot's cursor reads the raw and smoothed values at a step
(`reading_at`), smoothed as the plot draws them (the same debiased EMA, over log10 values
under log-y).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trainmon.smoothing import clamp_weight, debiased_ema
from trainmon.store import MetricStore

if TYPE_CHECKING:
    from trainmon.decimate import FloatArray

SPARK_POINTS = 24
"""Values kept per series for the browser's sparkline (the last ones)."""


@dataclass(frozen=True, slots=True)
class SeriesRow:
    """One series of one run, as the metric browser lists it."""

    name: str
    run: str
    count: int
    last: float | None
    spark: tuple[float, ...]
    """The last `SPARK_POINTS` values (NaN where a value was not finite)."""


def series_rows(runs: Sequence[tuple[str, MetricStore]]) -> list[SeriesRow]:
    """Every series of every (label, store) run, by name then run."""
    rows: list[SeriesRow] = []
    for label, store in runs:
        for name in store.names():
            series = store.get(name)
            if series is None or not len(series):
                continue
            tail = series.values_np(max(0, len(series) - SPARK_POINTS))
            rows.append(SeriesRow(name, label, len(series), series.last(), tuple(tail.tolist())))
    rows.sort(key=lambda row: (row.name.lower(), row.run))
    return rows


@dataclass(frozen=True, slots=True)
class Reading:
    """A series at one step: the record the cursor is on."""

    name: str
    step: int
    raw: float
    smoothed: float | None
    """None without smoothing."""
    index: int
    count: int


def _smoothed(values: FloatArray, weight: float, log_y: bool) -> FloatArray:
    if not log_y:
        return debiased_ema(values, weight)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(values > 0, np.log10(values), np.nan)
    return np.power(10.0, debiased_ema(logs, weight))


def reading_at(
    store: MetricStore, name: str, index: int, *, smoothing: float, log_y: bool = False
) -> Reading | None:
    """The series' record number `index` (clamped), raw and smoothed; None without records."""
    series = store.get(name)
    if series is None or not len(series):
        return None
    count = len(series)
    index = min(max(0, index), count - 1)
    values = series.values_np()
    steps = series.steps_np()
    weight = clamp_weight(smoothing)
    smoothed = None
    if weight > 0:
        value = float(_smoothed(values, weight, log_y)[index])
        smoothed = value if math.isfinite(value) else None
    return Reading(name, int(steps[index]), float(values[index]), smoothed, index, count)


def index_near_step(store: MetricStore, name: str, step: float) -> int | None:
    """The record of `name` whose step is nearest `step` (for a click on the plot)."""
    series = store.get(name)
    if series is None or not len(series):
        return None
    steps = series.steps_np()
    return int(np.argmin(np.abs(steps - step)))


def reading_text(reading: Reading) -> str:
    """`step 120 · accuracy 0.8125 · smoothed 0.7988`."""
    text = f"step {reading.step:,} · {reading.name} {reading.raw:.6g}"
    if reading.smoothed is not None:
        text += f" · smoothed {reading.smoothed:.6g}"
    return text
