"""Notifications through apprise's generic JSON scheme (`json://`) to a webhook receiver on
loopback, from the real dashboard following a real log: the right messages, once each, and a
dead or slow receiver never holds up the dashboard."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.app.helpers import make_app, status_lines, wait_until, write_steps
from tests.prometheus.helpers import WebhookReceiver, free_port
from trainmon.alert_options import AlertOptions
from trainmon.notify import Notifier, apprise_sender
from trainmon.outbound import Outbound
from trainmon.ui.app import TrainmonApp

pytest.importorskip("apprise", reason="--notify needs trainmon[notify]")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()


def _outbound(url: str, *, stall_after_s: float | None = None, gap_s: float = 0.1) -> Outbound:
    options = AlertOptions(notify=(url,), stall_after_s=stall_after_s)
    outbound = Outbound(options, notifier=Notifier(apprise_sender([url]), min_gap_s=gap_s))
    outbound.start()
    return outbound


@asynccontextmanager
async def nan_appended(
    log: Path, url: str, records: int, *, stall_after_s: float | None = None
) -> AsyncIterator[tuple[TrainmonApp, Pilot[None], Outbound]]:
    """The dashboard, notifying URL, on LOG of RECORDS steps: once it has read them, a NaN
    loss is appended. The notifier is closed afterwards."""
    write_steps(log, range(1, records + 1), mode="w")
    outbound = _outbound(url, stall_after_s=stall_after_s)
    app = make_app([log], outbound=outbound)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.runs[0].store.records == records, "the history")
            with log.open("a") as f:
                f.write(f'{{"step": {records + 1}, "loss": NaN}}\n')
            yield app, pilot, outbound
    finally:
        outbound.close()


async def test_a_finding_a_stall_and_the_end_are_each_sent_once(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    log = tmp_path / "run.log"
    async with nan_appended(log, receiver.url, 8, stall_after_s=1.5) as (_, pilot, _):
        await wait_until(pilot, lambda: len(receiver.bodies) >= 1, "the NaN alert")
        first = receiver.bodies[0]
        assert first["title"] == "trainmon: run.log: Train loss became nan", first
        assert "nan-loss" in first["message"] and first["type"] == "failure"
        # No record for 1.5 s: the stall is told once, however long the quiet lasts.
        await wait_until(pilot, lambda: len(receiver.bodies) >= 2, "the stall alert")
        assert receiver.bodies[1]["title"] == "trainmon: run.log has stalled"
        assert "no new record for" in receiver.bodies[1]["message"]
        await pilot.pause(2.0)
        assert len(receiver.bodies) == 2
        write_steps(log, [10, 11])
        with log.open("a") as f:
            f.write(json.dumps({"train_runtime": 30.0, "train_loss": 1.9, "epoch": 1.0}) + "\n")
        await wait_until(pilot, lambda: len(receiver.bodies) >= 3, "the end of the run")
        assert receiver.bodies[2]["title"] == "trainmon: run.log finished"
        assert receiver.bodies[2]["message"] == "run finished at step 11"
        assert receiver.bodies[2]["type"] == "success"
        await pilot.pause(2.5)  # ticks go on: nothing is told twice, no stall after the end
    assert [b["title"] for b in receiver.bodies] == [
        "trainmon: run.log: Train loss became nan",
        "trainmon: run.log has stalled",
        "trainmon: run.log finished",
    ]


async def test_a_dead_receiver_is_said_in_the_status_line_and_keys_still_work(
    tmp_path: Path,
) -> None:
    url = f"json://127.0.0.1:{free_port()}/hook"  # nobody listens there
    async with nan_appended(tmp_path / "run.log", url, 5) as (app, pilot, outbound):
        await wait_until(
            pilot, lambda: "notify failed" in status_lines(app)[0], "the failure in the status"
        )
        assert outbound.notifier is not None and outbound.notifier.failed == 1
        await pilot.press("space")
        assert app.paused
        await pilot.press("space")
        assert not app.paused


async def test_a_slow_receiver_never_stalls_the_dashboard(tmp_path: Path) -> None:
    slow = WebhookReceiver(delay_s=30.0)  # holds every request until closed
    log = tmp_path / "run.log"
    try:
        async with nan_appended(log, slow.url, 5) as (app, pilot, _):
            await wait_until(pilot, lambda: slow.requests == 1, "the send to hang")
            # The send hangs on its own thread: keys, records and redraws go on.
            for _ in range(3):
                log_y = app.log_y
                await pilot.press("l")
                assert app.log_y is not log_y
            write_steps(log, [7, 8])
            await wait_until(pilot, lambda: "step 8" in status_lines(app)[0], "new records")
            assert slow.requests == 1 and not slow.bodies
    finally:
        slow.close()
