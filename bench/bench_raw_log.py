"""Raw log view figures for `bench_dashboard.py` (also runnable alone).

1. What the hidden view costs: CPU per dashboard update (one record taken, one line appended
   to the log, `refresh_now`) with the view removed from the app (the floor), hidden, and
   shown following the log, in alternating rounds.
2. Scrolling a 1 GB log: time per page jump (PgUp), to the start, to the end and to the
   middle, next to the same jumps on a 1 MB log (the floor, same run); a search through the
   whole file for a string it does not hold; the process's peak RSS before and after. The
   log is generated under the temporary folder and deleted afterwards.

    python bench/bench_raw_log.py            # both (about a minute, plus writing 1 GB)
    python bench/bench_raw_log.py --gb 0.2   # a smaller big log
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SIZE = (160, 48)
LINE = "{'loss': %.4f, 'grad_norm': 1.02, 'learning_rate': 5e-05, 'epoch': %.4f}\n"


def write_log(path: Path, size_bytes: int) -> None:
    """HF-style dict lines up to `size_bytes`, written in 8 MB chunks (a warning every 10^5)."""
    block: list[str] = []
    for i in range(1, 100_001):
        block.append(LINE % (2.0 / (1 + i / 1000), i / 100_000))
    block.append("WARNING: a warning line every 100,000 records\n")
    chunk = "".join(block).encode()
    with path.open("wb") as f:
        written = 0
        while written < size_bytes:
            f.write(chunk)
            written += len(chunk)


def rss_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def update_cost(mode: str, updates: int, log: Path) -> float:
    """CPU ms per update with the raw view `removed`, `hidden` or `shown`."""
    from trainmon.config import DashboardOptions
    from trainmon.records import MetricRecord
    from trainmon.ui.app import TrainmonApp
    from trainmon.ui.widgets.loss_plot import LossPlot
    from trainmon.ui.widgets.raw_log import RawLogView

    options = DashboardOptions(paths=(str(log),), no_gpu=True, refresh_s=0.1)
    app = TrainmonApp(options, start_workers=False)
    run = app.runs[0].run
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.query_one(LossPlot).cpu_budget = None
        view = app.query_one("#rawlog", RawLogView)
        if mode == "removed":
            await view.remove()
        elif mode == "shown":
            await pilot.press("v")
        with log.open("a") as out:
            t = time.process_time()
            for step in range(1, updates + 1):
                out.write(LINE % (2.0 / step, step / 1000))
                out.flush()
                run.take([MetricRecord("train", step, {"loss": 2.0 / step})], arrival_s=step)
                app.refresh_now()
                await pilot.pause(0.1)  # the view's own timer polls at the refresh interval
            ms = (time.process_time() - t) * 1e3 / updates
        if mode == "hidden" and view.source.blocks_read:
            print(f"warning: the hidden view read {view.source.blocks_read} blocks")
        return ms


def hidden_rows(rounds: int, updates: int) -> list[tuple[str, str, str]]:
    results: dict[str, list[float]] = {"removed": [], "hidden": [], "shown": []}
    with tempfile.TemporaryDirectory(prefix="trainmon-bench-") as folder:
        log = Path(folder) / "run.log"
        write_log(log, 1 << 20)
        for _ in range(rounds):
            for mode in results:
                results[mode].append(asyncio.run(update_cost(mode, updates, log)))
    med = {mode: statistics.median(v) for mode, v in results.items()}
    note = f"median of {rounds} alternating rounds of {updates} updates, 0.1 s apart"
    return [
        ("update, raw view not in the app (floor)", f"{med['removed']:.1f} ms", note),
        (
            "update, raw view hidden",
            f"{med['hidden']:.1f} ms",
            f"**{med['hidden'] / med['removed']:.2f} x** the floor; 0 blocks read",
        ),
        (
            "update, raw view shown, following the log",
            f"{med['shown']:.1f} ms",
            f"{med['shown'] / med['removed']:.2f} x the floor",
        ),
    ]


async def jump_times(log: Path, jumps: int) -> dict[str, float]:
    """Wall ms per page up, to the start, to the end, to the middle; and a search miss."""
    from trainmon.config import DashboardOptions
    from trainmon.ui.app import TrainmonApp
    from trainmon.ui.widgets.raw_log import RawLogView

    app = TrainmonApp(DashboardOptions(paths=(str(log),), no_gpu=True), start_workers=False)
    out: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one("#rawlog", RawLogView)
        await pilot.press("v")
        while not view.lines:
            await pilot.pause(0.01)

        async def timed(*keys: str) -> float:
            t = time.perf_counter()
            await pilot.press(*keys)
            await pilot.pause()
            return (time.perf_counter() - t) * 1e3

        out["page up"] = statistics.median([await timed("pageup") for _ in range(jumps)])
        starts, ends = [], []
        for _ in range(5):  # each jump from the other end
            starts.append(await timed("home"))
            ends.append(await timed("end"))
        out["to the start"], out["to the end"] = statistics.median(starts), statistics.median(ends)
        middle: list[float] = []
        for _ in range(5):
            t = time.perf_counter()
            view.top = view.source.line_start(view.source.size() // 2)
            view.reload()
            await pilot.pause()
            middle.append((time.perf_counter() - t) * 1e3)
        out["to the middle"] = statistics.median(middle)
        t = time.perf_counter()
        found = view.source.find("no such text anywhere", view.source.size(), backward=True)
        out["search miss"] = (time.perf_counter() - t) * 1e3
        assert found is None
    return out


def scroll_rows(gigabytes: float, jumps: int) -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory(prefix="trainmon-bench-") as folder:
        small, big = Path(folder) / "small.log", Path(folder) / "big.log"
        write_log(small, 1 << 20)
        t = time.perf_counter()
        write_log(big, int(gigabytes * (1 << 30)))
        print(f"wrote {big.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - t:.0f} s")
        floor = asyncio.run(jump_times(small, jumps))
        rss_before = rss_peak_mib()
        timed = asyncio.run(jump_times(big, jumps))
        rss_after = rss_peak_mib()
        size = big.stat().st_size
    rows = []
    for key in ("page up", "to the start", "to the end", "to the middle"):
        rows.append(
            (
                f"raw view, {key}, {size / 1e9:.2f} GB log",
                f"{timed[key]:.1f} ms",
                f"{timed[key] / floor[key]:.2f} x the same on a 1 MB log ({floor[key]:.1f} ms)",
            )
        )
    rows.append(
        (
            f"raw view, search through {size / 1e9:.2f} GB (no match)",
            f"{timed['search miss'] / 1e3:.1f} s",
            f"{size / 1e6 / (timed['search miss'] / 1e3):,.0f} MB/s, on a thread, cancellable",
        )
    )
    rows.append(
        (
            "process peak RSS before / after scrolling the big log",
            f"{rss_before:.0f} / {rss_after:.0f} MiB",
            "no index, no copy of the file",
        )
    )
    return rows


def raw_log_rows(quick: bool, gigabytes: float = 1.0) -> list[tuple[str, str, str]]:
    """Every figure of this file, as (measure, value, note) rows."""
    rows = hidden_rows(3 if quick else 5, 20 if quick else 40)
    rows.extend(scroll_rows(gigabytes, 10 if quick else 30))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--gb", type=float, default=1.0, help="size of the big log (GiB)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, terminal {SIZE[0]}x{SIZE[1]}")
    print("| measure | value | ratio / note |")
    print("|---|---|---|")
    for name, value, note in raw_log_rows(args.quick, args.gb):
        print(f"| {name} | {value} | {note} |")


if __name__ == "__main__":
    main()
