"""Parser throughput on a realistic Hugging Face Trainer log, as a ratio to `grep -c`.

Writes a synthetic log (tqdm redraws separated by `\\r`, a train dict every
`--logging-steps` refreshes written the way `tqdm.write` writes it, an eval bar with the
cursor-up escape and an eval dict every 500 steps, ~2 % odd values: `nan`, `inf`,
`np.float64(...)`, `tensor(...)`, plus config-dump and warning distractors), then times
in the same run:

* `LC_ALL=C grep -c "'loss'" FILE` (the floor; output to a file, never /dev/null),
* `LogParser.feed` over the file in 1 MiB reads, single process.

Reports the median of `--repeat` runs, the ratio parser/grep, µs per dict and MB/s.
By default the log comes from the shared generator `bench/gen_hf_log.py` when it exists
(`--generator own` uses the one in this file). Goal: ratio <= 3.
Usage: `python bench/bench_parse.py [--mb 150] [--repeat 3] [--keep PATH] [--log PATH]`.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from floors import grep_seconds

from trainmon.parsing import LogParser

BLOCKS = " ▏▎▍▌▋▊▉█"


def _bar(n: int, total: int, elapsed: float) -> str:
    frac = n / total
    width = 10
    full = int(frac * width)
    part = int((frac * width - full) * 8)
    bar = "█" * full + (BLOCKS[part] if full < width else "")
    bar = bar.ljust(width)
    rate = n / elapsed if elapsed > 0 else 0.0
    remaining = (total - n) / rate if rate else 0.0
    return (
        f"{int(frac * 100):3d}%|{bar}| {n}/{total} "
        f"[{int(elapsed) // 60:02d}:{int(elapsed) % 60:02d}<"
        f"{int(remaining) // 60:02d}:{int(remaining) % 60:02d}, {rate:5.2f}it/s]"
    )


def _value(rng: random.Random, x: float) -> str:
    r = rng.random()
    if r < 0.001:
        return "nan"
    if r < 0.002:
        return "inf"
    if r < 0.012:
        return f"np.float64({x!r})"
    if r < 0.022:
        return f"tensor({x!r}, device='cuda:0')"
    return repr(x)


def generate(path: Path, target_bytes: int, logging_steps: int = 20, seed: int = 0) -> int:
    """Write the log; return the number of metric dicts in it."""
    rng = random.Random(seed)
    total = 10**7
    dicts = 0
    step = 0
    elapsed = 0.0
    written = 0
    chunks: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as f:
        head = (
            "[INFO] config {'model': 'llama', 'hidden_size': 4096, 'lr': 2e-05}\n"
            "***** Running training *****\n  Num examples = 1,000,000\n"
            f"  Total optimization steps = {total:,}\n"
        )
        f.write(head)
        written += len(head)
        while written < target_bytes:
            for _ in range(logging_steps):
                step += 1
                elapsed += 0.16
                chunks.append("\r" + _bar(step, total, elapsed))
            loss = 2.0 * (0.999 ** (step / 100)) + rng.random() * 0.1
            grad = 1.0 + rng.random()
            lr = 2e-5 * (1 - step / total)
            line = (
                f"\r{' ' * 60}\r{{'loss': {_value(rng, round(loss, 4))}, "
                f"'grad_norm': {_value(rng, grad)}, 'learning_rate': {lr!r}, "
                f"'epoch': {round(step / 50000, 2)!r}}}\n"
            )
            chunks.append(line)
            dicts += 1
            if step % 500 == 0:
                chunks.append(
                    "\n\x1b[A\r 100%|██████████| 50/50 [00:04<00:00, 12.1it/s]\x1b[A\r"
                    f"{{'eval_loss': {_value(rng, loss + 0.1)}, 'eval_runtime': 4.1, "
                    f"'eval_samples_per_second': 97.5, 'epoch': {round(step / 50000, 2)!r}}}\n"
                )
                dicts += 1
            if step % 5000 == 0:
                chunks.append("WARNING: gradient overflow, skipping step {'scale': 32768.0}\n")
            if len(chunks) > 2000:
                text = "".join(chunks)
                f.write(text)
                written += len(text.encode("utf-8"))
                chunks.clear()
        tail = "".join(chunks) + (
            "\r\n{'train_runtime': 1234.5, 'train_samples_per_second': 9.1, "
            "'train_steps_per_second': 1.2, 'train_loss': 0.9, 'epoch': 1.0}\n"
        )
        f.write(tail)
        dicts += 1
    return dicts


def time_parser(path: Path) -> tuple[float, int]:
    gc.collect()
    parser = LogParser()
    count = 0
    t0 = time.perf_counter()
    with path.open("rb", buffering=0) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            count += len(parser.feed(chunk))
    count += len(parser.finish())
    return time.perf_counter() - t0, count


def time_floor(path: Path) -> float:
    """The least a Python loop can do per dict: memchr for `{`, orjson, no step, no record."""
    import mmap

    import orjson

    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        t0 = time.perf_counter()
        find = data.find
        s = find(b"{")
        while s != -1:
            if data[s + 1] == 39:
                close = find(b"}", s)
                if close == -1:
                    break
                try:  # noqa: SIM105 (a context manager per dict would distort the floor)
                    orjson.loads(data[s : close + 1].replace(b"'", b'"'))
                except orjson.JSONDecodeError:
                    pass
                s = find(b"{", close)
            else:
                s = find(b"{", s + 1)
        return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=150, help="size of the generated log in MB")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="write the log here and keep it")
    ap.add_argument("--log", type=Path, help="use this existing log instead of generating")
    ap.add_argument(
        "--generator",
        choices=("shared", "own"),
        default="shared",
        help="bench/gen_hf_log.py when present (default), or this script's own generator",
    )
    args = ap.parse_args()

    tmp: tempfile.TemporaryDirectory[str] | None = None
    if args.log:
        path = args.log
        expected = None
    else:
        if args.keep:
            path = args.keep
        else:
            tmp = tempfile.TemporaryDirectory()
            path = Path(tmp.name) / "hf.log"
        t0 = time.perf_counter()
        shared = Path(__file__).resolve().parent / "gen_hf_log.py"
        if args.generator == "shared" and shared.is_file():
            spec = importlib.util.spec_from_file_location("gen_hf_log", shared)
            assert spec is not None and spec.loader is not None
            gen = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(gen)
            expected = int(gen.generate(path, args.mb * 1_000_000)["records"])
        else:
            expected = generate(path, args.mb * 1_000_000)
        print(
            f"generated {path.stat().st_size / 1e6:.0f} MB, {expected} dicts "
            f"in {time.perf_counter() - t0:.1f} s"
        )
    size = path.stat().st_size
    grep_seconds(path, runs=1)  # warm the page cache
    greps, parses, floors = [], [], []
    records = 0
    for _ in range(args.repeat):
        greps.append(grep_seconds(path, runs=1))
        dt, records = time_parser(path)
        parses.append(dt)
        floors.append(time_floor(path))
    grep_s = statistics.median(greps)
    parse_s = statistics.median(parses)
    floor_s = statistics.median(floors)
    print(f"records: {records}" + (f" (expected {expected})" if expected is not None else ""))
    print(f"grep -c \"'loss'\": {grep_s:.3f} s  ({size / grep_s / 1e6:.0f} MB/s)")
    print(
        f"LogParser.feed:   {parse_s:.3f} s  ({size / parse_s / 1e6:.0f} MB/s, "
        f"{parse_s / max(records, 1) * 1e6:.2f} µs/dict)"
    )
    print(f"bare find+orjson loop: {floor_s:.3f} s  (ratio to grep {floor_s / grep_s:.2f})")
    print(f"ratio parser/grep: {parse_s / grep_s:.2f}  (goal <= 3)")
    if tmp is not None:
        tmp.cleanup()
    return 0 if expected is None or records == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
