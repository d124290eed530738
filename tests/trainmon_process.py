"""Running the real `python -m trainmon` in a subprocess, the way a user's shell would."""

from __future__ import annotations

import subprocess
import sys


def trainmon(
    *args: str, timeout: float = 120, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """`python -m trainmon ARGS`, its output captured as text (KWARGS go to subprocess.run:
    `env`, `input`, `check`, ...); the timeout is generous, for a loaded machine."""
    return subprocess.run(
        [sys.executable, "-m", "trainmon", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,  # type: ignore[call-overload]
    )


def streaming(path: object) -> subprocess.Popen[str]:
    """`python -m trainmon stream PATH` left running, its output read as text lines."""
    return subprocess.Popen(
        [sys.executable, "-m", "trainmon", "stream", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
