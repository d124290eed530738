"""`trainmon DIR`: the runs of a folder as a list to pick from, before the dashboard.

The list shows each run's name and kind at once and fills in its format, step/total, last
loss, state and worst finding as a background thread reads the runs one by one, newest first
(`trainmon.folder.read_row`, what `report DIR` prints). The same thread looks for new runs
every few seconds (a trainer that starts a new run while the list is open) and adds them.
Enter follows the run under the cursor in the dashboard, `a` follows every run, `q` or Escape
quits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from trainmon.folder import RunRow, read_row, step_text, worst_text
from trainmon.i18n import N_
from trainmon.inputs.discover import Discovery, RunEntry, discover_runs
from trainmon.text import display_name, terminal_safe
from trainmon.ui.bindings_text import TranslatedBindings

COLUMNS = ("run", "format", "step", "last loss", "state", "worst finding")
RESCAN_S = 2.0
"""How often the folder is searched again for new runs."""

RowReader = Callable[[RunEntry], RunRow]


class RunListApp(TranslatedBindings, App[tuple[str, ...]]):
    """Pick the runs of a folder to follow; returns their paths (empty: quit)."""

    TITLE = "trainmon"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "pick", N_("follow this run")),
        Binding("a", "all", N_("follow every run")),
        Binding("q,escape", "quit_list", N_("quit")),
    ]
    CSS = """
    #title { height: 1; padding: 0 1; text-style: bold; }
    DataTable { height: 1fr; }
    """

    def __init__(self, discovery: Discovery, reader: RowReader = read_row) -> None:
        super().__init__()
        self.discovery = discovery
        self._reader = reader
        self._stop = threading.Event()
        self.rows: dict[str, RunRow] = {}
        """Rows read so far, by path (the test reads them)."""
        self.entries: list[RunEntry] = list(discovery.runs)
        """Every run listed, newest first at the start, runs found later at the end."""

    def compose(self) -> ComposeResult:
        count = len(self.discovery.runs)
        more = f", {self.discovery.left_out} older not listed" if self.discovery.left_out else ""
        title = f"{terminal_safe(self.discovery.folder)}: {count} runs{more}, newest first"
        yield Static(title, id="title")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._columns = table.add_columns(*COLUMNS)
        for entry in self.discovery.runs:
            self._add_entry(entry, listed=True)
        table.focus()
        threading.Thread(target=self._read_rows, name="trainmon-run-list", daemon=True).start()

    def _add_entry(self, entry: RunEntry, *, listed: bool = False) -> None:
        if not listed:
            self.entries.append(entry)
        self.query_one(DataTable).add_row(
            display_name(entry.name), entry.kind, "…", "…", "reading", "", key=entry.path
        )

    def _read_rows(self) -> None:
        """Read every run listed, then look for new ones every `RESCAN_S` (reader thread)."""
        todo = list(self.discovery.runs)
        known = {entry.path for entry in todo}
        while not self._stop.is_set():
            for entry in todo:
                row = self._reader(entry)
                if self._stop.is_set():
                    return
                self.call_from_thread(self._show_row, row)
            if self._stop.wait(RESCAN_S):
                return
            todo = [e for e in discover_runs(self.discovery.folder).runs if e.path not in known]
            known.update(entry.path for entry in todo)
            for entry in todo:
                self.call_from_thread(self._add_entry, entry)

    def _show_row(self, row: RunRow) -> None:
        self.rows[row.entry.path] = row
        table = self.query_one(DataTable)
        loss = row.last_loss
        cells = (
            row.summary.format,
            step_text(row),
            "-" if loss is None else f"{loss:.4g}",
            row.state,
            terminal_safe(worst_text(row)),
        )
        for column, value in zip(self._columns[1:], cells, strict=True):
            table.update_cell(row.entry.path, column, value, update_width=True)

    def _finish(self, paths: tuple[str, ...]) -> None:
        self._stop.set()
        self.exit(paths)

    def action_pick(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            self._finish((str(key.value),))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self._finish((str(event.row_key.value),))

    def action_all(self) -> None:
        self._finish(tuple(entry.path for entry in self.entries))

    def action_quit_list(self) -> None:
        self._finish(())


def pick_runs(discovery: Discovery) -> tuple[str, ...]:
    """Show the list; the paths picked (empty when the user quit)."""
    return RunListApp(discovery).run() or ()
