"""Runs of plain train dict lines: the dict scan's hot path, without the general case.

Why: a redirected Hugging Face Trainer log is mostly one kind of line, `<tqdm redraws>\\r{'loss':
0.51, 'grad_norm': 1.2, 'learning_rate': 4.9e-05, 'epoch': 0.01}\\n`, thousands of them with
the same keys, each logged `logging_steps` after the last. `LogParser._scan` reads each such
line through its general loop: the checks that pick the hot path, a call to decode it, the
key-signature plan, two calls to find its step, the counters. Once one such line has been read
(its keys, step, logging interval and the run's total known), the lines after it that are
exactly like it need only the scan's own tests for that case, in one loop: a line in about
2.7 µs instead of 4.6, the parser a fifth cheaper on such logs (figures: bench/README.md,
"Runs of plain train dict lines").

`read_run` reads a line only when the scan would read it on its inlined path and take the
same branch at every test: the dict `{'...}` alone after the line's last `\\r`, closed by the
first `}` right before `\\n`; no `l` and no newline in the text before it (so nothing for the
text-event scanner or the line formats); decoded by the scan's own `hot_dict_values` (odd
values such as `nan` or `np.float64(...)` included) into exactly the run's keys, so the scan
would take the same plan; and the step the scan predicts (last step + interval) confirmed by
the scan's look-up: the last `| STEP/TOTAL [` in its 640-byte look-back, with one `<` after
it. The first line that differs in any way ends the run and goes the scan's way.
`LogParser._scan` calls it only in the state in which those lines take the inlined path
(dict records dominate, no multi-line record held, no traceback open, the total, last step
and interval known). `tests/unit/test_dict_runs.py` compares records, counters, line numbers
and text events with and without it.
"""

from __future__ import annotations

from typing import Final

from trainmon.parsing.dicts import hot_dict_values
from trainmon.records import MetricRecord

LOOKBACK: Final = 640
"""Bytes before a dict that are searched for the tqdm counter that gives its step (here and
in `LogParser._tqdm_step`)."""
_new_record = tuple.__new__


def read_run(
    data: bytes,
    pos: int,
    keys: tuple[str, ...],
    total: int,
    last: int,
    interval: int,
    line_no: int,
    out: list[MetricRecord],
) -> tuple[int, int]:
    """Append to `out` the records of the plain train dict lines with `keys` from `pos` (the
    start of a line, right after such a line); returns how many, and the offset after them.

    Their steps are `last + interval`, `last + 2 * interval`, ... as the scan confirms them;
    their line numbers `line_no`, `line_no + 1`, ...
    """
    find = data.find
    rfind = data.rfind
    append = out.append
    size = len(data)
    needle_of = b"| %%d/%d [" % total
    step = last
    n = 0
    while True:
        s = find(b"{", pos)
        if s < 0 or s + 1 >= size or data[s + 1] != 39 or data[s - 1] not in (10, 13):
            break  # `{'` right after a terminator, or not a line for the hot path
        close = find(b"}", s)
        if close < 0 or find(b"\n", pos) != close + 1:
            break  # the line's first `}` must end it, and no newline come before it
        text = data[s : close + 1]
        if 13 in text or find(b"l", pos, s) >= 0:
            break
        values = hot_dict_values(text)  # the scan's own decode, odd values included
        if tuple(values) != keys:
            break  # another key signature: another plan, or none
        predicted = step + interval
        needle = needle_of % predicted
        lo = s - LOOKBACK
        at = rfind(needle, lo if lo > pos else pos, s)
        if at < 0:
            break
        first = find(b"<", at + len(needle), s)
        if first < 0 or find(b"<", first + 1, s) >= 0:
            break
        step = predicted
        append(_new_record(MetricRecord, ("train", step, values, True, line_no + n, None)))
        n += 1
        pos = close + 2
    return n, pos
