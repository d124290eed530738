"""The tables the dashboard benchmarks print: figures as ratios to a floor measured in the
same run, with each run's figure beside the median so the spread shows."""

from __future__ import annotations

import statistics


def runs_text(values: list[float]) -> str:
    """Each run's figure, for the reader to see the spread behind a median."""
    return ", ".join(f"{v:.2f}" for v in values)


def print_quiet_log_table(cpu: dict[str, list[float]], frames: dict[str, list[float]]) -> None:
    """The idle CPU and first frame of each dashboard on the quiet 1,000-record log, as
    ratios to the `base` row measured in the same run."""
    print("| dashboard, quiet 1,000-record log | idle CPU (median, runs) | first frame |")
    print("|---|---|---|")
    base_cpu = statistics.median(cpu["base"])
    base_ff = statistics.median(frames["base"]) if frames["base"] else float("nan")
    for name in cpu:
        c = statistics.median(cpu[name])
        ff = statistics.median(frames[name]) if frames[name] else float("nan")
        print(
            f"| {name} | {c:.2f} % ({runs_text(cpu[name])}), {c / base_cpu:.2f} x base | "
            f"{ff * 1e3:.0f} ms, {ff / base_ff:.2f} x base |"
        )
