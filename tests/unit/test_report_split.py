"""Reading a big file in two processes gives exactly what one process gives."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import pytest

from trainmon.parts import split_point
from trainmon.records import MetricRecord
from trainmon.report import as_json, read_log
from trainmon.store import MetricStore

REPO = Path(__file__).resolve().parents[2]


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_hf_log", REPO / "bench" / "gen_hf_log.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def same(a: dict[str, object], b: dict[str, object]) -> None:
    assert a == b


def series_arrays(store: MetricStore) -> dict[str, tuple[list[float], list[float]]]:
    out = {}
    for name in store.names():
        s = store.get(name)
        assert s is not None
        values = [v if math.isfinite(v) else repr(v) for v in s.values_np().tolist()]
        out[name] = (values, s.steps_np().tolist())
    return out


@pytest.mark.parametrize("header", [False, True])
def test_split_equals_single_on_a_tqdm_log(tmp_path: Path, header: bool) -> None:
    gen = load_generator()
    log = tmp_path / "hf.log"
    truth = gen.generate(log, 400_000, seed=3)
    if not header:  # the INFO header switches the parser out of its dict-only mode
        data = log.read_bytes()
        log.write_bytes(data[data.index(b"\r") :])
    single = read_log(str(log), split_bytes=0)
    split = read_log(str(log), split_bytes=1, jobs=2)
    assert single.parts == 1
    assert split.parts == 2  # every train record has a printed (tqdm) step: trusted
    a, b = as_json(single, []), as_json(split, [])
    if header:
        # The parser counts blank-looking lines differently once it left dict-only mode,
        # which only the first part did; records, series and steps must still be equal.
        del a["unparsed_lines"], b["unparsed_lines"]
    same(a, b)
    assert series_arrays(single.store) == series_arrays(split.store)
    assert list(single.store.record_steps) == list(split.store.record_steps)
    assert single.store.kind_counts == split.store.kind_counts
    assert single.store.kind_counts["eval"] == truth["eval"]


def test_inferred_steps_fall_back_to_one_process(tmp_path: Path) -> None:
    # Bare dicts without a progress bar: steps are reconstructed, so a second process that
    # starts mid-file cannot know them; the reader must notice and read in one process.
    log = tmp_path / "bare.log"
    log.write_text(
        "".join(
            f"{{'loss': {3 - i / 1000}, 'learning_rate': 1e-4, 'epoch': {i / 100}}}\n"
            for i in range(2000)
        )
    )
    single = read_log(str(log), split_bytes=0)
    split = read_log(str(log), split_bytes=1, jobs=2)
    assert split.parts == 1
    same(as_json(single, []), as_json(split, []))
    assert list(single.store.record_steps) == list(split.store.record_steps)


def test_split_point_is_a_line_boundary(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(b"aaaa\n" * 10 + b"b" * 100 + b"\ntail\n")
    cut = split_point(str(log), log.stat().st_size)
    assert cut is not None
    data = log.read_bytes()
    assert data[cut - 1 : cut] == b"\n"
    assert cut >= len(data) // 2
    one_line = tmp_path / "one.log"
    one_line.write_bytes(b"x" * 100 + b"\n")
    assert split_point(str(one_line), 101) is None


@pytest.mark.parametrize("offset_first", [0, 3])
def test_store_absorb_equals_one_store(offset_first: int) -> None:
    records = [
        MetricRecord("train", i, {"loss": 1.0 / (i + 1), **({"grad_norm": 2.0} if i % 2 else {})})
        for i in range(10)
    ] + [MetricRecord("eval", 9, {"eval_loss": 0.5})]
    whole = MetricStore()
    whole.extend(records, 1.0)
    a, b = MetricStore(), MetricStore()
    a.extend(records[: offset_first + 4], 1.0)
    b.extend(records[offset_first + 4 :], 1.0)
    assert a.absorb(b) == len(records) - offset_first - 4
    assert a.records == whole.records
    assert a.kind_counts == whole.kind_counts
    assert series_arrays(a) == series_arrays(whole)
    assert {k: v.as_json() for k, v in a.stats().items()} == {
        k: v.as_json() for k, v in whole.stats().items()
    }


def test_interrupted_split_read_leaves_no_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from trainmon import parts, report

    log = tmp_path / "hf.log"
    load_generator().generate(log, 200_000, seed=1)
    forked: list[int] = []
    real_fork = parts.fork_part

    def fork(*args: object) -> tuple[int, int] | None:
        child = real_fork(*args)  # type: ignore[arg-type]
        assert child is not None
        forked.append(child[0])
        return child

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(parts, "fork_part", fork)
    monkeypatch.setattr(report, "read_part", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.read_log(str(log), split_bytes=1, jobs=2)
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):  # already reaped: no zombie, no orphan
        os.waitpid(forked[0], os.WNOHANG)


@pytest.mark.parametrize("failing", ["pipe", "fork"])
def test_no_process_to_spare_reads_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    import errno
    import os

    log = tmp_path / "hf.log"
    load_generator().generate(log, 200_000, seed=2)
    single = read_log(str(log), split_bytes=0)
    fds_before = len(os.listdir("/proc/self/fd"))

    def refused(*args: object) -> None:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(os, failing, refused)
    # GIVEN a box out of processes (or of file descriptors) WHEN the log is read in parts
    fallback = read_log(str(log), split_bytes=1, jobs=2)
    monkeypatch.undo()
    # THEN one process reads it all, with the same records, and no pipe is left open
    assert fallback.parts == 1
    same(as_json(single, []), as_json(fallback, []))
    assert len(os.listdir("/proc/self/fd")) == fds_before
