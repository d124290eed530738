"""`trainmon DIR`: the run list fills in from the runs and returns the runs picked."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from textual.widgets import DataTable

from trainmon.inputs.discover import discover_runs
from trainmon.ui.run_list import RunListApp


def _folder(tmp_path: Path) -> Path:
    now = time.time()
    for i, (name, text) in enumerate(
        [
            ("new.log", "step=1 loss=2.5\nstep=2 loss=nan\n"),
            ("lightning/metrics.csv", "epoch,step,train_loss\n0,5,0.9\n0,10,0.8\n"),
            ("old.log", "step=1 loss=1.5\n"),
        ]
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.utime(path, (now - 1000 * i, now - 1000 * i))
    return tmp_path


async def _filled(app: RunListApp, count: int) -> None:
    for _ in range(400):
        if len(app.rows) == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{len(app.rows)} of {count} rows read")


async def test_rows_fill_in_and_enter_picks_the_run_under_the_cursor(tmp_path: Path) -> None:
    discovery = discover_runs(str(_folder(tmp_path)))
    app = RunListApp(discovery)
    async with app.run_test(size=(120, 20)) as pilot:
        await _filled(app, 3)
        await pilot.pause()
        table = app.query_one(DataTable)
        first = [str(cell) for cell in table.get_row_at(0)]
        assert first[:5] == ["new.log", "key-value", "2", "nan", "running"]
        assert first[5].startswith("critical")  # a NaN loss
        assert [str(c) for c in table.get_row_at(1)][:4] == [
            "lightning/metrics.csv",
            "csv",
            "10",
            "0.8",
        ]
        await pilot.press("down", "enter")
    assert app.return_value == (str(tmp_path / "lightning" / "metrics.csv"),)


async def test_a_follows_every_run_and_q_quits(tmp_path: Path) -> None:
    discovery = discover_runs(str(_folder(tmp_path)))
    app = RunListApp(discovery)
    async with app.run_test() as pilot:
        await pilot.press("a")
    assert app.return_value == tuple(r.path for r in discovery.runs)
    app = RunListApp(discovery)
    async with app.run_test() as pilot:
        await pilot.press("q")
    assert app.return_value == ()


async def test_a_run_started_while_the_list_is_open_is_added(tmp_path: Path) -> None:
    discovery = discover_runs(str(_folder(tmp_path)))
    app = RunListApp(discovery)
    async with app.run_test(size=(120, 20)) as pilot:
        await _filled(app, 3)
        (tmp_path / "later.log").write_text("step=1 loss=3.0\nstep=2 loss=2.0\n")
        for _ in range(400):  # the folder is searched again every RESCAN_S
            if len(app.rows) == 4:
                break
            await asyncio.sleep(0.02)
        await pilot.pause()
        assert app.rows[str(tmp_path / "later.log")].summary.store.records == 2
        assert app.query_one(DataTable).row_count == 4
        await pilot.press("a")
    assert app.return_value is not None and str(tmp_path / "later.log") in app.return_value
