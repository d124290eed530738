"""What reading failure signatures (`trainmon.parsing.text_events`) costs the parser.

The floor is the same parser in the same run with the scanner's two entry points
(`scan_line`, `scan_range`) replaced by no-ops; the figure is the ratio of CPU time with the
scanner to that floor (median of N, runs alternated), on three logs:
- `hf`: the Trainer log of `gen_hf_log.py` (the dict fast path; text between dicts skipped);
- `kv`: timestamped `step N | loss X` lines, a logger warning every other record and an
  indented line naming `Error` every 50 (the line path, non-record lines);
- `noisy`: the kv log with a warning that holds an anchor (`Error`) after every record (the
  worst case: every non-record line is looked at).

Usage: python bench/bench_text_events.py [--mb 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from gen_hf_log import generate  # noqa: E402

from trainmon.parsing import LogParser  # noqa: E402
from trainmon.parsing.text_events import TextEventScanner  # noqa: E402

CHUNK = 4 << 20


def kv_log(size: int, noisy: bool) -> bytes:
    rng = random.Random(0)
    parts: list[str] = []
    total = 0
    step = 0
    while total < size:
        step += 1
        line = (
            f"2024-01-01 00:00:00 - INFO - step {step} | loss {2 + rng.random():.4f} | "
            f"lr 1e-4 | grad_norm 1.2\n"
        )
        if noisy:
            line += f"2024-01-01 00:00:00 - WARNING - retry after Error in worker {step % 8}\n"
        elif step % 2 == 0:
            line += f"2024-01-01 00:00:00 - WARNING - worker {step % 8} slow, shard {step % 97}\n"
        if step % 50 == 0:
            line += f'  File "x.py", line {step}, in <module>   # Error handling\n'
        parts.append(line)
        total += len(line)
    return "".join(parts).encode()


def parse_cpu_s(data: bytes) -> tuple[float, int, int]:
    """CPU seconds to parse `data` in 4 MiB feeds; records and text events found."""
    parser = LogParser()
    t0 = time.process_time()
    n = 0
    for i in range(0, len(data), CHUNK):
        n += len(parser.feed(data[i : i + CHUNK]))
    n += len(parser.finish())
    return time.process_time() - t0, n, len(parser.text_events.events)


def measure(name: str, data: bytes, runs: int) -> None:
    real_line, real_range = TextEventScanner.scan_line, TextEventScanner.scan_range
    with_s: list[float] = []
    floor_s: list[float] = []
    found = records = 0
    for _ in range(runs):
        t, records, found = parse_cpu_s(data)
        with_s.append(t)
        TextEventScanner.scan_line = lambda *a, **k: None  # type: ignore[method-assign]
        TextEventScanner.scan_range = lambda *a, **k: None  # type: ignore[method-assign]
        try:
            floor_s.append(parse_cpu_s(data)[0])
        finally:
            TextEventScanner.scan_line = real_line  # type: ignore[method-assign]
            TextEventScanner.scan_range = real_range  # type: ignore[method-assign]
    w, f = statistics.median(with_s), statistics.median(floor_s)
    print(
        f"{name:6} {len(data) / 1e6:6.1f} MB  {records:8,} records  {found:3} events  "
        f"with scanner {w:.3f} s  floor {f:.3f} s  ratio {w / f:.3f}  "
        f"(min {min(with_s):.3f} / {min(floor_s):.3f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    size = int(args.mb * 1e6)
    OUT.mkdir(exist_ok=True)
    hf = OUT / f"hf_text_events_{args.mb:g}mb.log"
    if not hf.exists():
        generate(hf, size, 0)
    measure("hf", hf.read_bytes(), args.runs)
    measure("kv", kv_log(size // 4, noisy=False), args.runs)
    measure("noisy", kv_log(size // 4, noisy=True), args.runs)


if __name__ == "__main__":
    main()
