"""Options for one trainmon invocation, as parsed from the command line.

Frozen so that the CLI can hand the same value to the dashboard, its workers and its tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from trainmon.alert_options import AlertOptions

Mode = Literal["dashboard", "demo", "replay"]


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    """What the dashboard needs to know, whatever started it (CLI, demo, replay, tests)."""

    paths: tuple[str, ...] = ()
    """Logs to follow; `-` means standard input."""
    mode: Mode = "dashboard"
    from_end: bool = False
    """Skip the existing history and show only what is appended from now on."""
    refresh_s: float = 1.0
    """Redraw interval of the UI timer; a burst of records never causes a burst of redraws."""
    smoothing: float = 0.6
    """Weight of the debiased EMA drawn over the raw train loss (TensorBoard's slider)."""
    no_gpu: bool = False
    """Skip NVML entirely."""
    pid: int | None = None
    """The training process, when it cannot be found as the writer of the log."""
    bell: bool = True
    """Ring the terminal bell once when a critical finding appears."""
    replay_speed: float = 50.0
    """`trainmon replay`: how many times faster than the original pace."""
    muted_rules: tuple[str, ...] = field(default_factory=tuple)
    """Advice rule ids not to show."""
    context: tuple[tuple[str, str], ...] = ()
    """Run facts given on the command line (`--context vocab_size=32000`), for the advice rules."""
    log_path: str | None = None
    """`-`: where standard input is saved (`--log`); None: `./trainmon-logs/stdin-<time>.log`."""
    max_series: int = 256
    """Series kept per run; further metric names are dropped and counted (`--max-series`)."""
    jobs: int | None = None
    """Processes that read a big history at start (`--jobs`; None: `report.default_jobs()`)."""
    alerts: AlertOptions = field(default_factory=AlertOptions)
    """`--notify`, `--serve-metrics`, `--prometheus`: what goes beyond the terminal."""
    command: tuple[str, ...] = ()
    """`trainmon -- CMD ...`: the command to run, its output saved to `log_path`."""
    metrics: tuple[str, ...] = ()
    """Series charted in the metric plot from the start (`--metrics NAME,...`)."""
