"""What is worth a notification (`AlertWatch`), told once each, and the notifier's thread:
rate-limited, alerts that arrive meanwhile go out together, failures are values."""

from __future__ import annotations

import threading
import time

from trainmon import i18n
from trainmon.alerts import AlertWatch, stall_limit_s
from trainmon.notify import Alert, Notifier, combined, notify_status
from trainmon.records import MetricRecord
from trainmon.run import Run
from trainmon.sources.samples import ExitStatus, ProcessExit


def _run(records: int, *, every_s: float = 2.0, start_s: float = 1000.0) -> Run:
    run = Run("train.log")
    for i in range(1, records + 1):
        run.take(
            [MetricRecord("train", i, {"loss": 3.0 - i / 100})], arrival_s=start_s + i * every_s
        )
    return run


def test_a_crash_is_told_once_with_how_the_trainer_ended() -> None:
    run, watch = _run(5), AlertWatch()
    assert watch.check("r", run, 1011.0) == []
    crash = ProcessExit(4242, ExitStatus(signal="SIGKILL"), 1011.0)
    (alert,) = watch.check("r", run, 1012.0, crash)
    assert (alert.kind, alert.title, alert.level) == ("crashed", "trainmon: r crashed", "failure")
    assert alert.body == "training process 4242 exited (killed by SIGKILL) at step 5"
    assert watch.check("r", run, 1013.0, crash) == []
    assert watch.check("r", run, 5000.0, crash) == []  # ended: no stall after it


def test_a_clean_exit_is_a_finished_run_and_an_unknown_status_is_an_end() -> None:
    (done,) = AlertWatch().check("r", _run(3), 1010.0, ProcessExit(1, ExitStatus(code=0)))
    assert (done.kind, done.title) == ("finished", "trainmon: r finished")
    (ended,) = AlertWatch().check("r", _run(3), 1010.0, ProcessExit(1, None))
    assert (ended.title, ended.level) == ("trainmon: r ended", "warning")


def test_the_default_stall_limit_is_five_median_intervals_at_least_ten_minutes() -> None:
    assert stall_limit_s(_run(20, every_s=2.0), None) == 600.0
    assert stall_limit_s(_run(20, every_s=300.0), None) == 1500.0
    assert stall_limit_s(_run(20, every_s=300.0), 42.0) == 42.0
    run, watch = _run(20, every_s=300.0), AlertWatch()
    last = 1000.0 + 20 * 300.0
    assert watch.check("r", run, last + 1400.0) == []
    (stall,) = watch.check("r", run, last + 1500.0)
    assert stall.body == "no new record for 25 min (limit 25 min); last step 20"
    assert watch.check("r", run, last + 9000.0) == []  # once per quiet spell
    run.take([MetricRecord("train", 21, {"loss": 2.0})], arrival_s=last + 9100.0)
    assert watch.check("r", run, last + 9200.0) == []
    assert len(watch.check("r", run, last + 9100.0 + 1500.0)) == 1  # a new quiet spell


def test_findings_below_the_chosen_severity_are_not_sent() -> None:
    run = Run("t.log")
    values = [3.0, 2.9, float("nan")]
    run.take(
        [MetricRecord("train", i + 1, {"loss": v}) for i, v in enumerate(values)], arrival_s=1.0
    )
    run.advise(2.0)
    assert {f.rule for f in run.advice.active} >= {"nan-loss"}
    critical = AlertWatch("critical").check("t", run, 2.0)
    assert [a.title for a in critical] == ["trainmon: t: Train loss became nan"]
    assert AlertWatch("critical").check("t", Run("empty.log"), 2.0) == []


def test_the_notifier_sends_on_its_thread_and_groups_a_burst_within_the_gap() -> None:
    sent: list[tuple[str, str, str]] = []
    first_send = threading.Event()

    def send(title: str, body: str, level: str) -> tuple[bool, str]:
        sent.append((title, body, level))
        first_send.set()
        return True, ""

    notifier = Notifier(send, min_gap_s=0.5)
    notifier.start()
    try:
        notifier.post(Alert("finding", "a", "one", "1", "warning"))
        assert first_send.wait(10)
        for n in ("two", "three"):
            notifier.post(Alert("finding", "a", n, n, "failure" if n == "three" else "warning"))
        deadline = time.monotonic() + 10
        while len(sent) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        notifier.stop()
    assert sent[0] == ("one", "1", "warning")
    assert sent[1] == ("trainmon: 2 alerts", "two\ntwo\n\nthree\nthree", "failure")
    assert notifier.sent == 3 and notifier.failed == 0 and notify_status(notifier) == ""


def test_a_failed_or_broken_send_is_a_value_never_an_exception() -> None:
    def refuse(title: str, body: str, level: str) -> tuple[bool, str]:
        raise ConnectionError("receiver gone")

    notifier = Notifier(refuse, min_gap_s=0.0)
    notifier.start()
    notifier.post(Alert("stalled", "a", "t", "b"))
    deadline = time.monotonic() + 10
    while notifier.last is None and time.monotonic() < deadline:
        time.sleep(0.02)
    notifier.stop()
    assert notifier.last is not None and not notifier.last.ok
    assert notify_status(notifier) == "notify failed: ConnectionError: receiver gone"


def test_a_full_queue_drops_and_counts() -> None:
    notifier = Notifier(lambda *a: (True, ""), queue_max=2)  # never started: nothing drains
    for _ in range(5):
        notifier.post(Alert("stalled", "a", "t", "b"))
    assert notifier.dropped == 3 and notifier.pending == 2
    assert notify_status(notifier) == "3 alerts dropped"
    assert combined([Alert("finished", "a", "t", "b", "success")]) == ("t", "b", "success")


def test_alerts_are_in_the_chosen_language_their_kinds_and_levels_are_not() -> None:
    assert i18n.set_language("ru") == "ru"
    try:
        crash = ProcessExit(4242, ExitStatus(signal="SIGKILL"), 1011.0)
        (crashed,) = AlertWatch().check("r", _run(5), 1012.0, crash)
        run = _run(20, every_s=300.0)
        (stall,) = AlertWatch().check("r", run, 1000.0 + 20 * 300.0 + 1500.0)
        title, _body, level = combined([crashed, stall])
        notifier = Notifier(lambda *a: (True, ""), queue_max=2)  # never started: nothing drains
        for _ in range(5):
            notifier.post(stall)
        status = notify_status(notifier)
    finally:
        i18n.set_language(i18n.ENGLISH)
    assert (crashed.kind, crashed.level, crashed.title) == (
        "crashed",
        "failure",
        "trainmon: r упал",
    )
    assert crashed.body == "процесс обучения 4242 завершился (убит сигналом SIGKILL) на шаге 5"
    assert stall.body == "нет новых записей 25 мин (предел 25 мин); последний шаг 20"
    assert (title, level) == ("trainmon: 2 оповещения", "failure")
    assert status == "3 оповещения отброшено"
