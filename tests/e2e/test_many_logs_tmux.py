"""End to end: the real `trainmon` following many logs in a real terminal (tmux).

`trainmon r1.log … r7.log` once left the seventh log at "no records yet" for ever (each log
held a thread of a pool of six); every log must show its last step, the CPU pane must fill,
and `q` must still quit at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.helpers import Tmux, record, wait_for
from tests.e2e.panes import in_shell, quit_with_q, start_pane, trainmon_command

pytestmark = [pytest.mark.tmux, pytest.mark.slow]


def test_eight_logs_all_show_their_last_step_and_q_quits(tmux: Tmux, tmp_path: Path) -> None:
    logs = [tmp_path / f"r{i}.log" for i in range(1, 9)]
    for i, log in enumerate(logs, start=1):
        log.write_text("".join(record(s) for s in range(1, 10 * i + 1)))
    exit_file = tmp_path / "exit-status"
    command = trainmon_command(" ".join(str(p) for p in logs))
    start_pane(tmux, (160, 48), in_shell(command, exit_file))

    def every_run_shown() -> bool:
        screen = tmux.capture()
        return all(
            re.search(rf"● r{i}\.log\s+step {10 * i}\b", screen) is not None for i in range(1, 9)
        )

    wait_for(every_run_shown, "each of the eight logs' last step", tmux)
    cpu_pane = re.compile(r"CPU +\d+% +load")
    wait_for(lambda: cpu_pane.search(tmux.capture()) is not None, "the CPU pane", tmux)
    with logs[-1].open("a") as f:
        f.write(record(81))
    wait_for(lambda: "step 81" in tmux.capture(), "a record appended to the eighth log", tmux)
    quit_with_q(tmux, exit_file)
