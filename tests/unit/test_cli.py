"""The command line, through real subprocesses: exit codes, one-line errors, report schema."""

from __future__ import annotations

import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.trainmon_process import streaming, trainmon
from trainmon import cli
from trainmon.config import DashboardOptions

HF_LOG = (
    "{'loss': 2.5, 'grad_norm': 1.5, 'learning_rate': 1e-05, 'epoch': 0.1}\n"
    " 20%|██        | 2/10 [00:01<00:04,  2.00it/s]\r"
    "{'loss': 2.25, 'grad_norm': nan, 'learning_rate': 2e-05, 'epoch': 0.2}\n"
    "{'eval_loss': 2.4, 'eval_runtime': 1.5, 'epoch': 0.2}\n"
    "{'loss': 2.0, 'grad_norm': 1.25, 'learning_rate': 3e-05, 'epoch': 0.3}\n"
    "{'train_runtime': 12.5, 'train_samples_per_second': 3.2, 'epoch': 0.3}\n"
)

NAN_LOG = "".join(
    f"step={i} loss={'nan' if i >= 30 else 3 - i / 20} lr=1e-4\n" for i in range(1, 60)
)


@pytest.fixture
def hf_log(tmp_path: Path) -> Path:
    path = tmp_path / "run.log"
    path.write_text(HF_LOG, encoding="utf-8")
    return path


def test_version_names_trainmon_and_textual() -> None:
    r = trainmon("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("trainmon 0.")
    assert "textual" in r.stdout


def test_help_has_examples() -> None:
    r = trainmon("--help")
    assert r.returncode == 0
    assert "examples:" in r.stdout
    assert "trainmon report" in r.stdout
    assert "--from-end" in r.stdout


def test_report_json_schema_exactly(hf_log: Path) -> None:
    r = trainmon("report", str(hf_log), "--json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1  # exactly one JSON object on one line
    doc = json.loads(r.stdout)
    assert set(doc) == {
        "path", "format", "records", "lines", "unparsed_lines", "series", "ignored_series",
        "steps", "findings", "lang",
    }  # fmt: skip
    assert doc["lang"] == "en"

    assert doc["path"] == str(hf_log)
    assert isinstance(doc["format"], str) and doc["format"] != "unknown"
    assert doc["records"] == 5
    assert isinstance(doc["lines"], int) and doc["lines"] >= 5
    assert isinstance(doc["unparsed_lines"], int)
    assert set(doc["steps"]) == {"first", "last", "total"}
    for value in doc["steps"].values():
        assert value is None or isinstance(value, int)
    for name, stats in doc["series"].items():
        assert isinstance(name, str)
        assert set(stats) == {"count", "nonfinite", "first", "last", "min", "max"}
        assert isinstance(stats["count"], int) and isinstance(stats["nonfinite"], int)
        for key in ("first", "last", "min", "max"):
            assert stats[key] is None or (
                isinstance(stats[key], float) and math.isfinite(stats[key])
            )
    assert doc["series"]["loss"] == {
        "count": 3, "nonfinite": 0, "first": 2.5, "last": 2.0, "min": 2.0, "max": 2.5,
    }  # fmt: skip
    assert doc["series"]["grad_norm"]["count"] == 3
    assert doc["series"]["grad_norm"]["nonfinite"] == 1
    assert doc["series"]["eval_loss"]["count"] == 1
    assert isinstance(doc["findings"], list)
    for finding in doc["findings"]:
        assert set(finding) == {"rule", "severity", "step", "title", "evidence", "advice"}
        assert finding["severity"] in ("info", "warning", "critical")
    # No NaN/Infinity tokens (invalid JSON) anywhere: json refuses them here.
    json.loads(r.stdout, parse_constant=lambda token: pytest.fail(f"non-JSON {token}"))


def test_report_text_summary(hf_log: Path) -> None:
    r = trainmon("report", str(hf_log))
    assert r.returncode == 0, r.stderr
    assert "format" in r.stdout and "records   5" in r.stdout
    assert "loss" in r.stdout and "eval_loss" in r.stdout
    assert "findings" in r.stdout


def test_report_no_metrics_exits_1_and_lists_formats(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\nnothing to see here\n")
    r = trainmon("report", str(path))
    assert r.returncode == 1
    assert "no recognisable metrics" in r.stderr
    assert "hf-trainer" in r.stderr and "nanogpt" in r.stderr
    r = trainmon("report", str(path), "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["records"] == 0


def test_report_binary_garbage_is_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 400 + b"\x00" * 5000 + b"{'loss': [[[[[[" * 2000)
    r = trainmon("report", str(path), "--json")
    assert r.returncode in (0, 1)
    assert "Traceback" not in r.stderr
    json.loads(r.stdout)


@pytest.mark.parametrize("sub", ["report", "replay"])
def test_missing_path_exit_2_one_line(tmp_path: Path, sub: str) -> None:
    r = trainmon(sub, str(tmp_path / "nope.log"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "nope.log" in r.stderr and "no such file" in r.stderr


@pytest.mark.parametrize(
    ("sub", "code", "says"),
    [
        (["report"], 1, "no runs found"),  # a folder is searched for runs; none: no metrics
        (["stream"], 2, "a folder of runs"),  # stream follows one run
        ([], 2, "no runs found"),
    ],
)
def test_directory_without_runs_one_line(
    tmp_path: Path, sub: list[str], code: int, says: str
) -> None:
    r = trainmon(*sub, str(tmp_path))
    assert r.returncode == code
    assert r.stderr.count("\n") == 1
    assert says in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without permission")
def test_unreadable_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "secret.log"
    path.write_text(HF_LOG)
    path.chmod(0)
    r = trainmon("report", str(path))
    assert r.returncode == 2
    assert "permission denied" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus", "x.log"],
        ["--refresh", "0", "x.log"],
        ["--smoothing", "1.5", "x.log"],
        ["--context", "novalue", "x.log"],
        ["--pid", "abc", "x.log"],
        [],
        ["--demo", "x.log"],
        ["report"],
        ["report", "x.log", "--fail-on", "sometimes"],
        ["replay", "x.log", "--speed", "-1"],
    ],
)
def test_usage_errors_exit_2_one_line(args: list[str]) -> None:
    r = trainmon(*args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1, r.stderr
    assert "error" in r.stderr
    assert "Traceback" not in r.stderr


def test_fail_on(tmp_path: Path) -> None:
    path = tmp_path / "nan.log"
    path.write_text(NAN_LOG)
    r = trainmon("report", str(path), "--json")
    assert r.returncode == 0
    severities = {f["severity"] for f in json.loads(r.stdout)["findings"]}
    assert "critical" in severities  # a NaN loss is critical
    assert trainmon("report", str(path), "--fail-on", "critical").returncode == 3
    assert trainmon("report", str(path), "--fail-on", "warning").returncode == 3


def test_fail_on_clean_log_exits_0(tmp_path: Path, hf_log: Path) -> None:
    r = trainmon("report", str(hf_log), "--json", "--fail-on", "critical")
    critical = [f for f in json.loads(r.stdout)["findings"] if f["severity"] == "critical"]
    assert r.returncode == (3 if critical else 0)


def test_file_named_like_a_subcommand(tmp_path: Path) -> None:
    (tmp_path / "report").write_text(HF_LOG)
    r = trainmon("report", "./report", "--json", cwd=tmp_path)
    assert r.returncode == 0
    assert json.loads(r.stdout)["records"] == 5


# -- stream --------------------------------------------------------------------------------


def test_stream_records_and_ctrl_c(hf_log: Path) -> None:
    proc = streaming(hf_log)
    assert proc.stdout is not None
    rows = [json.loads(proc.stdout.readline()) for _ in range(5)]
    assert [r["kind"] for r in rows] == ["train", "train", "eval", "train", "summary"]
    assert rows[0]["metrics"]["loss"] == 2.5 and rows[1]["metrics"]["grad_norm"] is None  # NaN
    assert all(isinstance(r["step"], int) for r in rows)
    with hf_log.open("a") as f:
        f.write("{'loss': 1.5, 'grad_norm': 1.0, 'learning_rate': 4e-05, 'epoch': 0.4}\n")
    appended = json.loads(proc.stdout.readline())
    assert appended["metrics"]["loss"] == 1.5
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_stream_waits_for_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "later.log"
    proc = streaming(path)
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline()) == {"event": "waiting"}
    path.write_text("step=7 loss=1.25\n")
    assert json.loads(proc.stdout.readline()) == {
        "kind": "train",
        "step": 7,
        "metrics": {"loss": 1.25},
    }
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_stream_stdin_and_closed_pipe(tmp_path: Path) -> None:
    r = trainmon("stream", "-", input="step=3 loss=0.5\nstep=4 loss=0.25\n")
    assert r.returncode == 0
    assert [json.loads(x)["step"] for x in r.stdout.splitlines()] == [3, 4]
    big = tmp_path / "big.log"
    big.write_text("".join(f"step={i} loss={1 / i}\n" for i in range(1, 30_000)))
    # `trainmon stream big.log | head -1`: the reader goes away; no traceback, no hang.
    proc = subprocess.Popen(
        [sys.executable, "-m", "trainmon", "stream", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        big.open("a").write("step=1 loss=1\n")  # keep it writing into the closed pipe
    assert proc.returncode == 0
    assert proc.stderr is not None
    assert b"Traceback" not in proc.stderr.read()


# -- dashboard options (no Textual needed: the launcher is replaced) -------------------------


def test_dashboard_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[DashboardOptions] = []
    monkeypatch.setattr(cli, "_run_dashboard", lambda o: seen.append(o) or 0)
    log = str(tmp_path / "run.log")
    argv = [log, "-", "--from-end", "--refresh", "0.5", "--smoothing", "0.9", "--no-gpu"]
    argv += ["--pid", "42", "--no-bell", "--mute", "lr-zero", "--mute", "nan-loss"]
    argv += ["--context", "vocab_size=32000", "--context", "task = lm"]
    assert cli.main(argv) == 0
    assert seen[-1] == DashboardOptions(
        paths=(log, "-"),
        mode="dashboard",
        from_end=True,
        refresh_s=0.5,
        smoothing=0.9,
        no_gpu=True,
        pid=42,
        bell=False,
        muted_rules=("lr-zero", "nan-loss"),
        context=(("vocab_size", "32000"), ("task", "lm")),
    )
    assert cli.main(["--demo"]) == 0
    assert seen[-1].mode == "demo" and seen[-1].paths == ()
    (tmp_path / "old.log").write_text(HF_LOG)
    assert cli.main(["replay", str(tmp_path / "old.log"), "--speed", "200"]) == 0
    assert seen[-1].mode == "replay" and seen[-1].replay_speed == 200.0
    assert seen[-1].paths == (str(tmp_path / "old.log"),)


def test_path_problem_permission_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "secret.log"
    log.write_text(HF_LOG)

    def refuse(path: str, flags: int, *args: object) -> int:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "open", refuse)
    assert (
        cli.path_problem(str(log), must_exist=True) == f"{log}: permission denied (cannot read it)"
    )
    assert cli.main(["report", str(log)]) == 2


def test_stdin_dash_refuses_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[DashboardOptions] = []
    monkeypatch.setattr(cli, "_run_dashboard", lambda o: seen.append(o) or 0)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert cli.main(["-"]) == 2
    assert seen == []


def test_stream_once_prints_a_finished_log_and_exits(hf_log: Path, tmp_path: Path) -> None:
    with hf_log.open("a") as f:
        f.write("{'loss': 1.5, 'epoch': 0.4}")  # an unterminated last line still counts
    r = trainmon("stream", "--once", str(hf_log), timeout=30)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [row["kind"] for row in rows] == ["train", "train", "eval", "train", "summary", "train"]
    assert rows[-1]["metrics"]["loss"] == 1.5
    piped = trainmon("stream", "--once", "-", input="step=3 loss=0.5\n", timeout=30)
    assert piped.returncode == 0
    assert [json.loads(x)["step"] for x in piped.stdout.splitlines()] == [3]
    missing = trainmon("stream", "--once", str(tmp_path / "none.log"), timeout=30)
    assert missing.returncode == 2
    assert "none.log: no such file" in missing.stderr


def test_log_option_needs_standard_input_and_a_writable_file(tmp_path: Path) -> None:
    r = trainmon("--log", str(tmp_path / "x.log"), str(tmp_path / "run.log"))
    assert r.returncode == 2 and "needs - among the paths" in r.stderr
    r = trainmon("--log", str(tmp_path), "-", input="step=1 loss=1\n")
    assert r.returncode == 2 and "is a directory" in r.stderr


UNKNOWN_LOG = "".join(f"it {i} L={3 - i / 50:.3f} tok={i * 512}\n" for i in range(1, 21))


def test_formats_lists_every_named_format_with_an_example(tmp_path: Path) -> None:
    from trainmon.parsing import FORMATS

    r = trainmon("formats", env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    for entry in FORMATS:
        assert entry.name in r.stdout
        for example in entry.examples:
            assert example in r.stdout
    assert "taught in" in r.stdout and "none" in r.stdout


def test_pattern_teaches_a_format_and_a_bad_one_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    path.write_text(UNKNOWN_LOG)
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    assert trainmon("report", str(path), env=env).returncode == 1  # `L` names no metric
    pattern = r"it (?P<step>\d+) L=(?P<loss>\S+)"
    r = trainmon("report", str(path), "--json", "--pattern", pattern, env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["records"] == 20 and doc["steps"]["first"] == 1 and doc["steps"]["last"] == 20
    assert doc["series"]["loss"]["first"] == pytest.approx(2.98)
    for bad in ("(", r"it \d+"):
        r = trainmon("report", str(path), "--pattern", bad, env=env)
        assert r.returncode == 2
        assert r.stderr.count("\n") == 1 and "--pattern" in r.stderr


def test_formats_toml_in_the_config_dir(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    path.write_text(UNKNOWN_LOG)
    config = tmp_path / "trainmon" / "formats.toml"
    config.parent.mkdir()
    config.write_text(
        '[[format]]\nname = "it-lines"\npattern = \'it (?P<step>\\d+) L=(?P<loss>\\S+)\'\n'
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    r = trainmon("report", str(path), "--json", env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["format"] == "it-lines" and doc["records"] == 20
    assert "it-lines" in trainmon("formats", env=env).stdout
    config.write_text('[[format]]\npattern = "("\n')
    r = trainmon("report", str(path), env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "formats.toml" in r.stderr
    config.write_text("[[format]\n")
    r = trainmon("report", str(path), env=env)
    assert r.returncode == 2 and "not valid TOML" in r.stderr


def test_explain_says_how_lines_were_read(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    path.write_text(
        "Namespace(lr=0.001, loss_fn='ce', epochs=3)\n"
        "***** Running training *****\n"
        "[rank0]: step=10 loss=2.3 lr=1e-4\n"
        "[rank0]: step=20 lm_loss=2.1 lr=1e-4\n" + "x" * 10 + "\n"
    )
    r = trainmon("report", str(path), "--explain", "--lines", "4")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "configuration or argument dump" in out
    assert "no `name: value` pairs" in out
    assert "train   step 10: loss=2.3 learning_rate=0.0001" in out
    assert "xxxxxxxxxx" not in out  # only the first 4 lines


def test_no_metrics_names_the_closest_format_and_the_pattern_hint(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    path.write_text(UNKNOWN_LOG)
    r = trainmon("report", str(path), env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)})
    assert r.returncode == 1
    assert "Closest known format:" in r.stderr and "--pattern" in r.stderr


# -- non-seekable inputs and devices, through the real command line ---------------------------

BASH = shutil.which("bash")
needs_bash = pytest.mark.skipif(BASH is None, reason="process substitution needs bash")


def in_bash(script: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `script` in bash, with `trainmon` meaning this interpreter's trainmon."""
    assert BASH is not None
    env = dict(os.environ, TRAINMON=f"{sys.executable} -m trainmon")
    return subprocess.run(
        [BASH, "-c", script], capture_output=True, text=True, timeout=timeout, env=env
    )


@needs_bash
def test_stream_reads_process_substitution_to_its_end(hf_log: Path) -> None:
    r = in_bash(f"$TRAINMON stream <(cat {hf_log})")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no "Illegal seek", no traceback
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["kind"] for row in rows] == ["train", "train", "eval", "train", "summary"]


@needs_bash
def test_report_reads_process_substitution(hf_log: Path) -> None:
    r = in_bash(f"$TRAINMON report --json <(cat {hf_log})")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["records"] == 5


def readline_within(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """The next line of a child's stdout; fails (rather than hangs) when none comes."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"no output within {timeout:.0f} s"
    return proc.stdout.readline()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_stream_waits_for_a_fifo_writer_and_ends_when_it_closes(tmp_path: Path) -> None:
    fifo = tmp_path / "run.fifo"
    os.mkfifo(fifo)
    proc = streaming(fifo)
    try:
        assert json.loads(readline_within(proc)) == {"event": "waiting"}
        with fifo.open("w") as writer:  # the trainer starts writing into the FIFO
            writer.write("step=1 loss=2.0\n")
            writer.flush()
            first = json.loads(readline_within(proc))
            assert first == {"kind": "train", "step": 1, "metrics": {"loss": 2.0}}
            writer.write("step=2 loss=1.5\n")
        out, err = proc.communicate(timeout=60)  # the writer closed it: the stream ends
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert [json.loads(line)["step"] for line in out.splitlines()] == [2]
    assert "Traceback" not in err


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", [["stream"], ["report"], []], ids=["stream", "report", "ui"])
def test_devices_are_refused_with_one_line(device: str, command: list[str]) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    r = trainmon(*command, device, timeout=30)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == f"trainmon: {device}: a character device, not a log file " + (
        "(trainmon reads files, FIFOs and pipes)\n"
    )


def test_stream_refuses_a_device_on_stdin() -> None:
    with open(os.devnull, "rb") as devnull:  # /dev/null: a character device, not a terminal
        r = trainmon("stream", "-", stdin=devnull, timeout=30)
    assert r.returncode == 2
    assert r.stderr.startswith("trainmon: standard input is a character device")


def test_stream_metrics_never_overwrite_the_schema_keys(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    log.write_text(
        '{"step": 1, "loss": 0.5, "kind": 3.0, "event": 7, "metrics": 2}\n'
        "step=2 loss=0.25 kind=1.5 event=2\n"
    )
    proc = streaming(log)
    try:
        assert proc.stdout is not None
        rows = [json.loads(proc.stdout.readline()) for _ in range(2)]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert rows[0] == {
        "kind": "train",
        "step": 1,
        "metrics": {"loss": 0.5, "kind": 3.0, "event": 7.0, "metrics": 2.0},
    }
    assert rows[1] == {
        "kind": "train",
        "step": 2,
        "metrics": {"loss": 0.25, "kind": 1.5, "event": 2.0},
    }


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_checking_a_fifo_does_not_release_a_writer_waiting_for_its_reader(
    tmp_path: Path,
) -> None:
    # A trainer that opens the FIFO waits in open() for a reader. Checking the path must not
    # open it: the trainer would go on, and its next write would meet no reader (SIGPIPE).
    fifo = tmp_path / "run.fifo"
    os.mkfifo(fifo)
    opened = threading.Event()

    def trainer() -> None:
        with fifo.open("wb"):
            opened.set()

    thread = threading.Thread(target=trainer, daemon=True)
    thread.start()
    time.sleep(0.5)  # the trainer is waiting in open() by now
    try:
        assert not opened.is_set()
        assert cli.path_problem(str(fifo), must_exist=True) is None
        assert not opened.wait(0.5)
    finally:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # let the trainer go
        thread.join(timeout=30)
    assert opened.is_set()
