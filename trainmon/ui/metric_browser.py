"""The metric browser (`M`): every series the runs carry, to chart one in the second plot.

Each row is one series of one run: its name, the run, its record count, its last value and a
sparkline of its last values. Enter charts the series under the cursor (every run's series of
that name) in the metric plot; `c` clears the metric plot; Escape closes the browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from trainmon.i18n import N_, _, ngettext
from trainmon.metric_series import SeriesRow
from trainmon.text import display_name, terminal_safe
from trainmon.ui.bindings_text import TranslatedBindings
from trainmon.ui.widgets.spark import spark_rows

CLEAR = ""
"""What the browser returns for "no metric plot" (`c`)."""


class MetricBrowser(TranslatedBindings, ModalScreen[str | None]):
    """Pick a series by name; returns it, `CLEAR`, or None (closed)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,M", "close", N_("close")),
        Binding("c", "clear", N_("clear the metric plot")),
    ]
    DEFAULT_CSS = """
    MetricBrowser { align: center middle; }
    MetricBrowser > Vertical {
        width: 90%; height: 80%;
        border: round $primary; background: $surface;
    }
    MetricBrowser #metric-help { height: 1; color: $text-muted; padding: 0 1; }
    MetricBrowser DataTable { height: 1fr; }
    """

    def __init__(self, rows: Sequence[SeriesRow], charted: Sequence[str] = ()) -> None:
        super().__init__()
        self.rows = tuple(rows)
        self.charted = tuple(charted)

    def compose(self) -> ComposeResult:
        with Vertical() as frame:
            count = len(self.rows)
            series = ngettext("{count} series", "{count} series", count).format(count=count)
            frame.border_title = _("metrics") + f" · {series}"
            yield Static(
                _("enter: chart it · c: clear the metric plot · escape: close"), id="metric-help"
            )
            yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(_("metric"), _("run"), _("records"), _("last"), _("recent"))
        for i, row in enumerate(self.rows):
            last = "-" if row.last is None else f"{row.last:.6g}"
            spark = spark_rows(row.spark)[0] if row.spark else ""
            mark = "● " if row.name in self.charted else "  "
            table.add_row(
                mark + display_name(row.name),
                terminal_safe(row.run),
                f"{row.count:,}",
                last,
                spark,
                key=str(i),
            )
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(self.rows[int(str(event.row_key.value))].name)

    def action_clear(self) -> None:
        self.dismiss(CLEAR)

    def action_close(self) -> None:
        self.dismiss(None)
