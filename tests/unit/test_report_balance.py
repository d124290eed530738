"""The two-process read cuts a big file where the estimated work, not the byte count, halves."""

from __future__ import annotations

from pathlib import Path

from trainmon.parts import SAMPLE_BYTES, SAMPLE_WINDOWS, split_point, work_middle


def test_dense_second_half_moves_the_cut_later(tmp_path: Path) -> None:
    half = SAMPLE_WINDOWS * SAMPLE_BYTES * 2
    log = tmp_path / "x.log"
    sparse = (b"x" * 1023 + b"\n") * (half // 1024)  # few long lines: cheap per byte
    dense = (b"{'loss': 1.0}\n" + b"y" * 17 + b"\n") * (half // 32)  # many short lines
    log.write_bytes(sparse + dense)
    size = log.stat().st_size
    middle = work_middle(str(log), size)
    assert size // 2 < middle < size
    cut = split_point(str(log), size, middle)
    assert cut is not None and log.read_bytes()[cut - 1 : cut] == b"\n"
    # the same lines in the other order move it the other way
    log.write_bytes(dense + sparse)
    assert 0 < work_middle(str(log), size) < size // 2


def test_uniform_or_small_files_cut_near_the_middle(tmp_path: Path) -> None:
    log = tmp_path / "u.log"
    log.write_bytes(b"abc\n" * (SAMPLE_WINDOWS * SAMPLE_BYTES))
    size = log.stat().st_size
    assert abs(work_middle(str(log), size) - size // 2) <= size // 100
    small = tmp_path / "s.log"
    small.write_bytes(b"x\n" * 1000)
    assert work_middle(str(small), 2000) == 1000
