"""What speaking the user's language costs: start-up and the dashboard's idle CPU.

Compared with `base`, the tree before messages went through gettext (`--base COMMIT`,
unpacked with `git archive` and run from there), this checkout in English and with a
catalogue (`--lang ru`, `--lang zh_CN`):

- import time: `python -X importtime -c "import trainmon.cli, trainmon.ui.app"`, the
  cumulative microseconds of those two modules (median of the runs);
- start-up: wall time of `python -m trainmon report LOG --json` on a 30-record log;
- in a real 160x48 tmux pane (the helpers of `bench_dashboard.py`), following a quiet
  1,000-record log with `--no-gpu`: idle CPU and time to first frame.

Configurations alternate in rounds so machine drift spreads over all of them; an empty
Textual app in the same pane is the floor. Nothing passes or fails: it prints tables.

    python bench/bench_i18n.py            # 3 rounds, 30 s windows, 9 import runs
    python bench/bench_i18n.py --quick    # 2 rounds, 15 s windows, 5 import runs
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_dashboard import Tmux, first_screen_s, measure_pane, write_log  # noqa: E402
from bench.tables import print_quiet_log_table  # noqa: E402

BASE_COMMIT = "c1257e2"
"""The last commit before messages went through `trainmon/i18n.py`."""

ENGLISH_ENV = {"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}
"""The environment of every run: the language comes from `--lang` alone."""

FIRST_FRAME_TEXT = {"base": "step 1000", "en": "step 1000", "ru": "шаг 1000", "zh_CN": "第 1000 步"}
"""What the status line shows once the log is read, per configuration."""

IMPORT_RE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|\s+(\S+)")


def unpack(commit: str, into: Path) -> Path:
    """The tree of `commit` (only `trainmon/`), to run trainmon as it was."""
    archive = into / "base.tar"
    with archive.open("wb") as f:
        subprocess.run(
            ["git", "-C", str(REPO), "archive", commit, "trainmon"], stdout=f, check=True
        )
    root = into / "base"
    root.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return root


PYCACHE = Path(tempfile.gettempdir()) / "trainmon-bench-i18n-pycache"
"""Bytecode of both trees, kept between runs as an installed package keeps it (a checkout
run with PYTHONDONTWRITEBYTECODE would compile every module at every start)."""


def env_for(tree: Path) -> dict[str, str]:
    env = {**os.environ, **ENGLISH_ENV, "PYTHONPATH": str(tree)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return {**env, "PYTHONPYCACHEPREFIX": str(PYCACHE)}


def import_us(tree: Path) -> dict[str, int]:
    """Cumulative import microseconds of the CLI and the dashboard's app module."""
    probe = "import trainmon.cli, trainmon.ui.app"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe],
        cwd=tree,
        env=env_for(tree),
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    found = {name: int(us) for us, name in IMPORT_RE.findall(out)}
    return {name: found[name] for name in ("trainmon.cli", "trainmon.ui.app")}


def report_s(tree: Path, log: Path, lang: str | None) -> float:
    extra = ["--lang", lang] if lang else []
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "trainmon", "report", str(log), "--json", *extra],
        cwd=tree,
        env=env_for(tree),
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 15 s windows")
    parser.add_argument("--base", default=BASE_COMMIT, help="the commit to compare with")
    parser.add_argument("--skip-tmux", action="store_true", help="import and start-up only")
    args = parser.parse_args()
    rounds, window, settle, runs = (2, 15.0, 6.0, 5) if args.quick else (3, 30.0, 8.0, 9)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        base = unpack(args.base, Path(tmp))
        small = Path(tmp) / "small.log"
        write_log(small, 30)
        trees = {
            "base": (base, None),
            "en": (REPO, None),
            "ru": (REPO, "ru"),
            "zh_CN": (REPO, "zh_CN"),
        }

        for tree in (base, REPO):  # bytecode written once, as at install time
            import_us(tree)
        imports: dict[str, list[dict[str, int]]] = {"base": [], "this tree": []}
        starts: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(runs):  # alternated: base, this tree, base, ...
            imports["base"].append(import_us(base))
            imports["this tree"].append(import_us(REPO))
            for name, (tree, lang) in trees.items():
                starts[name].append(report_s(tree, small, lang))
        print()
        print("| import (cumulative, median) | trainmon.cli | trainmon.ui.app |")
        print("|---|---|---|")
        for name, samples in imports.items():
            cli = statistics.median(s["trainmon.cli"] for s in samples)
            app = statistics.median(s["trainmon.ui.app"] for s in samples)
            print(f"| {name} | {cli / 1e3:.1f} ms | {app / 1e3:.1f} ms |")
        print()
        print("| `report --json`, 30 records, wall (median, runs) | time | vs base |")
        print("|---|---|---|")
        base_start = statistics.median(starts["base"])
        for name, values in starts.items():
            m = statistics.median(values)
            shown = ", ".join(f"{v * 1e3:.0f}" for v in values)
            print(f"| {name} | {m * 1e3:.0f} ms ({shown}) | {m / base_start:.2f} x |")

        if args.skip_tmux or shutil.which("tmux") is None:
            print("\nno idle CPU figures (--skip-tmux, or tmux not found)")
            return
        log = Path(tmp) / "run.log"
        write_log(log, 1000)
        tmux = Tmux()
        me = f"{sys.executable} {REPO / 'bench' / 'bench_dashboard.py'} --serve-probe"
        env = " ".join(f"{k}={v}" for k, v in ENGLISH_ENV.items())
        commands = {
            name: f"env -C {tree} -u PYTHONDONTWRITEBYTECODE {env} "
            f"PYTHONPYCACHEPREFIX={PYCACHE} PYTHONPATH={tree} {sys.executable} -m trainmon "
            f"--no-gpu --no-bell {'--lang ' + lang if lang else ''} {log}"
            for name, (tree, lang) in trees.items()
        }
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        empty: list[float] = []
        for _ in range(rounds):
            empty.append(measure_pane(tmux, f"{me} --mode empty", window, settle).cpu_pct)
            for name, command in commands.items():
                cpu[name].append(measure_pane(tmux, command, window, settle).cpu_pct)
        frames = {
            name: first_screen_s(tmux, command, FIRST_FRAME_TEXT[name], 3 if args.quick else 5)
            for name, command in commands.items()
        }
    print()
    print(f"empty Textual app, idle: {statistics.median(empty):.2f} % of a core")
    print()
    print_quiet_log_table(cpu, frames)


if __name__ == "__main__":
    main()
