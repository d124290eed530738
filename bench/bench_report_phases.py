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
- early advice: the advice pass over the first part, while the helpers still read (trees
  that have `report_log`);
- wait: waiting for the helpers (only this phase shrinks with more cores than parts);
- collect: taking each helper's result (unpickling, or mapping its columns);
- merge: the parts' stores and counters into one;
- advice: the advice pass over the merged history (what is left of it after the early one);
- output: the JSON object, encoded and written;
- helpers: each helper's reading (wall, CPU) and the time it takes to serialise its result;
- the critical path: the parent's serial CPU plus the slowest of the branches that run side
  by side (its own part and the advice begun over it, each helper's reading), which is what
  the run takes with a free core per process: on a shared machine, where a second process
  often finds no free core, it compares trees where wall time cannot.

Runs alternate between trees (`--tree DIR`, repeatable: each is put first on PYTHONPATH) and
`--jobs` values; medians per phase are printed, with `grep -c` timed in the same run as the
floor. The log must exist (`bench_report.py --keep --out-dir /tmp/x` makes one).

Usage: python bench/bench_report_phases.py LOG [--tree DIR ...] [--jobs 1,2] [--runs 3]
       python bench/bench_report_phases.py LOG --advice-curve 32
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

from floors import grep_seconds

PHASES = (
    "start",
    "imports",
    "fork",
    "first part",
    "early advice",
    "wait",
    "collect",
    "merge",
    "advice",
    "output",
)


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


MODULES = ("trainmon.report", "trainmon.parts")
"""Where the reading functions live and are looked up (the tree before `parts` had them all
in `report`)."""


def _find(names: list[str]) -> Any:
    """The first of `module:attr` names that exists in this tree."""
    import importlib

    for name in names:
        module_name, attr = name.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, attr):
            return getattr(module, attr)
    raise SystemExit(f"none of {names} in this tree")


def _rebind(original: Any, wrapped: Any) -> None:
    """Put `wrapped` wherever a module of `MODULES` holds `original`."""
    for name in MODULES:
        module = sys.modules.get(name)
        for key, value in list(vars(module).items()) if module else []:
            if value is original:
                setattr(module, key, wrapped)


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
    import trainmon.parsing.formats  # noqa: F401  (imported by `report` before it reads)
    import trainmon.report as report

    clock.wall["imports"] = time.perf_counter() - w
    clock.cpu["imports"] = time.process_time() - c
    parent = os.getpid()
    helper: dict[str, float] = {}

    read_part = _find(["trainmon.parts:read_part", "trainmon.report:_read_part"])

    def read_timed(*args: Any, **kwargs: Any) -> Any:
        w, c = time.perf_counter(), time.process_time()
        part = read_part(*args, **kwargs)
        if os.getpid() == parent:
            clock.wall["first part"] += time.perf_counter() - w
            clock.cpu["first part"] += time.process_time() - c
        else:
            helper.update(read_wall=time.perf_counter() - w, read_cpu=time.process_time() - c)
        return part

    _rebind(read_part, read_timed)

    def send_timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            w = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:  # a helper: its figures to a file (it leaves through os._exit)
                helper["send_wall"] = time.perf_counter() - w
                Path(helpers_dir, f"{time.time():.6f}-{os.getpid()}.json").write_text(
                    json.dumps(helper)
                )

        return wrapper

    import pickle
    import types

    shim = types.SimpleNamespace(dumps=send_timed(pickle.dumps), load=pickle.load)
    shim.HIGHEST_PROTOCOL = pickle.HIGHEST_PROTOCOL
    fork_module = sys.modules.get("trainmon.parts")
    if fork_module is None or not hasattr(fork_module, "pickle"):
        fork_module = report
    fork_module.pickle = shim  # type: ignore[attr-defined]  (the helper pickles its part)

    collect = _find(["trainmon.parts:collect", "trainmon.report:_collect"])
    collect_for_clock = clock.timed("collect", collect)

    def collect_timed(child: Any, *args: Any, **kwargs: Any) -> Any:
        w = time.perf_counter()
        select.select([child[1]], [], [])
        clock.wall["wait"] += time.perf_counter() - w
        return collect_for_clock(child, *args, **kwargs)

    _rebind(collect, collect_timed)
    for names in (
        ["trainmon.parts:cut_points", "trainmon.report:_cuts"],
        ["trainmon.parts:fork_part", "trainmon.report:_fork_part"],
        ["trainmon.parts:fingerprint", "trainmon.report:_fingerprint"],
    ):
        original = _find(names)
        _rebind(original, clock.timed("fork", original))
    if hasattr(report, "merge_part"):
        report.merge_part = clock.timed("merge", report.merge_part)
    else:
        from trainmon.store import MetricStore

        MetricStore.absorb = clock.timed("merge", MetricStore.absorb)  # type: ignore[method-assign]
        report._merge_counts = clock.timed("merge", report._merge_counts)  # type: ignore[attr-defined]
    early = getattr(report, "_EarlyAdvice", None)
    if early is not None:  # the advice begun while the helpers read, and what is left after
        early.begin = clock.timed("early advice", early.begin)
        early.findings = clock.timed("advice", early.findings)
    else:
        report.findings_for = clock.timed("advice", report.findings_for)
    report.as_json = clock.timed("output", report.as_json)
    report.write_stdout = clock.timed("output", report.write_stdout)

    out = open(os.devnull, "w")  # noqa: SIM115
    real_stdout, sys.stdout = sys.stdout, out
    try:
        code = cli.main(["report", "--json", "--jobs", str(jobs), log])
    finally:
        sys.stdout = real_stdout
    helpers = [json.loads(p.read_text()) for p in sorted(Path(helpers_dir).glob("*.json"))]
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


def critical_path(run: dict[str, Any]) -> float:
    """What the run would take with a free core per process: the parent's serial CPU plus
    the slowest branch run side by side (the parent's part and advice, or a helper's reading
    and sending); a load-independent stand-in for wall time on a busy machine."""
    cpu = run["cpu"]
    serial = sum(v for k, v in cpu.items() if k not in ("first part", "early advice", "wait"))
    helpers = [h["read_cpu"] + h.get("send_wall", 0.0) for h in run["helpers"]]
    return serial + max([cpu["first part"] + cpu["early advice"], *helpers])


def advice_curve(log: str, parts: int) -> None:
    """The advice pass's CPU over the first k/parts of the records, k = 1..parts: what is
    left of the pass once the first part is judged, for a box that reads in that many parts.

    The file is read in `parts` parts in this process, merged one after another, and the
    engine brought up to date after each (its findings do not depend on the batching)."""
    from trainmon import parts as reading
    from trainmon.report import summary_run

    size = os.path.getsize(log)
    cuts = reading.cut_points(log, size, 1, parts)
    bounds = list(zip([0, *cuts], [*cuts, None], strict=True))
    read = [reading.read_part(reading.PartRequest(log, a, b, 0.0, 256)) for a, b in bounds]
    summary = reading.summary_of(log, read[0])
    run = summary_run(summary)
    spent = 0.0
    print(f"advice CPU over the first k/{parts} of {log} (records: CPU s, the rest after it):")
    rows = []
    for k, part in enumerate(read):
        if k:
            reading.merge_part(summary, part)
        run.mark_stale()  # records came in through the store, not through `Run.take`
        c = time.process_time()
        run.advise()
        spent += time.process_time() - c
        rows.append((k + 1, summary.store.records, spent))
    for k, records, cpu in rows:
        print(f"  {k:>3}/{parts}: {records:>9,} records: {cpu:.3f} s; rest {spent - cpu:.3f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("log")
    p.add_argument("--tree", action="append", default=[], help="source tree (repeatable)")
    p.add_argument("--jobs", default="1,2")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--advice-curve", type=int, default=0, help="parts: see `advice_curve`")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--popen-s", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--helpers-dir", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    jobs = [int(j) for j in args.jobs.split(",")]
    if args.inner:
        inner(args.log, jobs[0], args.popen_s, args.helpers_dir)
        return 0
    if args.advice_curve:
        advice_curve(args.log, args.advice_curve)
        return 0
    trees = args.tree or [str(Path(__file__).resolve().parent.parent)]
    floor = grep_seconds(args.log)
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
        overlapped = ("first part", "early advice", "wait")
        serial = statistics.median(
            sum(v for k, v in r["cpu"].items() if k not in overlapped) for r in runs
        )
        print(f"  serial CPU (all but {', '.join(overlapped)}): {serial:.3f} s")
        path = statistics.median(critical_path(r) for r in runs)
        print(
            f"  critical path in CPU seconds (serial + the slowest of the parent's part and "
            f"the helpers'): {path:.3f} s, {path / floor:.1f}x grep"
        )
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
