"""Start the dashboard for a set of options: real logs, the demo, or a replay.

The demo and the replay write a temporary log that the dashboard follows through exactly the
same code path as a real training log. Standard input (`-`) is handed to the follower on its
own descriptor while the keyboard is read from the terminal, so `train.py | trainmon -` works.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import TextIO

from trainmon.config import DashboardOptions
from trainmon.playback import Playback, start_demo, start_replay
from trainmon.sources import CpuSource, GpuSource
from trainmon.sources.cpu import PsutilCpuSource
from trainmon.sources.nvml import make_gpu_source
from trainmon.text import terminal_safe


def _stderr(message: str) -> None:
    print(f"trainmon: {terminal_safe(message)}", file=sys.stderr)


@contextlib.contextmanager
def _stdin_from_tty(paths: tuple[str, ...]) -> Iterator[None]:
    """When a log comes on a piped stdin, keep it for the follower and read keys from the tty.

    Textual reads keys from `sys.__stdin__` (fd 0); the follower reads `sys.stdin`. The pipe
    moves to a new descriptor behind `sys.stdin`, and fd 0 becomes the controlling terminal.
    """
    if "-" not in paths or sys.stdin is None or sys.stdin.isatty():
        yield
        return
    saved: TextIO | None = sys.stdin
    pipe_fd = os.dup(0)
    try:
        tty_fd = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        os.close(pipe_fd)
        yield  # no terminal to read keys from: the app still shows the log
        return
    os.dup2(tty_fd, 0)
    os.close(tty_fd)
    pipe = os.fdopen(pipe_fd, "rb", buffering=0)
    sys.stdin = pipe
    try:
        yield
    finally:
        sys.stdin = saved
        pipe.close()


def make_sources(
    options: DashboardOptions, log_paths: tuple[str, ...]
) -> tuple[GpuSource | None, CpuSource | None]:
    """The GPU and CPU samplers for these options (None where one cannot start).

    Neither touches NVML here (pynvml loads on the first sample, where its failures become
    the pane's one-line reason); a source that cannot even be built is said on stderr.
    """
    gpu: GpuSource | None = None
    cpu: CpuSource | None = None
    try:
        gpu = make_gpu_source(no_gpu=options.no_gpu)
    except Exception as exc:  # a broken binding: say so and run without GPU panes
        _stderr(f"GPU sampling unavailable ({exc})")
    try:
        files = tuple(p for p in log_paths if p != "-")
        cpu = PsutilCpuSource(log_paths=files, pid=options.pid)
    except Exception as exc:  # psutil refusing (e.g. no /proc): the CPU pane stays empty
        _stderr(f"CPU sampling unavailable ({exc})")
    return gpu, cpu


def run(options: DashboardOptions) -> int:
    """Run the dashboard until the user quits; returns the process exit code.

    Modes: `dashboard` follows `options.paths`; `demo` plays the simulated run into a
    temporary log; `replay` plays `options.paths[0]` at `options.replay_speed`.
    """
    from trainmon.ui.app import TrainmonApp

    playback: Playback | None = None
    labels: tuple[str, ...] | None = None
    description = ""
    with contextlib.ExitStack() as stack:
        if options.mode in ("demo", "replay"):
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="trainmon-"))
            try:
                if options.mode == "demo":
                    playback = start_demo(directory)
                else:
                    if not options.paths:
                        _stderr("replay needs a log file")
                        return 2
                    source = options.paths[0]
                    playback = start_replay(source, options.replay_speed, directory)
                    labels = (os.path.basename(source),)
            except OSError as exc:
                _stderr(f"cannot start the {options.mode}: {exc}")
                return 2
            stack.callback(playback.stop)
            description = playback.description
            if labels is None:
                labels = (playback.path.name,)
            options = dataclasses.replace(options, paths=(str(playback.path),))
        if not options.paths:
            _stderr("no log to follow (try `trainmon --demo`)")
            return 2
        gpu_source, cpu_source = make_sources(options, options.paths)
        stack.enter_context(_stdin_from_tty(options.paths))
        app = TrainmonApp(
            options,
            gpu_source=gpu_source,
            cpu_source=cpu_source,
            description=description,
            labels=labels,
        )
        app.run()
        return app.return_code or 0
