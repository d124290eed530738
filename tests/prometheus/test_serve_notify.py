"""`trainmon serve` without a screen: a real training process writes the log, goes NaN and
dies; the webhook receiver is told both, once each, through apprise's `json://` scheme."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.prometheus.helpers import WebhookReceiver, kill_quietly, trainmon_command, wait_for

pytestmark = pytest.mark.slow

pytest.importorskip("apprise", reason="--notify needs trainmon[notify]")

TRAINER = textwrap.dedent(
    """
    import json, sys, time
    with open(sys.argv[1], "a", buffering=1) as log:
        for step in range(1, 41):
            loss = float("nan") if step == 40 else 3.0 - step / 50
            log.write(json.dumps({"step": step, "loss": loss}) + "\\n")
            time.sleep(0.1)
        time.sleep(4.0)
    sys.exit(3)
    """
)


def test_serve_tells_the_nan_and_the_crash_of_the_trainer(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.touch()
    receiver = WebhookReceiver()
    serve = subprocess.Popen(
        [*trainmon_command(), "serve", str(log), "--notify", receiver.url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    trainer = subprocess.Popen([sys.executable, "-c", TRAINER, str(log)])
    try:
        # The trainer is not reaped until the alerts are in: its exit status stays readable.
        wait_for(lambda: any("crashed" in t for t in receiver.titles()), "the crash", 60)
        time.sleep(1.0)
        titles = receiver.titles()
        text = "\n".join(f"{b['title']}\n{b['message']}" for b in receiver.bodies)
        assert "train.log: Train loss became nan" in text
        assert f"training process {trainer.pid} exited (exit status 3)" in text
        assert text.count("Train loss became nan") == 1 and text.count("crashed") == 1, titles
    finally:
        kill_quietly(trainer)
        kill_quietly(serve)
        receiver.close()
    assert serve.returncode == 0
