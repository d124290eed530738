"""Text from outside made safe to show in a terminal, and short enough to lay out.

Log text, metric names, file names, process command lines, NVML strings and the messages
that quote them are written by someone else. A terminal acts on control characters (ESC
starts sequences that set the window title, write the clipboard or clear the screen; C1
bytes such as U+009B do the same on some terminals) and bidirectional overrides reorder
what is shown around them. Every such character is shown visibly instead: C0 controls as
the Unicode control pictures (ESC as `␛`), DEL as `␡`, C1 controls as `\\x9b`, and bidi
controls as `\\u202e`. `str.translate` with one precomputed table does this in C, cheap
enough for a status line per frame; callers still sanitise once where a value enters.

JSON output keeps exact values: `json_terminal_safe` escapes the same characters inside
JSON text (`\\u001b`, `\\u202e`), which decodes back to the original string.
"""

from __future__ import annotations

import re
from typing import Final

MAX_NAME_CHARS: Final = 64
"""Metric names longer than this are cut (with an ellipsis) wherever a name is laid out in
columns; `--json` keeps them whole."""

ELLIPSIS: Final = "…"

BIDI_CONTROLS: Final = (
    "\u061c",  # Arabic letter mark
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    *(chr(c) for c in range(0x202A, 0x202F)),  # embeddings and overrides, pop
    *(chr(c) for c in range(0x2066, 0x206A)),  # isolates, pop isolate
    "\u2028",  # line separator
    "\u2029",  # paragraph separator
)
"""Characters that change the order or the lines in which text around them is shown."""


def _table(keep: str = "") -> dict[int, str]:
    table: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20)}  # ␀ … ␛ … ␟
    table[0x7F] = "\u2421"  # ␡
    table.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})
    table.update({ord(ch): f"\\u{ord(ch):04x}" for ch in BIDI_CONTROLS})
    for ch in keep:
        del table[ord(ch)]
    return table


_ONE_LINE: Final = _table()
_LINES: Final = _table(keep="\n")

_UNSAFE_RE: Final = re.compile("[" + "".join(re.escape(chr(c)) for c in _ONE_LINE) + "]")

_JSON_UNSAFE_RE: Final = re.compile(
    b"\\x7f|\\xc2[\\x80-\\x9f]|" + b"|".join(ch.encode() for ch in BIDI_CONTROLS)
)
"""DEL, C1 (U+0080-U+009F as UTF-8) and bidi controls in UTF-8 bytes (UTF-8 is
self-synchronising: these byte strings only match whole characters)."""


def terminal_safe(text: str) -> str:
    """`text` on one line with every control and bidi character shown visibly."""
    return text.translate(_ONE_LINE)


def terminal_safe_lines(text: str) -> str:
    """Like `terminal_safe`, but newlines stay: for multi-line output such as a report."""
    return text.translate(_LINES)


def has_unsafe(text: str) -> bool:
    """True when `text` holds a character a terminal could act on (newline included)."""
    return _UNSAFE_RE.search(text) is not None


def shorten(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """`text` cut to `limit` characters, the last one an ellipsis when anything was cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


def display_name(name: str, limit: int = MAX_NAME_CHARS) -> str:
    """A metric (or file) name as it is shown in columns: safe, and at most `limit` chars."""
    return shorten(terminal_safe(name), limit)


def _json_escape(match: re.Match[bytes]) -> bytes:
    return b"\\u%04x" % ord(match.group().decode())


def json_terminal_safe(data: bytes) -> bytes:
    """UTF-8 JSON text with DEL, C1 and bidi characters written as `\\uXXXX` escapes.

    orjson escapes C0 controls itself but writes the others as raw UTF-8, which a terminal
    showing `trainmon stream` would act on. The escapes decode to the same strings.
    """
    if not _JSON_UNSAFE_RE.search(data):
        return data
    return _JSON_UNSAFE_RE.sub(_json_escape, data)
