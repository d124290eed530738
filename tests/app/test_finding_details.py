"""Selecting a finding, reading it in full, muting and unmuting it: by keys alone, at every
width (the 60-column pane shows titles only, so the details modal is the way to the text)."""

from __future__ import annotations

import pytest

from tests.app.helpers import screen_text, wait_until
from tests.app.test_keys import make_app, started
from trainmon.records import Finding
from trainmon.ui.finding_details import FindingDetails, Occurrences, occurrences
from trainmon.ui.widgets.advice_panel import AdvicePanel


@pytest.mark.parametrize("width", [200, 160, 100, 60, 45])
async def test_enter_opens_details_and_m_mutes_and_unmutes(width: int) -> None:
    app = make_app()
    async with app.run_test(size=(width, 40)) as pilot:
        await started(app, pilot)
        panel = app.query_one("#advice", AdvicePanel)
        await pilot.press("down")  # no focus needed: the app hands the keys to the list
        await wait_until(
            pilot,
            lambda: panel.selected is not None and panel.selected[1].rule == "loss-spike",
            "the second finding to be selected",
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, FindingDetails), "the details")
        text = screen_text(app)
        for field in ("evidence:", "x4 at step 10", "advice:", "check the batch", "first step:"):
            assert field in text, field
        await pilot.press("m")
        await wait_until(pilot, lambda: "loss-spike" in app.muted, "the rule to be muted")
        assert "m: unmute" in screen_text(app)
        assert [f.rule for _run, f in panel.active] == ["overfitting"]
        await pilot.press("m")
        await wait_until(pilot, lambda: "loss-spike" not in app.muted, "the rule to be unmuted")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, FindingDetails), "it to close")
        app.tick()
        await wait_until(
            pilot,
            lambda: [f.rule for _run, f in panel.active] == ["overfitting", "loss-spike"],
            "the unmuted finding to come back",
        )


async def test_a_muted_rule_stays_listed_and_m_on_its_row_unmutes() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        panel = app.query_one("#advice", AdvicePanel)
        await pilot.press("down", "m")
        await wait_until(pilot, lambda: "(muted) loss spike" in screen_text(app), "the muted row")
        assert "the run looks healthy" not in screen_text(app)
        assert panel.selected_muted == "loss-spike"  # the selection follows the muted row
        await pilot.press("m")
        await wait_until(pilot, lambda: not app.muted, "the rule to be unmuted")
        app.tick()
        await wait_until(pilot, lambda: len(panel.active) == 2, "both findings back")


def test_occurrences_read_a_recurring_findings_episodes() -> None:
    once = Finding("nan-loss", "critical", 40, "NaN", "loss NaN at step 40", "lower the LR")
    assert occurrences(once) == Occurrences(40, 40, 1)
    again = Finding(
        "nan-loss", "critical", 40, "NaN", "3 episodes (first at step 40, last at step 900); x", ""
    )
    seen = occurrences(again)
    assert (seen.first, seen.last, seen.count) == (40, 900, 3)
