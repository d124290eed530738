"""The engine's contracts: deterministic whatever the batching, bounded work, mute, bell,
segments, the clock rule, hardware samples and context parsing."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainmon.advice import AdviceEngine, analyze, context_from_model_config, parse_context
from trainmon.advice.engine import next_checkpoint
from trainmon.records import MetricRecord
from trainmon.simulate import Fault, SimulatedRun
from trainmon.sources.history import SystemHistory
from trainmon.sources.samples import (
    CpuSnapshot,
    GpuDeviceSample,
    GpuProcess,
    GpuSnapshot,
    TrainingProcess,
)
from trainmon.store import MetricStore

FAULTY = SimulatedRun(
    seed=5,
    steps=1500,
    logging_steps=5,
    eval_steps=100,
    faults=(Fault("spike", 400), Fault("overfit", 800), Fault("nan", 1300)),
)


def _replay(batches: list[int]) -> tuple[list[object], list[object]]:
    """Feed FAULTY's records in batches of the given sizes; return findings and detections."""
    records = FAULTY.records()
    store = MetricStore()
    engine = AdviceEngine(FAULTY.context)
    i = 0
    k = 0
    while i < len(records):
        size = batches[k % len(batches)]
        chunk = records[i : i + size]
        for t, r in chunk:
            store.extend([r], t)
        engine.update(store)
        i += size
        k += 1
    return engine.findings(), [(d.finding.rule, d.detected_step) for d in engine.detections]


def test_findings_do_not_depend_on_batching() -> None:
    # GIVEN the same records WHEN fed one by one, in odd batches, or all at once
    one, det_one = _replay([1])
    odd, det_odd = _replay([7, 1, 33, 2])
    whole, det_whole = _replay([10**9])
    # THEN the findings and when they were detected are identical
    assert one == odd == whole
    assert det_one == det_odd == det_whole
    assert {"loss-spike", "overfitting", "nan-loss"} <= {f.rule for f in one}  # type: ignore[attr-defined]


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=6))
def test_batching_property(batches: list[int]) -> None:
    assert _replay(batches)[0] == _replay([10**9])[0]


def test_analyze_matches_the_incremental_engine_on_a_finished_run() -> None:
    store = MetricStore()
    for t, r in FAULTY.records():
        store.extend([r], t)
    engine = AdviceEngine(FAULTY.context)
    engine.finish(store)
    assert analyze(store, FAULTY.context) == engine.findings()


def test_checkpoints_are_logarithmic_in_the_record_count() -> None:
    # GIVEN a 100k-record run
    run = SimulatedRun(seed=1, steps=100_000, logging_steps=1, eval_steps=5000)
    store = MetricStore()
    store.extend((r for _, r in run.records()), 0.0)
    # WHEN analysed
    engine = AdviceEngine(run.context)
    engine.finish(store)
    # THEN the checkpoints evaluated are bounded by 128 + 32 per doubling (+ the final one)
    n = store.records
    bound = 128 + 32 * (math.ceil(math.log2(n / 128)) + 1) + 1
    assert engine.checkpoints <= bound
    assert engine.checkpoints < n / 100


def test_checkpoint_schedule_is_dense_then_sparse() -> None:
    assert [next_checkpoint(c) for c in (0, 1, 127)] == [1, 2, 128]
    c, seen = 128, []
    while c < 1024:
        c = next_checkpoint(c)
        seen.append(c)
    assert len(seen) == 32 * 3  # 128→256→512→1024: 32 per doubling
    assert all(b > a for a, b in itertools.pairwise(seen))


def test_mute_hides_and_new_critical_rings_once() -> None:
    run = SimulatedRun(seed=2, steps=600, eval_steps=None, faults=(Fault("nan", 300),))
    records = run.records()
    store = MetricStore()
    engine = AdviceEngine(run.context)
    rings = 0
    for t, r in records:
        store.extend([r], t)
        state = engine.update(store)
        rings += state.new_critical
    assert rings == 1  # nan-loss and nan-grad-norm arrive together: one bell
    assert state.active[0].severity == "critical"
    engine.mute("nan-loss")
    assert "nan-loss" not in {f.rule for f in engine.state.active}
    engine.unmute("nan-loss")
    assert "nan-loss" in {f.rule for f in engine.state.active}
    muted = AdviceEngine(
        run.context, muted=frozenset({"nan-loss", "nan-grad-norm", "nan-eval-loss"})
    )
    store2 = MetricStore()
    store2.extend((r for _, r in records), 0.0)
    assert not muted.update(store2).new_critical


def test_active_sorted_by_severity_then_step() -> None:
    run = SimulatedRun(seed=3, steps=800, faults=(Fault("spike", 300), Fault("nan", 600)))
    store = MetricStore()
    store.extend((r for _, r in run.records()), 0.0)
    state = AdviceEngine(run.context).update(store)
    ranks = [{"critical": 0, "warning": 1, "info": 2}[f.severity] for f in state.active]
    assert ranks == sorted(ranks)


def test_new_segment_starts_over() -> None:
    run = SimulatedRun(seed=4, steps=500, faults=(Fault("nan", 200),))
    store = MetricStore()
    store.extend((r for _, r in run.records()), 0.0)
    engine = AdviceEngine(run.context)
    assert engine.update(store).active
    store.new_segment()
    store.extend((r for _, r in SimulatedRun(seed=4, steps=500).records()), 0.0)
    state = engine.update(store)
    assert not [f for f in state.active if f.severity == "critical"]


def test_no_progress_is_the_clock_rule() -> None:
    store = MetricStore()
    for k in range(30):
        store.extend([MetricRecord("train", (k + 1) * 10, {"loss": 3.0 - 0.05 * k})], 10.0 * k)
    engine = AdviceEngine({})
    assert not engine.update(store, now_s=300.0).active
    state = engine.update(store, now_s=290.0 + 3600)
    assert [f.rule for f in state.active] == ["no-progress"]
    assert state.active[0].severity == "critical"
    assert "no-progress" not in {f.rule for f in analyze(store, {})}
    store.extend([MetricRecord("train", 310, {"loss": 1.5})], 4000.0)
    state = engine.update(store, now_s=4001.0)
    # THEN the live finding clears into the history and the gap stays on record as `stall`
    assert "no-progress" not in {f.rule for f in state.active}
    assert state.history[-1].rule == "no-progress"
    assert [f.rule for f in state.active] == ["stall"]


def test_schedule_is_recognised_as_normal() -> None:
    store = MetricStore()
    store.extend((r for _, r in SimulatedRun(seed=1, steps=1000).records()), 0.0)
    state = AdviceEngine({}).update(store)
    assert "warm-up" in state.schedule and "normal" in state.schedule


def test_evidence_is_plain_text() -> None:
    run = SimulatedRun(seed=1, steps=1000, faults=(Fault("overfit", 400), Fault("spike", 200)))
    store = MetricStore()
    store.extend((r for _, r in run.records()), 0.0)
    for f in analyze(store, run.context):
        assert "[/" not in f.evidence and "[bold" not in f.evidence
        assert f.evidence and f.advice and f.title


# -- hardware ---------------------------------------------------------------------------------


def _gpu(
    t: float,
    util: float = 95.0,
    mem: float = 0.5,
    reasons: tuple[str, ...] = (),
    ecc: int | None = None,
    lost: bool = False,
    busy: bool = False,
) -> GpuSnapshot:
    dev = GpuDeviceSample(
        index=0,
        name="NVIDIA Test",
        uuid="GPU-0",
        util_pct=util,
        mem_used_bytes=int(mem * 80e9),
        mem_total_bytes=int(80e9),
        temperature_c=85.0,
        throttle_reasons=reasons,
        ecc_errors=ecc,
        lost=lost,
        processes=(GpuProcess(pid=7, used_memory_bytes=None, is_training=True),) if busy else (),
    )
    return GpuSnapshot(time_s=t, status="ok", devices=(dev,))


def _cpu(
    t: float,
    total: float = 30.0,
    avail: float = 0.5,
    swap: float = 0.0,
    trainer: TrainingProcess | None = None,
) -> CpuSnapshot:
    return CpuSnapshot(
        time_s=t,
        total_pct=total,
        ram_total_bytes=100,
        ram_available_bytes=int(100 * avail),
        swap_in_bps=swap,
        swap_out_bps=swap,
        training=trainer,
    )


def _feed(engine: AdviceEngine, samples: list[object]) -> set[str]:
    for s in samples:
        engine.observe_hardware(s)
    return {f.rule for f in engine.state.active}


@pytest.mark.parametrize(
    ("samples", "rule"),
    [
        ([_gpu(t, mem=0.99) for t in range(0, 40, 2)], "gpu-memory-pressure"),
        ([_gpu(t, util=20, busy=True) for t in range(0, 70, 2)], "gpu-idle"),
        ([_gpu(t, reasons=("thermal (hw)",)) for t in range(0, 70, 2)], "gpu-throttle"),
        ([_gpu(0, ecc=0), _gpu(1, ecc=2)], "gpu-ecc"),
        ([_gpu(0, lost=True)], "gpu-lost"),
        ([_cpu(t, avail=0.02) for t in range(0, 40, 2)], "ram-pressure"),
        ([_cpu(t, swap=50e6) for t in range(0, 40, 2)], "swapping"),
    ],
)
def test_hardware_rule_fires_and_healthy_twin_is_quiet(samples: list[object], rule: str) -> None:
    assert rule in _feed(AdviceEngine({}), samples)
    healthy = [_gpu(t) for t in range(0, 70, 2)] + [_cpu(t) for t in range(0, 70, 2)]
    assert _feed(AdviceEngine({}), healthy) == set()


def test_cpu_bound_needs_both_signals() -> None:
    engine = AdviceEngine({})
    for t in range(0, 70, 2):
        engine.observe_hardware(_gpu(t, util=40))
        engine.observe_hardware(_cpu(t, total=97))
    assert "cpu-bound" in {f.rule for f in engine.state.active}
    busy_gpu = AdviceEngine({})
    for t in range(0, 70, 2):
        busy_gpu.observe_hardware(_gpu(t, util=99))
        busy_gpu.observe_hardware(_cpu(t, total=97))
    assert "cpu-bound" not in {f.rule for f in busy_gpu.state.active}


def test_gpu_idle_escalates_with_a_single_process_loader() -> None:
    trainer = TrainingProcess(
        pid=1, cmdline=("python",), found_by="pid", cpu_pct=100.0, rss_bytes=1, threads=1, workers=0
    )
    engine = AdviceEngine({})
    for t in range(0, 70, 2):
        engine.observe_hardware(_cpu(t, trainer=trainer))
        engine.observe_hardware(_gpu(t, util=25))
    idle = [f for f in engine.state.active if f.rule == "gpu-idle"]
    assert idle and idle[0].severity == "warning" and "no worker" in idle[0].evidence


def test_idle_gpu_after_the_run_ended_is_not_a_finding() -> None:
    # GIVEN no compute process on the GPU and no known trainer (the run finished)
    samples = [_gpu(t, util=0) for t in range(0, 70, 2)]
    # THEN an idle GPU is not an input-pipeline problem
    assert "gpu-idle" not in _feed(AdviceEngine({}), samples)


def test_one_low_sample_is_not_idle() -> None:
    engine = AdviceEngine({})
    samples = [_gpu(t, util=95, busy=True) for t in range(0, 70, 2)]
    samples[10] = _gpu(20, util=0, busy=True)
    assert "gpu-idle" not in _feed(engine, samples)


# -- context -----------------------------------------------------------------------------------


def test_context_parses_cli_strings_and_ignores_garbage() -> None:
    ctx = parse_context(
        {
            "fp16": "True",
            "max_grad_norm": "0.5",
            "max_steps": "1000",
            "vocab_size": "abc",
            "num_train_epochs": 2**63 - 1,
            "bf16": "maybe",
        }
    )
    assert ctx.fp16 is True and ctx.max_grad_norm == 0.5 and ctx.max_steps == 1000
    assert ctx.vocab_size is None and ctx.num_train_epochs is None and ctx.bf16 is None
    assert parse_context({"num_classes": 10}).ln_classes == pytest.approx(math.log(10))


def test_model_config_beside_the_log(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("")
    assert context_from_model_config(log) == {}
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "vocab_size": 32000,
                "architectures": ["LlamaForCausalLM"],
                "id2label": {"0": "A", "1": "B"},
            }
        )
    )
    assert context_from_model_config(log) == {"vocab_size": 32000}
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["BertForSequenceClassification"],
                "id2label": {"0": "a", "1": "b", "2": "c"},
            }
        )
    )
    assert context_from_model_config(log) == {"num_classes": 3}
    (tmp_path / "config.json").write_text("{not json")
    assert context_from_model_config(log) == {}


def test_bad_values_never_raise() -> None:
    store = MetricStore()
    values = [float("nan"), float("inf"), -float("inf"), 0.0, -1.0, 1e308, 5e-324]
    for k, v in enumerate(values * 30):
        store.extend(
            [MetricRecord("train", k, {"loss": v, "grad_norm": v, "learning_rate": v})], 0.0
        )
        store.extend([MetricRecord("eval", k, {"eval_loss": v, "eval_accuracy": v})], 0.0)
    findings = analyze(store, {"vocab_size": 10})
    assert any(f.rule == "nan-loss" for f in findings)
    _ = np  # numpy is used by the engine under test


def test_hardware_rules_judge_a_shared_history_without_adding_to_it() -> None:
    """The dashboard's one system history: the sample handler adds, the rules only read."""
    history = SystemHistory(maxlen=600)
    engine = AdviceEngine({}, system=history)
    for t in range(0, 70, 2):
        sample = _gpu(t, util=20, busy=True)
        history.add(sample)
        engine.observe_hardware(sample)
    assert len(history.gpu) == 35  # each sample once
    assert "gpu-idle" in {f.rule for f in engine.state.active}


def test_a_gpu_without_readings_is_history_but_not_evidence() -> None:
    history = SystemHistory(maxlen=600)
    engine = AdviceEngine({}, system=history)
    for t in range(0, 70, 2):
        sample = (
            GpuSnapshot(time_s=t, status="unavailable") if t % 4 else _gpu(t, util=20, busy=True)
        )
        history.add(sample)
        engine.observe_hardware(sample)
    assert len(history.gpu) == 35
    assert "gpu-idle" in {f.rule for f in engine.state.active}
