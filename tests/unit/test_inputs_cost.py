"""Plain logs pay nothing for the other inputs: their readers' libraries load only for them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

READER_MODULES = ("tensorboard", "wandb", "google.protobuf", "tensorflow")


def _loaded(code: str) -> set[str]:
    probe = (
        f"{code}\nimport sys\n"
        f"print('LOADED:' + ' '.join(m for m in {READER_MODULES!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("LOADED:"))
    return set(line.removeprefix("LOADED:").split())


@pytest.mark.parametrize("sub", ["report", "stream --once", "report --csv"])
def test_a_plain_log_loads_no_reader_library(tmp_path: Path, sub: str) -> None:
    log = tmp_path / "run.log"
    log.write_text("step=1 loss=2.0\nstep=2 loss=1.5\n")
    argv = [*sub.split(), str(log)]
    code = (
        "import contextlib, io\nfrom trainmon.cli import main\n"
        f"with contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO())):\n    main({argv!r})"
    )
    assert _loaded(code) == set()


def test_importing_the_core_loads_no_reader_library() -> None:
    assert _loaded("import trainmon, trainmon.ingest, trainmon.inputs, trainmon.folder") == set()
