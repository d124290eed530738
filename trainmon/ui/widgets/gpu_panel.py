"""The GPU pane: nvidia-smi-style rows per device, width-aware, from immutable snapshots.

trainmon often lives in a 40-70-column tmux side pane, where nvitop refuses to draw, so the
pane picks its layout from its own width: two lines plus processes per GPU when wide, one
line per GPU (eight GPUs in eight rows) when narrow or `compact`, an aggregate line and a
heat strip below 40 columns. Everything is plain `Text` built from spans (one style per run
of cells, never per cell); process command lines are appended as text, never as markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar, Final

from rich.style import Style
from rich.text import Text

from trainmon.i18n import _
from trainmon.sources.history import SystemHistory
from trainmon.sources.samples import GpuDeviceSample, GpuProcess, GpuSnapshot
from trainmon.ui.widgets.cluster_rows import cluster_lines
from trainmon.ui.widgets.counts import WorkCounts
from trainmon.ui.widgets.fit import wrapped_lines
from trainmon.ui.widgets.spark import spark_rows
from trainmon.ui.widgets.text_pane import TextPane

WIDE: Final = 80
"""At and above this width (and not compact): the full nvidia-smi-style layout."""
TERSE: Final = 60
"""Below this width the one-line rows drop the bars."""
STRIP: Final = 40
"""Below this width: one aggregate line and a heat strip."""
HISTORY: Final = 60
"""Samples kept per GPU for the sparklines (2 min at the default 2 s)."""
PROCESS_ROWS_UP_TO: Final = 4
"""With more GPUs than this, the full layout counts processes instead of listing them."""
MAX_PROCS: Final = 4
"""Process rows shown per GPU in the full layout; the rest are counted."""

SLOW_SAMPLE_S: Final = 0.5
"""A sample slower than this is flagged: NVML is contending for the driver lock."""

GIB: Final = 1024**3
FULL: Final = "█"
EMPTY: Final = "░"


def fmt_gib(value: int | None) -> str:
    """Bytes as GiB with one decimal, `N/A` when unknown."""
    return "N/A" if value is None else f"{value / GIB:.1f}"


def fmt_num(value: float | None, unit: str = "", digits: int = 0) -> str:
    """A number with its unit, or `N/A`."""
    if value is None or not math.isfinite(value):
        return "N/A"
    return f"{value:.{digits}f}{unit}"


def bar_cells(fraction: float | None, width: int) -> tuple[str, str]:
    """(filled, empty) parts of a bar of `width` cells; all empty when unknown."""
    width = max(0, width)
    if fraction is None or not math.isfinite(fraction):
        return ("", EMPTY * width)
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return (FULL * filled, EMPTY * (width - filled))


REASON_ROWS: Final = 2
"""Rows the reason for no GPU may wrap over."""


class GpuPanel(TextPane):
    """One GPU snapshot, drawn for the pane's width. Feed it with `update_snapshot()`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "gpu--label",
        "gpu--dim",
        "gpu--name",
        "gpu--bar",
        "gpu--hot",
        "gpu--empty",
        "gpu--lost",
        "gpu--warn",
        "gpu--training",
        "gpu--spark",
    }

    DEFAULT_CSS = """
    GpuPanel { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    GpuPanel > .gpu--label { color: $text-muted; }
    GpuPanel > .gpu--dim { color: $text-muted; text-style: italic; }
    GpuPanel > .gpu--name { text-style: bold; }
    GpuPanel > .gpu--bar { color: $success; }
    GpuPanel > .gpu--hot { color: $warning; }
    GpuPanel > .gpu--empty { color: $text-disabled; }
    GpuPanel > .gpu--lost { color: $text-error; background: $error-muted; text-style: bold; }
    GpuPanel > .gpu--warn { color: $text-warning; }
    GpuPanel > .gpu--training { color: $text-accent; text-style: bold; }
    GpuPanel > .gpu--spark { color: $primary; }
    """

    def __init__(
        self,
        snapshot: GpuSnapshot | None = None,
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
            self.history.add_gpu(snapshot)

    # -- feeding ----------------------------------------------------------------------------

    def update_snapshot(self, snapshot: GpuSnapshot) -> None:
        """Show a new snapshot (its sparklines come from the history)."""
        self.snapshot = snapshot
        if self._feeds_history:
            self.history.add_gpu(snapshot)
        self.counts.updates += 1
        self.refresh_changed()

    # -- rendering --------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.component_style(f"gpu--{name}")

    def render_text(self) -> Text:
        """The pane for the current width."""
        width = self.content_size.width or self.size.width or WIDE
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        snap = self.snapshot
        if snap is None:
            text.append(_("GPU: sampling…"), style=self._style("dim"))
            return text
        if snap.status != "ok" or not snap.devices:
            reason = snap.reason or snap.status
            line = reason if "GPU" in reason else f"GPU: {reason}"
            lines = wrapped_lines(line, width, REASON_ROWS, self._style("dim"))
            return Text("\n", end="").join(lines)
        compact = self.compact or self.has_class("-compact")
        if snap.source:  # cluster GPUs (Prometheus): one line per node
            lines = cluster_lines(snap, width, self._style, wide=not compact)
        elif width < STRIP:
            lines = self._strip(snap, width)
        elif compact or width < WIDE:
            lines = [self._line(dev, width) for dev in snap.devices]
        else:
            lines = [self._header(snap)]
            rows = len(snap.devices) <= PROCESS_ROWS_UP_TO
            for dev in snap.devices:
                lines.extend(self._full(dev, width, process_rows=rows))
        return Text("\n", no_wrap=True, overflow="ellipsis", end="").join(lines)

    def _header(self, snap: GpuSnapshot) -> Text:
        """Driver and CUDA versions, and a hint when NVML itself is slow to answer."""
        label = self._style("label")
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(f"{len(snap.devices)} GPU{'s' if len(snap.devices) > 1 else ''}", style=label)
        if snap.driver_version:
            text.append(f"  driver {snap.driver_version}", style=label)
        if snap.cuda_version:
            text.append(f"  CUDA {snap.cuda_version}", style=label)
        if snap.took_s >= SLOW_SAMPLE_S:
            text.append(f"  slow NVML ({snap.took_s * 1000:.0f} ms)", style=self._style("warn"))
        return text

    # The lost row is the same everywhere: loud, and sticky because `lost` is.
    def _lost(self, dev: GpuDeviceSample, width: int) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if width < TERSE:
            text.append(f"GPU {dev.index} LOST", style=self._style("lost"))
            return text
        text.append(f" GPU {dev.index} LOST ", style=self._style("lost"))
        text.append(f" {dev.short_name}: fell off the bus; check dmesg | grep -i xid")
        return text

    def _bar(self, text: Text, fraction: float | None, cells: int, hot: bool = False) -> None:
        filled, empty = bar_cells(fraction, cells)
        text.append(filled, style=self._style("hot" if hot else "bar"))
        text.append(empty, style=self._style("empty"))

    def _line(self, dev: GpuDeviceSample, width: int) -> Text:
        """One line per GPU: `0 ████░░ 87% 60.0/80.0G 64C 612/700W`, terse below 60 cols."""
        if dev.lost:
            return self._lost(dev, width)
        label = self._style("label")
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(f"{dev.index} ", style=self._style("name"))
        frac = dev.mem_fraction
        hot_mem = frac is not None and frac >= 0.95
        if width < TERSE:
            text.append("U", style=label)
            text.append(f"{fmt_num(dev.util_pct):>3} ")
            text.append("M", style=label)
            mem = None if frac is None else 100 * frac
            text.append(f"{fmt_num(mem):>3} ", style=self._style("hot") if hot_mem else None)
            text.append(f"{fmt_num(dev.temperature_c, 'C')} {fmt_num(dev.power_w, 'W')}")
        else:
            util = None if dev.util_pct is None else dev.util_pct / 100
            self._bar(text, util, 6)
            text.append(f" {fmt_num(dev.util_pct, '%'):>4} ")
            self._bar(text, frac, 4, hot_mem)
            text.append(f" {fmt_gib(dev.mem_used_bytes)}/{fmt_gib(dev.mem_total_bytes)}G ")
            text.append(f"{fmt_num(dev.temperature_c, 'C')} ")
            text.append(f"{fmt_num(dev.power_w)}/{fmt_num(dev.power_limit_w, 'W')}")
        self._flags(text, dev, short=True)
        return text

    def _flags(self, text: Text, dev: GpuDeviceSample, *, short: bool) -> None:
        """Errors, throttling, ECC errors, MIG and trainer markers appended to a row."""
        warn = self._style("warn")
        if dev.error:
            text.append(" ! " + ("error" if short else dev.error), style=warn)
        if dev.throttle_reasons:
            words = dev.throttle_reasons[0] if short else ", ".join(dev.throttle_reasons)
            text.append(f" ⚠{words}", style=warn)
        if dev.ecc_errors:
            text.append(f" ECC {dev.ecc_errors}", style=self._style("lost"))
        if dev.mig_devices:
            text.append(f" MIG×{len(dev.mig_devices)}", style=self._style("label"))
        if short and any(p.is_training for p in dev.processes or ()):
            text.append(" ◆train", style=self._style("training"))

    def _full(self, dev: GpuDeviceSample, width: int, *, process_rows: bool) -> list[Text]:
        """nvidia-smi style: a gauge line, a details line, processes and MIG devices."""
        if dev.lost:
            return [self._lost(dev, width)]
        label = self._style("label")
        frac = dev.mem_fraction
        bar = max(8, min(20, (width - 60) // 2))
        one = Text(no_wrap=True, overflow="ellipsis", end="")
        one.append(f"{dev.index} ", style=self._style("name"))
        one.append(f"{dev.short_name[:18]:<18} ", style=self._style("name"))
        one.append("util ", style=label)
        util = None if dev.util_pct is None else dev.util_pct / 100
        self._bar(one, util, bar)
        one.append(f" {fmt_num(dev.util_pct, '%'):>4}  ")
        one.append("mem ", style=label)
        self._bar(one, frac, bar, frac is not None and frac >= 0.95)
        one.append(f" {fmt_gib(dev.mem_used_bytes)}/{fmt_gib(dev.mem_total_bytes)}G")

        two = Text(no_wrap=True, overflow="ellipsis", end="")
        two.append("  ")
        two.append(f"{fmt_num(dev.temperature_c, '°C')}  ")
        two.append(f"{fmt_num(dev.power_w)}/{fmt_num(dev.power_limit_w, 'W')}  ")
        two.append("fan ", style=label)
        two.append(f"{fmt_num(dev.fan_pct, '%')}  ")
        two.append(f"{fmt_num(dev.sm_clock_mhz, 'MHz')}  ")
        two.append("P" + ("?" if dev.pstate is None else str(dev.pstate)))
        two.append("  ECC ", style=label)
        if dev.ecc_errors is None:
            two.append("N/A", style=self._style("dim"))
        else:
            two.append(str(dev.ecc_errors), style=self._style("lost") if dev.ecc_errors else None)
        if dev.error:
            two.append(f"  ! {dev.error}", style=self._style("warn"))
        if dev.throttle_reasons:
            two.append("  throttled: ", style=self._style("warn"))
            two.append(", ".join(dev.throttle_reasons), style=self._style("warn"))
        if not process_rows and dev.processes is not None:
            two.append("  procs ", style=label)
            two.append(str(len(dev.processes)))
            if any(p.is_training for p in dev.processes):
                two.append(" ◆train", style=self._style("training"))
        key = dev.uuid or f"#{dev.index}"
        spark_w = max(0, min(HISTORY, (width - two.cell_len - 12) // 2))
        if spark_w >= 8:
            two.append("  u", style=label)
            self._spark(two, self.history.gpu_util(key), spark_w)
            two.append(" m", style=label)
            self._spark(two, self.history.gpu_mem(key), spark_w)
        lines = [one, two]
        if process_rows:
            lines.extend(self._procs(dev, width))
        for child in dev.mig_devices:
            mig = Text(no_wrap=True, overflow="ellipsis", end="")
            mig.append(f"  └ MIG {dev.index}:{child.index} ", style=label)
            profile = child.name.rsplit("MIG ", 1)[-1]  # "… MIG 3g.40gb" → "3g.40gb"
            mig.append(f"{profile[:12]:<12} ")
            mig.append("mem ", style=label)
            self._bar(mig, child.mem_fraction, 8)
            mig.append(f" {fmt_gib(child.mem_used_bytes)}/{fmt_gib(child.mem_total_bytes)}G")
            lines.append(mig)
            lines.extend(self._procs(child, width, indent="      "))
        return lines

    def _spark(self, text: Text, values: Sequence[float], width: int) -> None:
        tail = list(values)[-width:]
        (row,) = spark_rows(tail, 1, lo=0.0, hi=100.0) if tail else ("",)
        text.append(row.ljust(width), style=self._style("spark"))

    def _procs(self, dev: GpuDeviceSample, width: int, indent: str = "    ") -> list[Text]:
        label = self._style("label")
        dim = self._style("dim")
        if dev.processes is None:
            if dev.processes_note and dev.mig_devices:
                return []
            note = dev.processes_note or "processes: N/A"
            return [Text(f"{indent}procs: {note}", style=dim, no_wrap=True, end="")]
        if not dev.processes:
            return [Text(f"{indent}no compute processes", style=dim, no_wrap=True, end="")]
        rows: list[Text] = []
        shown: Sequence[GpuProcess] = sorted(
            dev.processes, key=lambda p: (not p.is_training, -(p.used_memory_bytes or 0))
        )
        for proc in shown[:MAX_PROCS]:
            row = Text(no_wrap=True, overflow="ellipsis", end="")
            style = self._style("training") if proc.is_training else None
            row.append(indent)
            row.append("◆ " if proc.is_training else "  ", style=style)
            row.append(f"{proc.pid:>7} ", style=style)
            row.append(f"{(proc.user or '?')[:10]:<10} ", style=label)
            mem = proc.used_memory_bytes
            row.append(f"{fmt_gib(mem) + ('G' if mem is not None else ''):>6} ")
            command = proc.command if proc.visible else "(not visible here)"
            row.append(command or "?", style=style if proc.visible else dim)
            rows.append(row)
        if len(shown) > MAX_PROCS:
            more = f"{indent}  … {len(shown) - MAX_PROCS} more"
            rows.append(Text(more, style=dim, no_wrap=True, end=""))
        if dev.processes_note:
            rows.append(Text(f"{indent}{dev.processes_note}", style=dim, no_wrap=True, end=""))
        return rows

    def _strip(self, snap: GpuSnapshot, width: int) -> list[Text]:
        """Below 40 columns: an aggregate line, a heat strip, and any lost GPUs."""
        label = self._style("label")
        live = [d for d in snap.devices if not d.lost]
        utils = [d.util_pct for d in live if d.util_pct is not None]
        mems = [100 * f for d in live if (f := d.mem_fraction) is not None]
        temps = [d.temperature_c for d in live if d.temperature_c is not None]
        one = Text(no_wrap=True, overflow="ellipsis", end="")
        one.append(f"{len(snap.devices)}×GPU ", style=self._style("name"))
        one.append("U", style=label)
        one.append(f"{fmt_num(sum(utils) / len(utils) if utils else None)} ")
        one.append("M", style=label)
        one.append(f"{fmt_num(max(mems) if mems else None, '%')} ")
        one.append(f"{fmt_num(max(temps) if temps else None, 'C')}")
        two = Text(no_wrap=True, overflow="ellipsis", end="")
        two.append("u ", style=label)
        self._heat(two, [d.util_pct for d in snap.devices])
        two.append(" m ", style=label)
        self._heat(two, [None if (f := d.mem_fraction) is None else 100 * f for d in snap.devices])
        lines = [one, two]
        lines.extend(self._lost(d, width) for d in snap.devices if d.lost)
        return lines

    def _heat(self, text: Text, values: Sequence[float | None]) -> None:
        cells = [math.nan if v is None else v for v in values]
        (row,) = spark_rows(cells, 1, lo=0.0, hi=100.0)
        text.append(row.replace(" ", "·"), style=self._style("spark"))
