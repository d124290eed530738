"""Non-seekable inputs: FIFOs, pipes (process substitution), `/proc` files and devices.

Real FIFOs and pipes, no doubles: the follower must never seek one, never block opening one,
end cleanly when its writer closes it, and refuse devices instead of storming events.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from trainmon.follow import JUNK_CHUNKS, Follower
from trainmon.records import FollowEvent

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def poll_until(f: Follower, done: object, max_polls: int = 1000) -> list[FollowEvent | bytes]:
    """Poll (without sleeping) until `done(items so far)` holds or the follower finished."""
    out: list[FollowEvent | bytes] = []
    for _ in range(max_polls):
        out += f.poll()
        if f.finished or done(out):  # type: ignore[operator]
            return out
    raise AssertionError(f"never done; got {out!r}")


def first_polls(f: Follower, polls: int = 2) -> list[FollowEvent | bytes]:
    """The first polls of a FIFO, on a thread: a blocking open() fails the test, not hang it."""
    got: list[FollowEvent | bytes] = []
    thread = threading.Thread(
        target=lambda: got.extend(item for _ in range(polls) for item in f.poll()), daemon=True
    )
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "opening a FIFO blocked"
    return got


def text(items: list[FollowEvent | bytes]) -> bytes:
    return b"".join(i for i in items if isinstance(i, bytes))


def kinds(items: list[FollowEvent | bytes]) -> list[str]:
    return [i.kind for i in items if isinstance(i, FollowEvent)]


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    """An anonymous pipe, as `<(cat x.log)` gives one (read end, write end)."""
    read_fd, write_fd = os.pipe()
    yield read_fd, write_fd
    for fd in (read_fd, write_fd):
        with contextlib.suppress(OSError):
            os.close(fd)


def proc_fd_path(fd: int) -> str:
    """The path a shell's process substitution hands out for a pipe (`/dev/fd/63`)."""
    return f"/dev/fd/{fd}" if os.path.exists(f"/dev/fd/{fd}") else f"/proc/self/fd/{fd}"


def test_process_substitution_is_read_to_its_end_without_seeking(
    pipe: tuple[int, int],
) -> None:
    read_fd, write_fd = pipe
    os.write(write_fd, b"step=1 loss=2\nstep=2 loss=1\nno newline")
    os.close(write_fd)  # the writer (cat) is done before the reader even starts
    f = Follower(proc_fd_path(read_fd))
    out = poll_until(f, lambda items: False)
    assert f.finished
    assert text(out) == b"step=1 loss=2\nstep=2 loss=1\nno newline\n"
    assert kinds(out) == ["opened", "eof"]


def test_a_pipe_with_a_quiet_writer_is_caught_up_then_ends_when_it_closes(
    pipe: tuple[int, int],
) -> None:
    read_fd, write_fd = pipe
    os.write(write_fd, b"a\n")
    f = Follower(proc_fd_path(read_fd))
    out = poll_until(f, lambda items: f.caught_up)
    assert text(out) == b"a\n"
    for _ in range(5):  # the writer is there but silent: nothing, no event, not finished
        assert f.poll() == []
        assert f.caught_up and not f.finished
    os.write(write_fd, b"b\npartial")
    assert text(poll_until(f, lambda items: f.caught_up)) == b"b\n"
    os.close(write_fd)
    out = poll_until(f, lambda items: False)
    assert text(out) == b"partial\n"
    assert kinds(out) == ["eof"]


def test_opening_a_fifo_without_a_writer_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    f = Follower(str(fifo))
    out = first_polls(f)  # a blocking open() would wait for a writer; none will come
    assert kinds(out) == ["opened", "waiting"]
    assert "waiting for a writer" in out[-1].detail  # type: ignore[union-attr]
    for _ in range(5):  # waiting is said once, not once per poll
        assert f.poll() == []
        assert f.caught_up and not f.finished
    f.close()


def test_a_fifo_writer_arrives_writes_and_leaves(tmp_path: Path) -> None:
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    f = Follower(str(fifo))
    assert kinds(first_polls(f)) == ["opened", "waiting"]
    writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds: there is a reader
    try:
        os.write(writer, b"step=1 loss=2\n")
        out = poll_until(f, lambda items: f.caught_up)
        assert kinds(out) == ["opened"]  # a writer connected: no longer waiting
        assert text(out) == b"step=1 loss=2\n"
        os.write(writer, b"step=2 loss=1\n")
    finally:
        os.close(writer)
    out = poll_until(f, lambda items: False)
    assert text(out) == b"step=2 loss=1\n"
    assert kinds(out) == ["eof"]
    assert f.finished


def test_a_fifo_writer_that_leaves_without_writing_ends_it(tmp_path: Path) -> None:
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    f = Follower(str(fifo))
    assert kinds(first_polls(f)) == ["opened", "waiting"]
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    out = poll_until(f, lambda items: False)
    assert kinds(out) == ["eof"]


def test_a_proc_file_is_a_stream_not_a_truncation_storm() -> None:
    path = "/proc/self/status"
    if not os.path.exists(path):
        pytest.skip("no /proc")
    f = Follower(path)
    out = poll_until(f, lambda items: False)
    assert f.finished
    assert kinds(out) == ["opened", "eof"]
    assert b"Pid:" in text(out)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused_once(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    f = Follower(device)
    out: list[FollowEvent | bytes] = []
    for _ in range(100):
        out += f.poll()
    assert kinds(out) == ["error"]
    assert "character device" in out[0].detail  # type: ignore[union-attr]
    assert f.finished and f.caught_up
    assert f.bytes_read == 0


def test_an_endless_junk_line_on_a_pipe_is_read_at_the_poll_pace(
    pipe: tuple[int, int],
) -> None:
    # `cat /dev/zero | trainmon -`: one endless line. After JUNK_CHUNKS chunks of it the
    # follower says caught up after each chunk, so its caller sleeps between them.
    read_fd, write_fd = pipe
    chunk = 256
    os.write(write_fd, b"\0" * (chunk * (JUNK_CHUNKS + 8)))
    f = Follower(proc_fd_path(read_fd), chunk_bytes=chunk, max_line_bytes=chunk)
    f.poll()  # opens it
    eager = 0
    while not f.poll() and not f.caught_up:
        eager += 1
    assert JUNK_CHUNKS - 2 <= eager <= JUNK_CHUNKS + 1
    assert f.long_lines == 1
    assert f.poll() == [] and f.caught_up  # still throttled: one chunk per poll interval
    os.write(write_fd, b"\nstep=1 loss=2\n")  # the junk ends: back to full speed
    out = poll_until(f, lambda items: text(items))
    assert text(out) == b"step=1 loss=2\n"
