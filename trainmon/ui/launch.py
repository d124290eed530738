"""Start the dashboard for a set of options: real logs, the demo, or a replay.

The demo and the replay write a temporary log that the dashboard follows through exactly the
same code path as a real training log. Standard input (`-`) is copied into a log file that the
dashboard follows the same way, while the keyboard is read from the terminal, so
`train.py | trainmon -` works; on quit the pipe is closed or handed to a background copy.
A command (`trainmon -- CMD`) runs in a pseudo-terminal whose output is saved the same way
(`trainmon.wrap`); trainmon then exits with the command's exit code.
Signals end the app like `q`, and the temporary files go with it (`trainmon.ui.signals`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator

from trainmon.config import DashboardOptions
from trainmon.i18n import _
from trainmon.pipe import StdinCopy, default_log_path
from trainmon.playback import Playback, start_demo, start_replay
from trainmon.sources import CpuSource, GpuSource
from trainmon.sources.cpu import PsutilCpuSource
from trainmon.sources.nvml import make_gpu_source
from trainmon.text import terminal_safe
from trainmon.ui.quit_dialog import QuitChoice
from trainmon.ui.signals import signals_end_app
from trainmon.wrap import WrappedCommand


def _stderr(message: str) -> None:
    print(f"trainmon: {terminal_safe(message)}", file=sys.stderr)


@contextlib.contextmanager
def _keys_from_tty(paths: tuple[str, ...]) -> Iterator[int | None]:
    """When a log comes on a piped stdin, keep the pipe aside and read keys from the tty.

    Textual reads keys from fd 0. The pipe moves to a new descriptor (yielded, for the
    copy into the log file) and fd 0 becomes the controlling terminal, or /dev/null when
    there is none (the dashboard then shows the log but cannot be asked anything).
    Yields None when standard input is not piped.
    """
    if "-" not in paths or sys.stdin is None or sys.stdin.isatty():
        yield None
        return
    pipe_fd = os.dup(0)
    try:
        keys_fd = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        keys_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(keys_fd, 0)
    os.close(keys_fd)
    yield pipe_fd


def _copy_stdin(pipe_fd: int, log_path: str | None) -> StdinCopy:
    """The copy of standard input into `log_path`, or by default into ./trainmon-logs/ (the
    temporary folder's trainmon-logs/ when the current folder is not writable)."""
    if log_path is not None:
        return StdinCopy(pipe_fd, log_path)
    try:
        return StdinCopy(pipe_fd, default_log_path())
    except OSError:
        folder = os.path.join(tempfile.gettempdir(), "trainmon-logs")
        return StdinCopy(pipe_fd, default_log_path(directory=folder))


def _release_stdin(copy: StdinCopy, choice: QuitChoice) -> None:
    """After the dashboard: close the pipe (`k`), or hand it to a background drainer."""
    if copy.released:  # done already (a second signal during the first one's clean-up)
        return
    if choice == "close":
        copy.close()
        return
    _hand_to_background(
        copy,
        _("could not start the background copy ({error}): the pipe closes"),
        _("standard input ended; it is saved in {path}").format(path=copy.path),
        lambda pid: _(
            "standard input goes on into {path} in the background (pid {pid}); "
            "`trainmon {path}` picks the run up again"
        ).format(path=copy.path, pid=pid),
    )


def _start_command(options: DashboardOptions) -> WrappedCommand | int:
    """The command of `trainmon -- CMD`, started; or the exit code when it cannot start."""
    assert options.log_path is not None
    try:
        command = WrappedCommand(options.command, options.log_path)
    except OSError as exc:
        _stderr(
            _("cannot save the output to {path}: {error}").format(
                path=options.log_path, error=exc.strerror or exc
            )
        )
        return 2
    try:
        return command.start()
    except OSError as exc:
        command.close()
        _stderr(
            _("cannot run {command}: {error}").format(
                command=options.command[0], error=exc.strerror or exc
            )
        )
        return 127


def _release_command(command: WrappedCommand, choice: QuitChoice) -> int | None:
    """After the dashboard: a command that ended is reaped (its exit code is returned); one
    that runs goes on, its terminal handed to a background copier (None is returned)."""
    if command.end is not None:
        command.wait_output()  # the last output is in the log
        command.reap()
        command.close()
        return command.end.exit_code
    if choice == "close":  # not offered for a command; kept for a second signal's clean-up
        command.close()
        return None
    _hand_to_background(
        command,
        _("could not start the background copy ({error})"),
        _("the command's output is saved in {path}").format(path=command.path),
        lambda copier: _(
            "the command goes on (pid {pid}); its output goes on into {path} in the "
            "background (pid {copier}); `trainmon {path}` picks the run up again"
        ).format(pid=command.pid, path=command.path, copier=copier),
    )
    return None


def _hand_to_background(
    output: StdinCopy | WrappedCommand,
    cannot_start: str,
    nothing_left: str,
    goes_on: Callable[[int], str],
) -> None:
    """Hand `output` to a background copier (or close it, when none can start), and say
    where the output goes: `nothing_left` when there was nothing to copy, else `goes_on`
    of the copier's pid. `cannot_start` takes the `{error}`."""
    try:
        copier = output.detach()
    except OSError as exc:
        _stderr(cannot_start.format(error=exc.strerror or exc))
        output.close()
        return
    output.close()
    with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
        _stderr(nothing_left if copier is None else goes_on(copier))


def make_sources(
    options: DashboardOptions, log_paths: tuple[str, ...], stdin_copy: StdinCopy | None = None
) -> tuple[GpuSource | None, CpuSource | None]:
    """The GPU and CPU samplers for these options (None where one cannot start).

    Neither touches NVML here (pynvml loads on the first sample, where its failures become
    the pane's one-line reason); a source that cannot even be built is said on stderr.
    """
    gpu: GpuSource | None = None
    cpu: CpuSource | None = None
    try:
        if options.alerts.prometheus is not None:  # the job's GPUs, every node (DCGM)
            from trainmon.sources.prometheus import PrometheusGpuSource

            gpu = PrometheusGpuSource(options.alerts.prometheus, options.alerts.prom_selector)
        else:
            gpu = make_gpu_source(no_gpu=options.no_gpu)
    except Exception as exc:  # a broken binding: say so and run without GPU panes
        _stderr(_("GPU sampling unavailable ({error})").format(error=exc))
    try:
        # trainmon writes the copy of standard input itself: its writer is the pipe's.
        saved = stdin_copy.path if stdin_copy is not None else None
        files = tuple(p for p in log_paths if p not in ("-", saved))
        pipe = stdin_copy.pipe_name() if stdin_copy is not None else None
        cpu = PsutilCpuSource(log_paths=files, pid=options.pid, pipe=pipe)
    except Exception as exc:  # psutil refusing (e.g. no /proc): the CPU pane stays empty
        _stderr(_("CPU sampling unavailable ({error})").format(error=exc))
    return gpu, cpu


def run(options: DashboardOptions) -> int:
    """Run the dashboard until the user quits; returns the process exit code.

    Modes: `dashboard` follows `options.paths`; `demo` plays the simulated run into a
    temporary log; `replay` plays `options.paths[0]` at `options.replay_speed`.
    """
    from trainmon.ui.app import TrainmonApp
    from trainmon.ui.runs import run_label

    playback: Playback | None = None
    directory: str | None = None
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
                        _stderr(_("replay needs a log file"))
                        return 2
                    source = options.paths[0]
                    playback = start_replay(source, options.replay_speed, directory)
                    labels = (os.path.basename(source),)
            except OSError as exc:
                _stderr(
                    (
                        _("cannot start the demo: {error}")
                        if options.mode == "demo"
                        else _("cannot start the replay: {error}")
                    ).format(error=exc)
                )
                return 2
            stack.callback(playback.stop)
            description = playback.description
            if labels is None:
                labels = (playback.path.name,)
            options = dataclasses.replace(options, paths=(str(playback.path),))
        if not options.paths:
            _stderr(_("no log to follow (try `trainmon --demo`)"))
            return 2
        stdin_copy: StdinCopy | None = None
        command: WrappedCommand | None = None
        if options.command:
            started = _start_command(options)
            if isinstance(started, int):
                return started
            command = started
            # The command is trainmon's child: its pid is exact, no search needed.
            options = dataclasses.replace(options, pid=command.pid)
            if labels is None:
                labels = (os.path.basename(command.path),)
        pipe_fd = stack.enter_context(_keys_from_tty(options.paths))
        if pipe_fd is not None:
            try:
                stdin_copy = _copy_stdin(pipe_fd, options.log_path)
            except OSError as exc:
                os.close(pipe_fd)
                _stderr(
                    _("cannot save standard input to {path}: {error}").format(
                        path=exc.filename, error=exc.strerror or exc
                    )
                )
                return 2
            log_path = stdin_copy.path
            if labels is None:
                labels = tuple(run_label(p) for p in options.paths)
            options = dataclasses.replace(
                options, paths=tuple(log_path if p == "-" else p for p in options.paths)
            )
        gpu_source, cpu_source = make_sources(options, options.paths, stdin_copy)
        outbound = None
        if options.alerts.outbound:  # --notify, --serve-metrics
            from trainmon.outbound import Outbound

            outbound = Outbound(options.alerts)
            try:
                outbound.start()
            except OSError as exc:
                host, port = options.alerts.serve_metrics or ("", 0)
                _stderr(
                    _("cannot serve metrics on {host}:{port}: {error}").format(
                        host=host, port=port, error=exc.strerror or exc
                    )
                )
                return 2
            stack.callback(outbound.close)
        saved = command.copy if command is not None else stdin_copy
        gpu_source, cpu_source = make_sources(options, options.paths, saved)
        app = TrainmonApp(
            options,
            gpu_source=gpu_source,
            cpu_source=cpu_source,
            description=description,
            labels=labels,
            stdin_copy=stdin_copy,
            outbound=outbound,
            command=command,
        )
        if stdin_copy is not None:
            copy = stdin_copy
            stack.callback(lambda: _release_stdin(copy, app.quit_choice))
            copy.start()
        temporary = directory

        def last_resort() -> None:  # a second signal: the process dies right after this
            if saved is not None and not saved.released:
                _release_stdin(saved, "detach")
            if temporary is not None:
                shutil.rmtree(temporary, ignore_errors=True)

        with signals_end_app(app.signalled, last_resort):
            app.run()
        if command is not None:
            ended = _release_command(command, app.quit_choice)
            if ended is not None:  # the command's own exit code, whatever ended the screen
                return ended
        return app.return_code or 0
