"""The parser with and without its run reader of plain train dict lines (`dict_runs`).

Reads each LOG in 256 KiB pieces (as `report`'s parts read) with `LogParser`, once with
`read_run` answering "no run" (every dict the scan's own way) and once as is, alternating,
CPU time with the garbage collector paused as in `report`; checks that the records and every
counter are equal and prints the median CPU seconds, µs per record and the ratio.
Usage: `python bench/bench_dict_runs.py LOG [LOG ...] [--runs 5] [--chunk 262144]`.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trainmon.parsing import LogParser


def parse(data: bytes, chunk: int, runs: bool) -> tuple[float, str, int]:
    """CPU seconds, everything the parser reported (as text), and the record count."""
    parser = LogParser(dict_runs=runs)
    records = []
    t0 = time.process_time()
    for at in range(0, len(data), chunk):
        records += parser.feed(data[at : at + chunk])
    records += parser.finish()
    seconds = time.process_time() - t0
    reported = repr(
        (
            records,
            parser.lines,
            parser.unparsed_lines,
            parser.format_counts,
            parser.total_steps,
            parser.context,
            parser.text_events.events,
        )
    )
    return seconds, reported, len(records)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("logs", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=256 << 10)
    args = ap.parse_args()
    gc.disable()
    status = 0
    for path in args.logs:
        data = path.read_bytes()
        times: dict[bool, list[float]] = {False: [], True: []}
        reported: dict[bool, str] = {}
        n = 0
        for _ in range(args.runs):
            for runs in (False, True):
                seconds, reported[runs], n = parse(data, args.chunk, runs)
                times[runs].append(seconds)
        same = reported[False] == reported[True]
        scan, with_runs = statistics.median(times[False]), statistics.median(times[True])
        each = {runs: ", ".join(f"{t:.3f}" for t in times[runs]) for runs in (False, True)}
        print(
            f"{path} ({len(data) / 1e6:.0f} MB, {n:,} records): "
            f"{'equal' if same else 'DIFFERENT'}; scan alone {scan:.3f} s "
            f"({scan / max(n, 1) * 1e6:.2f} µs/record; {each[False]}), "
            f"with runs {with_runs:.3f} s ({with_runs / max(n, 1) * 1e6:.2f} µs/record; "
            f"{each[True]}): ratio {with_runs / scan:.2f}"
        )
        status |= 0 if same else 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
