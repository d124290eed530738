"""The throughput family: a stall and a throughput drop, from record timestamps or from
the step times the log printed; the same findings however the records arrive, none from
contention that comes and goes, and none from a backlog read in bursts (arrival times say
nothing there).

Each fires on its case and stays quiet on a healthy twin.
"""

from __future__ import annotations

import numpy as np

from tests.rule_cases import Run, fired, store_of
from trainmon.advice import AdviceEngine, analyze
from trainmon.records import MetricRecord
from trainmon.store import MetricStore

# -- from record timestamps --------------------------------------------------------------------


def _timed(run: Run, per_record: float = 2.0) -> None:
    run.times = np.cumsum(np.full(len(run.steps), per_record))


def test_stall_from_record_timestamps() -> None:
    run = Run()
    _timed(run)
    assert not fired(run.findings(), "stall")
    assert run.times is not None
    run.times[100:] += 1800.0
    f = fired(run.findings(), "stall")
    assert f and f[0].step == run.steps[100]


def test_throughput_drop() -> None:
    run = Run()
    gaps = np.full(200, 2.0)
    gaps[150:] = 5.0
    run.times = np.cumsum(gaps)
    assert fired(run.findings(), "throughput-drop")


# -- from what the log printed -----------------------------------------------------------------


def _nanogpt(slow_from: int | None, jitter: float = 0.1) -> list[MetricRecord]:
    rng = np.random.default_rng(2)
    out = []
    for i in range(120):
        ms = 20.0 * (1 + jitter * rng.random())
        if slow_from is not None and i >= slow_from:
            ms += 60.0
        out.append(MetricRecord("train", 5 * i, {"loss": 3.0 - i / 100, "time_ms": ms}))
    return out


def test_throughput_drop_from_printed_step_times_is_the_same_however_it_arrives() -> None:
    # GIVEN a nanoGPT log whose iterations take 4x longer from record 80, read in one burst
    f = fired(analyze(store_of(_nanogpt(80))), "throughput-drop")
    assert f and f[0].step == 5 * 80 and "printed time_ms" in f[0].evidence
    # AND the same records arriving one per second find the same thing
    live = fired(analyze(store_of(_nanogpt(80), [float(i) for i in range(120)])), "throughput-drop")
    assert [x.step for x in live] == [x.step for x in f]
    # AND the healthy twin, or a machine that is merely busier (x1.6), is quiet
    assert not fired(analyze(store_of(_nanogpt(None))), "throughput-drop")
    busier = [
        MetricRecord(r.kind, r.step, {**r.values, "time_ms": r.values["time_ms"] * 1.6})
        if r.step >= 400
        else r
        for r in _nanogpt(None)
    ]
    assert not fired(analyze(store_of(busier)), "throughput-drop")


def test_contention_that_comes_and_goes_is_not_a_throughput_drop() -> None:
    # GIVEN a nanoGPT log that turns 4x slower from record 80, but every third iteration runs
    # at full speed again (other jobs sharing the cores, in bursts)
    bursty = [
        MetricRecord(r.kind, r.step, {**r.values, "time_ms": 20.0}) if i >= 80 and i % 3 == 0 else r
        for i, r in enumerate(_nanogpt(80))
    ]
    # THEN no throughput-drop: the slow stretch never holds for five intervals in a row
    assert not fired(analyze(store_of(bursty)), "throughput-drop")
    # AND the same slowdown on every iteration is one (the sustained twin)
    assert fired(analyze(store_of(_nanogpt(80))), "throughput-drop")


def test_a_backlog_read_in_bursts_gives_no_throughput_finding() -> None:
    # GIVEN a history read at start in bursts of 16 records (arrival times say nothing)
    run = Run()
    store = MetricStore()
    records = [r for _, r in run.records()]
    for i in range(0, len(records), 16):
        store.extend(records[i : i + 16], float(i // 16) * (1 if i < 160 else 9))
    store.mark_backlog()
    engine = AdviceEngine()
    engine.finish(store)
    assert not fired(engine.findings(), "throughput-drop")
