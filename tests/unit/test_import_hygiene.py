"""The core stays headless: no core module pulls in Textual, Rich or plotext."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "trainmon"
UI_MODULES = ("textual", "textual_plotext", "plotext", "rich")


def core_modules() -> list[str]:
    """Every module under trainmon/ except the UI package and the CLI."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = rel.parts
        if parts[1:2] == ("ui",) or rel.as_posix() in ("trainmon/cli", "trainmon/__main__"):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def loaded_after(code: str) -> set[str]:
    check = f"' '.join(m for m in {UI_MODULES!r} if m in sys.modules)"
    probe = f"{code}\nimport sys\nprint('LOADED:' + {check})"
    r = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    line = next(x for x in r.stdout.splitlines() if x.startswith("LOADED:"))
    return set(line.removeprefix("LOADED:").split())


def test_there_are_core_modules() -> None:
    mods = core_modules()
    assert {"trainmon.follow", "trainmon.report", "trainmon.store"} <= set(mods)
    assert not any(m.startswith("trainmon.ui") for m in mods)


def test_core_modules_do_not_import_the_ui_stack() -> None:
    # One interpreter per batch keeps this cheap; a leak is then narrowed down per module.
    mods = core_modules()
    leaked = loaded_after("\n".join(f"import {m}" for m in mods))
    if leaked:
        culprits = [m for m in mods if loaded_after(f"import {m}")]
        pytest.fail(f"{sorted(leaked)} imported by {culprits}")


@pytest.mark.parametrize("sub", ["report", "stream"])
def test_headless_commands_do_not_import_textual(tmp_path: Path, sub: str) -> None:
    log = tmp_path / "run.log"
    log.write_text("{'loss': 1.5, 'learning_rate': 1e-4, 'epoch': 0.1}\n")
    code = (
        "import sys\n"
        "from trainmon.cli import main\n"
        f"sys.stdin = open({str(log)!r})\n"
        f"rc = main([{sub!r}, {str(log) if sub == 'report' else '-'!r}])\n"
        "assert rc == 0, rc"
    )
    assert loaded_after(code) == set()


def test_python_dash_m_report_importtime(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("{'loss': 1.5, 'learning_rate': 1e-4, 'epoch': 0.1}\n")
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "trainmon", "report", str(log), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if "|" in line}
    assert "trainmon.report" in imported  # the probe sees our own modules...
    assert not {m for m in imported if m.split(".")[0] in UI_MODULES}  # ...and no UI stack
