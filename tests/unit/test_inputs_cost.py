"""Plain logs pay nothing for the other inputs: their readers' libraries load only for them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.trainmon_process import trainmon

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


@pytest.mark.parametrize(
    ("relative", "extra", "blocked"),
    [
        ("runs/exp/events.out.tfevents.1700000000.host.1.0", "tensorboard", "tensorboard"),
        ("wandb/offline-run-20260101_000000-abc/run-abc.wandb", "wandb", "wandb"),
    ],
)
def test_a_missing_reader_is_one_line_naming_its_extra(
    tmp_path: Path, relative: str, extra: str, blocked: str
) -> None:
    """Whether or not the library is installed here: it is hidden from the interpreter."""
    path = tmp_path / relative
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\0" * 16)
    code = (
        f"import sys; sys.modules[{blocked!r}] = None; sys.modules['tensorflow'] = None\n"
        "from trainmon.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    for argv in (["report", str(path.parent)], [str(path.parent)], ["report", str(tmp_path)]):
        out = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 2, out.stderr
        assert out.stderr.count("\n") == 1
        assert f"pip install 'trainmon[{extra}]'" in out.stderr
    assert path.read_bytes() == b"\0" * 16  # nothing lost


def test_a_run_without_scalars_yet_says_so_in_one_line(tmp_path: Path) -> None:
    pytest.importorskip("wandb", reason="the wandb package (trainmon[wandb]) is not installed")
    run = tmp_path / "offline-run-20260101_000000-abc"
    run.mkdir()
    (run / "run-abc.wandb").write_bytes(b":W&B\xe1\xbe\x00")  # the header a new run starts with
    out = trainmon("report", str(run))
    assert out.returncode == 1 and out.stderr == f"trainmon: {run}: no scalar metrics in it yet\n"
