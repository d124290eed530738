"""Where `trainmon report --json` spends its serial seconds, phase by phase.

`report` forks helpers that read the later parts of a big log while the parent reads the
first; the parent then collects the parts, merges them, runs the advice pass once and writes
the JSON. The parts divide over cores; everything else does not. This measures each phase
of the parent (wall and the parent's own CPU time) and each helper's reading time, by
wrapping the report's functions in a process that then runs `trainmon report --json` as the
command line does:

- start: interpreter start until this script's first line (wall: from the `Popen`; CPU: the
  process' CPU at that line);
- imports: `trainmon.cli` and what `report` imports before it reads;
- fork: cutting the file and forking the helpers;
- first part: the part the parent reads itself;
- wait: waiting for the helpers (only this phase shrinks with more cores than parts);
- collect: taking each helper's result (unpickling, or mapping its columns);
- merge: the parts' stores and counters into one;
- advice: the advice pass over the merged history;
- output: the JSON object, encoded and written;
- helpers: each helper's reading (wall, CPU) and the time it takes to serialise its result.

Runs alternate between trees (`--tree DIR`, repeatable: each is put first on PYTHONPATH) and
`--jobs` values; medians per phase are printed, with `grep -c` timed in the same run as the
floor. The log must exist (`bench_report.py --keep --out-dir /tmp/x` makes one).

Usage: python bench/bench_report_phases.py LOG [--tree DIR ...] [--jobs 1,2] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PHASES = ("start", "imports", "fork", "first part", "wait", "collect", "merge", "advice", "output")


class _Clock:
    """Wall and CPU time of each phase of this process, summed over calls."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.cpu: dict[str, float] = dict.fromkeys(PHASES, 0.0)

    def timed(self, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall[phase] += time.perf_counter() - w
                self.cpu[phase] += time.process_time() - c

        return wrapper


def _first(names: list[str]) -> tuple[Any, str]:
    """(module, attribute) of the first of `module:attr` names that exists."""
    import importlib

    for name in names:
        module_name, attr = name.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, attr):
            return module, attr
    raise SystemExit(f"none of {names} in this tree")


def _patch(clock: _Clock, phase: str, names: list[str], modules: list[str]) -> None:
    """Wrap the first existing function of `names` and rebind it wherever `modules` hold it."""
    import importlib

    module, attr = _first(names)
    original = getattr(module, attr)
    wrapped = clock.timed(phase, original)
    for name in modules:
        try:
            other = importlib.import_module(name)
        except ImportError:
            continue
        for key, value in list(vars(other).items()):
            if value is original:
                setattr(other, key, wrapped)


def inner(log: str, jobs: int, popen_s: float, helpers_dir: str) -> None:
    """Run `trainmon report --json` here, with its phases timed; print them as JSON."""
    clock = _Clock()
    clock.wall["start"] = time.time() - popen_s
    clock.cpu["start"] = time.process_time()
    w, c = time.perf_counter(), time.process_time()
    import orjson  # noqa: F401  (imported by `report` before it reads)

    import trainmon.cli as cli
    import trainmon.inputs
    import trainmon.parsing
    import trainmon.parsing.formats
    import trainmon.report  # noqa: F401

    clock.wall["imports"] = time.perf_counter() - w
    clock.cpu["imports"] = time.process_time() - c
    modules = ["trainmon.report", "trainmon.parts"]
    parent = os.getpid()

    read_module, read_attr = _first(["trainmon.parts:read_part", "trainmon.report:_read_part"])
    read_part = getattr(read_module, read_attr)

    def read_timed(path: str, start: int, *args: Any, **kwargs: Any) -> Any:
        w, c = time.perf_counter(), time.process_time()
        part = read_part(path, start, *args, **kwargs)
        if os.getpid() == parent:
            clock.wall["first part"] += time.perf_counter() - w
            clock.cpu["first part"] += time.process_time() - c
        else:  # a helper: its own figures, to a file (it leaves through os._exit)
            helper.update(start=start, read_wall=time.perf_counter() - w,
                          read_cpu=time.process_time() - c)  # fmt: skip
        return part

    helper: dict[str, float] = {}

    def send_timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            w = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:  # a helper: its figures to a file (it leaves through os._exit)
                helper["send_wall"] = time.perf_counter() - w
                Path(helpers_dir, f"{os.getpid()}.json").write_text(json.dumps(helper))

        return wrapper

    for name in modules:
        module = sys.modules.get(name)
        for key, value in list(vars(module).items()) if module else []:
            if value is read_part:
                setattr(module, key, read_timed)

    parts_module = sys.modules.get("trainmon.parts")
    if parts_module is not None and hasattr(parts_module, "send_part"):
        parts_module.send_part = send_timed(parts_module.send_part)
    else:  # the helper pickles its part in `_fork_part`
        import pickle
        import types

        shim = types.SimpleNamespace(
            dumps=send_timed(pickle.dumps), load=pickle.load, HIGHEST_PROTOCOL=5
        )
        sys.modules["trainmon.report"].pickle = shim  # type: ignore[attr-defined]

    collect_module, collect_attr = _first(["trainmon.parts:collect", "trainmon.report:_collect"])
    collect = getattr(collect_module, collect_attr)

    def collect_timed(child: Any, *args: Any, **kwargs: Any) -> Any:
        w = time.perf_counter()
        select.select([child[1]], [], [])
        clock.wall["wait"] += time.perf_counter() - w
        return clock.timed("collect", collect)(child, *args, **kwargs)

    for name in modules:
        module = sys.modules.get(name)
        for key, value in list(vars(module).items()) if module else []:
            if value is collect:
                setattr(module, key, collect_timed)

    _patch(clock, "fork", ["trainmon.parts:cut_points", "trainmon.report:_cuts"], modules)
    _patch(clock, "fork", ["trainmon.parts:fork_part", "trainmon.report:_fork_part"], modules)
    _patch(clock, "fork", ["trainmon.parts:fingerprint", "trainmon.report:_fingerprint"], modules)
    _patch(clock, "merge", ["trainmon.parts:merge_parts", "trainmon.store:MetricStore"], [])
    import trainmon.report as report
    from trainmon.store import MetricStore

    if not hasattr(sys.modules.get("trainmon.parts"), "merge_parts"):
        MetricStore.absorb = clock.timed("merge", MetricStore.absorb)  # type: ignore[method-assign]
        report._merge_counts = clock.timed("merge", report._merge_counts)  # type: ignore[attr-defined]
    else:
        _patch(clock, "merge", ["trainmon.parts:merge_parts"], modules)
    report.findings_for = clock.timed("advice", report.findings_for)
    report.as_json = clock.timed("output", report.as_json)
    report.write_stdout = clock.timed("output", report.write_stdout)

    out = open(os.devnull, "w")  # noqa: SIM115
    real_stdout, sys.stdout = sys.stdout, out
    try:
        code = cli.main(["report", "--json", "--jobs", str(jobs), log])
    finally:
        sys.stdout = real_stdout
    helpers = []
    for path in sorted(Path(helpers_dir).glob("*.json")):
        helpers.append(json.loads(path.read_text()))
    helpers.sort(key=lambda h: h["start"])
    print(json.dumps({"code": code, "wall": clock.wall, "cpu": clock.cpu, "helpers": helpers}))


def run_once(tree: str, log: str, jobs: int) -> dict[str, Any]:
    """One timed `report` in a fresh interpreter with `tree` first on the path."""
    env = dict(os.environ, PYTHONPATH=tree)
    with tempfile.TemporaryDirectory() as helpers_dir:
        t0 = time.time()
        cmd = [sys.executable, __file__, "--inner", log, "--jobs", str(jobs),
               "--popen-s", repr(t0), "--helpers-dir", helpers_dir]  # fmt: skip
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        total = time.time() - t0
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["total"] = total
    return result


def grep_s(log: str, runs: int = 5) -> float:
    """Median wall time of `LC_ALL=C grep -c 'loss' LOG > file` (the floor)."""
    env = dict(os.environ, LC_ALL="C")
    times = []
    with tempfile.TemporaryFile() as out:
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(["grep", "-c", "'loss'", log], stdout=out, env=env, check=True)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("log")
    p.add_argument("--tree", action="append", default=[], help="source tree (repeatable)")
    p.add_argument("--jobs", default="1,2")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--popen-s", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--helpers-dir", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    jobs = [int(j) for j in args.jobs.split(",")]
    if args.inner:
        inner(args.log, jobs[0], args.popen_s, args.helpers_dir)
        return 0
    trees = args.tree or [str(Path(__file__).resolve().parent.parent)]
    floor = grep_s(args.log)
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for _ in range(args.runs):  # alternating, so load drifts hit every tree and job count
        for tree in trees:
            for j in jobs:
                results.setdefault((tree, j), []).append(run_once(tree, args.log, j))
    size = os.path.getsize(args.log)
    print(f"log: {args.log} ({size / 1e9:.3f} GB); grep -c median of 5: {floor:.3f} s")
    print(f"load average now: {os.getloadavg()[0]:.1f}; medians of {args.runs} runs")
    for (tree, j), runs in results.items():
        total = statistics.median(r["total"] for r in runs)
        each = ", ".join(f"{r['total']:.2f}" for r in runs)
        print(f"\n{tree} --jobs {j}: {total:.2f} s, {total / floor:.1f}x grep (runs {each})")
        print(f"  {'phase':<11} {'wall s':>7} {'cpu s':>7}")
        for phase in PHASES:
            wall = statistics.median(r["wall"][phase] for r in runs)
            cpu = statistics.median(r["cpu"][phase] for r in runs)
            print(f"  {phase:<11} {wall:7.3f} {cpu:7.3f}")
        serial = statistics.median(
            sum(v for k, v in r["cpu"].items() if k not in ("first part", "wait")) for r in runs
        )
        print(f"  serial CPU (all but first part and wait): {serial:.3f} s")
        for k in range(max(len(r["helpers"]) for r in runs)):
            hs = [r["helpers"][k] for r in runs if len(r["helpers"]) > k]
            print(
                f"  helper {k + 1}: read {statistics.median(h['read_wall'] for h in hs):.3f} s "
                f"wall, {statistics.median(h['read_cpu'] for h in hs):.3f} s CPU; sending "
                f"its result {statistics.median(h['send_wall'] for h in hs):.3f} s"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
