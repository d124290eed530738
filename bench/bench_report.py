"""`trainmon report --json` on a ~1 GB Hugging Face log, against `grep -c` in the same run.

Measures, with the file in the page cache:
- the floor: `LC_ALL=C grep -c "'loss'" FILE > out` (median of 5; never `>/dev/null`: GNU grep
  then stops at the first match);
- `python -m trainmon report --json FILE > out`: wall time (median of 3) and peak RSS of the
  process and its helper process (from `wait4`'s rusage, which covers reaped descendants);
- correctness: the reported record count against an independent count of the dict lines.

Each `--jobs` value is timed (default `1,2`): one process gives the per-core throughput, from
which a box with more cores can be predicted; the last value is the one held to the target.
Prints the ratio report/grep next to the targets (ratio <= 8, peak RSS <= 200 MB). Nothing
here passes or fails except the record count (exit 1 on a mismatch).

Also the floor of any pure-Python reader, in the same run (median of 3, in this process):
a bare loop that finds each dict line (`find(b"{")`, a line-start check, the slice up to
`\n`), decodes it with orjson and builds a `MetricRecord`, with no step, store or checks.
Its ratio to grep shows how far the ratio target is from what one Python process can do.

Usage: python bench/bench_report.py [--size-gb 1.0] [--seed 0] [--logging-steps 20]
       [--jobs 1,2] [--out-dir bench/out] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from gen_hf_log import count_dict_lines, generate  # noqa: E402

TARGET_RATIO = 8.0
TARGET_RSS_MB = 200.0


def bare_loop(path: Path) -> tuple[float, int]:
    """The floor: the least per-dict work a Python reader does; returns (s, dicts decoded)."""
    import mmap

    import orjson

    from trainmon.records import MetricRecord

    loads, error = orjson.loads, orjson.JSONDecodeError
    n = 0
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        t0 = time.perf_counter()
        find = data.find
        s = find(b"{")
        while s != -1:
            if data[s + 1] == 39 and data[s - 1] in (10, 13):  # `{'` at a segment start
                end = find(b"\n", s)
                if end == -1:
                    break
                try:
                    MetricRecord("train", n, loads(data[s:end].replace(b"'", b'"')))
                    n += 1
                except error:
                    pass
                s = find(b"{", end)
            else:
                s = find(b"{", s + 1)
        return time.perf_counter() - t0, n


def run_timed(
    cmd: list[str], stdout_path: Path, env: dict[str, str] | None = None
) -> tuple[float, float, int]:
    """Run `cmd` with stdout to a file; returns (wall s, peak RSS MB, exit code)."""
    with stdout_path.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024.0, proc.returncode


def warm(path: Path) -> None:
    """Read the file once so that every measurement starts from the page cache."""
    buf = bytearray(1 << 20)
    with path.open("rb", buffering=0) as f:
        while f.readinto(buf):
            pass


def ensure_log(
    size_gb: float, seed: int, logging_steps: int, out: Path
) -> tuple[Path, dict[str, int]]:
    out.mkdir(exist_ok=True)
    log = out / f"hf_{size_gb:g}gb_seed{seed}_every{logging_steps}.log"
    meta = log.with_suffix(".json")
    if log.exists() and meta.exists():
        info = json.loads(meta.read_text())
        if info.get("bytes") == log.stat().st_size:
            return log, info
    t0 = time.perf_counter()
    info = generate(log, int(size_gb * 1e9), seed, logging_steps)
    info["generate_s"] = round(time.perf_counter() - t0, 1)
    info["bytes"] = log.stat().st_size
    info["independent_records"] = count_dict_lines(log)
    meta.write_text(json.dumps(info))
    return log, info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size-gb", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", action="store_true", help="keep the generated log in bench/out/")
    p.add_argument("--runs", type=int, default=3, help="report runs (median)")
    p.add_argument("--grep-runs", type=int, default=5, help="grep runs (median)")
    p.add_argument("--logging-steps", type=int, default=20, help="tqdm redraws per train dict")
    p.add_argument("--jobs", default="1,2", help="comma-separated `--jobs` values to time")
    p.add_argument("--out-dir", type=Path, default=OUT, help="where the log is generated")
    args = p.parse_args(argv)
    jobs = [int(j) for j in args.jobs.split(",")]

    log, info = ensure_log(args.size_gb, args.seed, args.logging_steps, args.out_dir)
    print(
        f"log: {log} ({info['bytes'] / 1e9:.3f} GB, {info['independent_records']:,} dict lines;"
        f" generated in {info.get('generate_s', '?')} s)"
    )
    warm(log)
    env = dict(os.environ, LC_ALL="C")
    scratch = args.out_dir / "bench_report.out"
    grep = [run_timed(["grep", "-c", "'loss'", str(log)], scratch, env)[0]
            for _ in range(args.grep_runs)]  # fmt: skip
    grep_s = statistics.median(grep)

    timed: dict[int, list[tuple[float, float]]] = {}
    doc: dict[str, object] = {}
    for _ in range(args.runs):  # interleaved, so load drifts hit every job count alike
        for j in jobs:
            cmd = [sys.executable, "-m", "trainmon", "report", "--json", "--jobs", str(j)]
            wall, rss, code = run_timed([*cmd, str(log)], scratch)
            timed.setdefault(j, []).append((wall, rss))
            if code != 0:
                print(f"trainmon report exited {code}", file=sys.stderr)
            doc = json.loads(scratch.read_text())
    # After the report runs: the floor maps the whole file, and a child forked from a process
    # with a large RSS inherits that peak in its own `ru_maxrss`.
    floors = [bare_loop(log)[0] for _ in range(3)]
    floor_s = statistics.median(floors)
    runs = timed[jobs[-1]]
    report_s = statistics.median(r[0] for r in runs)
    rss_mb = max(r[1] for rs in timed.values() for r in rs)
    ratio = report_s / grep_s
    records = doc.get("records")
    ok = records == info["independent_records"]

    gb = info["bytes"] / 1e9
    print(
        f"grep -c 'loss' (LC_ALL=C), median of {len(grep)}: {grep_s:.3f} s ({gb / grep_s:.2f} GB/s)"
    )
    for j, rs in timed.items():
        med = statistics.median(r[0] for r in rs)
        runs_text = ", ".join(f"{r[0]:.2f}" for r in rs)
        print(
            f"trainmon report --json --jobs {j}, median of {len(rs)}: {med:.3f} s "
            f"({gb / med:.3f} GB/s, {gb * 1000 / med / j:.0f} MB/s per process); "
            f"runs {runs_text}; ratio to grep {med / grep_s:.2f}"
        )
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(
        f"ratio report/grep at --jobs {jobs[-1]}: {ratio:.2f} "
        f"(target <= {TARGET_RATIO:g}: {verdict})"
    )
    print(
        f"floor: bare find+orjson+MetricRecord loop, one process, median of {len(floors)}: "
        f"{floor_s:.3f} s; ratio floor/grep {floor_s / grep_s:.2f}; "
        f"report/floor {report_s / floor_s:.2f}"
    )
    verdict = "met" if rss_mb <= TARGET_RSS_MB else "MISSED"
    print(f"peak RSS: {rss_mb:.0f} MB (target <= {TARGET_RSS_MB:g}: {verdict})")
    print(
        f"records: {records} reported, {info['independent_records']} counted "
        f"independently: {'equal' if ok else 'MISMATCH'}"
    )
    if not args.keep:
        log.unlink()
        log.with_suffix(".json").unlink()
    scratch.unlink(missing_ok=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
