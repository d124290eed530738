"""No control or bidi character from outside reaches the terminal raw, on any headless path.

Hostile metric names go through `report` (text and `--json`) and `stream`; hostile paths
through the error messages; a real process whose argv[0] carries escape sequences through
the CPU sampler, and the GPU sampler (fake NVML, real psutil lookup of that process).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.fake_nvml import GIB, FakeDevice, FakeNvml
from tests.hostile import OSC_TITLE, assert_terminal_safe, hostile_text, process_named
from trainmon import cli
from trainmon.sources.cpu import PsutilCpuSource
from trainmon.sources.nvml import NvmlGpuSource
from trainmon.sources.process import TrainingTracker
from trainmon.text import terminal_safe

names_strategy = st.lists(hostile_text, min_size=1, max_size=6, unique=True)


def jsonl_log(names: list[str], records: int = 4) -> str:
    """JSON lines carrying every name (JSON keeps any character in a key)."""
    rows = []
    for step in range(1, records + 1):
        row: dict[str, float] = {"step": step, "loss": 2.0 / step}
        row.update({name: step * 0.5 for name in names})
        rows.append(json.dumps(row))
    return "\n".join(rows) + "\n"


def run_main(*args: str) -> tuple[int, str, str]:
    """`trainmon ARGS` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def assert_lines_safe(text: str, where: str) -> None:
    for line in text.split("\n"):
        assert_terminal_safe(line, where)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names_strategy)
def test_report_text_and_json_with_hostile_names(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "run.log"
        log.write_text(jsonl_log(names))
        code, text, err = run_main("report", str(log))
        assert code in (0, 3), err
        assert_lines_safe(text, "report text")
        assert_lines_safe(err, "report stderr")
        code, out, err = run_main("report", "--json", str(log))
        assert_terminal_safe(out.rstrip("\n"), "report --json")
        series = json.loads(out)["series"]
    kept = [name for name in names if name in series]
    for name in kept:  # JSON keeps the exact name; the text shows its visible form
        assert terminal_safe(name)[:40] in text


def stream_rows(names: list[str]) -> list[dict[str, object]]:
    """`trainmon stream -` over a log carrying `names`: its rows (checked for raw controls)."""
    result = subprocess.run(
        [sys.executable, "-m", "trainmon", "stream", "-"],
        input=jsonl_log(names).encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    out = result.stdout.decode()
    assert_lines_safe(out, "stream")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows, result.stderr.decode()
    return rows


@settings(max_examples=8, deadline=None)
@given(names_strategy)
def test_stream_with_hostile_names(names: list[str]) -> None:
    stream_rows(names)


def test_stream_keeps_exact_names() -> None:
    names = [f"acc{OSC_TITLE}", "evil\u202etxt", "c1\x9b31m"]
    rows = stream_rows(names)
    assert all(name in rows[0]["metrics"] for name in names)  # escaped in JSON, exact once decoded


@pytest.mark.parametrize("name", [OSC_TITLE, "a\x1b[2J\x9b\u202eb"])
def test_error_messages_quote_paths_safely(tmp_path: Path, name: str) -> None:
    missing = tmp_path / f"missing{name}.log"
    code, _, err = run_main("report", str(missing))
    assert code == cli.EXIT_USAGE
    assert_terminal_safe(err.rstrip("\n"), "report error")
    assert terminal_safe(name) in err

    folder = tmp_path / f"dir{name}"
    folder.mkdir()
    code, _, err = run_main("stream", str(folder))
    assert code == cli.EXIT_USAGE
    assert_terminal_safe(err.rstrip("\n"), "stream error")

    code, _, err = run_main(f"--bogus{name}")
    assert code == cli.EXIT_USAGE
    assert_terminal_safe(err.rstrip("\n"), "usage error")

    empty = tmp_path / f"empty{name}.log"
    empty.write_text("no metrics here\n")
    code, out, err = run_main("report", str(empty))
    assert code == cli.EXIT_NO_METRICS
    assert terminal_safe(name) in err
    # The list of known formats quotes an mmcv line with its own tab: ours, not the file's.
    assert_lines_safe((out + err).replace("\t", " "), "no-metrics message")


def test_help_is_terminal_safe() -> None:
    for args in (["--help"], ["report", "--help"], ["stream", "--help"]):
        code, out, _ = run_main(*args)
        assert code == 0
        assert "--max-series" in out or args[0] == "stream"
        assert_lines_safe(out, "help")


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")
def test_cpu_sampler_shows_a_hostile_argv0_safely(tmp_path: Path) -> None:
    log = tmp_path / f"run{OSC_TITLE}.log"
    log.write_text("")
    with process_named(f"{OSC_TITLE}python\u202e", log) as pid:
        by_pid = PsutilCpuSource(tracker=TrainingTracker([str(log)], pid=pid)).sample()
        by_writer = PsutilCpuSource(tracker=TrainingTracker([str(log)])).sample()
    for snapshot in (by_pid, by_writer):
        training = snapshot.training
        assert training is not None, snapshot.training_reason
        assert training.pid == pid
        assert_terminal_safe(training.command, "trainer command")
        assert training.command.startswith("␛]2;pwned␇python\\u202e")


def test_cpu_sampler_reason_names_the_log_safely(tmp_path: Path) -> None:
    log = tmp_path / f"quiet{OSC_TITLE}.log"
    log.write_text("")
    snapshot = PsutilCpuSource(tracker=TrainingTracker([str(log)])).sample()
    assert snapshot.training is None
    assert "quiet␛]2;pwned␇.log" in snapshot.training_reason
    assert_terminal_safe(snapshot.training_reason, "training reason")


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")
def test_gpu_sampler_shows_hostile_names_and_commands_safely() -> None:
    with process_named(f"{OSC_TITLE}trainer\x9b") as pid:
        fake = FakeNvml([FakeDevice(name=f"NVIDIA {OSC_TITLE}X\u202e", processes=[(pid, GIB)])])
        snapshot = NvmlGpuSource(fake, wall=lambda: 5.0).sample()
    (device,) = snapshot.devices
    assert device.name == "NVIDIA ␛]2;pwned␇X\\u202e"
    assert device.processes is not None
    (process,) = device.processes
    assert process.command is not None
    assert process.command.startswith("␛]2;pwned␇trainer\\x9b")
    assert_terminal_safe(process.command, "GPU process command")
    assert_terminal_safe(process.user or "", "GPU process user")
