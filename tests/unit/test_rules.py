"""Every advice rule fires on its case and stays quiet on a healthy twin (GIVEN/WHEN/THEN).

The runs are built from plain arrays (a seeded healthy curve, then one fault applied), so
each test states exactly what the rule should see, including warm-up and the first records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from trainmon.advice import RULES, analyze
from trainmon.records import Finding, MetricRecord
from trainmon.store import MetricStore

LOG = 10  # logging_steps of the built runs


class Run:
    """A healthy run as arrays (one train record per LOG steps); tests edit them."""

    def __init__(self, n: int = 200, seed: int = 0, warmup: int = 10) -> None:
        rng = np.random.default_rng(seed)
        i = np.arange(n, dtype=float)
        self.steps = (i + 1) * LOG
        self.loss = (2.0 * np.exp(-i / (0.3 * n)) + 0.5) * np.exp(0.03 * rng.standard_normal(n))
        peak = 5e-5
        warm = np.minimum(1.0, (i + 1) / warmup) if warmup else np.ones(n)
        decay = 0.5 * (1 + np.cos(math.pi * np.clip((i - warmup) / (n - warmup), 0, 1)))
        self.lr = peak * np.where(i < warmup, warm, decay)
        self.grad = 0.5 * np.exp(0.2 * rng.standard_normal(n))
        self.evals: list[tuple[int, dict[str, float]]] = []
        self.times: np.ndarray | None = None
        self.summary = False
        self.with_grad = True
        self.with_lr = True

    def add_evals(self, every: int, values: Sequence[float], metric: Sequence[float] = ()) -> None:
        for k, v in enumerate(values):
            d = {"eval_loss": float(v)}
            if len(metric):
                d["eval_accuracy"] = float(metric[k])
            self.evals.append((int(self.steps[(k + 1) * every - 1]), d))

    def records(self) -> list[tuple[float, MetricRecord]]:
        out: list[tuple[float, MetricRecord]] = []
        evals = sorted(self.evals)
        e = 0
        for k, step in enumerate(self.steps):
            values: dict[str, float] = {"loss": float(self.loss[k])}
            if self.with_grad:
                values["grad_norm"] = float(self.grad[k])
            if self.with_lr:
                values["learning_rate"] = float(self.lr[k])
            t = float(self.times[k]) if self.times is not None else 0.0
            out.append((t, MetricRecord("train", int(step), values)))
            while e < len(evals) and evals[e][0] <= step:
                out.append((t, MetricRecord("eval", evals[e][0], evals[e][1])))
                e += 1
        if self.summary:
            t = out[-1][0]
            out.append((t, MetricRecord("summary", int(self.steps[-1]), {"train_loss": 1.0})))
        return out

    def store(self) -> MetricStore:
        store = MetricStore()
        for t, record in self.records():
            store.extend([record], t)
        return store

    def findings(self, context: Mapping[str, object] | None = None) -> list[Finding]:
        return analyze(self.store(), context or {})


def fired(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def ids(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


NOISY_INFO = {"grad-clipping", "still-improving"}


# -- the healthy twin ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_healthy_run_raises_no_warning_or_critical(seed: int) -> None:
    # GIVEN a healthy run with warm-up, cosine decay and noise
    run = Run(seed=seed)
    run.add_evals(20, np.linspace(1.6, 0.75, 10))
    # WHEN it is analysed
    findings = run.findings({"max_steps": 2000})
    # THEN nothing above info fires
    assert [f for f in findings if f.severity != "info"] == []


def test_first_records_are_quiet() -> None:
    # GIVEN only the first three records of a run (warm-up, LR still rising)
    run = Run(n=3)
    # WHEN analysed THEN nothing fires
    assert run.findings() == []


def test_rules_catalogue_is_large_and_unique() -> None:
    assert len(RULES) >= 25
    assert len({r.id for r in RULES}) == len(RULES)
    families = {r.family for r in RULES}
    assert {"numerics", "dynamics", "evaluation", "schedule", "gradients", "hardware"} <= families
    assert all(r.description and r.severity in ("info", "warning", "critical") for r in RULES)


# -- numerics ---------------------------------------------------------------------------------


def test_nan_loss_fires_at_the_first_nan_and_silences_trend_rules() -> None:
    run = Run()
    run.loss[120:] = np.nan
    run.grad[120:] = np.nan
    findings = run.findings()
    nan = fired(findings, "nan-loss")
    assert nan and nan[0].severity == "critical" and nan[0].step == run.steps[120]
    assert not ids(findings) & {"loss-rising", "not-learning", "late-plateau"}


def test_inf_loss_counts_as_non_finite() -> None:
    run = Run()
    run.loss[80] = np.inf
    assert fired(run.findings(), "nan-loss")[0].step == run.steps[80]


def test_nan_eval_loss() -> None:
    run = Run()
    run.add_evals(20, [1.5, 1.2, float("nan"), 0.9])
    f = fired(run.findings(), "nan-eval-loss")
    assert f and f[0].step == run.steps[59]


def test_nan_grad_norm_is_info_when_rare_under_fp16_and_critical_in_bf16() -> None:
    run = Run()
    run.grad[100] = np.inf
    rare = fired(run.findings({"fp16": "true"}), "nan-grad-norm")
    assert rare and rare[0].severity == "info"
    bf16 = fired(run.findings({"bf16": True}), "nan-grad-norm")
    assert bf16 and bf16[0].severity == "critical"
    assert not fired(Run().findings({"fp16": True}), "nan-grad-norm")


def test_nan_grad_norm_repeated_escalates_to_critical() -> None:
    run = Run()
    run.grad[100:104] = np.nan
    f = fired(run.findings({"fp16": True}), "nan-grad-norm")
    assert f and f[-1].severity == "critical"


def test_zero_loss_is_critical_at_the_first_record_when_it_drops_from_a_real_value() -> None:
    run = Run()
    run.loss[150] = 0.0  # from ~0.6: labels masked, fp16 overflow, never convergence
    f = fired(run.findings(), "zero-loss")
    assert f and f[0].step == run.steps[150] and f[0].severity == "critical"
    assert not fired(Run().findings(), "zero-loss")  # the healthy twin


def test_zero_loss_after_a_converged_loss_needs_a_second_zero_or_a_nan_grad_norm() -> None:
    run = Run()
    run.with_grad = False
    run.loss[100:] = np.geomspace(1e-3, 1e-5, 100)  # converged: 0.0000 may be rounding
    run.loss[150] = 0.0
    assert not fired(run.findings(), "zero-loss")
    run.loss[151] = 0.0
    f = fired(run.findings(), "zero-loss")
    assert f and f[0].step == run.steps[150] and f[0].severity == "critical"
    single = Run()
    single.loss[100:] = np.geomspace(1e-3, 1e-5, 100)
    single.loss[150] = 0.0
    single.grad[150] = np.nan
    assert fired(single.findings(), "zero-loss")[0].step == single.steps[150]


def test_zero_loss_printed_below_its_precision_with_a_live_gradient_is_rounding() -> None:
    # a model memorising its data: the Trainer prints round(loss, 4), so 0.00004 reads 0.0,
    # while the gradient at the same steps is finite and non-zero (a masked batch has none)
    run = Run()
    run.loss[100:] = np.round(np.geomspace(1e-3, 1e-6, 100), 4)
    assert (run.loss[150:] == 0.0).all()
    run.grad[100:] = np.geomspace(0.05, 0.001, 100)
    assert not fired(run.findings(), "zero-loss")
    run.grad[150:] = 0.0  # the same zeros with no gradient: labels masked
    f = fired(run.findings(), "zero-loss")
    assert f and f[0].step == run.steps[150] and f[0].severity == "critical"


def test_zero_grad_norm_after_the_first_step() -> None:
    run = Run()
    run.grad[0] = 0.0  # the first step may legitimately log 0
    assert not fired(run.findings(), "zero-grad-norm")
    run.grad[90:] = 0.0
    f = fired(run.findings(), "zero-grad-norm")
    assert f and f[0].step == run.steps[90] and f[0].severity == "critical"


def test_negative_loss_warns_unless_the_objective_can_be_negative() -> None:
    run = Run()
    run.loss[100:103] = -0.5
    f = fired(run.findings(), "negative-loss")
    assert f and f[0].step == run.steps[100]
    store = run.store()
    store.extend([MetricRecord("train", 5000, {"rewards/chosen": -1.0})], 0.0)
    assert not fired(analyze(store, {}), "negative-loss")


def test_loss_explosion_after_burn_in() -> None:
    run = Run()
    run.loss[130:] = run.loss[130:] * np.geomspace(20, 2000, 70)
    f = fired(run.findings(), "loss-explosion")
    assert f and f[0].severity == "critical" and f[0].step == run.steps[130]


def test_high_initial_loss_is_not_an_explosion() -> None:
    # GIVEN a fine-tune whose first records are far above the rest (pilot: Gemma 14.8 → 0.7)
    run = Run()
    run.loss[:3] = [14.8, 9.0, 4.0]
    assert not fired(run.findings(), "loss-explosion")


# -- loss dynamics ----------------------------------------------------------------------------


def test_initial_loss_against_ln_vocab() -> None:
    run = Run()
    run.loss[:3] = 20.0
    f = fired(run.findings({"vocab_size": "32000"}), "initial-loss")
    assert f and f[0].severity == "warning" and "ln(vocab 32000)" in f[0].evidence
    assert not fired(run.findings(), "initial-loss")  # no context: degrades quietly
    assert not fired(Run().findings({"vocab_size": 32000}), "initial-loss")


def test_stuck_at_chance() -> None:
    run = Run(n=150)
    ln10 = math.log(10)
    run.loss[:] = ln10 * np.exp(0.002 * np.random.default_rng(1).standard_normal(150))
    f = fired(run.findings({"num_classes": 10}), "stuck-at-chance")
    assert f and f[0].severity == "critical"
    assert not fired(Run().findings({"num_classes": 10}), "stuck-at-chance")


def test_isolated_spike_is_info_and_repeated_spikes_warn() -> None:
    run = Run()
    run.loss[120] *= 3
    f = fired(run.findings(), "loss-spike")
    assert f and f[0].severity == "info" and f[0].step == run.steps[120]
    assert not fired(run.findings(), "loss-instability")
    many = Run()
    for k in (100, 102, 104, 130, 150):
        many.loss[k] *= 3
    assert fired(many.findings(), "loss-instability")


def test_loss_rising_and_its_downgrade_when_eval_improves() -> None:
    run = Run()
    run.loss[100:] = run.loss[99] * np.linspace(1.0, 2.5, 100)
    f = fired(run.findings(), "loss-rising")
    assert f and f[0].severity in ("warning", "critical")
    assert 1000 <= f[0].step <= 1600
    improving = Run()
    improving.loss[:] = run.loss
    improving.add_evals(20, np.linspace(1.5, 0.6, 10))
    g = fired(improving.findings(), "loss-rising")
    assert g and all(x.severity == "info" for x in g)


def test_not_learning() -> None:
    run = Run()
    run.loss[:] = 2.3 * np.exp(0.02 * np.random.default_rng(2).standard_normal(200))
    f = fired(run.findings(), "not-learning")
    assert f and f[0].severity == "warning"


def test_late_plateau_at_constant_lr() -> None:
    run = Run()
    run.lr[10:] = 5e-5  # constant after warm-up
    run.loss[80:] = run.loss[80] * np.exp(0.01 * np.random.default_rng(3).standard_normal(120))
    assert fired(run.findings(), "late-plateau")
    assert not fired(Run().findings(), "late-plateau")  # decaying LR: not this rule


def test_early_oscillation() -> None:
    run = Run()
    run.loss[5:40] = run.loss[5:40] * np.tile([0.4, 1.6], 18)[:35]
    assert fired(run.findings(), "early-oscillation")


def test_no_warmup_instability() -> None:
    run = Run(warmup=0)
    run.loss[5:40] = run.loss[5:40] * np.tile([0.4, 1.6], 18)[:35]
    assert fired(run.findings(), "no-warmup-instability")
    warm = Run()
    warm.loss[5:40] = warm.loss[5:40] * np.tile([0.4, 1.6], 18)[:35]
    assert not fired(warm.findings(), "no-warmup-instability")


def test_still_improving_at_the_end() -> None:
    run = Run()
    run.summary = True
    run.add_evals(20, np.linspace(1.6, 0.6, 10))
    f = fired(run.findings(), "still-improving")
    assert f and f[0].severity == "info"
    flat = Run()
    flat.summary = True
    flat.add_evals(20, [1.6, 1.2, 1.0, 0.9, 0.85, 0.8, 0.8, 0.81, 0.8, 0.8])
    assert not fired(flat.findings(), "still-improving")


# -- evaluation -------------------------------------------------------------------------------


def test_overfitting_warns_and_is_info_when_the_task_metric_improves() -> None:
    run = Run()
    evals = [1.6, 1.2, 1.0, 0.9, 0.95, 1.0, 1.08, 1.15, 1.2, 1.3]
    run.add_evals(20, evals)
    f = fired(run.findings(), "overfitting")
    assert f and f[0].severity == "warning" and f[0].step == run.steps[99]
    assert "eval_loss 0.9→" in f[0].evidence
    metric = Run()
    metric.add_evals(20, evals, metric=np.linspace(0.6, 0.9, 10))
    g = fired(metric.findings(), "overfitting")
    assert g and g[0].severity == "info" and "eval_accuracy" in g[0].evidence


def test_eval_noise_within_two_percent_is_not_overfitting() -> None:
    run = Run()
    run.add_evals(20, [1.6, 1.2, 1.0, 0.9, 0.91, 0.905, 0.912, 0.9, 0.908, 0.91])
    assert not fired(run.findings(), "overfitting")


def test_memorisation() -> None:
    run = Run()
    run.loss[:] = 2.0 * np.exp(-np.arange(200) / 20) + 1e-4
    run.add_evals(20, [1.5, 0.9, 0.7, 0.6, 0.62, 0.66, 0.7, 0.75, 0.8, 0.86])
    f = fired(run.findings(), "memorisation")
    assert f and f[0].severity == "warning"


def test_train_eval_gap_is_info_only() -> None:
    run = Run()
    run.add_evals(20, np.linspace(1.9, 1.5, 10))
    f = fired(run.findings(), "train-eval-gap")
    assert f and all(x.severity == "info" for x in f)


# -- learning-rate schedule -------------------------------------------------------------------


def test_lr_reaching_zero_long_before_the_end() -> None:
    run = Run()
    run.lr[60:] = 0.0
    f = fired(run.findings({"max_steps": 2000}), "lr-zero-early")
    assert f and f[0].step == run.steps[60]
    assert not fired(Run().findings({"max_steps": 2000}), "lr-zero-early")


def test_lr_zero_without_max_steps_needs_a_long_stretch() -> None:
    run = Run()
    run.lr[-2:] = 0.0  # a schedule that ends at 0: normal
    assert not fired(run.findings(), "lr-zero-early")
    run.lr[100:] = 0.0
    assert fired(run.findings(), "lr-zero-early")


def test_lr_jump_after_warmup_but_not_for_warmup_or_cycles() -> None:
    run = Run()
    run.lr[120:] = 5e-5
    f = fired(run.findings(), "lr-jump")
    assert f and f[0].step == run.steps[120]
    cyclic = Run()
    for start in (60, 100, 140, 180):
        cyclic.lr[start:] = cyclic.lr[10 : 10 + 200 - start]
    assert not [x for x in fired(cyclic.findings(), "lr-jump") if x.step and x.step > 1200]



def test_lr_jump_is_quiet_on_a_ramp_after_a_first_record_above_it() -> None:
    # GIVEN a log whose first record prints a high LR (the tail of an earlier run appended to
    # the same file), then a steady warm-up ramp and the decay
    run = Run()
    run.lr[0] = 2.25e-4
    # THEN the ramp is no jump: it never held or fell before rising
    assert not fired(run.findings(), "lr-jump")
    # AND a restart of that schedule once the decay has settled still is
    run.lr[120:] = 5e-5
    f = fired(run.findings(), "lr-jump")
    assert f and f[0].step == run.steps[120]


# -- gradients --------------------------------------------------------------------------------


def test_grad_spike_info_alone_and_warning_with_a_loss_response() -> None:
    run = Run()
    run.grad[120] = 40.0
    f = fired(run.findings(), "grad-spike")
    assert f and f[0].severity == "info" and f[0].step == run.steps[120]
    both = Run()
    both.grad[120] = 40.0
    both.loss[121] *= 3
    g = fired(both.findings(), "grad-spike")
    assert g and g[0].severity == "warning"


def test_grad_drift() -> None:
    run = Run()
    run.grad[80:] = run.grad[80:] * np.geomspace(1, 40, 120)
    assert fired(run.findings(), "grad-drift")


def test_grad_clipping_is_said_only_when_the_clip_is_known() -> None:
    # GIVEN grad norms of 3.0 on every step
    run = Run()
    run.grad[:] = 3.0
    # WHEN the clip is not known (even for a Trainer log, whose run may set it to 0)
    # THEN clipping is not claimed
    for fmt_name in ("hf-trainer", "trainer-state", "lightning"):
        assert not fired(run.findings({"format": fmt_name}), "grad-clipping")
    assert not fired(run.findings(), "grad-clipping")
    # WHEN the run switched clipping off THEN nothing is said about clipping
    for off in (0, 0.0, "0", "none"):
        ctx = {"max_grad_norm": off, "format": "hf-trainer"}
        assert not fired(run.findings(ctx), "grad-clipping")
    # WHEN the clip is known THEN it is used whatever the format
    assert not fired(run.findings({"max_grad_norm": 5.0, "format": "hf-trainer"}), "grad-clipping")
    f = fired(run.findings({"max_grad_norm": 2.0, "format": "lightning"}), "grad-clipping")
    assert f and "max_grad_norm 2" in f[0].evidence and f[0].severity == "info"


def test_grad_clipping_from_warm_up_moves_to_earlier_when_the_share_falls() -> None:
    from trainmon.advice import AdviceEngine

    # GIVEN clipping on most steps early, then on none
    run = Run()
    run.grad[:] = 0.5
    run.grad[:60] = 3.0
    engine = AdviceEngine({"max_grad_norm": 1.0})
    engine.finish(run.store())
    # THEN the finding is no longer active, but remembered as earlier
    assert "grad-clipping" not in {f.rule for f in engine.state.active}
    assert "grad-clipping" in {f.rule for f in engine.state.history}
    # AND on the twin that still clips, it stays active
    still = Run()
    still.grad[:] = 3.0
    engine = AdviceEngine({"max_grad_norm": 1.0})
    engine.finish(still.store())
    assert "grad-clipping" in {f.rule for f in engine.state.active}


def test_grad_collapse_with_a_flat_loss() -> None:
    run = Run()
    run.grad[100:] = 1e-6
    run.loss[100:] = run.loss[100]
    assert fired(run.findings(), "grad-collapse")


def test_grad_huge_from_the_start() -> None:
    run = Run()
    run.grad[:] = 2e5
    assert fired(run.findings(), "grad-huge")


# -- throughput ---------------------------------------------------------------------------------


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


def test_a_loss_that_always_sat_above_1e3_is_not_an_explosion() -> None:
    # GIVEN a detector whose summed loss is ~1100 from the first record (a real mmengine log)
    run = Run()
    run.loss[:] = 1100.0 * np.exp(0.01 * np.random.default_rng(4).standard_normal(200))
    assert not fired(run.findings(), "loss-explosion")
    # WHEN a run that started near 2 reaches 1e3 THEN the absolute cap applies
    boom = Run()
    boom.loss[150:] = 2000.0
    assert fired(boom.findings(), "loss-explosion")


def test_warmup_is_waited_out() -> None:
    # GIVEN a long warm-up (40 records) whose early loss jumps around and LR rises every record
    run = Run(warmup=40)
    run.loss[5] *= 3
    run.loss[20] *= 2.5
    # WHEN analysed THEN neither the rising LR nor the warm-up spikes are findings
    found = ids(run.findings({"max_steps": 2000}))
    assert not found & {"lr-jump", "loss-spike", "loss-instability", "loss-rising"}
    # AND the same spike after warm-up is reported
    late = Run(warmup=40)
    late.loss[120] *= 3
    assert fired(late.findings({"max_steps": 2000}), "loss-spike")


def test_middle_equals_numpy_median_bit_for_bit() -> None:
    import warnings

    import numpy as np

    from trainmon.advice.stats import middle

    rng = np.random.default_rng(7)
    for _ in range(3000):
        n = int(rng.integers(0, 30))
        x = rng.normal(size=n) * 10.0 ** int(rng.integers(-6, 6))
        for special in (np.nan, np.inf, -np.inf):
            if n and rng.random() < 0.15:
                x[int(rng.integers(0, n))] = special
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = float(np.median(x))
        got = middle(x)
        assert got == want or (got != got and want != want), (x, got, want)
