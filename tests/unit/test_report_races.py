"""`report` against a file that changes under it, and against signals while it reads.

A report describes one version of the file, never parts of two; its helper process never
outlives it, whether it is told to stop (SIGTERM, SIGHUP) or killed outright (SIGKILL).
Everything here is real: files rewritten in place, a forked helper, signals to a real
`trainmon report` process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from trainmon import parts, report
from trainmon.parsing import LogParser
from trainmon.report import SPLIT_BYTES, read_log

TIMEOUT_S = 60.0


def version(records: int, loss: float) -> bytes:
    """A key-value log whose every record has the same loss: versions are told apart by it."""
    return b"".join(b"step=%d loss=%r\n" % (i, loss) for i in range(1, records + 1))


def losses(summary: report.LogSummary) -> set[float]:
    series = summary.store.get("loss")
    assert series is not None
    return set(series.values_np().tolist())


@pytest.mark.parametrize("split_bytes", [0, 1], ids=["one-process", "two-processes"])
@pytest.mark.parametrize("new_records", [500, 1500], ids=["shorter", "longer"])
def test_a_rewrite_during_the_read_gives_the_new_version_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split_bytes: int, new_records: int
) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(version(1000, 1.0))
    new = version(new_records, 2.0)
    rewritten = tmp_path / "rewritten"
    real_feed = LogParser.feed

    def feed_then_restart(self: LogParser, data: bytes) -> object:
        # After the first chunk is parsed, by whichever process gets there first, the
        # trainer restarts with `>`: same inode, truncated, rewritten.
        records = real_feed(self, data)
        try:
            os.close(os.open(rewritten, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return records
        with log.open("r+b") as f:
            f.truncate(0)
            f.write(new)
        os.utime(log, ns=(time.time_ns() + 10**9,) * 2)  # past any clock tick of the read
        return records

    monkeypatch.setattr(LogParser, "feed", feed_then_restart)
    monkeypatch.setattr(parts, "READ_CHUNK_BYTES", 2048)  # several polls per part
    summary = read_log(str(log), split_bytes=split_bytes, jobs=2)
    assert rewritten.exists()
    assert summary.store.records == new_records
    assert losses(summary) == {2.0}
    assert summary.errors == []


def test_a_split_at_a_cut_nearer_the_start_than_a_fingerprint_is_trusted(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(version(6, 1.0))  # the cut falls within the first 64 bytes
    summary = read_log(str(log), split_bytes=1, jobs=2)
    assert summary.parts == 2
    assert summary.store.records == 6
    assert summary.errors == []


def test_a_file_rewritten_on_every_read_is_reported_once_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(version(1000, 1.0))
    real_feed = LogParser.feed
    flip = iter(range(10**6))

    def feed_then_restart(self: LogParser, data: bytes) -> object:
        records = real_feed(self, data)
        n = next(flip)
        log.write_bytes(version(900 + n, 1.0 + n))
        os.utime(log, ns=(time.time_ns() + n * 10**9,) * 2)
        return records

    monkeypatch.setattr(LogParser, "feed", feed_then_restart)
    monkeypatch.setattr(parts, "READ_CHUNK_BYTES", 2048)
    summary = read_log(str(log), split_bytes=0)
    assert len(losses(summary)) == 1  # a prefix of one version, never a mix
    assert summary.errors and "rewritten under the reader 3 times" in summary.errors[0]


RACING_READER = """
import json, sys
from trainmon.report import as_json, read_log
print(json.dumps(as_json(read_log(sys.argv[1], split_bytes=1, jobs=2), [])))
"""

RESTARTING_WRITER = """
import sys, time
log, *versions = sys.argv[1:]
data = [open(v, 'rb').read() for v in versions]
for i in range(10**6):
    time.sleep(0.2)
    with open(log, 'wb') as f:  # `python train.py > run.log` again, same inode
        f.write(data[i % 2])
"""


@pytest.mark.slow
def test_report_racing_real_restarts_never_mixes_two_runs(tmp_path: Path) -> None:
    # Real processes all through: a writer restarting the run every 0.2 s, and a reader
    # splitting the file between two processes, as `report` does with a big file.
    log = tmp_path / "run.log"
    sizes = {1.0: 120_000, 2.0: 130_000}
    versions = []
    for loss, records in sizes.items():
        versions.append(tmp_path / f"{loss}.bin")
        versions[-1].write_bytes(version(records, loss))
    log.write_bytes(versions[1].read_bytes())
    writer = subprocess.Popen(
        [sys.executable, "-c", RESTARTING_WRITER, str(log), *map(str, versions)]
    )
    try:
        results = [
            subprocess.run(
                [sys.executable, "-c", RACING_READER, str(log)],
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            )
            for _ in range(3)
        ]
    finally:
        writer.kill()
        writer.wait(timeout=30)
    for done in results:
        result = json.loads(done.stdout)
        if "loss" not in result["series"]:  # read between a truncation and its rewrite
            assert result["records"] == 0
            continue
        loss = result["series"]["loss"]
        assert loss["min"] == loss["max"]  # one run's records, never both
        assert result["records"] <= sizes[loss["min"]]  # and never counted twice


# -- the helper process --------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A log big enough to be read by two processes, and slow enough to be caught at it."""
    path = tmp_path_factory.mktemp("big") / "big.log"
    lines = (SPLIT_BYTES // 16) + 400_000
    with path.open("wb") as f:
        for start in range(0, lines, 100_000):
            f.write(b"".join(b"step=%d loss=0.5\n" % i for i in range(start, start + 100_000)))
    assert path.stat().st_size >= SPLIT_BYTES
    yield path
    path.unlink()


APPENDER = """
import sys, time
block = b"step=1 loss=0.5\\n" * 65536
with open(sys.argv[1], "ab") as f:
    while True:
        f.write(block)
        f.flush()
        time.sleep(0.1)
"""


@contextlib.contextmanager
def report_with_helper(log: Path) -> Iterator[tuple[subprocess.Popen[bytes], psutil.Process]]:
    """A real `trainmon report` on `log` once its helper process is there, while a trainer
    appends 10 MB/s: faster than one process parses, so the helper's part never ends by
    itself (a report of a live log). Everything is killed on the way out."""
    appender = subprocess.Popen([sys.executable, "-c", APPENDER, str(log)])
    proc = subprocess.Popen(
        [sys.executable, "-m", "trainmon", "report", "--jobs", "2", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    helper: psutil.Process | None = None
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while helper is None and proc.poll() is None and time.monotonic() < deadline:
            children = psutil.Process(proc.pid).children()
            helper = children[0] if children else None
            time.sleep(0.05)
        if helper is None:
            pytest.fail("report never started its helper process")
        yield proc, helper
    finally:
        appender.kill()
        appender.wait(timeout=30)
        proc.kill()
        proc.wait(timeout=30)
        if helper is not None and not gone(helper):
            helper.kill()


def gone(process: psutil.Process) -> bool:
    """Ended (a zombie waiting for init to reap it has ended too)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(process: psutil.Process) -> bool:
    deadline = time.monotonic() + TIMEOUT_S
    while not gone(process):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_to_report_ends_its_helper_too(big_log: Path, signum: int) -> None:
    with report_with_helper(big_log) as (proc, helper):
        proc.send_signal(signum)
        assert proc.wait(timeout=TIMEOUT_S) == -signum  # it dies of the signal, as asked
        assert wait_gone(helper), "the helper outlived report"
        assert proc.stderr is not None
        assert b"Traceback" not in proc.stderr.read()


@pytest.mark.slow
def test_the_helper_dies_with_a_killed_report(big_log: Path) -> None:
    with report_with_helper(big_log) as (proc, helper):
        proc.kill()  # SIGKILL: report runs no cleanup at all
        proc.wait(timeout=TIMEOUT_S)
        assert wait_gone(helper), "the helper outlived report"
