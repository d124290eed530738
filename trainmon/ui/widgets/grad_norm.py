"""The grad-norm pane: a cheap sparkline plus last / min / max / median.

Spikes (the same test as the advice engine's grad-norm spike rule) are drawn in the error
colour, values above the trainer's clip threshold in the warning colour, so both show at a
glance without a legend. Colours come from component classes styled with theme variables.

The pane is redrawn for every new record, so it keeps its screen lines and turns its text into
them itself (Textual's general conversion cost more than drawing the content), and asks for
only the rows that changed to be repainted.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import RenderResult

from trainmon.i18n import N_, _, ngettext
from trainmon.plotdata import GradNormData
from trainmon.ui.widgets.counts import WorkCounts
from trainmon.ui.widgets.rows import KeptLines, repaint_rows
from trainmon.ui.widgets.spark import rebucket_max, spark_rows, styled_rows

ABSENT_TEXT = N_("no grad_norm in this log")
ABOVE_GLYPH = "↑"
"""Marks a cell above the sparkline's scale (a spike taller than the pane)."""


def fmt(value: float | None) -> str:
    """A grad-norm value for the summary line: short, and `–` when unknown."""
    if value is None:
        return "–"
    return f"{value:.3g}"


class GradNormPane(KeptLines):
    """Sparkline of the grad norm over the run, and its summary numbers on the last line."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "grad-norm--bar",
        "grad-norm--spike",
        "grad-norm--clipped",
        "grad-norm--label",
        "grad-norm--dim",
    }

    DEFAULT_CSS = """
    GradNormPane {
        height: 3;
        min-height: 1;
    }
    GradNormPane > .grad-norm--bar { color: $primary; }
    GradNormPane > .grad-norm--spike { color: $error; text-style: bold; }
    GradNormPane > .grad-norm--clipped { color: $warning; }
    GradNormPane > .grad-norm--label { color: $text-muted; }
    GradNormPane > .grad-norm--dim { color: $text-muted; text-style: italic; }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._data = GradNormData()
        self.counts = WorkCounts()
        self.line_repaints = 0
        """Rows sent to be repainted by `show` (for tests and benches)."""

    @property
    def data(self) -> GradNormData:
        """What is shown now."""
        return self._data

    def show(self, data: GradNormData) -> bool:
        """Show new data; returns False (and repaints nothing) when it equals the current."""
        if data == self._data:
            return False
        self._data = data
        self.counts.updates += 1
        self._repaint_changed()
        return True

    def _repaint_changed(self) -> None:
        """Draw the new lines now and repaint only the rows that differ from the screen's."""
        before = self.take_kept()
        if not self.is_mounted or before is None:
            self.refresh()
            return
        after = self.draw_kept()
        changed = repaint_rows(self, before, after, self.content_size.width)
        self.line_repaints += len(after) if changed is None else len(changed)

    def summary(self) -> Text:
        """The one-line summary under the sparkline (plain text, never markup)."""
        d = self._data
        label = self.component_style("grad-norm--label")
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append("grad_norm ", style=label)
        for name, value in (
            (N_("last"), d.last),
            (N_("min"), d.min),
            (N_("max"), d.max),
            (N_("med"), d.median),
        ):
            text.append(f"{_(name)} ", style=label)
            text.append(f"{fmt(value)}  ")
            if name == "max" and d.scale_top is not None:  # the scale, beside the true max
                text.append(f"({ABOVE_GLYPH}>{fmt(d.scale_top)})  ", style=label)
        if d.spikes:
            spike = self.component_style("grad-norm--spike")
            n = len(d.spikes)
            text.append(
                ngettext("{count} spike", "{count} spikes", n).format(count=n) + "  ", style=spike
            )
        if d.clip is not None:
            clipped = self.component_style("grad-norm--clipped")
            finite = d.count - d.nonfinite
            share = (
                " (" + _("{percent}% above").format(percent=f"{100 * d.clipped / finite:.0f}") + ")"
                if finite
                else ""
            )
            text.append(
                _("clip") + f" {fmt(d.clip)}{share}  ", style=clipped if d.clipped else label
            )
        if d.nonfinite:
            spike = self.component_style("grad-norm--spike")
            text.append(f"{d.nonfinite} NaN/inf", style=spike)
        text.rstrip()
        return text

    def render(self) -> RenderResult:
        """The sparkline rows (height - 1 of them) and the summary line."""
        d = self._data
        width = self.content_size.width
        height = self.content_size.height
        if width <= 0 or height <= 0:
            return Text("")
        if not d.present:
            dim = self.component_style("grad-norm--dim")
            return Text(_(ABSENT_TEXT), style=dim, no_wrap=True, overflow="ellipsis", end="")
        summary = self.summary()
        spark_height = height - 1
        if spark_height <= 0 or not d.values:
            return summary
        values = rebucket_max(d.values, width)
        spikes = self._cell_flags(d.spikes, len(d.values), len(values))
        bar = self.component_style("grad-norm--bar")
        spike = self.component_style("grad-norm--spike")
        clipped = self.component_style("grad-norm--clipped")
        styles: list[Style | None] = []
        for i, v in enumerate(values):
            if spikes[i]:
                styles.append(spike)
            elif d.clip is not None and v > d.clip:
                styles.append(clipped)
            else:
                styles.append(bar)
        rows = spark_rows(values, spark_height, hi=d.scale_top)
        if d.scale_top is not None:  # cells above the scale: marked on the top row
            top = d.scale_top
            rows[0] = "".join(
                ABOVE_GLYPH if v > top else c for c, v in zip(rows[0], values, strict=True)
            )
            styles = [spike if v > top else st for st, v in zip(styles, values, strict=True)]
        text = styled_rows(rows, styles)
        text.append("\n")
        text.append_text(summary)
        return text

    @staticmethod
    def _cell_flags(indices: tuple[int, ...], n_in: int, n_out: int) -> list[bool]:
        """Map flagged input cells onto the (possibly fewer) output cells."""
        flags = [False] * n_out
        if n_out <= 0 or n_in <= 0:
            return flags
        if n_in <= n_out:
            for i in indices:
                if 0 <= i < n_out:
                    flags[i] = True
            return flags
        flagged = set(indices)
        for j in range(n_out):  # the same buckets as rebucket_max
            lo = j * n_in // n_out
            hi = max(lo + 1, (j + 1) * n_in // n_out)
            flags[j] = any(k in flagged for k in range(lo, hi))
        return flags
