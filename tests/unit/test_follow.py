"""The follower: complete lines only, bounded chunks, truncation, rotation, deletion, stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainmon.follow import HEAD_BYTES, Follower, follow_iter
from trainmon.records import FollowEvent


def drain(f: Follower, max_polls: int = 10_000) -> list[FollowEvent | bytes]:
    """Poll until the follower is caught up (no sleeping: tests drive it step by step)."""
    out: list[FollowEvent | bytes] = []
    for _ in range(max_polls):
        out += f.poll()
        if f.caught_up:
            return out
    raise AssertionError("follower never caught up")


def text(items: list[FollowEvent | bytes]) -> bytes:
    return b"".join(i for i in items if isinstance(i, bytes))


def kinds(items: list[FollowEvent | bytes]) -> list[str]:
    return [i.kind for i in items if isinstance(i, FollowEvent)]


def test_reads_history_then_appends(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"a 1\nb 2\n")
    f = Follower(str(log))
    first = drain(f)
    assert kinds(first) == ["opened"]
    assert text(first) == b"a 1\nb 2\n"
    assert drain(f) == []
    with log.open("ab") as w:
        w.write(b"c 3\n")
    assert text(drain(f)) == b"c 3\n"


def test_from_end_skips_history(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"old\n")
    f = Follower(str(log), from_end=True)
    assert text(drain(f)) == b""
    with log.open("ab") as w:
        w.write(b"new\n")
    assert text(drain(f)) == b"new\n"


def test_partial_line_held_until_terminated(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"done\nhal")
    f = Follower(str(log))
    assert text(drain(f)) == b"done\n"
    with log.open("ab") as w:
        w.write(b"f a li")
    assert text(drain(f)) == b""
    with log.open("ab") as w:
        w.write(b"ne\nnext")
    assert text(drain(f)) == b"half a line\n"


def test_carriage_returns_terminate_lines(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b" 10%|#\r 20%|##\r")
    f = Follower(str(log))
    assert text(drain(f)) == b" 10%|#\r 20%|##\r"
    with log.open("ab") as w:
        w.write(b"x\r")
    assert text(drain(f)) == b"x\r"
    with log.open("ab") as w:
        w.write(b"\ny\r\n")
    assert text(drain(f)) == b"\ny\r\n"


def test_truncation_restarts_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"first run line 1\nfirst run line 2\npartial")
    f = Follower(str(log))
    drain(f)
    log.write_bytes(b"second\n")  # `>` redirect: truncate and rewrite, shorter
    out = drain(f)
    assert kinds(out) == ["truncated"]
    assert text(out) == b"second\n"  # the old partial line is gone with its file content
    assert kinds(out).index("truncated") == 0


def test_restart_that_outgrows_the_old_file_within_one_poll_is_a_truncation(
    tmp_path: Path,
) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"2026-12-04 07:00:01 run A\nstep=1 loss=3\n")
    f = Follower(str(log))
    drain(f)
    new = b"2026-12-04 07:05:42 run B\n" + b"".join(b"step=%d loss=2\n" % i for i in range(20))
    log.write_bytes(new)  # `>` again: same inode, truncated, then more than the old size
    out = drain(f)
    assert kinds(out) == ["truncated"]
    assert "rewritten" in out[0].detail  # type: ignore[union-attr]
    assert text(out) == new  # the new run's first records are not lost


def test_restart_with_an_identical_head_is_seen_where_the_old_run_had_got_to(
    tmp_path: Path,
) -> None:
    banner = b"".join(b"warning: the same banner as every run, line %d\n" % i for i in range(9))
    assert len(banner) > HEAD_BYTES  # the head alone cannot tell the runs apart
    log = tmp_path / "run.log"
    log.write_bytes(banner + b"step=1 loss=3.0\n")
    f = Follower(str(log))
    drain(f)
    new = banner + b"step=1 loss=2.9\nstep=2 loss=2.8\n"
    log.write_bytes(new)
    out = drain(f)
    assert kinds(out) == ["truncated"]
    assert text(out) == new


def test_fingerprint_is_read_only_when_the_file_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"a\n" * 200)
    f = Follower(str(log))
    drain(f)
    sizes: list[int] = []
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, at: sizes.append(n) or real(fd, n, at))
    for _ in range(5):
        assert f.poll() == []
    assert sizes == []  # idle: one stat per poll, nothing read
    with log.open("ab") as w:
        w.write(b"b\n")
    assert text(drain(f)) == b"b\n"
    assert 1 <= len(sizes) <= 2  # the head, and the last bytes read
    assert max(sizes) <= HEAD_BYTES


def test_one_shot_read_stops_at_a_rewrite_and_never_mixes_versions(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    old = b"".join(b"old %05d\n" % i for i in range(1000))
    log.write_bytes(old)
    f = Follower(str(log), follow=False, chunk_bytes=1024)
    out = f.poll() + f.poll()
    log.write_bytes(b"".join(b"new %05d\n" % i for i in range(2000)))
    out += list(follow_iter(f))
    assert kinds(out) == ["opened", "truncated"]
    assert f.finished
    assert text(out) and old.startswith(text(out))  # only the old version, never both


def test_one_shot_read_keeps_to_the_file_it_opened(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    old = b"".join(b"old %05d\n" % i for i in range(1000))
    log.write_bytes(old)
    f = Follower(str(log), follow=False, chunk_bytes=1024)
    out = f.poll()
    log.rename(tmp_path / "run.log.1")
    log.write_bytes(b"new 1\n")
    out += list(follow_iter(f))
    assert kinds(out) == ["opened", "eof"]
    assert text(out) == old


def test_rotation_finishes_old_file_first(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    with log.open("wb") as old:
        old.write(b"old 1\n")
        old.flush()
        f = Follower(str(log))
        assert text(drain(f)) == b"old 1\n"
        old.write(b"old 2\nold tail")  # written after our last read, before the swap
        old.flush()
        new = tmp_path / "run.log.tmp"
        new.write_bytes(b"new 1\n")
        os.replace(new, log)  # atomic re-creation: the path now names another inode
        out = drain(f)
    assert text(out) == b"old 2\nold tail\nnew 1\n"
    # The old file's bytes come before the event, the new file's after it.
    idx = next(i for i, x in enumerate(out) if isinstance(x, FollowEvent))
    assert kinds(out) == ["rotated"]
    assert text(out[:idx]) == b"old 2\nold tail\n"
    assert text(out[idx:]) == b"new 1\n"


def test_rename_rotation(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"a\n")
    f = Follower(str(log))
    drain(f)
    with log.open("ab") as w:
        w.write(b"b\n")
    log.rename(tmp_path / "run.log.1")
    log.write_bytes(b"c\n")
    out = drain(f)
    assert text(out) == b"b\nc\n"
    assert kinds(out) == ["rotated"]


def test_missing_file_waits_once_then_reads_all_of_it(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    f = Follower(str(log), from_end=True)
    out = drain(f) + drain(f) + drain(f)
    assert kinds(out) == ["waiting"]
    assert "later.log" in next(i for i in out if isinstance(i, FollowEvent)).detail
    log.write_bytes(b"hello\n")
    out = drain(f)
    # from_end does not skip a file that did not exist when following began.
    assert kinds(out) == ["opened"]
    assert text(out) == b"hello\n"


def test_delete_while_followed_then_reappear(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"a\n")
    f = Follower(str(log))
    drain(f)
    log.unlink()
    out = drain(f)
    assert kinds(out) == ["waiting"]
    assert "deleted" in out[0].detail  # type: ignore[union-attr]
    assert drain(f) == []  # reported once, not on every poll
    log.write_bytes(b"again\n")
    out = drain(f)
    assert kinds(out) == ["rotated"]
    assert text(out) == b"again\n"


def test_big_file_read_in_bounded_chunks(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    line = b"{'loss': 1.0, 'learning_rate': 0.0001}\n"
    payload = line * 20_000  # ~800 kB
    log.write_bytes(payload)
    f = Follower(str(log), chunk_bytes=4096, max_line_bytes=1024)
    out: list[FollowEvent | bytes] = []
    polls = 0
    while not f.caught_up or polls == 0:
        got = f.poll()
        polls += 1
        # Each poll hands out at most one chunk plus the held partial line.
        assert sum(len(b) for b in got if isinstance(b, bytes)) <= 4096 + 1024
        out += got
    assert text(out) == payload
    assert polls >= len(payload) // 4096
    assert f.max_blob_bytes <= 4096 + 1024
    assert len(f._buf) == 4096  # one reused buffer


def test_long_lines_skipped_and_counted_following_lines_kept(tmp_path: Path) -> None:
    log = tmp_path / "long.log"
    long = b"x" * 50_000
    log.write_bytes(b"before\n" + long + b"\nafter 1\n" + b"y" * 3000 + b"\rafter 2\n")
    f = Follower(str(log), chunk_bytes=1000, max_line_bytes=2000)
    assert text(drain(f)) == b"before\nafter 1\nafter 2\n"
    assert f.long_lines == 2
    assert f.max_blob_bytes <= 3000


def test_long_line_inside_one_chunk(tmp_path: Path) -> None:
    log = tmp_path / "long.log"
    log.write_bytes(b"a\n" + b"z" * 500 + b"\nb\n")
    f = Follower(str(log), chunk_bytes=4096, max_line_bytes=100)
    assert text(drain(f)) == b"a\nb\n"
    assert f.long_lines == 1


def test_directory_is_an_error_event_not_a_traceback(tmp_path: Path) -> None:
    f = Follower(str(tmp_path))
    out = drain(f)
    assert kinds(out) == ["error"]
    assert "directory" in out[0].detail  # type: ignore[union-attr]
    assert drain(f) == []  # once


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without permission")
def test_unreadable_file_is_an_error_event(tmp_path: Path) -> None:
    log = tmp_path / "secret.log"
    log.write_bytes(b"x\n")
    log.chmod(0)
    out = drain(Follower(str(log)))
    assert kinds(out) == ["error"]
    assert "permission denied" in out[0].detail  # type: ignore[union-attr]


def test_no_follow_flushes_last_line_and_ends(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"a\nno newline at end")
    f = Follower(str(log), follow=False)
    out = list(follow_iter(f))
    assert text(out) == b"a\nno newline at end\n"
    assert kinds(out) == ["opened", "eof"]
    assert f.finished


def test_idle_poll_does_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"a\n")
    f = Follower(str(log))
    drain(f)
    calls: list[object] = []
    real = os.readv
    monkeypatch.setattr(os, "readv", lambda *a: calls.append(a) or real(*a))
    for _ in range(5):
        assert f.poll() == []
        assert f.caught_up
    assert calls == []  # nothing new: a stat and a size compare only
    assert 0.1 <= f.poll_interval_s <= 0.5


def test_stdin_through_a_real_pipe() -> None:
    script = (
        "import sys\n"
        "from trainmon.follow import Follower, follow_iter\n"
        "f = Follower('-', poll_interval_s=0.01)\n"
        "for item in follow_iter(f):\n"
        "    if isinstance(item, bytes):\n"
        "        sys.stdout.buffer.write(item)\n"
        "    else:\n"
        "        sys.stdout.buffer.write(b'<' + item.kind.encode() + b'>')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input=b"one\rtwo\nthree\nunterminated",
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert proc.stdout == b"<opened>one\rtwo\nthree\nunterminated\n<eof>"


def test_permission_error_is_one_event_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores file modes, so the refusal is simulated where the follower opens the file.
    log = tmp_path / "secret.log"
    log.write_bytes(b"x\n")

    def refuse(path: str, flags: int, *args: object) -> int:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "open", refuse)
    f = Follower(str(log))
    out = drain(f) + drain(f)
    assert kinds(out) == ["error"]
    assert out[0].detail == f"{log}: permission denied (cannot read it)"  # type: ignore[union-attr]
    monkeypatch.undo()
    assert text(drain(f)) == b"x\n"  # readable again: picked up without a restart
