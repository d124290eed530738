"""Header-then-rows metric tables: CSV/TSV files (Lightning, YOLO, Keras CSVLogger, timm),
fastai's printout, and YOLOv5's headerless `results.txt`.

A header is recognised by its content (metric-like column names, no numbers), not by the
file name; each later row with the same number of fields becomes one record. Fields may be
space-padded (ultralytics right-aligns every field) and cells that are not numbers
(timestamps, `00:12`) are skipped.
"""

from __future__ import annotations

import re
from typing import Final

from trainmon.parsing.lines import Hit, is_metric_name
from trainmon.records import RecordKind

_IDENT: Final = re.compile(rb"^[A-Za-z_][\w/().@:\-]*$")
_HEADER_WORDS: Final = (b"loss", b"acc", b"epoch", b"step", b"lr", b"map", b"metrics")
_SKIP_CELLS: Final = frozenset({"time", "v_num", "created_at", "timestamp", "wall_time"})
_YOLOV5: Final = re.compile(
    rb"^\s*(\d+)/(\d+)\s+[\d.]+[KMG]?(?:\s+[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan)){13}\s*$"
)
_YOLOV5_COLUMNS: Final = (
    "gpu_mem", "box_loss", "obj_loss", "cls_loss", "total_loss", "labels", "img_size",
    "precision", "recall", "mAP@.5", "mAP@.5:.95", "val/box_loss", "val/obj_loss",
    "val/cls_loss",
)  # fmt: skip
"""YOLOv5's results.txt columns after `epoch/total` (its train.py writes them unnamed)."""


def _cell(raw: bytes) -> float | None:
    raw = raw.strip()
    if not raw or (raw[:1].isalpha() and raw.lower() not in (b"nan", b"inf")):
        return None
    try:
        return float(raw)
    except ValueError:
        return None


class TableReader:
    """Tracks the current table header and turns matching rows into `Hit`s."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._columns: tuple[str, ...] = ()
        self._sep: bytes | None = None
        self._fmt = "csv"

    def feed(self, s: bytes) -> Hit | None:
        """A `Hit` for a table row (empty values for a header), None for other lines."""
        if b"," in s:
            return self._comma_line(s)
        if b"\t" in s:
            fields = s.split(b"\t")
            if self._sep == b"\t" and len(fields) == len(self._columns):
                return self._row([f.strip() for f in fields], self._fmt)
            hit = self._tab_header(s, fields)
            if hit is not None:
                return hit
        if _is_pipe_row(s):
            hit = self._pipe_table([c.strip() for c in s[1:-1].split(b"|")])
            if hit is not None:
                return hit
        if self._fmt == "fastai" and self._columns and s[:1].isdigit():
            return self._row(s.split(), "fastai")
        hit = self._fastai_header(s)
        if hit is not None:
            return hit
        if b"/" in s[:12] and s.lstrip()[:1].isdigit():
            return _yolov5(s)
        return None

    def _comma_line(self, s: bytes) -> Hit | None:
        """A comma-separated line: a row of the current CSV table, or a CSV header; a line
        with a `:` or `=` is prose or a key=value list, never a header."""
        commas = s.count(b",")
        if commas < 2:
            return None
        if self._fmt == "csv" and self._sep == b"," and commas + 1 == len(self._columns):
            return self._row([f.strip() for f in s.split(b",")], "csv")
        if b":" in s or b"=" in s:
            return None
        return self._csv(s.split(b","), b",")

    def _tab_header(self, s: bytes, fields: list[bytes]) -> Hit | None:
        """A tab-separated header; a line with a `:` or `=` is never one."""
        if len(fields) >= 2 and b":" not in s and b"=" not in s:
            return self._csv(fields, b"\t")
        return None

    def _fastai_header(self, s: bytes) -> Hit | None:
        """fastai's `epoch train_loss valid_loss accuracy time` header: its rows follow
        with the columns split on blanks."""
        if not (
            s.startswith(b"epoch") and (b"train_loss" in s or b"valid_loss" in s) and b"," not in s
        ):
            return None
        names = s.split()
        if not all(_IDENT.match(n) for n in names):
            return None
        self._columns = tuple(n.decode() for n in names)
        self._fmt = "fastai"
        self._sep = None
        return Hit("fastai", "train", {})

    def _pipe_table(self, cells: list[bytes]) -> Hit | None:
        """A `| AP | AP50 |` header, its `|:---:|` rule and `| 36.5 | 57.8 |` rows (the
        evaluation tables detector consoles print)."""
        if self._sep == b"|" and len(cells) == len(self._columns):
            if all(c and not c.strip(b":-") for c in cells):
                return Hit("table", "eval", {})
            return self._row(cells, "table")
        if len(cells) >= 2 and all(c and _IDENT.match(c) for c in cells):
            names = [c.decode() for c in cells]
            if any(is_metric_name(n) for n in names):
                self._columns = tuple(names)
                self._fmt = "table"
                self._sep = b"|"
                return Hit("table", "eval", {})
        return None

    def _csv(self, fields: list[bytes], sep: bytes) -> Hit | None:
        stripped = [f.strip() for f in fields]
        if all(f and _IDENT.match(f) for f in stripped):
            low = b",".join(stripped).lower()
            if any(word in low for word in _HEADER_WORDS):
                self._columns = tuple(f.decode() for f in stripped)
                self._fmt = "csv"
                self._sep = sep
                return Hit("csv", "train", {})
            return None
        if self._fmt != "csv" or self._sep != sep or len(fields) != len(self._columns):
            return None
        return self._row(stripped, "csv")

    def _row(self, cells: list[bytes], fmt: str) -> Hit | None:
        if len(cells) != len(self._columns):
            return None
        values: dict[str, float] = {}
        for name, raw in zip(self._columns, cells, strict=False):
            if name in _SKIP_CELLS:
                continue
            number = _cell(raw)
            if number is None:
                if raw.strip() and not raw.strip().startswith(b"#") and b":" not in raw:
                    return None  # not a row of this table
                continue
            values[name] = number
        step: int | None = None
        exact = True
        raw_step = values.pop("step", None)
        if raw_step is not None and raw_step == raw_step and abs(raw_step) < 1e18:
            step = int(raw_step)
        epoch = values.get("epoch")
        if step is None and epoch is not None and epoch == epoch and abs(epoch) < 1e18:
            step = int(epoch)
            exact = False
        metrics = [k for k in values if k != "epoch"]
        if not metrics:
            return None
        kind: RecordKind = "train"
        if all(k.lower().startswith(("val_", "val/", "valid_", "eval_", "test_")) for k in metrics):
            kind = "eval"
        elif fmt == "table" and all(k.lower().startswith(("ap", "ar")) for k in metrics):
            kind = "eval"  # a detector's evaluation table: AP, AP50, APs, AR@100, ...
        return Hit(fmt, kind, values, step, exact)


def _is_pipe_row(s: bytes) -> bool:
    """Whether a line is a `| a | b |` row: bounded by pipes with at least two cells."""
    return s[:1] == b"|" and s[-1:] == b"|" and s.count(b"|") >= 3


def _yolov5(s: bytes) -> Hit | None:
    """One row of YOLOv5's headerless results.txt: `epoch/last gpu_mem box obj cls …`."""
    m = _YOLOV5.match(s)
    if m is None:
        return None
    cells = s.split()[1:]
    values: dict[str, float] = {"epoch": float(m.group(1))}
    for name, raw in zip(_YOLOV5_COLUMNS[1:], cells[1:], strict=False):
        values[name] = float(raw)
    return Hit("yolov5-results", "train", values, int(m.group(1)), False, int(m.group(2)) + 1)
