"""Pages of a log by byte offset, and search, checked against splitting the whole text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainmon.logtext import LogText

line_text = st.text(alphabet="ab Er\r\x1bé", max_size=12)


def naive(data: bytes) -> tuple[list[bytes], list[int]]:
    """Lines (without `\\n`) and their start offsets."""
    if not data:
        return [], []
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    return lines, starts


def texts(lines: list[bytes]) -> list[str]:
    return [line.removesuffix(b"\r").decode("utf-8", "replace") for line in lines]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(line_text, max_size=30),
    st.booleans(),
    st.integers(1, 40),
    st.integers(1, 9),
    st.data(),
)
def test_pages_match_the_split_text(
    tmp_path_factory: pytest.TempPathFactory,
    parts: list[str],
    final_break: bool,
    count: int,
    block: int,
    data: st.DataObject,
) -> None:
    raw = "\n".join(parts).encode() + (b"\n" if final_break and parts else b"")
    path = tmp_path_factory.mktemp("log") / "run.log"
    path.write_bytes(raw)
    log = LogText(str(path), block_bytes=block)
    lines, starts = naive(raw)
    assert [line.text for line in log.tail(count)] == texts(lines[-count:])
    if not lines:
        return
    i = data.draw(st.integers(0, len(lines) - 1))
    assert [line.text for line in log.lines_from(starts[i], count)] == texts(lines[i : i + count])
    before = log.lines_before(starts[i], count)
    assert [line.text for line in before] == texts(lines[max(0, i - count) : i])
    assert [line.start for line in before] == starts[max(0, i - count) : i]
    offset = data.draw(st.integers(0, len(raw) - 1))
    assert log.line_start(offset) == raw.rfind(b"\n", 0, offset) + 1
    lowered = raw.lower()
    at = data.draw(st.integers(0, len(raw)))
    forward = lowered.find(b"er", at)
    assert log.find("eR", at, backward=False) == (forward if forward >= 0 else None)
    back = [k for k in range(len(raw)) if lowered.startswith(b"er", k) and k < at]
    assert log.find("ER", at, backward=True) == (back[-1] if back else None)


def test_a_missing_file_has_no_lines(tmp_path: Path) -> None:
    log = LogText(str(tmp_path / "none.log"))
    assert (log.tail(5), log.lines_from(0, 5), log.find("x", 0, backward=True)) == ([], [], None)


def test_a_long_line_shows_its_start_and_is_marked_cut(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    path.write_bytes(b"first\n" + b"x" * 100_000 + b"\nlast\n")
    log = LogText(str(path), max_line_bytes=100)
    lines = log.tail(3)
    assert [(line.text[:5], len(line.text), line.cut) for line in lines] == [
        ("first", 5, False),
        ("xxxxx", 100, True),
        ("last", 4, False),
    ]
    assert lines[1].end - lines[1].start == 100_001


def test_the_last_page_of_a_big_log_reads_a_block_or_two(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    row = b"{'loss': 0.5, 'learning_rate': 5e-05, 'epoch': 0.1}\n"
    path.write_bytes(row * 200_000)  # about 10 MB
    log = LogText(str(path))
    page = log.tail(40)
    assert len(page) == 40 and page[-1].end == path.stat().st_size
    # 40 lines are within one 64 KiB block; each shown line is one more small read.
    assert log.blocks_read <= 2 + 40
