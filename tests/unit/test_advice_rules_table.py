"""The README's rules table lists every registered rule (process-exited included), each once,
with its family and default severity, so users can look up any finding the pane shows."""

from __future__ import annotations

import re
from pathlib import Path

from trainmon.advice import RULES

README = Path(__file__).resolve().parents[2] / "README.md"


def _table_rows() -> dict[str, tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- rules-table -->", 1)[1].split("<!-- advice-eval -->", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for rule, family, severity in re.findall(
        r"^\| `([a-z0-9-]+)` \| ([a-z]+) \| ([a-z]+) \|", table, re.M
    ):
        assert rule not in rows, f"{rule} listed twice"
        rows[rule] = (family, severity)
    return rows


def test_every_rule_has_one_row_with_its_family_and_severity() -> None:
    rows = _table_rows()
    assert "process-exited" in rows
    assert {r.id: (r.family, r.severity) for r in RULES} == rows
