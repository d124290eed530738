"""Header-then-rows metric tables: CSV files (Lightning, YOLO, timm) and fastai's printout.

A header is recognised by its content (metric-like column names, no numbers), not by the
file name; each later row with the same number of fields becomes one record.
"""

from __future__ import annotations

import re
from typing import Final

from trainmon.parsing.lines import Hit
from trainmon.records import RecordKind

_IDENT: Final = re.compile(rb"^[A-Za-z_][\w/().@\-]*$")
_HEADER_WORDS: Final = (b"loss", b"acc", b"epoch", b"step", b"lr", b"map", b"metrics")
_SKIP_CELLS: Final = frozenset({"time", "v_num"})


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
            commas = s.count(b",")
            if commas < 2:
                return None
            if b":" in s or b"=" in s:
                return None  # prose or key=value lists, never a CSV header or row
            if self._fmt == "csv" and self._columns and commas + 1 == len(self._columns):
                return self._row([f.strip() for f in s.split(b",")], "csv")
            return self._csv(s.split(b","))
        if self._fmt == "fastai" and self._columns and s[:1].isdigit():
            return self._row(s.split(), "fastai")
        if s.startswith(b"epoch") and (b"train_loss" in s or b"valid_loss" in s) and b"," not in s:
            names = s.split()
            if all(_IDENT.match(n) for n in names):
                self._columns = tuple(n.decode() for n in names)
                self._fmt = "fastai"
                return Hit("fastai", "train", {})
        return None

    def _csv(self, fields: list[bytes]) -> Hit | None:
        stripped = [f.strip() for f in fields]
        if all(f and _IDENT.match(f) for f in stripped):
            low = b",".join(stripped).lower()
            if any(word in low for word in _HEADER_WORDS):
                self._columns = tuple(f.decode() for f in stripped)
                self._fmt = "csv"
                return Hit("csv", "train", {})
            return None
        if self._fmt != "csv" or len(fields) != len(self._columns):
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
        return Hit(fmt, kind, values, step, exact)
