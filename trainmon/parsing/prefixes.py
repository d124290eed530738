"""Strip what launchers and loggers put before a log line, so every format sees its own text.

A metric line reaches the file behind any number of prefixes: a UTF-8 BOM, the NUL bytes a
copytruncate leaves, a launcher's tag (`[rank0]: `, `[default0]:`, `[1,0]<stdout>:` from
mpirun, `192.168.1.2: ` or `localhost: ` from pdsh, `0: ` from `srun -l`), a timestamp
(ISO, Docker, `01/17/2024 13:47:27`, glog's `I1224 16:55:25.943403 31888 solver.cpp:61]`),
a log level and logger (`INFO:root:`, `- INFO -`, `[INFO|trainer.py:1145] ... >>`,
`[INFO|DP=0|PP=0|TP=0]:`) and a file:line tag. Each piece is matched at the start only,
by one alternation of linear patterns, at most `MAX_PIECES` times; a line that starts with
none of the possible first bytes costs one set lookup.
"""

from __future__ import annotations

import re
from typing import Final

MAX_PIECES: Final = 8

_LEVEL: Final = rb"(?:TRACE|DEBUG|INFO|NOTICE|WARNING|WARN|ERROR|CRITICAL|FATAL|SUCCESS)"
_DATE: Final = rb"(?:\d{4}[-/]\d\d[-/]\d\d|\d\d/\d\d/\d{4}|\d\d/\d\d)"
_TIME: Final = rb"\d\d:\d\d:\d\d(?:[.,]\d{1,9})?"
_FILE_LINE: Final = rb"[\w.\-/]+\.(?:py|cc|cpp|c|h|hpp|rs|go|java|jl|lua):?\s*\d+"

# One prefix piece. Each alternative ends with the separator that follows it.
_PIECE: Final = re.compile(
    rb"(?:"
    rb"\xef\xbb\xbf|[\x00-\x08\x0e-\x1a]+"  # BOM, copytruncate NULs, stray control bytes
    rb"|\x1b\][^\x07\x1b\n]{0,200}(?:\x07|\x1b\\)|\x1b\[[0-9;?]*[A-Za-z]"  # OSC, CSI
    rb"|[\x80-\xff]{1,8}(?=\{)"  # invalid bytes right before a dict
    rb"|\[(?:rank|default|trainer|worker|local_rank)?\d+(?:\|\d+)?\]:[ \t]?"  # torchrun tags
    rb"|\[[a-z]+\d+\|\d+\]:[ \t]?"  # torchx `[trainer0|0]:`
    rb"|\[\d+,\d+\]<std(?:out|err)>:[ \t]?"  # mpirun --tag-output
    rb"|(?:localhost|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):[ \t]+"  # pdsh / deepspeed hosts
    rb"|" + _DATE + rb"[ T]" + _TIME + rb"(?:Z|[+-]\d\d:?\d\d)?(?:[ \t]*(?:[-|:]|>>)[ \t]+|[ \t]+)"
    rb"|\[" + _DATE + rb"[ T]" + _TIME + rb"\][ \t]*:?[ \t]*"  # [2024-01-01 12:00:00]
    rb"|\[" + _TIME + rb"\][ \t]*"  # [12:00:00]
    rb"|[IWEF]\d{4} " + _TIME + rb"[ \t]+\d+[ \t]+[\w.\-]+:\d+\][ \t]?"  # glog
    rb"|\[?" + _LEVEL + rb"\]?(?::[\w.<>\-]+)?:[ \t]*(?=\S)"  # INFO:root:  WARNING:
    rb"|" + _LEVEL + rb"[ \t]+(?=" + _DATE + rb")"  # `INFO 2021-12-02 …` (vissl)
    rb"|" + _LEVEL + rb"[ \t]*(?:-|\|)[ \t]+"  # `INFO - ` `INFO | `
    rb"|\["
    + _LEVEL
    + rb"\|[^\]\n]{0,120}\][ \t]*(?:[:>]+[ \t]*)?"  # [INFO|file.py:1] [INFO|DP=0…]:
    rb"|\[" + _LEVEL + rb"\][ \t]*(?:[:>-]+[ \t]*)?"  # [INFO]
    rb"|-[ \t]+" + _LEVEL + rb"[ \t]+-[ \t]+"  # ` - INFO - `
    rb"|\|[ \t]+" + _LEVEL + rb"[ \t]+\|[ \t]+(?:[\w.]+[ \t]+\|[ \t]+)?"  # fairseq `| INFO | x |`
    rb"|[\w.\-]+[ \t]+-[ \t]+(?=" + _LEVEL + rb")"  # `mmengine - INFO - `
    rb"|" + _FILE_LINE + rb"(?:\][ \t]*|:[ \t]+|[ \t]+-[ \t]+|[ \t]+>>[ \t]+|[ \t]+)"  # file:line
    rb"|\(\w+:\d+\)[ \t]+"  # `(trainer:486) ` (espnet)
    rb"|\[[A-Z]{1,8}\][ \t]+(?=" + _DATE + rb")"  # `[PC] 2020-…` (espnet host tag)
    rb"|>>[ \t]+"  # the rest of a `… >> ` logger prefix
    rb"|[\w.\-]+:\d+\t"  # tab-separated `host:0<TAB>` (OLMo)
    rb"|[\w.]+:\d+\t"  # `olmo.train:979<TAB>`
    rb"|" + _LEVEL + rb"\t"  # `INFO<TAB>`
    rb")"
)
_RANK_THEN: Final = re.compile(rb"\d{1,4}:[ \t]+(?=[{\[]|" + _DATE + rb"|" + _LEVEL + rb")")
"""`srun -l` prefixes `0: `; taken only before a dict, a bracket, a date or a level, since a
bare `100: loss 2.3` may be a step."""
_HOST_THEN: Final = re.compile(rb"[A-Za-z][\w.\-]{0,62}:[ \t]+(?=[{]|\d{4}-\d\d-\d\d)")
"""A pdsh host name before a dict or an ISO date (`node-3: {'loss': …}`)."""

_BRACKETED: Final = (
    rb"\[(?:rank|default|local_rank|trainer|worker)?(\d{1,5})\]:[ \t]?"  # [rank3]: [default0]:
    rb"|\[\d+,(\d{1,5})\]<std(?:out|err)>:[ \t]?"  # mpirun [1,3]<stderr>:
)
RANK_TAG: Final = re.compile(
    rb"(?:" + _BRACKETED + rb"|(\d{1,5}):[ \t]+(?=[{\[A-Z]|\d{4}-))"  # srun -l `3: `
)
"""A launcher's rank tag at a line's start; the rank is the first group that matched."""
_BRACKETED_RANK: Final = re.compile(rb"(?:" + _BRACKETED + rb")")
"""The tags that cannot be a record's own step (`[rank3]:`, not `3: `)."""
_RANK_FIRST: Final = frozenset(b"[0123456789")


def rank_of(line: bytes, pos: int = 0, bracketed: bool = False) -> tuple[int | None, int]:
    """The rank a launcher tagged the line at `pos` with (None if untagged), and where the
    text after the tag starts. `bracketed`: only tags that cannot be a step (`[rank3]:`)."""
    if pos >= len(line) or line[pos] not in _RANK_FIRST:
        return None, pos
    m = (_BRACKETED_RANK if bracketed else RANK_TAG).match(line, pos)
    if m is None:
        return None, pos
    return int(m.group(1) or m.group(2) or m.group(3)), m.end()


_FIRST: Final = frozenset(
    bytes(range(0x1C))
    + bytes(range(0x80, 0x100))
    + b"[0123456789(>|-"
    + b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
_CHEAP_SKIP: Final = (b"{'", b'{"', b"step", b"iter", b"Epoch", b"epoch", b"Step")


def strip_prefix(line: bytes) -> bytes:
    """`line` without its launcher, timestamp, level and file:line prefixes (maybe unchanged)."""
    if not line or line[0] not in _FIRST or line.startswith(_CHEAP_SKIP):
        return line
    pos = 0
    size = len(line)
    match = _PIECE.match
    for _ in range(MAX_PIECES):
        m = match(line, pos) or _RANK_THEN.match(line, pos) or _HOST_THEN.match(line, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        if pos >= size:
            return line  # nothing but a prefix: keep the line as it was (not a metric line)
    return line[pos:] if pos else line
