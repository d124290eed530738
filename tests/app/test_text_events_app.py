"""A crash printed into a followed log reaches the dashboard: the advice pane shows it, the
bell rings once, and the loss plot marks its step."""

from __future__ import annotations

from pathlib import Path

from tests.app.helpers import jsonl, make_app, screen_text, wait_until
from trainmon.ui.widgets.loss_plot import LossPlot

TRACEBACK = (
    "[rank3]: Traceback (most recent call last):\n"
    '[rank3]:   File "train.py", line 88, in <module>\n'
    "[rank3]:     loss.backward()\n"
    "[rank3]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 3 "
    "has a total capacity of 79.10 GiB of which 1.10 GiB is free.\n"
)


async def test_a_crash_appended_live_shows_as_advice_and_a_plot_marker(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("".join(jsonl(step, 2.0 - step * 0.01) for step in range(1, 21)))
    app = make_app([log])
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.runs[0].store.records == 20, "the records")
        assert app.bells == 0
        with log.open("a") as f:
            f.write(TRACEBACK)
        await wait_until(
            pilot, lambda: "rank 3: CUDA out of memory" in screen_text(app), "the crash finding"
        )
        active = app.runs[0].run.advice.active
        assert (active[0].rule, active[0].severity, active[0].step) == ("cuda-oom", "critical", 20)
        plot = app.query_one("#loss", LossPlot)
        await wait_until(pilot, lambda: (20, "critical") in plot._markers, "the marker at step 20")
        await pilot.pause(0.5)
        assert app.bells == 1
