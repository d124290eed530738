"""Hostile text for the terminal-safety tests: what a log, a file name or an argv can carry.

`RAW_UNSAFE` finds any character a terminal would act on or reorder text around. Every
output path is checked with it; the sanitiser's own table is deliberately not reused here,
so a character missing from that table fails these tests.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from hypothesis import strategies as st

OSC_TITLE = "\x1b]2;pwned\x07"
OSC_CLIPBOARD = "\x1b]52;c;aGVsbG8=\x07"
CLEAR_SCREEN = "\x1b[2J\x1b[H"
C1_CSI = "\x9b31m"
RTL_OVERRIDE = "\u202e"

ATTACKS = (OSC_TITLE, OSC_CLIPBOARD, CLEAR_SCREEN, C1_CSI, RTL_OVERRIDE, "\u2066", "\x7f")

RAW_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
"""Controls (newline excepted: callers split lines first) and bidi characters."""

_ALPHABET = st.sampled_from(
    [*"ab_.-[]/ é中", "\x1b", "\x07", "\x9b", "\x9d", "\x7f", "\x00", "\r", "\t", "\x08",
     "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
     "\u200e", "\u200f", "\u061c", "\u2028", "\u2029"]
)  # fmt: skip

hostile_text = st.one_of(
    st.text(_ALPHABET, min_size=1, max_size=24),
    st.sampled_from(ATTACKS).map(lambda attack: f"m{attack}x"),
    st.text(min_size=1, max_size=16),
)
"""Names and words mixing ordinary text with control and bidi characters."""


def assert_terminal_safe(output: str, where: str) -> None:
    """No raw control (except newline) or bidi character in `output`."""
    found = RAW_UNSAFE.search(output)
    assert found is None, f"{where}: raw {found.group()!r} reaches the terminal"


@contextlib.contextmanager
def process_named(argv0: str, log: Path | None = None) -> Iterator[int]:
    """A real process whose argv[0] is `argv0` (optionally holding `log` open to write)."""
    code = "import sys, time\nf = open(sys.argv[1], 'a') if len(sys.argv) > 1 else None\n"
    code += "print('ready', flush=True)\ntime.sleep(60)\n"
    args = [argv0, "-c", code] + ([str(log)] if log is not None else [])
    proc = subprocess.Popen(args, executable=sys.executable, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()
