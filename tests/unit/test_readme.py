"""The README documents what the code does: every advice rule, and the test command CI runs."""

from __future__ import annotations

from pathlib import Path

from trainmon.advice import RULES

ROOT = Path(__file__).resolve().parents[2]


def test_readme_rule_table_lists_every_rule_with_its_severity() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"| `{rule.id}` | {rule.family} | {rule.severity} |" in readme, rule.id


def test_ci_runs_the_test_command_the_readme_gives() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = 'pip install -e ".[test]" && python -m pytest'
    assert command in readme
    assert command in ci


def test_readme_formats_table_is_the_format_table() -> None:
    from trainmon.parsing.formats import markdown_table

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("<!-- formats-table -->\n") + len("<!-- formats-table -->\n")
    end = text.index("\n<!-- /formats-table -->")
    assert text[start:end] == markdown_table()
