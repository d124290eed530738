"""Failure signatures in the log's text: each on hand-written text in the wording the
libraries print (imitations, not copies), each with a quiet twin that must not fire, the real
crash logs of `../shared/logs2`, several ranks, and `report --json` / `--fail-on`."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from tests.trainmon_process import trainmon
from trainmon.advice import RULE_IDS
from trainmon.advice.text_events import text_findings
from trainmon.parsing import LogParser
from trainmon.parsing.text_events import TextEvent
from trainmon.records import Finding
from trainmon.run import ParserProgress, Run

# Imitation records before and after the text (a Trainer's dicts, a key-value trainer).
DICTS = "".join(
    f"{{'loss': {2.0 - i * 0.01:.4f}, 'grad_norm': 1.1, 'learning_rate': 5e-05, 'epoch': "
    f"{i * 0.01:.2f}}}\n"
    for i in range(1, 31)
)
MORE_DICTS = "{'loss': 1.5, 'grad_norm': 1.0, 'learning_rate': 5e-05, 'epoch': 0.5}\n"


def _events(text: str | bytes, chunk: int | None = None) -> list[TextEvent]:
    data = text.encode() if isinstance(text, str) else text
    parser = LogParser()
    if chunk is None:
        parser.feed(data)
    else:
        for i in range(0, len(data), chunk):
            parser.feed(data[i : i + chunk])
    parser.finish()
    return parser.text_events.events


def _findings(text: str) -> dict[str, Finding]:
    parser = LogParser()
    parser.feed(text.encode())
    parser.finish()
    return {f.rule: f for f in text_findings(parser.text_events.events, parser.records)}


def _traceback(*frames: str, exception: str, prefix: str = "") -> str:
    lines = [f"{prefix}Traceback (most recent call last):"]
    for frame in frames:
        lines.append(f'{prefix}  File "{frame}", line 42, in step')
        lines.append(f"{prefix}    out = model(batch)")
    lines.append(f"{prefix}{exception}")
    return "\n".join(lines) + "\n"


def _crash_finding(rule: str, *frames: str, exception: str) -> Finding:
    """RULE's finding on a run whose records end in a traceback through FRAMES."""
    return _findings(DICTS + _traceback(*frames, exception=exception))[rule]


# -- each signature, and its quiet twin ------------------------------------------------------

OOM_NEW = (
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.25 GiB. GPU 0 has a "
    "total capacity of 23.65 GiB of which 311.06 MiB is free. Including non-PyTorch memory, "
    "this process has 23.33 GiB memory in use."
)
OOM_OLD = (
    "RuntimeError: CUDA out of memory. Tried to allocate 64.00 MiB (GPU 1; 10.76 GiB total "
    "capacity; 9.80 GiB already allocated; 21.44 MiB free; 9.91 GiB reserved in total by PyTorch)"
)
MPS_OOM = (
    "RuntimeError: MPS backend out of memory (MPS allocated: 17.80 GB, other allocations: "
    "352.00 KB, max allowed: 18.13 GB). Tried to allocate 512.00 MB on private pool."
)


def test_a_crash_traceback_is_one_critical_event_titled_by_its_exception_line() -> None:
    text = DICTS + _traceback("train.py", "model.py", exception="ValueError: bad shape (3, 4)")
    events = _events(text)
    assert len(events) == 1
    event = events[0]
    assert (event.kind, event.title) == ("python-exception", "ValueError: bad shape (3, 4)")
    assert event.line_no == 31  # the `Traceback` line, right after the 30 dicts
    found = _findings(text)["python-exception"]
    assert found.severity == "critical"
    assert found.step == event.step == 30
    assert "line 31" in found.evidence and "stopped" in found.evidence


def test_quiet_twin_a_caught_and_logged_traceback_is_a_warning() -> None:
    """`logger.warning("...", exc_info=True)` then training goes on: not a crash."""
    text = (
        DICTS
        + "WARNING:trainer:could not log sample predictions\n"
        + _traceback("callbacks.py", exception="KeyError: 'image'")
        + MORE_DICTS * 3
    )
    found = _findings(text)["python-exception"]
    assert found.severity == "warning"
    assert "3 record(s) after it" in found.evidence


def test_quiet_twin_a_ctrl_c_traceback_is_no_crash() -> None:
    """The user stopped the run: its exit says so (`process-exited`), no crash is raised."""
    text = DICTS + _traceback("train.py", exception="KeyboardInterrupt")
    assert _events(text) == []
    assert _events(DICTS + _traceback("train.py", exception="ValueError: x")) != []


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        (OOM_NEW, "tried to allocate 1.25 GiB, 311.06 MiB free"),
        (OOM_OLD, "tried to allocate 64.00 MiB, 21.44 MiB free"),
        (MPS_OOM, "tried to allocate 512.00 MB"),
    ],
)
def test_out_of_memory_says_the_requested_and_free_sizes(line: str, detail: str) -> None:
    text = DICTS + _traceback("train.py", exception=line)
    found = _findings(text)["cuda-oom"]
    assert found.severity == "critical"
    assert detail in found.title
    assert ("MPS" if "MPS" in line else "CUDA") + " out of memory" in found.title


def test_quiet_twin_out_of_memory_in_a_config_dump_is_no_event() -> None:
    text = (
        "Namespace(lr=0.001, oom_message='CUDA out of memory', retry_on_oom=True)\n"
        "  skip_batch_on: CUDA out of memory\n"
        "--empty_cache_when='CUDA out of memory'\n" + DICTS
    )
    assert _events(text) == []


def test_nccl_watchdog_timeout_and_its_duration() -> None:
    line = (
        "[rank2]:[E1203 10:14:07.391 ProcessGroupNCCL.cpp:616] [Rank 2] Watchdog caught "
        "collective operation timeout: WorkNCCL(SeqNum=8812, OpType=ALLREDUCE, NumelIn=4096, "
        "NumelOut=4096, Timeout(ms)=1800000) ran for 1800042 milliseconds before timing out.\n"
    )
    found = _findings(DICTS + line)["nccl-timeout"]
    assert found.severity == "critical"
    assert found.title.startswith("rank 2: NCCL watchdog timeout")
    assert "1800.04 s" in found.title


def test_nccl_error_and_its_quiet_twin_the_info_lines() -> None:
    info = (
        "node1:811:811 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.5<0>\n"
        "node1:811:811 [0] NCCL INFO NCCL version 2.18.1+cuda12.1\n"
        "node1:811:902 [0] NCCL INFO Channel 00/02 :    0   1\n"
    )
    assert _events(info + DICTS) == []
    error = _traceback(
        "train.py",
        exception="torch.distributed.DistBackendError: NCCL error in: ProcessGroupNCCL.cpp:1275, "
        "unhandled system error, NCCL version 2.18.1",
    )
    found = _findings(info + DICTS + error)["nccl-error"]
    assert found.severity == "critical"


@pytest.mark.parametrize(
    "line",
    [
        "Killed",
        "./run.sh: line 7: 48213 Killed                  python train.py --bf16",
        "[  812.334411] Out of memory: Killed process 48213 (python) total-vm:81234560kB",
        "  traceback : Signal 9 (SIGKILL) received by PID 48213",
    ],
)
def test_killed_and_the_oom_killer(line: str) -> None:
    found = _findings(DICTS + line + "\n")["process-killed"]
    assert found.severity == "critical"


def test_quiet_twin_killed_in_a_sentence_is_no_event() -> None:
    text = "Killed workers are restarted by the supervisor\n" + DICTS
    assert _events(text) == []


def test_nan_error_from_anomaly_detection() -> None:
    exception = (
        "RuntimeError: Function 'LogSoftmaxBackward0' returned nan values in its 0th output."
    )
    found = _crash_finding("nan-error", "train.py", exception=exception)
    assert found.severity == "critical"
    assert "LogSoftmaxBackward0" in found.evidence


def test_quiet_twin_a_warning_about_nan_is_no_event() -> None:
    text = (
        "UserWarning: nan values in the eval metrics are reported as null\n"
        "INFO: checking inputs for nan/inf: none found\n" + DICTS
    )
    assert _events(text) == []


def _overflow(attempted: int, reduced: int, rank: int = 0) -> str:
    return (
        f"[2024-03-01 09:12:44,101] [INFO] [loss_scaler.py:183:update_scale] [deepspeed] "
        f"OVERFLOW! Rank {rank} Skipping step. Attempted loss scale: {attempted}, reducing to "
        f"{reduced}\n"
    )


def test_a_few_fp16_overflows_are_info_many_a_warning() -> None:
    few = "".join(_overflow(2**16 >> i, 2**15 >> i) for i in range(3))
    found = _findings(few + DICTS)
    assert found["fp16-overflow"].severity == "info"
    assert "loss-scale-collapse" not in found
    many = "".join(_overflow(2**16, 2**15) for _ in range(12))
    assert _findings(many + DICTS)["fp16-overflow"].severity == "warning"


def test_loss_scale_falling_to_its_minimum_is_critical() -> None:
    falling = "".join(_overflow(2 ** (16 - i), 2 ** (15 - i)) for i in range(16))
    found = _findings(DICTS + falling)
    assert found["loss-scale-collapse"].severity == "critical"
    text = (
        DICTS
        + "Current loss scale already at minimum - cannot decrease scale anymore. Exiting run.\n"
    )
    assert _findings(text)["loss-scale-collapse"].severity == "critical"


def test_quiet_twin_a_loss_scale_metric_is_no_event() -> None:
    text = "".join(
        f" iteration {i}/ 1000 | consumed samples: {i * 8} | learning rate: 3.0E-04 | "
        f"lm loss: 2.3E+00 | loss scale: 65536.0 | grad norm: 1.2 | number of skipped "
        f"iterations: 0 |\n"
        for i in range(1, 20)
    )
    assert _events(text) == []


def test_checkpoint_save_failures() -> None:
    line = "ERROR:trainer:Failed to save checkpoint to /ckpt/step-500: permission denied\n"
    assert _findings(DICTS + line)["checkpoint-failed"].severity == "critical"
    exception = (
        "RuntimeError: [enforce fail at inline_container.cc:595] . unexpected pos 1152 vs 1040"
    )
    found = _crash_finding(
        "checkpoint-failed", "trainer.py", "torch/serialization.py", exception=exception
    )
    assert found.title == "Checkpoint save failed (raised while saving a checkpoint)"
    assert "inline_container" in found.evidence


def test_quiet_twin_saving_a_checkpoint_is_no_event() -> None:
    text = (
        DICTS
        + "Saving model checkpoint to out/checkpoint-500\n"
        + "Checkpoint saved without errors in 3.2 s\n"
        + MORE_DICTS
    )
    assert _events(text) == []


def test_disk_full() -> None:
    text = DICTS + _traceback(
        "torch/serialization.py", exception="OSError: [Errno 28] No space left on device"
    )
    found = _findings(text)
    assert found["disk-full"].severity == "critical"
    assert "checkpoint-failed" not in found  # the cause is said, not the symptom twice


def test_quiet_twin_free_space_report_is_no_event() -> None:
    text = "Disk check: 812 GB left on device /dev/nvme0n1\n" + DICTS
    assert _events(text) == []


def test_every_signature_is_a_known_rule() -> None:
    from trainmon.advice.text_events import TEXT_EVENT_RULES

    assert {r.id for r in TEXT_EVENT_RULES} <= RULE_IDS


# -- tracebacks: chains, ranks, chunking ------------------------------------------------------


def test_a_chained_traceback_is_one_event_with_the_last_exception() -> None:
    text = (
        DICTS
        + _traceback("loader.py", exception="KeyError: 'label'")
        + "\nDuring handling of the above exception, another exception occurred:\n\n"
        + _traceback("train.py", exception="RuntimeError: could not build the batch")
    )
    events = _events(text)
    assert [(e.kind, e.title, e.line_no) for e in events] == [
        ("python-exception", "RuntimeError: could not build the batch", 31)
    ]


def test_interleaved_ranks_each_get_their_own_traceback_and_are_named() -> None:
    r3 = _traceback("train.py", exception=OOM_NEW, prefix="[rank3]: ").splitlines()
    r1 = _traceback("train.py", exception="RuntimeError: stop", prefix="[rank1]: ").splitlines()
    mixed = [line for pair in zip(r3, r1, strict=False) for line in pair]
    mixed += r3[len(r1) :] + r1[len(r3) :]
    events = _events(DICTS + "\n".join(mixed) + "\n")
    assert sorted((e.rank, e.kind) for e in events) == [
        (1, "python-exception"),
        (3, "cuda-oom"),
    ]
    found = _findings(DICTS + "\n".join(mixed) + "\n")
    assert found["cuda-oom"].title.startswith("rank 3: CUDA out of memory")
    assert found["python-exception"].title == "rank 1: RuntimeError: stop"


@pytest.mark.parametrize("prefix", ["[default0]:", "0: ", "[1,0]<stderr>:"])
def test_launcher_prefixes_name_the_rank(prefix: str) -> None:
    events = _events(DICTS + _traceback("train.py", exception=OOM_OLD, prefix=prefix))
    assert [(e.kind, e.rank) for e in events] == [("cuda-oom", 0)]


def test_events_do_not_depend_on_how_the_log_was_chunked() -> None:
    text = DICTS * 4 + _traceback("a.py", exception="KeyError: 'x'") + DICTS + "Killed\n"
    whole = _events(text)
    assert [e.kind for e in whole] == ["python-exception", "process-killed"]
    rng = random.Random(3)
    for _ in range(5):
        assert _events(text, chunk=rng.randint(7, 300)) == whole


def test_a_traceback_among_many_dicts_has_its_exact_line_number() -> None:
    """The dict fast path skips text between dicts; the scanner still sees it."""
    head = DICTS * 20  # enough dicts for the parser's dict-only fast path
    tb = _traceback("train.py", exception="ValueError: x")
    text = head + tb + DICTS + "\rKilled\n"
    events = _events(text)
    lines = text.split("\n")
    assert [(e.kind, e.line_no) for e in events] == [
        ("python-exception", lines.index("Traceback (most recent call last):") + 1),
        ("process-killed", len(lines) - 1),
    ]


# -- the real crash logs -----------------------------------------------------------------------


def test_real_crash_log_ends_in_a_traceback(shared_logs2: Path) -> None:
    """240: DETR records, then a traceback the excerpt cuts before its exception line."""
    found = _findings((shared_logs2 / "240_detr-metriclogger_crash.log").read_text())
    assert list(found) == ["python-exception"]
    assert found["python-exception"].severity == "critical"
    assert found["python-exception"].step == 1330


def test_real_chained_traceback_of_a_terminated_launcher(shared_logs2: Path) -> None:
    """208: OLMo's run ends with torchrun's chained SignalException traceback: one event."""
    events = _events((shared_logs2 / "208_olmo-multiline_plateau.log").read_bytes())
    assert len(events) == 1
    assert events[0].title.endswith("SignalException: Process 9724 got signal: 15")


def test_real_logs_without_a_crash_have_no_critical_text_finding(
    shared_logs: Path, shared_logs2: Path
) -> None:
    """Quiet twins on real text: no healthy or merely bad run reads as a crash."""
    checked = 0
    for path in sorted([*shared_logs.glob("*.log"), *shared_logs2.glob("*.log")]):
        if "crash" in path.name or path.name.startswith("208_"):
            continue
        parser = LogParser()
        parser.feed(path.read_bytes())
        parser.finish()
        found = text_findings(parser.text_events.events, parser.records)
        assert [f for f in found if f.severity == "critical"] == [], path.name
        checked += 1
    assert checked > 40


# -- run, report, --fail-on -----------------------------------------------------------------------


def test_run_shows_the_crash_as_active_and_rings_once() -> None:
    parser = LogParser()
    records = parser.feed((DICTS + _traceback("t.py", exception=OOM_NEW)).encode())
    parser.finish()
    run = Run("-")
    progress = ParserProgress(text_events=tuple(parser.text_events.events), records=parser.records)
    run.take(records, progress)
    state = run.advise()
    assert state.new_critical
    assert [f.rule for f in state.active][:1] == ["cuda-oom"]
    assert not run.advise(force=True).new_critical
    run.mute("cuda-oom")
    assert "cuda-oom" not in [f.rule for f in run.advise(force=True).active]


def _report(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return trainmon("report", str(path), *args)


def test_report_json_and_fail_on(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(DICTS + _traceback("train.py", exception=OOM_NEW, prefix="[rank3]: "))
    done = _report(log, "--json", "--fail-on", "critical")
    assert done.returncode == 3, done.stderr
    findings = json.loads(done.stdout)["findings"]
    oom = [f for f in findings if f["rule"] == "cuda-oom"]
    assert len(oom) == 1 and oom[0]["severity"] == "critical" and oom[0]["step"] == 30
    assert oom[0]["title"].startswith("rank 3: CUDA out of memory")
    twin = tmp_path / "twin.log"
    twin.write_text(DICTS + _traceback("cb.py", exception="KeyError: 'x'") + MORE_DICTS)
    done = _report(twin, "--json", "--fail-on", "critical")
    assert done.returncode == 0
    caught = [f for f in json.loads(done.stdout)["findings"] if f["rule"] == "python-exception"]
    assert [f["severity"] for f in caught] == ["warning"]


def test_a_crash_before_the_first_record_still_fails_the_check(tmp_path: Path) -> None:
    log = tmp_path / "early.log"
    log.write_text("loading model\n" + _traceback("train.py", exception=OOM_OLD))
    assert _report(log).returncode == 1  # no metrics: said as before
    done = _report(log, "--json", "--fail-on", "critical")
    assert done.returncode == 3
    assert [f["rule"] for f in json.loads(done.stdout)["findings"]] == ["cuda-oom"]


def test_a_report_read_in_two_processes_finds_the_same_events(tmp_path: Path) -> None:
    """The second half's events get the whole file's line numbers and record counts."""
    from trainmon.report import findings_for, read_log

    lines = [f"step {i} | loss {3.0 - i * 0.001:.4f} | lr 1e-4" for i in range(1, 3001)]
    caught = _traceback("cb.py", exception="KeyError: 'x'").splitlines()
    lines[600:600] = caught  # first half, records after it
    lines += _traceback("train.py", exception=OOM_NEW).splitlines()  # second half, at the end
    log = tmp_path / "run.log"
    log.write_text("\n".join(lines) + "\n")
    single = read_log(str(log), split_bytes=0)
    split = read_log(str(log), split_bytes=1, jobs=2)
    assert split.parts == 2
    assert split.text_events == single.text_events
    assert [e.line_no for e in single.text_events] == [601, 3000 + len(caught) + 1]
    by_rule = {f.rule: f.severity for f in findings_for(split)}
    assert by_rule["python-exception"] == "warning"
    assert by_rule["cuda-oom"] == "critical"
