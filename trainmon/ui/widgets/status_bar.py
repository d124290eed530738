"""The status line: one row per run with file, format, progress, ETA, freshness and state.

The row is built from an immutable `RunStatus`, so the widget repaints only when what it
shows changes (a status line that changes once a minute costs nothing in between). Fields
are dropped lowest-priority first to fit narrow panes. File names and states come from the
outside world and are always plain `Text`, never markup.

Many runs (`trainmon r*.log` with 40 logs) would push the plots off the screen, so the rows
take at most a quarter of the terminal's height: beyond that, the first row sums the runs up
by health ("40 runs: 2 waiting, 38 ok"), and the rows that fit go to the runs that need a
look first (errors, warnings, stalled, waiting), shown in command-line order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Final, Literal

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.color import Color

from trainmon.i18n import N_, _, ngettext
from trainmon.records import Progress
from trainmon.ui.widgets.counts import WorkCounts
from trainmon.ui.widgets.rows import KeptLines, repaint_spans

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
    """Lines without metrics worth a mention: before any record, or piling up since the last."""
    saved_to: str = ""
    """Standard input's run: the file the pipe is saved in."""
    ended: str = ""
    """`training process 4242 exited (killed by SIGKILL)`: the run will not move again."""
    note: str = ""
    """A bound that was hit, e.g. "12 more series ignored (--max-series 256)"."""


def age_text(age_s: float | None, finished: bool) -> tuple[str, Level]:
    """The freshness field and its level."""
    if finished:
        return _("finished"), "info"
    if age_s is None:
        return _("no records yet"), "info"
    if age_s >= STALE_WARN_S:
        return _("no new record for {duration}").format(duration=fmt_duration(age_s)), "warning"
    if age_s < AGE_FRESH_S:
        return _("last record <{seconds:.0f}s ago").format(seconds=AGE_FRESH_S), "ok"
    return _("last record {duration} ago").format(duration=fmt_duration(age_s)), "ok"


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


Health = Literal["error", "warning", "stalled", "waiting", "no records", "finished", "ok"]

HEALTH_ORDER: Final[tuple[Health, ...]] = (
    "error",
    "warning",
    "stalled",
    "waiting",
    "no records",
    "finished",
    "ok",
)
"""Worst first: the summary counts in this order and rows are given to the worst runs."""

WAITING_STATE: Final = N_("waiting for {label}")
"""The state of a run whose log does not exist yet (its health is `waiting`)."""
HEALTH_WORDS: Final[dict[Health, str]] = {
    "error": N_("error"),
    "warning": N_("warning"),
    "stalled": N_("stalled"),
    "waiting": N_("waiting"),
    "no records": N_("no records"),
    "finished": N_("finished"),
    "ok": N_("ok"),
}
"""How each health reads in the summary row (translated where it is shown)."""
HEALTH_LEVELS: Final[dict[Health, Level]] = {
    "error": "error",
    "warning": "warning",
    "stalled": "warning",
    "waiting": "info",
    "no records": "info",
    "finished": "info",
    "ok": "ok",
}

MIN_STATUS_ROWS: Final = 2
"""Even in a small terminal the summary and the worst run are shown."""

STATUS_SHARE: Final = 4
"""The rows take at most 1/STATUS_SHARE of the terminal's height."""


def run_health(row: RunStatus) -> Health:
    """One word for how a run is doing, for the summary of many runs."""
    if row.level == "error":
        return "error"
    if row.level == "warning":
        return "warning"
    if row.state == _(WAITING_STATE).format(label=row.label):
        return "waiting"
    if row.finished:
        return "finished"
    if row.age_s is None:
        return "no records"
    if age_text(row.age_s, row.finished)[1] == "warning":
        return "stalled"
    return "ok"


def status_row_limit(screen_height: int) -> int:
    """How many status rows a terminal of this height gives the runs."""
    return max(MIN_STATUS_ROWS, screen_height // STATUS_SHARE)


def rows_to_show(
    rows: tuple[RunStatus, ...], limit: int
) -> tuple[dict[Health, int] | None, tuple[RunStatus, ...]]:
    """The summary counts (None when every row fits) and the rows that fit under it.

    Beyond `limit` rows, one line is the summary and `limit - 1` rows go to the worst runs
    (ties: command-line order), which are then shown in command-line order so that a row
    does not jump around while its run's health holds.
    """
    if len(rows) <= limit:
        return None, rows
    health = [run_health(row) for row in rows]
    counts = {h: health.count(h) for h in HEALTH_ORDER if h in health}
    worst = sorted(range(len(rows)), key=lambda i: (HEALTH_ORDER.index(health[i]), i))
    chosen = sorted(worst[: max(0, limit - 1)])
    return counts, tuple(rows[i] for i in chosen)


class StatusBar(KeptLines):
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
        self.counts = WorkCounts()

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
        self.counts.updates += 1
        before = self.take_kept()
        if resize or before is None or not self.is_mounted:
            self.refresh(layout=resize)
            return True
        after = self.draw_kept()
        if len(after) != len(before):
            self.refresh()
        else:  # only the cells that changed: a new step moves a few digits
            repaint_spans(self, before, after)
        return True

    @property
    def row_limit(self) -> int:
        """How many lines the rows may take in the current terminal."""
        return status_row_limit(self.app.size.height)

    def shown(self) -> tuple[dict[Health, int] | None, tuple[RunStatus, ...]]:
        """The summary (None when every run has its row) and the rows on screen."""
        return rows_to_show(self._rows, self.row_limit)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        """One line per run shown, plus the summary line of many runs (at least one)."""
        summary, rows = self.shown()
        return max(1, len(rows) + (summary is not None))

    def plain_lines(self, width: int = 200) -> list[str]:
        """The lines on screen as plain text (for tests and the headless stream)."""
        return [line.plain for line in self._lines(width)]

    def summary_text(
        self, counts: dict[Health, int], shown: int, width: int, *, paused: bool = False
    ) -> Text:
        """The first line with many runs: how many, how they are doing, how many are listed."""
        total = sum(counts.values())
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(_("{count} runs: ").format(count=total), style=self._style("label"))
        if paused:
            text.append(" " + _("paused") + " ", style=self._style("paused"))
            text.append(" ")
        for n, health in enumerate(h for h in HEALTH_ORDER if h in counts):
            if n:
                text.append(", ")
            level = HEALTH_LEVELS[health]
            style = self._style(level) if level != "ok" else Style()
            text.append(f"{counts[health]} {_(HEALTH_WORDS[health])}", style=style)
        text.append(
            "  · " + _("{count} shown, problems first").format(count=shown),
            style=self._style("dim"),
        )
        text.truncate(max(1, width), overflow="ellipsis")
        return text

    def _lines(self, width: int) -> list[Text]:
        summary, rows = self.shown()
        paused = any(row.paused for row in self._rows)
        lines = (
            [self.summary_text(summary, len(rows), width, paused=paused)]
            if summary is not None
            else []
        )
        return lines + [self.row_text(row, width) for row in rows]

    def _style(self, name: str) -> Style:
        return self.component_style(f"status-bar--{name}")

    def _run_style(self, colour: str) -> Style:
        try:
            value = self.app.theme_variables.get(colour, colour)  # a variable or a colour
            if value:
                return Style(color=Color.parse(value).rich_color, bold=True)
        except Exception:  # an unparsable theme value: fall back to the default colour
            pass
        return Style(bold=True)

    def row_text(self, row: RunStatus, width: int) -> Text:
        """One run's row, fitted to `width` cells: the least important parts go first."""
        parts = _shorten_states(self._row_parts(row), width)
        fraction = row.progress.fraction
        bar_at = None
        if fraction is not None:
            bar_at = len(parts)
            parts.append((20, Text("")))  # placeholder: the bar takes the leftover width
        keep = _fit(parts, width, bar_at)
        if bar_at is not None and bar_at in keep and fraction is not None:
            room = width - _used(parts, keep)
            bar_width = max(MIN_BAR, min(30, room - 2))
            bar = Text("▕" + progress_bar(fraction, bar_width - 2) + "▏")
            bar.stylize(self._style("bar"))
            parts[bar_at] = (20, bar)
        # Show the bar right after the percentage, whatever its priority.
        display = sorted(keep)
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

    def _row_parts(self, row: RunStatus) -> list[tuple[int, Text]]:
        """A row's parts as (priority, text): higher priority survives a narrow terminal."""
        parts: list[tuple[int, Text]] = []
        head = Text(no_wrap=True, end="")
        head.append("● ", style=self._run_style(row.colour))
        head.append(row.label, style=self._style("label"))
        parts.append((100, head))
        if row.paused:
            parts.append((95, Text(" " + _("paused") + " ", style=self._style("paused"))))
        if row.ended:
            level = "info" if row.finished else "error"
            parts.append((ENDED, Text(row.ended, style=self._style(level))))
        if row.state:
            level = row.level if row.level != "ok" else "info"
            parts.append((STATE, Text(row.state, style=self._style(level))))
        p = row.progress
        if p.step is not None:
            step = _("step {step}").format(step=p.step) + (
                f"/{p.total_steps}" if p.total_steps else ""
            )
            parts.append((85, Text(step)))
        if p.fraction is not None:
            parts.append((70, Text(f"{100 * p.fraction:.0f}%")))
        if p.eta_s is not None:
            parts.append((75, Text(f"ETA {fmt_eta(p.eta_s)}")))
        age, age_level = age_text(row.age_s, row.finished)
        age_style = self._style(age_level) if age_level != "ok" else self._style("dim")
        parts.append((80 if age_level == "warning" else 60, Text(age, style=age_style)))
        dim = self._style("dim")
        if p.steps_per_s is not None:
            parts.append((50, Text(fmt_rate(p.steps_per_s), style=dim)))
        if p.epoch is not None:
            parts.append((45, Text(f"ep {p.epoch:.2f}")))
        if row.saved_to:
            parts.append((55, Text(f"→ {row.saved_to}", style=dim)))
        if row.log_format:
            parts.append((40, Text(row.log_format, style=dim)))
        if row.note:
            parts.append((35, Text(row.note, style=self._style("warning"))))
        if row.unparsed:
            other = (
                ngettext(
                    "{count} other line since the last record",
                    "{count} other lines since the last record",
                    row.unparsed,
                )
                if row.records
                else ngettext("{count} other line", "{count} other lines", row.unparsed)
            )
            parts.append((30, Text(other.format(count=row.unparsed), style=dim)))
        return parts

    def render(self) -> RenderResult:
        """The rows shown, under the summary when there are more runs than rows."""
        width = self.content_size.width or 80
        if not self._rows:
            return Text("")
        return Text("\n", end="").join(self._lines(width))


MIN_BAR = 6
"""The narrowest progress bar worth drawing."""
ENDED, STATE = 92, 90
"""Priorities of the process's end and of the follow state: long texts (a path), shortened
to the room they leave rather than dropped."""
RESERVED = 80
"""Parts from this priority up (the step, an old last record) keep their room beside them."""
MIN_STATE = 12
"""The narrowest shortened state worth showing."""


def _shorten_states(parts: list[tuple[int, Text]], width: int) -> list[tuple[int, Text]]:
    """The end and the state cut with an ellipsis to a share of the room the name and the
    reserved parts leave: dropping a long error (its path) whole would drop the word "error"
    with it."""
    reserved = sum(
        cell_len(text.plain) + 2
        for n, (priority, text) in enumerate(parts)
        if n == 0 or (priority >= RESERVED and priority not in (ENDED, STATE))
    )
    room = width - reserved
    out = list(parts)
    elastic = sorted(
        (n for n, (priority, _text) in enumerate(parts) if priority in (ENDED, STATE)),
        key=lambda n: cell_len(parts[n][1].plain),
    )
    for k, n in enumerate(elastic):  # the shorter first: what it leaves goes to the other
        cap = max(MIN_STATE, room // (len(elastic) - k) - 2)
        priority, text = parts[n]
        if cell_len(text.plain) > cap:
            text = text.copy()
            text.truncate(cap, overflow="ellipsis")
            out[n] = (priority, text)
        room -= cell_len(text.plain) + 2
    return out


def _used(parts: list[tuple[int, Text]], keep: set[int]) -> int:
    """Cells the kept parts take, two spaces between each."""
    return sum(cell_len(parts[i][1].plain) for i in keep) + 2 * (len(keep) - 1)


def _fit(parts: list[tuple[int, Text]], width: int, bar_at: int | None) -> set[int]:
    """The parts that fit in `width` (the bar, while kept, at least `MIN_BAR` cells): the
    lowest priority goes first, and of equal ones the later."""
    keep = set(range(len(parts)))
    while len(keep) > 1 and _used(parts, keep) + (MIN_BAR if bar_at in keep else 0) > width:
        keep.discard(min(keep, key=lambda i: (parts[i][0], -i)))
    return keep
