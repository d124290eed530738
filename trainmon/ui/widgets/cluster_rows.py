"""The GPU pane's rows for cluster GPUs (read through Prometheus): one line per node.

A job of 8 nodes × 8 GPUs must fit the narrow side pane, so each node is one line: its GPU
count and model, a heat strip with one cell per GPU (utilisation), the node's mean
utilisation, its fullest GPU's memory, its hottest GPU, its total power, and flags for what
needs a look (XID errors, throttling, memory nearly full, stale GPUs). Nodes that stopped
reporting get a line of their own. Styles are the GPU pane's (`gpu--*`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

from rich.style import Style
from rich.text import Text

from trainmon.sources.samples import GpuDeviceSample, GpuSnapshot
from trainmon.ui.widgets.spark import spark_rows
from trainmon.ui.widgets.status_bar import fmt_duration

NARROW: Final = 40
"""Below this width the header leaves out where the readings come from."""
MEMORY_COLUMN: Final = 46
"""Below this width a node's line keeps its name, strip, mean utilisation and flags."""
ROOMY: Final = 60
"""From this width on the line adds the hottest GPU's temperature and the node's power."""
WIDE: Final = 80
"""From this width on the line adds a memory strip and the node's RAM."""
HOT_MEMORY: Final = 0.95

StyleOf = Callable[[str], Style]


def _heat(values: Sequence[float | None]) -> str:
    cells = [math.nan if v is None else v for v in values]
    (row,) = spark_rows(cells, 1, lo=0.0, hi=100.0)
    return row.replace(" ", "·")


def _fmt(value: float | None, unit: str = "") -> str:
    return "N/A" if value is None or not math.isfinite(value) else f"{value:.0f}{unit}"


def cluster_lines(snap: GpuSnapshot, width: int, style: StyleOf, *, wide: bool) -> list[Text]:
    """A header, one line per node (by name), and one per node that went stale."""
    hosts: dict[str, list[GpuDeviceSample]] = {}
    for dev in snap.devices:
        hosts.setdefault(dev.host, []).append(dev)
    ram = dict(snap.host_ram_pct)
    count = len(snap.devices)
    models = {d.short_name.split()[0] for d in snap.devices if d.short_name}
    model = f" {models.pop()}" if len(models) == 1 else ""
    header = Text(no_wrap=True, overflow="ellipsis", end="")
    gpus = f"{count}{model} GPU{'s' if count != 1 else ''}"
    header.append(f"{gpus} · {len(hosts)} nodes", style=style("label"))
    if width >= NARROW:
        header.append(" · Prometheus", style=style("label"))
    lines = [header]
    name_w = min(14, max(len(h) for h in hosts)) if hosts else 0
    for host in sorted(hosts):
        lines.append(_host_line(host, hosts[host], name_w, width, style, wide, ram.get(host)))
    for host, age in snap.stale_hosts:
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        line.append(f"{host[:name_w]:<{name_w}} ", style=style("name"))
        line.append(f"stale: no data for {fmt_duration(age)}", style=style("warn"))
        lines.append(line)
    return lines


def _host_line(
    host: str,
    devices: list[GpuDeviceSample],
    name_w: int,
    width: int,
    style: StyleOf,
    wide: bool,
    ram_pct: float | None,
) -> Text:
    """`node-b ▁▁▁▁▁▁▁▁   6% M75% 64C 930W XID 79 g3`: the strip has one cell per GPU."""
    label = style("label")
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(f"{host[:name_w]:<{name_w}} ", style=style("name"))
    utils = [d.util_pct for d in devices]
    known = [u for u in utils if u is not None]
    text.append(_heat(utils), style=style("spark"))
    text.append(f" {_fmt(sum(known) / len(known) if known else None, '%'):>4}")
    fracs = [(f, d) for d in devices if (f := d.mem_fraction) is not None]
    top = max(fracs, key=lambda fd: fd[0]) if fracs else None
    if width >= MEMORY_COLUMN:
        text.append(" M", style=label)
        if top is None:
            text.append("N/A")
        else:
            hot = top[0] >= HOT_MEMORY
            text.append(f"{100 * top[0]:.0f}%", style=style("hot") if hot else None)
    if width >= ROOMY:
        temps = [d.temperature_c for d in devices if d.temperature_c is not None]
        power = [d.power_w for d in devices if d.power_w is not None]
        text.append(f" {_fmt(max(temps) if temps else None, 'C')}")
        if power:
            total = sum(power)
            text.append(f" {total / 1000:.1f}kW" if total >= 1000 else f" {total:.0f}W")
    if wide and width >= WIDE:
        text.append("  m ", style=label)
        mems = [None if (f := d.mem_fraction) is None else 100 * f for d in devices]
        text.append(_heat(mems), style=style("spark"))
        if ram_pct is not None:
            text.append("  RAM ", style=label)
            text.append(f"{ram_pct:.0f}%")
    _flags(text, devices, style, top if top is not None and top[0] >= HOT_MEMORY else None)
    return text


def _flags(
    text: Text,
    devices: list[GpuDeviceSample],
    style: StyleOf,
    full: tuple[float, GpuDeviceSample] | None,
) -> None:
    """What needs a look on this node, most serious first; GPUs named `g3`."""
    xids = [d for d in devices if d.xid]
    if xids:
        shown = ",".join(f"g{d.index}" for d in xids[:3])
        text.append(f" XID {xids[0].xid} {shown}", style=style("lost"))
    throttled = [d for d in devices if d.throttle_reasons]
    if throttled:
        reasons = throttled[0].throttle_reasons or ("",)
        word = reasons[0].split()[0]  # "thermal (hw)" -> "thermal", "power brake" -> "power"
        shown = ",".join(f"g{d.index}" for d in throttled[:3])
        text.append(f" ⚠{word} {shown}", style=style("warn"))
    if full is not None:
        text.append(f" mem g{full[1].index}", style=style("hot"))
    stale = [d for d in devices if d.error]
    if stale:
        text.append(f" ! {len(stale)} stale", style=style("warn"))
