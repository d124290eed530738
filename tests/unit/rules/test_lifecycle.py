"""`process-exited`: driven by the observed end of the training process and the records only."""

from __future__ import annotations

from trainmon import i18n
from trainmon.advice import RULES, AdviceEngine
from trainmon.records import Finding, MetricRecord
from trainmon.sources.samples import ExitStatus, ProcessExit
from trainmon.store import MetricStore

KILLED = ProcessExit(4242, ExitStatus(signal="SIGKILL"), 100.0)


def run(steps: int, *, total: int | None = None, summary: bool = False) -> MetricStore:
    store = MetricStore()
    for k in range(steps):
        store.extend([MetricRecord("train", (k + 1) * 10, {"loss": 3.0 - 0.01 * k})], 10.0 * k)
    if summary:
        store.extend([MetricRecord("summary", steps * 10, {"train_loss": 2.0})], 10.0 * steps)
    store.total_steps = total
    return store


def exited(store: MetricStore, fact: ProcessExit | None, now_s: float = 1000.0) -> list[str]:
    engine = AdviceEngine({})
    engine.observe_process_exit(fact)
    return [f.rule for f in engine.update(store, now_s=now_s).active]


def test_the_rule_is_registered_as_critical() -> None:
    info = {r.id: r for r in RULES}["process-exited"]
    assert (info.family, info.severity) == ("lifecycle", "critical")


def test_a_killed_run_gets_a_critical_finding_that_rings_once() -> None:
    store = run(30, total=1500)
    engine = AdviceEngine({})
    assert engine.update(store, now_s=300.0).active == ()
    engine.observe_process_exit(KILLED)
    state = engine.update(store, now_s=301.0)
    (finding,) = [f for f in state.active if f.rule == "process-exited"]
    assert finding.severity == "critical" and finding.step == 300
    assert finding.title == "Training process 4242 exited at step 300 of 1500"
    assert "killed by SIGKILL" in finding.evidence and "dmesg" in finding.advice
    assert state.new_critical
    assert not engine.update(store, now_s=302.0).new_critical
    assert "process-exited" in {f.rule for f in engine.findings()}


def test_a_finished_run_gets_none() -> None:
    assert "process-exited" not in exited(run(30, summary=True), KILLED)
    assert "process-exited" not in exited(run(30, total=300), KILLED)  # last step == total
    assert "process-exited" in exited(run(30, total=301), KILLED)
    assert "process-exited" not in exited(run(30), None)


def test_a_summary_read_after_the_exit_clears_it() -> None:
    store = run(30)
    engine = AdviceEngine({})
    engine.observe_process_exit(KILLED)
    assert "process-exited" in {f.rule for f in engine.update(store, 400.0).active}
    store.extend([MetricRecord("summary", 300, {"train_loss": 2.0})], 401.0)
    assert "process-exited" not in {f.rule for f in engine.update(store, 402.0).active}


def test_a_clean_exit_before_the_end_is_a_warning() -> None:
    engine = AdviceEngine({})
    engine.observe_process_exit(ProcessExit(7, ExitStatus(code=0)))
    (finding,) = engine.update(run(30, total=900), 400.0).active
    assert finding.severity == "warning"


def test_the_exit_replaces_no_progress_and_a_new_process_brings_it_back() -> None:
    store = run(30)
    late = 290.0 + 3600
    assert exited(store, None, late) == ["no-progress"]
    assert exited(store, KILLED, late) == ["process-exited"]
    engine = AdviceEngine({})
    engine.observe_process_exit(KILLED)
    engine.update(store, late)
    engine.observe_process_exit(None)  # a restarted run was found
    assert [f.rule for f in engine.update(store, late).active] == ["no-progress"]


def test_the_same_fact_and_records_give_the_same_finding_however_batched() -> None:
    whole = run(60, total=900)
    engine = AdviceEngine({})
    engine.observe_process_exit(KILLED)
    once = engine.update(whole, 700.0).active
    batched = MetricStore()
    stepwise = AdviceEngine({})
    stepwise.observe_process_exit(KILLED)
    for k in range(60):
        batched.extend([MetricRecord("train", (k + 1) * 10, {"loss": 3.0 - 0.01 * k})], 10.0 * k)
        stepwise.update(batched, 10.0 * k)
    batched.total_steps = 900
    assert stepwise.update(batched, 700.0).active == once


def test_the_rule_reads_the_exit_codes_not_their_words() -> None:
    """In Russian the evidence says how the process ended in Russian, and a SIGKILL still
    gets the OOM-killer advice and a clean exit still only a warning."""
    assert i18n.set_language("ru") == "ru"
    try:
        killed = exited_finding(run(30, total=1500), KILLED)
        clean = exited_finding(run(30, total=1500), ProcessExit(7, ExitStatus(code=0)))
    finally:
        i18n.set_language(i18n.ENGLISH)
    assert "убит сигналом SIGKILL" in killed.evidence and "dmesg" in killed.advice
    assert killed.severity == "critical"
    assert "код выхода 0" in clean.evidence and "dmesg" not in clean.advice
    assert clean.severity == "warning"


def exited_finding(store: MetricStore, fact: ProcessExit) -> Finding:
    engine = AdviceEngine({})
    engine.observe_process_exit(fact)
    (finding,) = [f for f in engine.update(store, now_s=301.0).active if f.rule == "process-exited"]
    return finding
