"""Torture test: a separate writer process appends a log in random-size chunks (splitting
lines and UTF-8 sequences), with truncations and rotations in between; `trainmon stream`
(a real subprocess) must print every record exactly once, in order, with equal values, and
the events where they happened.

Nothing here is timed: the writer and the checker hand over with explicit messages (the
writer says when a phase is on disk; the checker waits for the stream to show it). Before a
truncation the checker waits until the stream has shown everything, because a follower can
only notice a truncation while the file is shorter than what it has read (`tail -F` too).
"""

from __future__ import annotations

import json
import queue
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

WRITER = r"""
import os, random, sys, time
path, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
out = None  # the file is created by the first append: the stream starts by waiting

def dribble(f, data):
    # random-size chunks: lines and multi-byte UTF-8 sequences are split anywhere
    i = 0
    while i < len(data):
        n = rng.choice((1, 2, 3, 7, 50, 300, 2000))
        f.write(data[i:i + n])
        i += n
        if rng.random() < 0.05:
            time.sleep(rng.random() / 500)

for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if out is None and cmd != "quit":
        out = open(path, "ab", buffering=0)
    if cmd == "append":
        dribble(out, open(arg, "rb").read())
    elif cmd == "truncate":
        os.truncate(path, 0)
        out.close()
        out = open(path, "ab", buffering=0)
    elif cmd == "rotate":
        dribble(out, open(arg, "rb").read())  # the old file's tail, written just before
        tmp = path + ".new"
        open(tmp, "wb").close()
        os.replace(tmp, path)  # the path now names a new, empty file
        out.close()
        out = open(path, "ab", buffering=0)
    if cmd == "quit":
        break
    sys.stdout.write("ok\n")
    sys.stdout.flush()
"""

BAR = "▏▎▍▌▋▊▉█"


def make_phase(rng: random.Random, first_step: int, records: int) -> tuple[bytes, list[dict]]:
    """A Hugging Face style chunk of log and the records it holds, in order."""
    parts: list[str] = []
    truth: list[dict[str, Any]] = []
    step = first_step
    for _ in range(records):
        for _ in range(rng.randint(1, 4)):
            step += 1
            glyphs = "".join(rng.choice(BAR) for _ in range(rng.randint(0, 10)))
            parts.append(f"\r{step % 100:3d}%|{glyphs:<10}| {step}/100000 [00:01<00:09, 9.9it/s]")
        if rng.random() < 0.2:
            parts.append("\nnote: ünïcødé ✓ 训练 — 進捗 ░▒▓ (no numbers here)\n")
        loss = round(rng.uniform(0.1, 5.0), rng.randint(1, 8))
        lr = rng.choice([1e-5, 3.5e-5, 0.0001, 2e-4])
        grad = round(rng.uniform(0.0, 3.0), 6)
        values: dict[str, Any] = {"loss": loss, "grad_norm": grad, "learning_rate": lr}
        shown_grad = "nan" if rng.random() < 0.1 else repr(grad)
        if shown_grad == "nan":
            values["grad_norm"] = None  # NaN is streamed as null
        epoch = round(step / 1000, 4)
        values["epoch"] = epoch
        parts.append(
            "\r" + " " * 40 + "\r"
            f"{{'loss': {loss!r}, 'grad_norm': {shown_grad}, 'learning_rate': {lr!r}, "
            f"'epoch': {epoch!r}}}\n"
        )
        truth.append({"kind": "train", "step": step, "metrics": values})
        if rng.random() < 0.15:
            eval_loss = round(rng.uniform(0.1, 5.0), 5)
            parts.append(
                f"{{'eval_loss': {eval_loss!r}, 'eval_runtime': 1.25, 'epoch': {epoch!r}}}\n"
            )
            evaluation = {"eval_loss": eval_loss, "eval_runtime": 1.25, "epoch": epoch}
            truth.append({"kind": "eval", "step": step, "metrics": evaluation})
    return "".join(parts).encode("utf-8"), truth


class Stream:
    """`trainmon stream PATH` with its stdout read on a thread into a queue."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trainmon", "stream", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.items: queue.Queue[dict[str, Any]] = queue.Queue()
        self.got: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.items.put(json.loads(line))

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        """Block until `count` items in all have arrived (or fail with what we have)."""
        while len(self.got) < count:
            try:
                self.got.append(self.items.get(timeout=timeout))
            except queue.Empty:
                raise AssertionError(
                    f"stream showed {len(self.got)} of {count} items; last: {self.got[-3:]}"
                ) from None


def test_stream_survives_chunked_writes_truncation_and_rotation(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    log = tmp_path / "run.log"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(log), "7"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    stream = Stream(log)
    expected: list[dict[str, Any]] = [{"event": "waiting"}]
    stream.wait_for(len(expected))  # the path does not exist yet

    def command(cmd: str) -> None:
        assert writer.stdin is not None and writer.stdout is not None
        writer.stdin.write(cmd + "\n")
        writer.stdin.flush()
        assert writer.stdout.readline() == "ok\n"

    phase_no = 0

    def phase(records: int, first_step: int) -> tuple[Path, list[dict[str, Any]]]:
        nonlocal phase_no
        data, truth = make_phase(rng, first_step, records)
        phase_no += 1
        path = tmp_path / f"phase{phase_no}.bin"
        path.write_bytes(data)
        return path, truth

    try:
        step = 0
        for round_no in range(3):
            path, truth = phase(rng.randint(20, 40), step)
            step = truth[-1]["step"]
            command(f"append {path}")
            expected += truth
            stream.wait_for(len(expected))

            # Rotation: the old file gets a tail right before the path names a new file.
            tail, truth = phase(rng.randint(3, 8), step)
            step = truth[-1]["step"]
            command(f"rotate {tail}")
            expected += [*truth, {"event": "rotated"}]
            path, truth = phase(rng.randint(5, 15), 0)  # the restarted run counts from 0
            step = truth[-1]["step"]
            command(f"append {path}")
            expected += truth
            stream.wait_for(len(expected))

            # Truncation (`python train.py > run.log` again), once everything was shown.
            command("truncate")
            expected.append({"event": "truncated"})
            stream.wait_for(len(expected))
            step = 0
            if round_no == 2:
                path, truth = phase(rng.randint(5, 10), 0)
                command(f"append {path}")
                expected += truth
                stream.wait_for(len(expected))
        assert writer.stdin is not None
        writer.stdin.write("quit\n")
        writer.stdin.flush()
        assert writer.wait(timeout=30) == 0
    finally:
        writer.kill()
        stream.proc.terminate()
        stream.proc.wait(timeout=30)
    assert stream.got == expected
    assert stream.items.empty()  # nothing duplicated after the last expected item
    assert stream.proc.stderr is not None
    assert b"Traceback" not in stream.proc.stderr.read()
