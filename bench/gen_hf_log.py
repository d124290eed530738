"""Generate a realistic Hugging Face Trainer log, redirected to a file, of a given size.

What a `python train.py > run.log 2>&1` of a Trainer run looks like (stdout and stderr
merged, tqdm not attached to a terminal):
- an INFO header with "Total optimization steps = N" and a config dump holding `{'` mid-line;
- one tqdm refresh per optimizer step, each `\\r` + bar (10 UTF-8 block glyphs) + counter;
- every `logging_steps` steps the Trainer's `tqdm.write` of the metrics dict:
  `\\r<spaces>\\r{'loss': ..., 'grad_norm': ..., 'learning_rate': ..., 'epoch': ...}\\n`;
- every `eval_steps` steps an eval progress bar (with the cursor-up escape `ESC[A`) and an
  eval dict;
- rare odd values: bare `nan` / `inf`, `np.float64(x)`, `tensor(x, device='cuda:0')`;
- a few WARNING lines that contain dicts (mid-line: not records);
- a final `train_runtime` summary dict.

Usage: python bench/gen_hf_log.py OUT [--size-gb 1.0] [--seed 0] [--logging-steps 20]
Prints the number of metric records written (train + eval + summary) as JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

LOGGING_STEPS = 20
EVAL_STEPS = 500
EVAL_BATCHES = 50
BYTES_PER_STEP = 83.0
"""Measured average bytes per optimizer step of this generator (tqdm refresh + dict share)."""

_BLOCKS = " ▏▎▍▌▋▊▉"


def _bar(fraction: float, width: int = 10) -> str:
    """A tqdm bar: full blocks, one partial block, spaces."""
    eighths = int(fraction * width * 8)
    full, part = divmod(eighths, 8)
    if full >= width:
        return "█" * width
    return "█" * full + (_BLOCKS[part] if part else " ") + " " * (width - full - 1)


def _clock(seconds: float) -> str:
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _odd(value: float, rng: random.Random) -> str:
    """The value as printed, with the odd wrappers some transformers versions print."""
    r = rng.random()
    if r < 0.001:
        return "nan"
    if r < 0.002:
        return "inf"
    if r < 0.012:
        return f"np.float64({value!r})"
    if r < 0.022:
        return f"tensor({value:.4f}, device='cuda:0')"
    return repr(value)


def header(total_steps: int, examples: int, epochs: int) -> str:
    return (
        "[INFO|configuration_utils.py:733] 2026-11-22 07:00:00,001 >> loading configuration file"
        " config.json\n"
        "[INFO|configuration_utils.py:800] 2026-11-22 07:00:00,002 >> Model config LlamaConfig"
        " {'architectures': ['LlamaForCausalLM'], 'hidden_size': 2048, 'num_hidden_layers': 16,"
        " 'rope_scaling': {'factor': 32.0, 'rope_type': 'llama3'}, 'vocab_size': 128256}\n"
        "WARNING:root:Setting pad token to eos token: {'pad_token': '<|eot_id|>'}\n"
        "[INFO|trainer.py:2314] 2026-11-22 07:00:05,100 >> ***** Running training *****\n"
        f"[INFO|trainer.py:2315] 2026-11-22 07:00:05,100 >>   Num examples = {examples:,}\n"
        f"[INFO|trainer.py:2316] 2026-11-22 07:00:05,100 >>   Num Epochs = {epochs:,}\n"
        "[INFO|trainer.py:2317] 2026-11-22 07:00:05,100 >>   Instantaneous batch size per device"
        " = 8\n"
        "[INFO|trainer.py:2321] 2026-11-22 07:00:05,100 >>   Gradient Accumulation steps = 1\n"
        f"[INFO|trainer.py:2322] 2026-11-22 07:00:05,100 >>   Total optimization steps ="
        f" {total_steps:,}\n"
        "[INFO|trainer.py:2323] 2026-11-22 07:00:05,101 >>   Number of trainable parameters ="
        " 1,235,814,400\n"
    )


def generate(
    out: Path, size_bytes: int, seed: int = 0, logging_steps: int = LOGGING_STEPS
) -> dict[str, int]:
    """Write the log; returns counts of what was written (the ground truth for a report).

    `logging_steps`: tqdm redraws per train dict (the Trainer's `logging_steps`)."""
    rng = random.Random(seed)
    total = max(EVAL_STEPS, int(size_bytes / BYTES_PER_STEP))
    total -= total % logging_steps
    epochs = 3
    steps_per_epoch = max(1, total // epochs)
    examples = steps_per_epoch * 8
    rate = 54.2  # it/s
    lr0 = 5e-5
    warmup = max(1, total // 100)
    counts = {"train": 0, "eval": 0, "summary": 0, "total_steps": total}
    bars = [_bar(i / 1000) for i in range(1001)]
    clear = "\r" + " " * 120 + "\r"
    parts: list[str] = [header(total, examples, epochs)]
    pending = 0
    with out.open("wb", buffering=0) as f:

        def flush(force: bool = False) -> None:
            nonlocal pending
            if pending > (8 << 20) or force:
                f.write("".join(parts).encode("utf-8"))
                parts.clear()
                pending = 0

        append = parts.append
        for step in range(1, total + 1):
            frac = step / total
            elapsed = step / rate
            pct = int(frac * 100)
            text = (
                f"\r{pct:3d}%|{bars[int(frac * 1000)]}| {step}/{total} "
                f"[{_clock(elapsed)}<{_clock((total - step) / rate)}, {rate:.2f}it/s]"
            )
            append(text)
            pending += len(text) + 20
            if step % logging_steps == 0:
                loss = 0.6 + 2.4 * math.exp(-4.0 * frac) + rng.gauss(0.0, 0.05)
                lr = lr0 * min(step / warmup, 1.0) * (1.0 - frac)
                gn = abs(rng.gauss(1.0, 0.3))
                epoch = step / steps_per_epoch
                line = (
                    f"{clear}{{'loss': {_odd(round(loss, 4), rng)}, "
                    f"'grad_norm': {_odd(round(gn, 6), rng)}, "
                    f"'learning_rate': {lr:.12g}, 'epoch': {round(epoch, 4)}}}\n"
                )
                append(line)
                pending += len(line)
                counts["train"] += 1
            if step % EVAL_STEPS == 0:
                ev = [
                    f"\r{int(100 * b / EVAL_BATCHES):3d}%|{bars[1000 * b // EVAL_BATCHES]}| "
                    f"{b}/{EVAL_BATCHES} [00:0{b // 20}<00:01, 15.31it/s]\x1b[A"
                    for b in range(0, EVAL_BATCHES + 1, 10)
                ]
                eval_loss = 0.7 + 2.2 * math.exp(-4.0 * frac) + rng.gauss(0.0, 0.02)
                line = (
                    "\n" + "".join(ev) + "\n" + clear + "\x1b[A"
                    f"{clear}{{'eval_loss': {_odd(round(eval_loss, 4), rng)}, "
                    f"'eval_runtime': {rng.uniform(3, 4):.4f}, "
                    f"'eval_samples_per_second': {rng.uniform(100, 120):.3f}, "
                    f"'eval_steps_per_second': {rng.uniform(12, 15):.3f}, "
                    f"'epoch': {round(step / steps_per_epoch, 4)}}}\n"
                )
                append(line)
                pending += len(line)
                counts["eval"] += 1
            if step % 100_000 == 0:
                append(
                    f"\nWARNING:accelerate.utils:slow step detected {{'step': {step}, "
                    f"'loss': 1.0, 'sec': 4.2}}\n"
                )
            flush()
        append(
            f"\rTraining completed. Do not forget to share your model on huggingface.co!\n"
            f"{{'train_runtime': {total / rate:.4f}, 'train_samples_per_second': "
            f"{rate * 8:.3f}, 'train_steps_per_second': {rate:.3f}, 'train_loss': "
            f"{0.9 + rng.random() / 10:.6f}, 'epoch': {float(epochs)}}}\n"
            f"100%|{bars[1000]}| {total}/{total} [{_clock(total / rate)}<00:00, {rate:.2f}it/s]\n"
        )
        counts["summary"] += 1
        flush(force=True)
    counts["records"] = counts["train"] + counts["eval"] + counts["summary"]
    return counts


def count_dict_lines(path: Path) -> int:
    """Independent count (the bench's ground truth): `\\n` lines whose text after the last
    `\\r` starts with `{'` and ends with `}`."""
    n = 0
    with path.open("rb") as f:
        for line in f:
            seg = line.rstrip(b"\n").rsplit(b"\r", 1)[-1].rstrip()
            if seg.startswith(b"{'") and seg.endswith(b"}"):
                n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--size-gb", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--logging-steps", type=int, default=LOGGING_STEPS, help="tqdm redraws per train dict"
    )
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    counts = generate(args.out, int(args.size_gb * 1e9), args.seed, args.logging_steps)
    counts["bytes"] = args.out.stat().st_size
    counts["seconds"] = round(time.perf_counter() - t0, 2)  # type: ignore[assignment]
    json.dump(counts, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
