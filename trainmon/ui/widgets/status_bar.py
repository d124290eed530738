"""The status line: one row per run with file, format, progress, ETA, freshness and state.

The row is built from an immutable `RunStatus`, so the widget repaints only when what it
shows changes (a status line that changes once a minute costs nothing in between). Fields
are dropped lowest-priority first to fit narrow panes. File names and states come from the
outside world and are always plain `Text`, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Final, Literal

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual.widget import Widget

from trainmon.records import Progress

Level = Literal["ok", "info", "warning", "error"]

STALE_WARN_S: Final = 300.0
"""After this long without a new record the age turns into a warning ("no new record for
12 min"): long enough for an eval pass or a checkpoint save, short enough to catch a hang."""

AGE_FRESH_S: Final = 10.0
"""Ages below this are shown as `<10s`: the line then stays still while records flow."""

BAR_CHARS: Final = "█▏▎▍▌▋▊▉"


def fmt_duration(seconds: float) -> str:
    """A short human duration: `42s`, `12 min`, `3.2 h`, `2.1 d`."""
    s = max(0.0, seconds)
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


def fmt_eta(seconds: float) -> str:
    """An ETA as `7m12s`, `3h05m` or `2d04h`."""
    s = int(max(0.0, seconds))
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def fmt_rate(steps_per_s: float) -> str:
    """Steps per second, or seconds per step when slower than one step a second."""
    if steps_per_s >= 1.0:
        return f"{steps_per_s:.3g} it/s"
    if steps_per_s > 0:
        return f"{1.0 / steps_per_s:.3g} s/it"
    return "– it/s"


def progress_bar(fraction: float, width: int) -> str:
    """A bar of `width` cells with eighth-cell resolution."""
    width = max(1, width)
    f = max(0.0, min(1.0, fraction))
    eighths = round(f * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full
    if part and full < width:
        bar += BAR_CHARS[part]
    return bar + " " * (width - cell_len(bar))


@dataclass(frozen=True, slots=True)
class RunStatus:
    """What the status line says about one run; equal values mean nothing to repaint."""

    label: str
    """The run's name on screen (the file name)."""
    colour: str = "primary"
    """Theme variable of the run's colour (the same as its plot lines)."""
    log_format: str | None = None
    progress: Progress = field(default_factory=Progress)
    state: str = ""
    """Follower state worth showing (`waiting for run.log`, `file truncated: new segment`)."""
    level: Level = "ok"
    paused: bool = False
    age_s: float | None = None
    """Seconds since the newest record arrived, rounded by the caller to what is shown."""
    finished: bool = False
    """The log printed an end-of-run summary."""
    records: int = 0
    unparsed: int = 0
    note: str = ""
    """A bound that was hit, e.g. "12 more series ignored (--max-series 256)"."""


def age_text(age_s: float | None, finished: bool) -> tuple[str, Level]:
    """The freshness field and its level."""
    if finished:
        return "finished", "info"
    if age_s is None:
        return "no records yet", "info"
    if age_s >= STALE_WARN_S:
        return f"no new record for {fmt_duration(age_s)}", "warning"
    if age_s < AGE_FRESH_S:
        return f"last record <{AGE_FRESH_S:.0f}s ago", "ok"
    return f"last record {fmt_duration(age_s)} ago", "ok"


def round_age(age_s: float | None) -> float | None:
    """Round an age to the resolution the status line shows, so equal text means equal value."""
    if age_s is None:
        return None
    # Coarse on purpose: an idle log must not repaint the status line every second (the
    # age is the only thing that changes), and "23s" vs "24s" tells nobody anything.
    s = max(0.0, age_s)
    if s < AGE_FRESH_S:
        return 0.0
    if s < 60:
        return float(int(s // 10) * 10)
    if s < 3600:
        return float(int(s // 60) * 60)
    return float(int(s // 360) * 360)


class StatusBar(Widget):
    """One status row per run, fitted to the width by dropping the least useful fields."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status-bar--label",
        "status-bar--dim",
        "status-bar--bar",
        "status-bar--info",
        "status-bar--warning",
        "status-bar--error",
        "status-bar--paused",
    }

    DEFAULT_CSS = """
    StatusBar {
        height: auto;
        min-height: 1;
    }
    StatusBar > .status-bar--label { text-style: bold; }
    StatusBar > .status-bar--dim { color: $text-muted; }
    StatusBar > .status-bar--bar { color: $primary; }
    StatusBar > .status-bar--info { color: $text-muted; }
    StatusBar > .status-bar--warning { color: $warning; text-style: bold; }
    StatusBar > .status-bar--error { color: $error; text-style: bold; }
    StatusBar > .status-bar--paused { color: $warning; text-style: bold reverse; }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: tuple[RunStatus, ...] = ()
        self.updates = 0
        """How many times new content caused a repaint (for tests and benches)."""

    @property
    def rows(self) -> tuple[RunStatus, ...]:
        """What is shown now."""
        return self._rows

    def show(self, rows: tuple[RunStatus, ...]) -> bool:
        """Show these rows; returns False (and repaints nothing) when they equal the current."""
        if rows == self._rows:
            return False
        resize = len(rows) != len(self._rows)
        self._rows = rows
        self.updates += 1
        self.refresh(layout=resize)
        return True

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        """One line per run (at least one)."""
        return max(1, len(self._rows))

    def plain_lines(self, width: int = 200) -> list[str]:
        """The rows as plain text (for tests and the headless stream)."""
        return [self.row_text(row, width).plain for row in self._rows]

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"status-bar--{name}", partial=True)

    def _run_style(self, colour: str) -> Style:
        try:
            value = self.app.theme_variables.get(colour)
            if value:
                return Style(color=Color.parse(value).rich_color, bold=True)
        except Exception:  # an unparsable theme value: fall back to the default colour
            pass
        return Style(bold=True)

    def row_text(self, row: RunStatus, width: int) -> Text:
        """One run's row, fitted to `width` cells."""
        # (priority, text): higher priority survives longer when the row must shrink.
        parts: list[tuple[int, Text]] = []
        head = Text(no_wrap=True, end="")
        head.append("● ", style=self._run_style(row.colour))
        head.append(row.label, style=self._style("label"))
        parts.append((100, head))
        if row.paused:
            parts.append((95, Text(" paused ", style=self._style("paused"))))
        if row.state:
            level = row.level if row.level != "ok" else "info"
            parts.append((90, Text(row.state, style=self._style(level))))
        p = row.progress
        if p.step is not None:
            step = f"step {p.step}" + (f"/{p.total_steps}" if p.total_steps else "")
            parts.append((85, Text(step)))
        fraction = p.fraction
        if fraction is not None:
            parts.append((70, Text(f"{100 * fraction:.0f}%")))
        if p.eta_s is not None:
            parts.append((75, Text(f"ETA {fmt_eta(p.eta_s)}")))
        age, age_level = age_text(row.age_s, row.finished)
        age_style = self._style(age_level) if age_level != "ok" else self._style("dim")
        parts.append((80 if age_level == "warning" else 60, Text(age, style=age_style)))
        if p.steps_per_s is not None:
            parts.append((50, Text(fmt_rate(p.steps_per_s), style=self._style("dim"))))
        if p.epoch is not None:
            parts.append((45, Text(f"ep {p.epoch:.2f}")))
        if row.log_format:
            parts.append((40, Text(row.log_format, style=self._style("dim"))))
        if row.unparsed:
            parts.append((30, Text(f"{row.unparsed} unparsed", style=self._style("dim"))))
        if row.note:
            parts.append((35, Text(row.note, style=self._style("warning"))))
        bar_at = None
        if fraction is not None:
            bar_at = len(parts)
            parts.append((20, Text("")))  # placeholder: the bar takes the leftover width

        order = list(range(len(parts)))
        keep = set(order)

        def used() -> int:
            return sum(cell_len(parts[i][1].plain) for i in keep) + 2 * (len(keep) - 1)

        min_bar = 6
        while len(keep) > 1 and used() + (min_bar if bar_at in keep else 0) > width:
            lowest = min(keep, key=lambda i: (parts[i][0], -i))
            keep.discard(lowest)
        if bar_at is not None and bar_at in keep and fraction is not None:
            room = width - used()
            bar_width = max(min_bar, min(30, room - 2))
            parts[bar_at] = (20, Text("▕" + progress_bar(fraction, bar_width - 2) + "▏"))
            parts[bar_at][1].stylize(self._style("bar"))
        # Show the bar right after the percentage, whatever its priority.
        display = [i for i in order if i in keep]
        if bar_at is not None and bar_at in display:
            display.remove(bar_at)
            pct = next((i for i in display if parts[i][1].plain.endswith("%")), None)
            display.insert(display.index(pct) if pct is not None else len(display), bar_at)
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        for n, i in enumerate(display):
            if n:
                text.append("  ")
            text.append_text(parts[i][1])
        text.truncate(max(1, width), overflow="ellipsis")
        return text

    def render(self) -> RenderResult:
        """Every run's row."""
        width = self.content_size.width or 80
        if not self._rows:
            return Text("")
        lines = [self.row_text(row, width) for row in self._rows]
        return Text("\n", end="").join(lines)
