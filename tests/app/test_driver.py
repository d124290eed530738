"""The quiet terminal driver: keys arrive, a lone Escape arrives after the parser's pause,
the thread sleeps between keys, and setting the exit flag wakes it at once.

Driven through a real pseudo-terminal and Textual's real key parser; only the app the driver
would post to is a recorder.
"""

from __future__ import annotations

import os
import pty
import selectors
import threading
import time
import tty
from collections.abc import Iterator
from typing import Any

import pytest
from textual import events
from textual._xterm_parser import XTermParser

from trainmon.ui import driver as driver_module
from trainmon.ui.driver import QuietLinuxDriver, WakingEvent, parser_wait_s

TIMEOUT_S = 10.0


class CountingSelector(selectors.SelectSelector):
    """Counts how often the input thread woke up from `select`."""

    wakeups = 0

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(timeout)
        CountingSelector.wakeups += 1
        return ready


class Recorder:
    """Stands in for the driver's `process_message` target: keeps the keys in order."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.arrived = threading.Condition()

    def add(self, message: object) -> None:
        if isinstance(message, events.Key):
            with self.arrived:
                self.keys.append(message.key)
                self.arrived.notify_all()

    def wait_for(self, count: int) -> list[str]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.keys) >= count, TIMEOUT_S), self.keys
            return list(self.keys)


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[QuietLinuxDriver, int, Recorder]]:
    """A driver reading the slave side of a pty in its own thread; yields the master fd."""
    monkeypatch.setattr(driver_module.selectors, "SelectSelector", CountingSelector)
    CountingSelector.wakeups = 0
    master, slave = pty.openpty()
    tty.setraw(slave)  # as the app's terminal: keys arrive one by one, not per line
    driver = QuietLinuxDriver.__new__(QuietLinuxDriver)  # no app, no terminal set-up
    driver._debug = False
    driver.fileno = slave
    driver.exit_event = WakingEvent()
    recorder = Recorder()
    monkeypatch.setattr(driver, "process_message", recorder.add)
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    try:
        yield driver, master, recorder
    finally:
        driver.exit_event.set()
        thread.join(TIMEOUT_S)
        driver.exit_event.close()
        os.close(master)
        os.close(slave)
    assert not thread.is_alive()


def test_keys_arrive_in_order(running: tuple[QuietLinuxDriver, int, Recorder]) -> None:
    _, master, recorder = running
    os.write(master, b"qx?")
    assert recorder.wait_for(3) == ["q", "x", "question_mark"]


def test_a_lone_escape_arrives_after_the_parser_pause(
    running: tuple[QuietLinuxDriver, int, Recorder],
) -> None:
    _, master, recorder = running
    os.write(master, b"\x1b")
    assert recorder.wait_for(1) == ["escape"]


def test_the_thread_sleeps_while_no_key_arrives(
    running: tuple[QuietLinuxDriver, int, Recorder],
) -> None:
    """The stock driver wakes every 0.1 s (about 8 times in 0.8 s); this one not at all."""
    time.sleep(0.8)
    assert CountingSelector.wakeups == 0


def test_setting_the_exit_flag_ends_the_thread_at_once(
    running: tuple[QuietLinuxDriver, int, Recorder],
) -> None:
    driver, _, _ = running
    started = time.monotonic()
    driver.exit_event.set()
    while CountingSelector.wakeups == 0 and time.monotonic() - started < TIMEOUT_S:
        time.sleep(0.01)
    assert CountingSelector.wakeups >= 1


def test_the_wait_follows_the_parser_deadline() -> None:
    parser = XTermParser(False)
    assert parser_wait_s(parser, time.monotonic()) is None
    list(parser.feed("\x1b"))  # half of an escape sequence: the parser sets a deadline
    wait = parser_wait_s(parser, time.monotonic())
    assert wait is not None and 0.0 < wait <= 1.0
    assert parser_wait_s(parser, time.monotonic() + 5.0) == 0.0
    assert parser_wait_s(object(), 0.0) == driver_module.FALLBACK_WAIT_S


def test_the_waking_event_is_readable_only_while_set() -> None:
    event = WakingEvent()
    try:
        with selectors.SelectSelector() as selector:
            selector.register(event.fileno(), selectors.EVENT_READ)
            assert selector.select(0) == []
            event.set()
            event.set()
            assert len(selector.select(0)) == 1 and event.is_set()
            event.clear()
            assert selector.select(0) == [] and not event.is_set()
    finally:
        event.close()


def test_the_app_runs_on_the_quiet_driver() -> None:
    from trainmon.config import DashboardOptions
    from trainmon.ui.app import TrainmonApp

    app = TrainmonApp(DashboardOptions(paths=("run.log",)), start_workers=False)
    assert app.get_driver_class() is QuietLinuxDriver


def test_a_textual_without_the_private_parser_gets_the_stock_driver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If a Textual release moves `_xterm_parser`, the dashboard falls back to its driver."""
    import sys

    from textual.drivers.linux_driver import LinuxDriver

    from trainmon.config import DashboardOptions
    from trainmon.ui.app import TrainmonApp

    monkeypatch.setitem(sys.modules, "textual._xterm_parser", None)  # import raises
    monkeypatch.delitem(sys.modules, "trainmon.ui.driver")
    app = TrainmonApp(DashboardOptions(paths=("run.log",)), start_workers=False)
    assert app.get_driver_class() is LinuxDriver
