"""End to end: the real `trainmon` console script in a real terminal (tmux), following a log.

Records appended to the followed file must show on screen; `q` must quit. The pane is
polled with a generous timeout: this checks that the data gets there, not how fast (the
latency is measured in bench/). Textual draws on stderr, so stderr is never redirected.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.helpers import Tmux, exit_status, press, record, wait_for
from tests.e2e.panes import in_shell, quit_with_q, start_on_log, start_pane, trainmon_command

pytestmark = [pytest.mark.tmux, pytest.mark.slow]


@pytest.mark.parametrize("size", [(160, 48), (60, 48)], ids=["wide-160x48", "pane-60x48"])
def test_appended_records_show_and_q_quits(
    tmux: Tmux, tmp_path: Path, size: tuple[int, int]
) -> None:
    log = tmp_path / "run.log"
    log.write_text("".join(record(s) for s in range(10, 110, 10)))
    exit_file = tmp_path / "exit-status"
    start_on_log(tmux, log, exit_file, size)
    wait_for(lambda: "step 100" in tmux.capture(), "the history to show", tmux)
    screen = tmux.capture()
    assert "run.log" in screen
    assert "loss" in screen

    with log.open("a") as f:
        f.write(record(120) + record(130))
    wait_for(lambda: "step 130" in tmux.capture(), "the appended records to show", tmux)

    quit_with_q(tmux, exit_file)


def test_a_log_piped_to_stdin_shows_and_keys_still_work(tmux: Tmux, tmp_path: Path) -> None:
    log = tmp_path / "piped.log"
    log.write_text("".join(record(s) for s in range(10, 60, 10)))
    exit_file = tmp_path / "exit-status"
    # Keys come from the terminal while the log comes through the pipe.
    trainmon = trainmon_command(f"--log {tmp_path}/saved.log -")
    start_pane(tmux, (100, 40), in_shell(f"tail -n +1 -f {log} | {trainmon}", exit_file))
    wait_for(lambda: "step 50" in tmux.capture(), "the piped history to show", tmux)
    assert "stdin" in tmux.capture()
    with log.open("a") as f:
        f.write(record(70))
    wait_for(lambda: "step 70" in tmux.capture(), "a piped record to show", tmux)
    press(tmux, "q", shows="quit trainmon?")  # a pipe: it asks; `k` closes the pipe
    tmux("send-keys", "-t", "main", "k")

    def exited() -> bool:
        with log.open("a") as f:  # tail exits on its next write into the closed pipe
            f.write(record(80))
        return exit_status(exit_file) is not None

    wait_for(exited, "trainmon to quit on q", tmux)
    assert exit_file.read_text().strip() == "0"


def test_demo_runs_through_the_same_follow_path(tmux: Tmux, tmp_path: Path) -> None:
    exit_file = tmp_path / "exit-status"
    start_pane(tmux, (60, 48), in_shell(trainmon_command("--demo"), exit_file), keep=False)
    step_re = re.compile(r"step (\d+)/\d+")
    steps: list[int] = []

    def advanced() -> bool:
        found = step_re.search(tmux.capture())
        if found:
            steps.append(int(found.group(1)))
        return len(set(steps)) >= 2 and steps[-1] > steps[0]

    wait_for(advanced, "the demo's steps to advance", tmux)
    assert "demo-run.log" in tmux.capture()
    # its writer is trainmon's own playback, not a training process gone missing
    wait_for(lambda: "own playback" in tmux.capture(), "the playback named as the writer", tmux)
    quit_with_q(tmux, exit_file)


def test_a_lone_escape_closes_help_and_q_quits(tmux: Tmux, tmp_path: Path) -> None:
    """The input thread sleeps until a key arrives: a bare Escape (which becomes a key only
    after the parser's pause) must still arrive, and `q` must still end the app."""
    log = tmp_path / "run.log"
    log.write_text("".join(record(s) for s in range(10, 60, 10)))
    exit_file = tmp_path / "exit-status"
    start_on_log(tmux, log, exit_file, (120, 40))
    wait_for(lambda: "step 50" in tmux.capture(), "the history to show", tmux)
    press(tmux, "?", shows="trainmon keys")
    press(tmux, "Escape", hides="trainmon keys")
    quit_with_q(tmux, exit_file)


def start_on_fifo(tmux: Tmux, tmp_path: Path) -> tuple[Path, Path]:
    """trainmon on a fresh FIFO, once it shows that it waits for a writer; returns (FIFO,
    exit status file)."""
    fifo = tmp_path / "run.fifo"
    os.mkfifo(fifo)
    exit_file = tmp_path / "exit-status"
    start_on_log(tmux, fifo, exit_file, (120, 40))
    wait_for(lambda: "waiting for run.fifo" in tmux.capture(), "the waiting state", tmux)
    return fifo, exit_file


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_without_a_writer_waits_and_q_still_quits(tmux: Tmux, tmp_path: Path) -> None:
    _, exit_file = start_on_fifo(tmux, tmp_path)
    quit_with_q(tmux, exit_file)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_writer_is_followed_and_q_quits_while_it_writes(tmux: Tmux, tmp_path: Path) -> None:
    fifo, exit_file = start_on_fifo(tmux, tmp_path)
    with fifo.open("w") as writer:  # trainmon holds the FIFO open: this does not block
        writer.write("".join(record(s) for s in range(10, 60, 10)))
        writer.flush()
        wait_for(lambda: "step 50" in tmux.capture(), "the FIFO's records to show", tmux)
        assert "waiting for run.fifo" not in tmux.capture()
        quit_with_q(tmux, exit_file)


@pytest.mark.skipif(shutil.which("bash") is None, reason="process substitution needs bash")
def test_process_substitution_is_read_to_its_end(tmux: Tmux, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("".join(record(s) for s in range(10, 110, 10)))
    exit_file = tmp_path / "exit-status"
    command = in_shell(trainmon_command(f"<(cat {log})"), exit_file, shell="bash")
    start_pane(tmux, (120, 40), command)
    wait_for(lambda: "step 100" in tmux.capture(), "the piped history to show", tmux)
    wait_for(lambda: "end of input" in tmux.capture(), "the end of the stream", tmux)
    assert "Illegal seek" not in tmux.capture()
    quit_with_q(tmux, exit_file)


def test_a_finding_opens_mutes_and_unmutes_by_keys_at_60_columns(
    tmux: Tmux, tmp_path: Path
) -> None:
    """The 60-column pane shows finding titles only: ↓ selects one, Enter opens it in full,
    `m` in the details mutes and unmutes its rule."""
    log = tmp_path / "run.log"
    losses = {s: f"{3.0 / (1 + s / 100):.4f}" for s in range(1, 61)}
    for step in range(56, 61):  # a Hugging Face Trainer dict prints a NaN loss as `nan`
        losses[step] = "nan"
    log.write_text("".join(f"{{'loss': {v}, 'epoch': {s / 60:.3f}}}\n" for s, v in losses.items()))
    exit_file = tmp_path / "exit-status"
    start_on_log(tmux, log, exit_file, (60, 40))
    wait_for(lambda: "became nan" in tmux.capture(), "the finding", tmux)
    tmux("send-keys", "-t", "main", "Down")
    tmux("send-keys", "-t", "main", "Up")
    press(tmux, "Enter", shows="evidence:")
    screen = tmux.capture()
    assert "advice:" in screen and "first step:" in screen and "count:" in screen
    assert "m: mute" in screen
    press(tmux, "m", shows="m: unmute")
    press(tmux, "m", shows="m: mute ·")
    press(tmux, "Escape", hides="evidence:")
    quit_with_q(tmux, exit_file)
