"""`trainmon report --json` end to end on every real log and trainer_state in ../shared.

The parser's own corpus test checks the record counts; this one checks the CLI contract on
real files: one valid JSON object, exit 0 with records or 1 without, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainmon import cli


def corpus_files(*roots: Path) -> list[Path]:
    return sorted(
        p for root in roots for p in root.iterdir() if p.is_file() and p.name != "MANIFEST.md"
    )


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code = cli.main(["report", "--json", str(path)])
    out, err = capsys.readouterr()
    doc = json.loads(out, parse_constant=lambda token: pytest.fail(f"{path.name}: {token}"))
    assert out.count("\n") == 1
    assert code == (0 if doc["records"] else 1), (path.name, err)
    if code == 1:
        assert "no recognisable metrics" in err
    return doc


def test_every_shared_log(shared_logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = corpus_files(shared_logs)
    assert files
    docs = [check(p, capsys) for p in files]
    assert all(d["records"] for d in docs)  # every shared log holds metrics


def test_every_shared_trainer_state(
    shared_trainer_states: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = corpus_files(shared_trainer_states)
    assert files
    docs = [check(p, capsys) for p in files]
    assert sum(1 for d in docs if d["records"]) >= len(files) * 0.9
