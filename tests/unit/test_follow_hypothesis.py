"""Property tests: the follower never raises on arbitrary bytes in arbitrary chunks, what it
yields is exactly the written bytes up to the last terminator (minus over-long lines), and a
rewrite of the file is a restart exactly when it does not continue what was read."""

from __future__ import annotations

import itertools
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainmon.follow import HEAD_BYTES, MARK_BYTES, Follower
from trainmon.records import FollowEvent

LINES = re.compile(rb"[^\r\n]*[\r\n]")


def follow_writes(chunks: list[bytes], **kwargs: int) -> tuple[bytes, Follower]:
    """Append each chunk, then poll until caught up; return everything yielded."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "run.log"
        log.write_bytes(b"")
        f = Follower(str(log), **kwargs)  # type: ignore[arg-type]
        got: list[bytes] = []
        with log.open("ab") as w:
            for chunk in chunks:
                w.write(chunk)
                w.flush()
                for _ in range(10_000):
                    for item in f.poll():
                        if isinstance(item, bytes):
                            got.append(item)
                        else:
                            assert isinstance(item, FollowEvent)
                            assert item.kind == "opened"
                    if f.caught_up:
                        break
        f.close()
        return b"".join(got), f


def up_to_last_terminator(data: bytes) -> bytes:
    return data[: max(data.rfind(b"\n"), data.rfind(b"\r")) + 1]


alphabet = st.sampled_from([b"\n", b"\r", b"a", b"{", b"'", b"\xe2\x96\x88", b"\xff", b"\x00"])
payload = st.lists(st.one_of(st.binary(max_size=40), alphabet), max_size=60).map(b"".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=payload, cuts=st.lists(st.integers(0, 2000), max_size=8), chunk=st.integers(1, 64))
def test_yields_exactly_the_complete_lines(data: bytes, cuts: list[int], chunk: int) -> None:
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    got, f = follow_writes(chunks, chunk_bytes=chunk, max_line_bytes=1 << 20)
    assert got == up_to_last_terminator(data)
    assert f.long_lines == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=payload,
    cuts=st.lists(st.integers(0, 2000), max_size=8),
    chunk=st.integers(1, 64),
    cap=st.integers(1, 30),
)
def test_long_lines_are_dropped_and_nothing_else(
    data: bytes, cuts: list[int], chunk: int, cap: int
) -> None:
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    got, f = follow_writes(chunks, chunk_bytes=chunk, max_line_bytes=cap)
    complete = LINES.findall(up_to_last_terminator(data))
    kept = [line for line in complete if len(line) - 1 <= cap]
    assert got == b"".join(kept)
    # An unterminated last line over the cap is already skipped (and counted) too.
    trailing = len(data) - len(up_to_last_terminator(data))
    assert f.long_lines == len(complete) - len(kept) + (trailing > cap)
    assert f.max_blob_bytes <= chunk + cap + 1


# -- restarts: a rewrite is a new segment exactly when it does not continue the old file ------

write_op = st.tuples(st.sampled_from(["append", "rewrite"]), payload.map(lambda b: b[:80]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(write_op, min_size=1, max_size=8), chunk=st.integers(1, 64))
def test_rewrites_are_restarts_and_appends_are_not(
    ops: list[tuple[str, bytes]], chunk: int
) -> None:
    """Files stay within HEAD_BYTES + MARK_BYTES, where the fingerprint covers every byte
    read: a rewrite must be a `truncated` event exactly when the new content does not begin
    with the old, and what was yielded since the last one is the file's complete lines."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "run.log"
        log.write_bytes(b"")
        f = Follower(str(log), chunk_bytes=chunk, max_line_bytes=1 << 20)
        content = b""
        shown = b""
        restarts = 0
        events = 0
        for tick, (op, data) in enumerate(ops, start=1):
            if op == "append":
                new = content + data
            else:
                new = data
                restarts += not new.startswith(content)
            new = new[: HEAD_BYTES + MARK_BYTES]
            log.write_bytes(new)
            # A distinct mtime per write: a clock tick, which a same-size rewrite needs.
            os.utime(log, ns=(tick * 10**9, tick * 10**9))
            content = new
            for _ in range(10_000):
                for item in f.poll():
                    if isinstance(item, bytes):
                        shown += item
                    else:
                        assert item.kind in ("opened", "truncated")
                        if item.kind == "truncated":
                            events += 1
                            shown = b""
                if f.caught_up:
                    break
            assert events == restarts
            assert shown == up_to_last_terminator(content)
        f.close()


# -- streams: a pipe yields what a file would, and ends at its writer's close ---------------


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names a pipe by /proc/self/fd")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=payload, cuts=st.lists(st.integers(0, 2000), max_size=8), chunk=st.integers(1, 64))
def test_a_pipe_yields_every_line_then_ends(data: bytes, cuts: list[int], chunk: int) -> None:
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    read_fd, write_fd = os.pipe()
    got: list[bytes] = []
    kinds: list[str] = []
    try:
        f = Follower(f"/proc/self/fd/{read_fd}", chunk_bytes=chunk, max_line_bytes=1 << 20)

        def drain() -> None:
            for _ in range(10_000):
                for item in f.poll():
                    if isinstance(item, bytes):
                        got.append(item)
                    else:
                        kinds.append(item.kind)
                if f.caught_up:
                    return

        for a, b in itertools.pairwise(bounds):
            os.write(write_fd, data[a:b])
            drain()
        os.close(write_fd)
        write_fd = -1
        drain()
        f.close()
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    assert f.finished
    assert kinds == ["opened", "eof"]
    tail = data[len(up_to_last_terminator(data)) :]
    assert b"".join(got) == up_to_last_terminator(data) + (tail + b"\n" if tail else b"")
