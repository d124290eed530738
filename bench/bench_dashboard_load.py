"""How long the dashboard takes to show a big history, as a ratio to `report` on the same file.

Both read the file with the same reader (`trainmon.history` uses report's cuts and helper
processes, `--jobs` alike), so the dashboard should cost little more than the report: its
screen, the advice and the plot on top. Measured in the same run, alternating:

- `report`: `python -m trainmon report --json --jobs J LOG`, wall time of the process;
- `dashboard`: `python -m trainmon --no-gpu --jobs J LOG` in a real 160x48 tmux pane, from the
  Enter that starts it until the whole history is on screen: the status line shows the last
  step and no longer "reading the log", the plot's x axis reaches the last step, and the
  process has gone quiet (the advice and the plot are done; the time is when the quiet began,
  from its CPU ticks sampled every 0.1 s);
- `base` (with `--base COMMIT`): the same dashboard run from that commit's tree (`git archive`),
  to compare with the road before.

The log is `bench_dashboard.write_log`'s: one Trainer dict per line with a printed step
(10^6 records: 94 MB). Prints a markdown table; nothing passes or fails.

    python bench/bench_dashboard_load.py                    # 10^6 records, 3 rounds
    python bench/bench_dashboard_load.py --rounds 5 --keep  # reuse the log next time
    python bench/bench_dashboard_load.py --base c1257e2     # and the dashboard before
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Final

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
QUIET_TICKS: Final = 1
"""CPU ticks (1/100 s) per 0.1 s sample that still count as quiet (an idle dashboard uses
0.3 % of a core: 0.03 ticks per sample)."""
QUIET_S: Final = 2.0
"""The process counts as done once it stayed quiet this long."""
LIMIT_S: Final = 300.0


def sibling(name: str) -> ModuleType:
    """Another bench script, for its helpers (tmux, the log writer, the tree of a commit)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


dash = sibling("bench_dashboard")


def report_s(log: Path, jobs: int, records: int, check: bool) -> float:
    """Wall time of `report --json` (its record count checked on the first round)."""
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "trainmon", "report", "--json", "--jobs", str(jobs), str(log)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    ).stdout
    elapsed = time.perf_counter() - t
    if check and json.loads(out)["records"] != records:
        sys.exit(f"report read {json.loads(out)['records']} records, not {records}")
    return elapsed


def whole_on_screen(screen: str, last_step: int, x_label: str) -> bool:
    """The status line shows the last step, the read is over, and the plot reaches the end."""
    return (
        f"step {last_step}" in screen
        and "reading the log" not in screen
        and re.search(rf"(?<![\w.]){re.escape(x_label)}(?![\w.])", screen) is not None
    )


def dashboard_s(
    tmux: Any, command: str, last_step: int, x_label: str
) -> tuple[float, float, float, bool]:
    """(seconds until the whole history is on screen and the process went quiet, seconds
    until the screen first showed it, RSS then in MiB, whether it showed at all)."""
    pid = tmux.start("load", f"read _; exec {command}", send_enter=False)
    try:
        t0 = time.monotonic()
        tmux("send-keys", "-t", "load", "Enter")
        shown_at: float | None = None
        last = dash.cpu_ticks(pid)
        quiet_since = time.monotonic()
        while time.monotonic() - t0 < LIMIT_S:
            time.sleep(0.1)
            now_ticks, now = dash.cpu_ticks(pid), time.monotonic()
            if now_ticks - last > QUIET_TICKS:
                quiet_since = now
            last = now_ticks
            if shown_at is None and whole_on_screen(tmux.capture("load"), last_step, x_label):
                shown_at = now
            if shown_at is not None and now - quiet_since >= QUIET_S:
                break
        rss = dash.rss_mib(pid)
    finally:
        tmux.kill()
    if shown_at is None:
        return float("nan"), float("nan"), rss, False
    return max(shown_at, quiet_since) - t0, shown_at - t0, rss, True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None, help="default: report's default")
    parser.add_argument("--keep", action="store_true", help="reuse the generated log")
    parser.add_argument("--base", default=None, help="also run the dashboard of this commit")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from trainmon.report import default_jobs
    from trainmon.ui.widgets.loss_plot import tick_label

    jobs = args.jobs or default_jobs()
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"dashboard_load_{args.records}.log"
    if not (args.keep and log.exists()):
        dash.write_log(log, args.records)
    size_mb = log.stat().st_size / 1e6
    trainmon = f"{sys.executable} -m trainmon --no-gpu --jobs {jobs} {log}"
    commands = {"dashboard": f"env -C {REPO} {trainmon}"}
    with tempfile.TemporaryDirectory() as tmp:
        if args.base:
            base = sibling("bench_outbound").unpack(args.base, Path(tmp))
            # that tree may not know --jobs: it then reads with its own road
            old = f"{sys.executable} -m trainmon --no-gpu {log}"
            commands["base"] = f"env -C {base} PYTHONPATH={base} {old}"
        tmux = dash.Tmux()
        reports: list[float] = []
        shown: dict[str, list[float]] = {name: [] for name in commands}
        first: dict[str, list[float]] = {name: [] for name in commands}
        rss: dict[str, list[float]] = {name: [] for name in commands}
        x_label = tick_label(float(args.records))
        for r in range(args.rounds):
            reports.append(report_s(log, jobs, args.records, check=r == 0))
            for name, command in commands.items():
                total, seen, mib, ok = dashboard_s(tmux, command, args.records, x_label)
                if not ok:
                    print(f"{name}: the whole history never showed within {LIMIT_S:.0f} s")
                shown[name].append(total)
                first[name].append(seen)
                rss[name].append(mib)
            print(
                f"round {r + 1}: report {reports[-1]:.2f} s, "
                + ", ".join(f"{n} {shown[n][-1]:.2f} s" for n in commands),
                file=sys.stderr,
            )
    report_med = statistics.median(reports)
    load = os.getloadavg()[0]
    print(
        f"\nlog: {log.name}, {args.records:,} records, {size_mb:.0f} MB; --jobs {jobs}; "
        f"{os.cpu_count()} cores, load average {load:.1f}\n"
    )
    print("| measure | median | runs | ratio to report (median of the rounds' ratios) |")
    print("|---|---|---|---|")
    print(f"| `report --json` | {report_med:.2f} s | {_runs(reports)} | 1 |")
    for name in commands:
        seen = statistics.median(first[name])
        ratios = [d / r for d, r in zip(first[name], reports, strict=True)]
        print(
            f"| {name}: the whole history on screen | {seen:.2f} s | {_runs(first[name])} | "
            f"**{statistics.median(ratios):.2f} x** ({_runs(ratios)}; target <= 2) |"
        )
        mib = statistics.median(rss[name])
        print(f"| {name}: RSS once quiet | {mib:.0f} MiB | {_runs(rss[name])} | |")


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" if v < 100 else f"{v:.0f}" for v in values)


if __name__ == "__main__":
    main()
