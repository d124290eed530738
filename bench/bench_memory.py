"""Peak memory of `trainmon report --json` and of the dashboard holding a big log.

Generates a log of N records (default 10^7) in a temporary directory, in one of two
formats: `jsonl` (one JSON object per line with step, loss, learning_rate, grad_norm and
epoch, as LLaMA-Factory's trainer_log.jsonl) or `kv` (`step=N loss=X`, one metric). Then:

- floor: peak RSS of `python -c "import numpy"` (what any Python reader of the log costs);
- report: peak RSS of `trainmon report --json LOG` (its helper process included: `wait4`
  reports the largest of the process and its waited-for children);
- dashboard: a headless dashboard (`App.run_test`, the real follower, parser and store)
  that loads the whole log; its RSS once every record is in the store, and its peak.

Usage: python bench/bench_memory.py [--records 10000000] [--format jsonl|kv] [--skip-dashboard]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RSS_MB = 200.0

DASHBOARD_CHILD = """\
import asyncio, resource, sys, time
from trainmon.config import DashboardOptions
from trainmon.ui.app import TrainmonApp

async def main(path, expected):
    app = TrainmonApp(DashboardOptions(paths=(path,), bell=False), poll_interval_s=0.05)
    start = time.monotonic()
    async with app.run_test(size=(160, 48)) as pilot:
        while app.runs[0].store.records < expected:
            await pilot.pause(0.5)
        took = time.monotonic() - start
        await pilot.pause(2.0)
        with open("/proc/self/status") as f:
            rss_kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"{app.runs[0].store.records} {rss_kb} {peak_kb} {took:.1f}")

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def generate(path: Path, records: int, fmt: str, seed: int = 0) -> None:
    """Write `records` metric lines, in blocks (formatting is most of the time)."""
    rng = random.Random(seed)
    block = 100_000
    with path.open("w") as f:
        for start in range(1, records + 1, block):
            stop = min(records + 1, start + block)
            noise = [rng.random() for _ in range(stop - start)]
            if fmt == "kv":
                lines = [
                    f"step={s} loss={3.0 / (1 + s / 1e5) + 0.05 * n:.4f}\n"
                    for s, n in zip(range(start, stop), noise, strict=True)
                ]
            else:
                lines = [
                    json.dumps(
                        {
                            "step": s,
                            "loss": round(3.0 / (1 + s / 1e5) + 0.05 * n, 4),
                            "learning_rate": 2e-5 * (1 - s / (records + 1)),
                            "grad_norm": round(1.0 + n, 6),
                            "epoch": round(s / 50_000, 2),
                        }
                    )
                    + "\n"
                    for s, n in zip(range(start, stop), noise, strict=True)
                ]
            f.write("".join(lines))


def peak_rss_mb(cmd: list[str]) -> tuple[float, float, int]:
    """(peak RSS in MB of the command and its waited-for children, wall s, exit code)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024.0, time.monotonic() - start, proc.returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=10_000_000)
    p.add_argument("--format", choices=("jsonl", "kv"), default="jsonl")
    p.add_argument("--skip-dashboard", action="store_true")
    p.add_argument("--generate", metavar="PATH", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.generate:
        generate(Path(args.generate), args.records, args.format)
        return 0

    with tempfile.TemporaryDirectory(prefix="trainmon-mem-") as tmp:
        log = Path(tmp) / f"{args.format}.log"
        t0 = time.monotonic()
        # In a child process: `wait4` reports a child's peak RSS including what it
        # inherited from this process at fork time, so this one must stay small.
        subprocess.run(
            [sys.executable, __file__, "--generate", str(log), "--records", str(args.records),
             "--format", args.format],
            check=True,
        )  # fmt: skip
        size_mb = log.stat().st_size / 1e6
        print(
            f"log: {args.records:,} records, format {args.format}, {size_mb:,.0f} MB "
            f"(generated in {time.monotonic() - t0:.0f} s)"
        )
        floor, _, _ = peak_rss_mb([sys.executable, "-c", "import numpy"])
        print(f"floor: python -c 'import numpy': {floor:.0f} MB")
        rss, wall, code = peak_rss_mb(
            [sys.executable, "-m", "trainmon", "report", "--json", str(log)]
        )
        verdict = "met" if rss <= TARGET_RSS_MB else "MISSED"
        print(
            f"report --json: peak RSS {rss:.0f} MB ({rss / floor:.1f}x floor; "
            f"{(rss - floor) * 1e6 / args.records:.0f} B per record over the floor), "
            f"{wall:.0f} s, exit {code} (target <= {TARGET_RSS_MB:g} MB: {verdict})"
        )
        if not args.skip_dashboard:
            out = subprocess.run(
                [sys.executable, "-c", DASHBOARD_CHILD, str(log), str(args.records)],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(out.stderr[-2000:])
                return 1
            records, rss_kb, peak_kb, took = out.stdout.split()
            rss_mb, peak_mb = int(rss_kb) / 1024, int(peak_kb) / 1024
            verdict = "met" if rss_mb <= TARGET_RSS_MB else "MISSED"
            print(
                f"dashboard (headless): {int(records):,} records loaded in {float(took):.0f} s; "
                f"RSS {rss_mb:.0f} MB ({rss_mb / floor:.1f}x floor), peak {peak_mb:.0f} MB "
                f"(target <= {TARGET_RSS_MB:g} MB: {verdict})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
