"""Starting the real trainmon in a tmux pane, and quitting it as a user does."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.helpers import Tmux, exit_status, press, trainmon_script, wait_for


def trainmon_command(args: str, *, env: str = "", subcommand: str = "") -> str:
    """`trainmon [SUBCOMMAND] OPTIONS ARGS` for a tmux pane's shell, quiet and quick to
    redraw, with the extra environment ENV (`NAME=value …`).

    COLUMNS / LINES inherited from the test runner would override the pane's real size."""
    options = "--no-gpu --no-bell --refresh 0.25"
    return (
        f"env -u COLUMNS -u LINES TERM=xterm-256color {env} {trainmon_script()} {subcommand} "
        f"{options} {args}"
    )


def in_shell(command: str, exit_file: Path, *, shell: str = "sh") -> str:
    """`SHELL -c 'COMMAND; echo $? > EXIT_FILE'`: the pane's shell records the exit status."""
    return f"{shell} -c '{command}; echo $? > {exit_file}'"


def start_pane(tmux: Tmux, size: tuple[int, int], *command: str, keep: bool = True) -> None:
    """Run COMMAND in the fresh pane `main` of `size`; with `keep` the pane stays after it
    exits (its last screen can still be read)."""
    width, height = size
    tmux("new-session", "-d", "-s", "main", "-x", str(width), "-y", str(height), *command)
    if keep:
        tmux("set-option", "-t", "main", "remain-on-exit", "on")


def start_on_log(tmux: Tmux, log: Path, exit_file: Path, size: tuple[int, int]) -> None:
    """Run the real trainmon on `log` in a fresh pane of `size`; the shell writes its exit
    status to `exit_file`, and the pane stays after it exits."""
    start_pane(tmux, size, in_shell(trainmon_command(str(log)), exit_file))


def quit_with_q(tmux: Tmux, exit_file: Path, status: str = "0") -> None:
    """Press `q` and check that trainmon ends with `status`."""
    press(tmux, "q")
    wait_for(lambda: exit_status(exit_file) is not None, "trainmon to quit on q", tmux)
    assert exit_status(exit_file) == status
