"""What one follower poll costs, idle and per appended line, against bare system calls.

The follower checks a file's identity (inode, first bytes, last bytes read) so that a restart
is never taken for an append; this measures what that costs. Floors, measured in the same
run: `os.stat` alone (an idle poll can do no less), and `os.stat` + `os.read` of the new line
(an append can do no less).

    python bench/bench_follow.py [--polls N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from trainmon.follow import Follower

LINE = b"{'loss': 1.2345, 'grad_norm': 0.5, 'learning_rate': 5e-05, 'epoch': 0.01}\n"


def per_call_us(run: Callable[[int], None], n: int, repeats: int = 5) -> float:
    """Median over `repeats` of the time per call of `run(n)` (which makes n calls), in µs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(n)
        times.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=20_000)
    n = parser.parse_args().polls
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "run.log"
        log.write_bytes(LINE * 1000)
        path = str(log)
        f = Follower(path)
        while not f.caught_up or f.offset == 0:
            f.poll()

        def stat_only(k: int) -> None:
            for _ in range(k):
                os.stat(path)

        def idle(k: int) -> None:
            for _ in range(k):
                f.poll()

        writer = log.open("ab", buffering=0)
        reader = os.open(path, os.O_RDONLY)
        os.lseek(reader, 0, os.SEEK_END)
        buffer = bytearray(1 << 20)  # the follower reads into one reused buffer too

        def append_floor(k: int) -> None:
            for _ in range(k):
                writer.write(LINE)
                os.stat(path)
                os.readv(reader, [buffer])

        def append(k: int) -> None:
            for _ in range(k):
                writer.write(LINE)
                f.poll()

        floor_idle = per_call_us(stat_only, n)
        idle_us = per_call_us(idle, n)
        floor_append = per_call_us(append_floor, n // 4)
        append_us = per_call_us(append, n // 4)
        writer.close()
        os.close(reader)
    print(f"os.stat alone                     {floor_idle:7.2f} µs")
    print(f"idle poll                         {idle_us:7.2f} µs  ({idle_us / floor_idle:.2f}x)")
    print(f"append + os.stat + os.readv       {floor_append:7.2f} µs")
    print(
        f"append + poll (reads the line)    {append_us:7.2f} µs  ({append_us / floor_append:.2f}x)"
    )


if __name__ == "__main__":
    main()
