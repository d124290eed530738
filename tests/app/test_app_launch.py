"""`trainmon.ui.launch`: what happens before the UI starts, and the worker step functions."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainmon.config import DashboardOptions
from trainmon.parsing.text_events import TextEventScanner
from trainmon.records import FollowEvent, MetricRecord
from trainmon.ui.launch import make_sources, run
from trainmon.ui.messages import FollowStateChanged, RecordsParsed
from trainmon.ui.workers import FollowStep


def test_replay_of_a_missing_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(DashboardOptions(paths=(str(tmp_path / "gone.log"),), mode="replay"))
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("trainmon: cannot start the replay:")
    assert err.count("\n") == 1


def test_no_log_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(DashboardOptions()) == 2
    assert "no log to follow" in capsys.readouterr().err


def test_no_gpu_never_samples_nvml() -> None:
    gpu, cpu = make_sources(DashboardOptions(paths=("x.log",), no_gpu=True), ("x.log",))
    assert gpu.sample().status == "disabled"
    assert cpu is not None


class ScriptedFollower:
    """Returns one scripted poll result per call, then nothing."""

    def __init__(self, polls: list[object]) -> None:
        self.polls = polls
        self.caught_up = False
        self.finished = False
        self.offset = 0
        self.size = 100

    def poll(self) -> object:
        if not self.polls:
            self.caught_up = True
            self.offset = self.size
            return []
        self.offset += 10
        return self.polls.pop(0)


class LineParser:
    """One record per line `step loss`; counts lines; `finish` flushes a held last line."""

    created = 0

    def __init__(self) -> None:
        LineParser.created += 1
        self.format = "test-lines"
        self.total_steps: int | None = None
        self.lines = 0
        self.unparsed_lines = 0
        self.context: dict[str, object] = {}
        self.held = b""
        self.records = 0
        self.text_events = TextEventScanner()

    def feed(self, data: bytes) -> list[MetricRecord]:
        out = []
        for line in (self.held + data).splitlines():
            self.lines += 1
            try:
                step, loss = line.split()
                out.append(MetricRecord("train", int(step), {"loss": float(loss)}))
            except ValueError:
                self.unparsed_lines += 1
        self.held = b""
        return out

    def finish(self) -> list[MetricRecord]:
        return []

    rewritable = False

    @property
    def series_sources(self) -> dict[str, str]:
        return {}

    def release(self) -> list[MetricRecord]:
        return []


def test_truncation_is_posted_before_the_new_segment_and_restarts_the_parser() -> None:
    follower = ScriptedFollower(
        [[b"1 2.0\n2 1.9\n", FollowEvent("truncated", "x.log"), b"1 3.0\n"]]
    )
    before = LineParser.created
    step = FollowStep(0, follower, LineParser)
    messages = step.step()
    kinds = [type(m).__name__ for m in messages]
    assert kinds == ["RecordsParsed", "FollowStateChanged", "RecordsParsed"]
    first, event, second = messages
    assert isinstance(first, RecordsParsed) and [r.step for r in first.records] == [1, 2]
    assert isinstance(event, FollowStateChanged) and event.event.kind == "truncated"
    assert isinstance(second, RecordsParsed) and [r.step for r in second.records] == [1]
    assert second.progress.lines == 1  # counters of the new parser
    assert LineParser.created == before + 2


def test_garbage_is_counted_not_raised() -> None:
    step = FollowStep(0, ScriptedFollower([[b"\xff\xfe garbage\n1 2.0\n"]]), LineParser)
    (message,) = step.step()
    assert isinstance(message, RecordsParsed)
    assert message.progress.unparsed_lines == 1 and len(message.records) == 1
    assert message.progress.log_format == "test-lines"


def test_a_failing_follower_becomes_an_error_state() -> None:
    class Broken:
        def poll(self) -> object:
            raise OSError("disk on fire")

    step = FollowStep(0, Broken(), LineParser)
    (message,) = step.step()
    assert isinstance(message, FollowStateChanged)
    assert message.event.kind == "error" and "disk on fire" in message.event.detail
    assert step.caught_up


def test_idle_poll_posts_nothing_and_asks_to_sleep() -> None:
    step = FollowStep(0, ScriptedFollower([]), LineParser)
    step.step()  # the first catch-up is posted once (see below)
    assert step.step() == []
    assert step.caught_up


def test_the_history_carries_its_backlog_until_the_first_catch_up() -> None:
    step = FollowStep(0, ScriptedFollower([[b"1 2.0\n"], [b"2 1.9\n"]]), LineParser)
    first, second = step.step(), step.step()
    assert [m.backlog for m in first + second if isinstance(m, RecordsParsed)] == [
        (10, 100),
        (20, 100),
    ]
    (caught_up,) = step.step()  # no records, but the UI must learn that the history is read
    assert isinstance(caught_up, RecordsParsed)
    assert caught_up.records == () and caught_up.backlog is None
    assert not step.reading_history
    step.follower.polls.append([b"3 1.8\n"])
    (live,) = step.step()
    assert isinstance(live, RecordsParsed) and live.backlog is None and len(live.records) == 1


def test_events_and_chunks_are_posted_in_order_and_empty_chunks_skipped() -> None:
    event = FollowEvent("opened", "x")
    step = FollowStep(0, ScriptedFollower([[event, b"1 2.0\n", b""]]), LineParser)
    opened, parsed = step.step()
    assert isinstance(opened, FollowStateChanged) and opened.event == event
    assert isinstance(parsed, RecordsParsed) and [r.step for r in parsed.records] == [1]
    assert parsed.progress.lines == 1


def test_a_parser_bug_is_posted_as_an_error_after_the_records() -> None:
    class BrokenOnSecondFeed(LineParser):
        def feed(self, data: bytes) -> list[MetricRecord]:
            if self.lines:
                raise RuntimeError("parser bug")
            return super().feed(data)

    step = FollowStep(0, ScriptedFollower([[b"1 2.0\n", b"2 1.9\n"]]), BrokenOnSecondFeed)
    parsed, error = step.step()
    assert isinstance(parsed, RecordsParsed) and [r.step for r in parsed.records] == [1]
    assert isinstance(error, FollowStateChanged) and error.event.kind == "error"
    assert error.event.detail == "parser failed: RuntimeError: parser bug"
    (caught_up,) = step.step()  # the first catch-up is posted; the error is not repeated
    assert isinstance(caught_up, RecordsParsed)
    assert step.step() == []


def test_the_status_names_the_series_a_log_printed_under_another_name() -> None:
    from trainmon.parsing import LogParser

    follower = ScriptedFollower([[b"iter 1 | lm_loss: 2.5 | lr: 1e-4\niter 2 | lm_loss: 2.4\n"]])
    step = FollowStep(0, follower, LogParser)
    parsed = [m for m in step.step() + step.step() if isinstance(m, RecordsParsed)]
    assert [r.values["loss"] for m in parsed for r in m.records] == [2.5, 2.4]
    assert parsed[-1].progress.described_format == "key-value (loss = lm_loss, learning_rate = lr)"
