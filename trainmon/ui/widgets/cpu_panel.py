"""The CPU pane: per-core heat row, load, RAM/swap with rates, and the training process.

The per-core row is one block glyph per core (64 cores fit one line), coloured in runs:
busy cores in the warning colour, the rest in the bar colour. The trainer block is the
pane's point: tree CPU % (DataLoader workers included), RSS, threads, workers, I/O wait,
or one line saying why the training process could not be found. Command lines are plain
text, never markup.
"""

from __future__ import annotations

import math
from typing import ClassVar, Final

from rich.style import Style
from rich.text import Text

from trainmon.i18n import N_, _, ngettext
from trainmon.sources.history import SystemHistory
from trainmon.sources.samples import CpuSnapshot, TrainingProcess
from trainmon.ui.widgets.counts import WorkCounts
from trainmon.ui.widgets.fit import wrapped_lines
from trainmon.ui.widgets.spark import spark_rows
from trainmon.ui.widgets.text_pane import TextPane

GIB: Final = 1024**3
MIB: Final = 1024**2
HOT_PCT: Final = 90.0
"""A core at or above this is drawn in the warning colour."""
WIDE: Final = 60
HISTORY: Final = 60

FOUND_BY: Final = {
    "log-writer": N_("writes the log"),
    "tee": N_("feeds tee"),
    "pid": "--pid",
    "pipe": N_("writes the pipe"),
}
REASON_ROWS: Final = 3
REASON_ROWS_COMPACT: Final = 2
"""Rows a "not found" reason may wrap over (a compact pane has fewer to give)."""
STATUS: Final = {"running": "R", "sleeping": "S", "disk-sleep": "D", "stopped": "T"}
STATE_WORDS: Final = {
    "running": N_("running"),
    "sleeping": N_("sleeping"),
    "disk-sleep": N_("disk-sleep"),
    "stopped": N_("stopped"),
    "zombie": N_("zombie"),
    "idle": N_("idle"),
}
"""psutil's process states as the compact pane spells them (psutil's names are the keys)."""


def fmt_size(value: float) -> str:
    """Bytes as G with one decimal (or M below 1 GiB)."""
    if value == 0:
        return "0"
    if abs(value) >= GIB:
        return f"{value / GIB:.1f}G"
    return f"{value / MIB:.0f}M"


def fmt_rate(value: float | None) -> str:
    """A signed byte rate per second, `–` when unknown (first sample)."""
    if value is None or not math.isfinite(value):
        return "–"
    sign = "+" if value > 0 else ("-" if value < 0 else "±")
    return f"{sign}{fmt_size(abs(value))}/s"


class CpuPanel(TextPane):
    """One CPU snapshot, drawn for the pane's width. Feed it with `update_snapshot()`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "cpu--label",
        "cpu--dim",
        "cpu--bar",
        "cpu--hot",
        "cpu--warn",
        "cpu--training",
        "cpu--spark",
    }

    DEFAULT_CSS = """
    CpuPanel { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    CpuPanel > .cpu--label { color: $text-muted; }
    CpuPanel > .cpu--dim { color: $text-muted; text-style: italic; }
    CpuPanel > .cpu--bar { color: $success; }
    CpuPanel > .cpu--hot { color: $warning; }
    CpuPanel > .cpu--warn { color: $text-warning; text-style: bold; }
    CpuPanel > .cpu--training { color: $text-accent; text-style: bold; }
    CpuPanel > .cpu--spark { color: $primary; }
    """

    def __init__(
        self,
        snapshot: CpuSnapshot | None = None,
        *,
        history: SystemHistory | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """A pane given the dashboard's `history` only reads it (the dashboard adds each
        sample); a pane on its own keeps a history of the snapshots it is shown."""
        super().__init__(name=name, id=id, classes=classes)
        self.snapshot = snapshot
        self.history = history if history is not None else SystemHistory(maxlen=HISTORY)
        self._feeds_history = history is None
        self.counts = WorkCounts()
        if snapshot is not None and self._feeds_history:
            self.history.add_cpu(snapshot)

    def update_snapshot(self, snapshot: CpuSnapshot) -> None:
        """Show a new snapshot (its sparkline comes from the history)."""
        self.snapshot = snapshot
        if self._feeds_history:
            self.history.add_cpu(snapshot)
        self.counts.updates += 1
        self.refresh_changed()

    def _style(self, name: str) -> Style:
        return self.component_style(f"cpu--{name}")

    def render_text(self) -> Text:
        """Host lines and the trainer block for the current width."""
        width = self.content_size.width or self.size.width or WIDE
        snap = self.snapshot
        if snap is None:
            return Text(_("CPU: sampling…"), style=self._style("dim"), end="")
        if not snap.per_core_pct and snap.ram_total_bytes == 0:
            return Text(f"CPU: {snap.training_reason}", style=self._style("dim"), end="")
        compact = self.compact or self.has_class("-compact") or width < WIDE
        lines = [self._host(snap, width, compact)]
        if not compact:
            lines.extend(self._cores(snap, width))
            lines.append(self._memory(snap))
        lines.extend(self._trainer(snap, compact))
        return Text("\n", no_wrap=True, overflow="ellipsis", end="").join(lines)

    def _host(self, snap: CpuSnapshot, width: int, compact: bool) -> Text:
        label = self._style("label")
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append("CPU ", style=label)
        text.append(f"{snap.total_pct:3.0f}% ")
        text.append(_("load") + " ", style=label)
        cores = len(snap.per_core_pct) or 1
        one, five, fifteen = snap.load_avg
        text.append(f"{one:.1f}", style=self._style("warn") if one > cores else None)
        if compact:
            text.append(f"/{cores} ")
            text.append("mem ", style=label)
            text.append(f"{fmt_size(snap.ram_used_bytes)}/{fmt_size(snap.ram_total_bytes)} ")
            text.append("sw ", style=label)
            swapping = (snap.swap_in_bps or 0) + (snap.swap_out_bps or 0) > 0
            text.append(fmt_size(snap.swap_used_bytes), style=self._warn_if(swapping))
            return text
        text.append(f" {five:.1f} {fifteen:.1f} /{cores} " + _("cores"))
        if snap.iowait_pct is not None:
            text.append("  iowait ", style=label)
            text.append(f"{snap.iowait_pct:.0f}%", style=self._warn_if(snap.iowait_pct >= 20))
        spark_w = min(HISTORY, width - text.cell_len - 3)
        if spark_w >= 8:
            (row,) = spark_rows(list(self.history.cpu_total())[-spark_w:], 1, lo=0.0, hi=100.0)
            text.append("  ")
            text.append(row, style=self._style("spark"))
        return text

    def _warn_if(self, condition: bool) -> Style | None:
        return self._style("warn") if condition else None

    def _cores(self, snap: CpuSnapshot, width: int) -> list[Text]:
        """One glyph per core, wrapped to the width, styled in runs (busy vs not)."""
        label = self._style("label")
        per_row = max(8, width - 6)
        cores = snap.per_core_pct
        lines: list[Text] = []
        for start in range(0, len(cores), per_row):
            chunk = cores[start : start + per_row]
            (row,) = spark_rows(list(chunk), 1, lo=0.0, hi=100.0)
            text = Text(no_wrap=True, overflow="crop", end="")
            text.append(f"{start:>4} ", style=label)
            run_start = 0
            for i in range(1, len(chunk) + 1):
                if i == len(chunk) or (chunk[i] >= HOT_PCT) != (chunk[run_start] >= HOT_PCT):
                    hot = chunk[run_start] >= HOT_PCT
                    text.append(row[run_start:i], style=self._style("hot" if hot else "bar"))
                    run_start = i
            lines.append(text)
        return lines

    def _memory(self, snap: CpuSnapshot) -> Text:
        label = self._style("label")
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append("RAM ", style=label)
        low = snap.ram_total_bytes and snap.ram_available_bytes < 0.05 * snap.ram_total_bytes
        text.append(
            f"{fmt_size(snap.ram_used_bytes)}/{fmt_size(snap.ram_total_bytes)}",
            style=self._warn_if(bool(low)),
        )
        text.append(f" {fmt_rate(snap.ram_used_rate_bps)}  ")
        text.append("swap ", style=label)
        text.append(f"{fmt_size(snap.swap_used_bytes)}/{fmt_size(snap.swap_total_bytes)}")
        swapping = (snap.swap_in_bps or 0) + (snap.swap_out_bps or 0) > 0
        if snap.swap_in_bps is not None and snap.swap_out_bps is not None:
            text.append(" in ", style=label)
            text.append(fmt_rate(snap.swap_in_bps).lstrip("+±"), style=self._warn_if(swapping))
            text.append(" out ", style=label)
            text.append(fmt_rate(snap.swap_out_bps).lstrip("+±"), style=self._warn_if(swapping))
        if snap.shm_total_bytes:
            used = snap.shm_used_bytes or 0
            text.append("  shm ", style=label)
            full = used >= 0.9 * snap.shm_total_bytes
            text.append(
                f"{fmt_size(used)}/{fmt_size(snap.shm_total_bytes)}", style=self._warn_if(full)
            )
        return text

    def _trainer(self, snap: CpuSnapshot, compact: bool) -> list[Text]:
        tp = snap.training
        ended = snap.training_exit
        if tp is None and ended is not None:
            line = Text(no_wrap=True, overflow="ellipsis", end="")
            line.append(_("trainer") + " ", style=self._style("label"))
            line.append(str(ended.pid), style=self._style("training"))
            line.append(" " + _("exited"), style=self._style("warn"))
            if ended.how:
                line.append(f" ({ended.how})")
            return [line]
        if tp is None:
            why = snap.training_reason or _("unknown")
            width = self.content_size.width or self.size.width or WIDE
            rows = REASON_ROWS_COMPACT if compact else REASON_ROWS
            text = _("training process not found: {reason}").format(reason=why)
            return wrapped_lines(text, width, rows, self._style("dim"))
        return self._trainer_lines(tp, compact)

    def _trainer_lines(self, tp: TrainingProcess, compact: bool) -> list[Text]:
        label = self._style("label")
        strong = self._style("training")
        one = Text(no_wrap=True, overflow="ellipsis", end="")
        one.append(_("trainer") + " ", style=label)
        one.append(str(tp.pid), style=strong)
        status = STATUS.get(tp.status, tp.status[:1].upper() if tp.status else "?")
        if compact:  # spelled out: a narrow pane has rows to spare, not columns
            one.append(f" {tp.cpu_pct:.0f}% CPU  {fmt_size(tp.rss_bytes)} RSS")
            two = Text(no_wrap=True, overflow="ellipsis", end="")
            state = _(STATE_WORDS[tp.status]) if tp.status in STATE_WORDS else tp.status
            two.append("  " + (state or _("unknown")), style=self._warn_if(status == "D"))
            workers = ngettext("{count} worker", "{count} workers", tp.workers)
            two.append(", " + workers.format(count=tp.workers) + "  ")
            two.append(tp.command)
            return [one, two]
        found_by = FOUND_BY.get(tp.found_by)
        one.append(f" ({_(found_by) if found_by else tp.found_by}) ", style=label)
        one.append(tp.command)
        two = Text(no_wrap=True, overflow="ellipsis", end="")
        two.append("  CPU ", style=label)
        two.append(f"{tp.cpu_pct:.0f}%  ")
        if tp.allowed_cores:
            of_cores = _("(of {count} cores)").format(count=tp.allowed_cores)
            two.append(f"{of_cores}  ", style=label)
        two.append("RSS ", style=label)
        two.append(f"{fmt_size(tp.rss_bytes)}  ")
        two.append(_("threads") + " ", style=label)
        two.append(f"{tp.threads}  ")
        two.append(_("workers") + " ", style=label)
        two.append(f"{tp.workers}  ")
        two.append(_("state") + " ", style=label)
        two.append(status, style=self._warn_if(status == "D"))
        if tp.io_wait_pct is not None:
            two.append("  io-wait ", style=label)
            two.append(f"{tp.io_wait_pct:.0f}%", style=self._warn_if(tp.io_wait_pct >= 20))
        if tp.cuda_visible_devices is not None:
            two.append("  GPUs ", style=label)
            two.append(tp.cuda_visible_devices or _("none"))
        if tp.note:
            two.append(f"  ({tp.note})", style=self._style("dim"))
        return [one, two]
