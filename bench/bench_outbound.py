"""What `--serve-metrics` and `--notify` cost the dashboard, and that they cost nothing when off.

In a real 160x48 tmux pane (the helpers of `bench_dashboard.py`), following a quiet
1,000-record log with `--no-gpu`, the dashboard's idle CPU and its time to first frame are
measured for:

- `base`: the dashboard before the options existed (`--base COMMIT`, default the parent of
  the first commit that added them, unpacked with `git archive` and run from there);
- `off`: this checkout, the options off;
- `metrics`: `--serve-metrics`, scraped once a second by this script;
- `notify`: `--notify` to a loopback webhook receiver (nothing to send while idle).

Configurations alternate in rounds so machine drift spreads over all of them; an empty
Textual app in the same pane is the floor. Nothing passes or fails: it prints a table.

    python bench/bench_outbound.py            # 3 rounds of 30 s windows
    python bench/bench_outbound.py --quick    # 2 rounds of 15 s
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_dashboard import (  # noqa: E402
    Tmux,
    first_screen_s,
    import_floor_s,
    measure_pane,
    write_log,
)
from bench.tables import print_quiet_log_table, runs_text  # noqa: E402

BASE_COMMIT = "c51fa94"
"""The last commit before `--notify` / `--serve-metrics` existed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unpack(commit: str, into: Path) -> Path:
    """The tree of `commit` (only `trainmon/`), to run the dashboard as it was."""
    archive = into / "base.tar"
    with archive.open("wb") as f:
        subprocess.run(
            ["git", "-C", str(REPO), "archive", commit, "trainmon"], stdout=f, check=True
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into / "base", filter="data")
    return into / "base"


class Receiver:
    """A webhook receiver on loopback that accepts everything (it should get nothing)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def scraping(port: int) -> Callable[[float], None]:
    """A `during` callback: GET /metrics once a second, as a Prometheus would."""

    def run(window_s: float) -> None:
        end = time.monotonic() + window_s
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    r.read()
            except OSError:
                pass
            time.sleep(max(0.0, min(1.0, end - time.monotonic())))

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 15 s windows")
    parser.add_argument("--base", default=BASE_COMMIT, help="the commit to compare with")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux is needed")
    rounds, window, settle = (2, 15.0, 6.0) if args.quick else (3, 30.0, 8.0)
    me = f"{sys.executable} {REPO / 'bench' / 'bench_dashboard.py'} --serve-probe"
    tmux = Tmux()
    receiver = Receiver()
    cpu: dict[str, list[float]] = {}
    frames: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "run.log"
        write_log(log, 1000)
        base = unpack(args.base, Path(tmp))
        trainmon = f"{sys.executable} -m trainmon --no-gpu --no-bell {log}"
        port = free_port()
        configs: dict[str, tuple[str, Callable[[float], None] | None]] = {
            "base": (f"env -C {base} PYTHONPATH={base} {trainmon}", None),
            "off": (f"env -C {REPO} PYTHONPATH={REPO} {trainmon}", None),
            "metrics": (
                f"env -C {REPO} PYTHONPATH={REPO} {trainmon} --serve-metrics 127.0.0.1:{port}",
                scraping(port),
            ),
            "notify": (
                f"env -C {REPO} PYTHONPATH={REPO} {trainmon} --notify json://127.0.0.1:{receiver.port}/h",
                None,
            ),
        }
        empty: list[float] = []
        for _ in range(rounds):
            empty.append(measure_pane(tmux, f"{me} --mode empty", window, settle).cpu_pct)
            for name, (command, during) in configs.items():
                figures = measure_pane(tmux, command, window, settle, during)
                cpu.setdefault(name, []).append(figures.cpu_pct)
        for name, (command, _) in configs.items():
            frames[name] = first_screen_s(tmux, command, "step 1000", 3 if args.quick else 5)
        f_import = import_floor_s(3)
    floor = statistics.median(empty)
    print(f"empty Textual app, idle: {floor:.2f} % of a core (runs {runs_text(empty)})")
    print(f"import textual.app: {f_import * 1e3:.0f} ms")
    print()
    print_quiet_log_table(cpu, frames)


if __name__ == "__main__":
    main()
