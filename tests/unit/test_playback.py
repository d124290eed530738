"""Playback: lines reach the file in order, at the scaled pace, and stop on request."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from trainmon.playback import (
    MAX_WAIT_S,
    UNIFORM_LINE_S,
    UNIFORM_REDRAW_S,
    LogPlayer,
    Playback,
    printed_time,
    replay_lines,
    split_records,
    start_replay,
)

FAST = 1e12  # every line is due at once: no real waiting in tests


class FakeTime:
    """A clock that advances only when the player waits."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(round(seconds, 9))
        self.now += seconds
        return False


def play(lines: list[tuple[float, str]], path: Path, **kwargs: object) -> LogPlayer:
    player = LogPlayer(lines, path, **kwargs)  # type: ignore[arg-type]
    player.start()
    assert player.join(10.0), "player did not finish"
    return player


def test_writes_every_line_in_order_with_line_endings(tmp_path: Path) -> None:
    lines = [(0.0, "header"), (0.0, "\r 10%|#"), (0.0, "\r 20%|##"), (1.0, "{'loss': 1.0}\n")]
    player = play(lines, tmp_path / "run.log", speed=FAST)
    # \r 20%|#\r 20%|##{'loss': 1.0}\n"
    assert player.lines_written == 4 and player.error is None and not player.running


def test_pace_is_the_log_time_divided_by_speed(tmp_path: Path) -> None:
    fake = FakeTime()
    lines = [(0.0, "a"), (1.0, "b"), (1.0, "c"), (3.0, "d")]
    player = play(lines, tmp_path / "x.log", speed=2.0, wait=fake.wait, clock=fake.clock)
    assert fake.waits == [0.5, 1.0]
    assert player.lines_written == 4


def test_long_gaps_are_capped(tmp_path: Path) -> None:
    fake = FakeTime()
    lines = [(0.0, "a"), (10_000.0, "b"), (10_001.0, "c")]
    play(lines, tmp_path / "x.log", speed=1.0, wait=fake.wait, clock=fake.clock)
    assert fake.waits == [MAX_WAIT_S, 1.0]


def test_bad_speed_and_times_fall_back_safely(tmp_path: Path) -> None:
    fake = FakeTime()
    lines = [(0.0, "a"), (float("nan"), "b"), (2.0, "c")]
    player = play(lines, tmp_path / "x.log", speed=-3.0, wait=fake.wait, clock=fake.clock)
    assert player.speed == 1.0
    assert fake.waits == [2.0]
    assert (tmp_path / "x.log").read_bytes() == b"a\nb\nc\n"


def test_stop_ends_an_endless_player(tmp_path: Path) -> None:
    def endless() -> Iterator[tuple[float, str]]:
        for i in itertools.count():
            yield (i * 0.01, f"line {i}")

    player = LogPlayer(endless(), tmp_path / "x.log", speed=1.0).start()
    assert player.running
    player.stop(timeout_s=10.0)
    assert not player.running and player.stopped


def test_write_errors_are_kept_not_raised() -> None:
    full = Path("/dev/full")  # every write fails with ENOSPC
    if not full.exists():
        pytest.skip("/dev/full is Linux-only")
    player = LogPlayer([(0.0, "a")], full, speed=FAST).start()
    assert player.join(10.0)
    assert player.error is not None and "/dev/full" in player.error
    assert player.lines_written == 0


def test_split_records_keeps_terminators() -> None:
    data = b"a\nb\r\nc\rd\r\xffe"
    assert list(split_records(data)) == ["a\n", "b\r\n", "c\r", "d\r", "\ufffde"]
    assert list(split_records(b"")) == []


def test_printed_time() -> None:
    expected = datetime(2024, 5, 1, 12, 30, 15).timestamp() + 0.25
    assert printed_time("2024-05-01 12:30:15,250 - INFO - hi") == pytest.approx(expected)
    assert printed_time("[INFO] 2024-05-01T12:30:15.25 x") == pytest.approx(expected)
    assert printed_time("{'loss': 1.0}") is None
    assert printed_time("2024-13-45 99:00:00 bad date") is None


def test_replay_uses_printed_times_when_most_lines_have_them() -> None:
    data = (
        b"2024-05-01 12:00:00 start\n"
        b"2024-05-01 12:00:10 step 1\n"
        b"no stamp here\n"
        b"2024-05-01 12:00:05 clock went back\n"
        b"2024-05-01 12:01:00 done\n"
    )
    times = [t for t, _ in replay_lines(data)]
    assert times == [0.0, 10.0, 10.0, 10.0, 60.0]


def test_replay_without_stamps_uses_a_uniform_pace() -> None:
    data = b"header\n\r 1%\r 2%\n{'loss': 1}\n"
    timed = replay_lines(data)
    assert [text for _, text in timed] == ["header\n", "\r", " 1%\r", " 2%\n", "{'loss': 1}\n"]
    r = UNIFORM_REDRAW_S
    expected = [0.0, UNIFORM_LINE_S, UNIFORM_LINE_S + r, UNIFORM_LINE_S + 2 * r]
    expected.append(expected[-1] + UNIFORM_LINE_S)
    assert [t for t, _ in timed] == pytest.approx(expected)


def test_start_replay_reproduces_the_log(tmp_path: Path) -> None:
    source = tmp_path / "finished.log"
    source.write_bytes(b"start\n\r 50%|#####\r100%|##########\n{'loss': 0.5, 'epoch': 1.0}\n")
    out = tmp_path / "tmp"
    playback = start_replay(source, FAST, out)
    assert isinstance(playback, Playback)
    assert playback.path == out / "replay-finished.log"
    assert playback.player.join(10.0)
    assert playback.path.read_bytes() == source.read_bytes()
    assert not playback.running
    playback.stop()


def test_start_replay_of_a_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        start_replay(tmp_path / "absent.log", 10.0, tmp_path)


def test_replaying_real_logs_reproduces_them(shared_logs: Path, tmp_path: Path) -> None:
    for source in sorted(shared_logs.glob("*.log"))[:4]:
        data = source.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        playback = start_replay(source, FAST, tmp_path)
        assert playback.player.join(30.0)
        assert playback.path.read_bytes() == data, source.name


def test_demo_writes_a_log_that_grows(tmp_path: Path) -> None:
    from trainmon.playback import DEMO_LOG_NAME, start_demo

    playback = start_demo(tmp_path, steps=200, seconds=1e-9)
    try:
        assert playback.path == tmp_path / DEMO_LOG_NAME
        assert playback.player.join(30.0)
        data = playback.path.read_bytes()
        assert b"'loss'" in data and b"'eval_loss'" in data and b"'learning_rate'" in data
        assert b"it/s]\r" in data  # tqdm redraws
        assert data.endswith(b"}\n")
    finally:
        playback.stop()


def test_demo_is_paced_to_the_requested_length(tmp_path: Path) -> None:
    from trainmon.playback import start_demo

    playback = start_demo(tmp_path, steps=100, seconds=3600.0)
    try:
        assert playback.running  # an hour-long demo is still writing
        assert playback.player.speed < 1.0  # 100 simulated steps stretched to an hour
    finally:
        playback.stop()
    assert not playback.running
