"""The run reader of plain train dict lines (`parsing/dict_runs.py`) changes nothing the parser
reports: the same records, steps, line numbers, counters, formats and text events as the scan
alone, on shared real logs and on generated Hugging Face logs with the awkward cases."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trainmon.parsing.parser as parser_module
from tests.pieces import parse_in_pieces
from trainmon.parsing import LogParser
from trainmon.parsing.dict_runs import read_run

SHARED = Path(__file__).resolve().parents[3] / "shared"
DATA = Path(__file__).resolve().parent.parent / "data"
TOTAL = 4000


def _parse(data: bytes, cuts: list[int], runs: bool) -> tuple[object, ...]:
    """Everything the parser reports about `data` fed in the pieces `cuts` make."""
    parser = LogParser(dict_runs=runs)
    records = parse_in_pieces(parser, data, cuts)
    return (
        repr(records),  # repr: a nan value equals itself
        parser.lines,
        parser.unparsed_lines,
        parser.records,
        parser.format_counts,
        parser.format,
        parser.total_steps,
        repr(parser.context),
        parser.series_sources,
        parser.text_events.events,
    )


def _bar(step: int, total: int) -> str:
    clock = f"00:{step % 60:02d}<01:40"
    return f"{100 * step // total:3d}%|███▍      | {step}/{total} [{clock}, 54.20it/s]"


def _value(rng: random.Random, odd: float) -> str:
    r = rng.random() / odd
    if r < 0.04:
        return rng.choice(
            ["nan", "inf", "-inf", "np.float64(0.5)", "tensor(0.25, device='cuda:0')"]
        )
    if r < 0.07:
        return rng.choice(["1", "0", "True", "[1.0]", "'x'", "1e400", "1.", "-0.0", "2E+05"])
    return repr(round(rng.uniform(-3, 3), rng.randint(1, 12)))


def hf_log(seed: int, lines: int) -> bytes:
    """A redirected Trainer log with the cases a run must stop at, in random order: rare in
    some logs (long runs between them), frequent in others."""
    rng = random.Random(seed)
    odd = rng.choice([0.05, 0.2, 1.0])
    """How often the odd cases come (1: as below; 0.05: a twentieth as often)."""
    out: list[str] = []
    if rng.random() < 0.8:
        out.append(f"  Total optimization steps = {TOTAL:,}\n")
    interval = rng.choice([1, 5, 20])
    step = 0
    keys = ["loss", "grad_norm", "learning_rate", "epoch"]
    eol = "\n"
    for _ in range(lines):
        event = rng.random() / odd
        if event < 0.02:
            interval = rng.choice([1, 5, 20, 7])  # the logging interval changes
        if event < 0.03:
            eol = "\r\n" if eol == "\n" else "\n"  # CRLF from here on, or back
        step += interval
        bars = "".join(
            "\r" + _bar(s, TOTAL) for s in range(max(1, step - rng.randint(0, 3)), step + 1)
        )
        kind = rng.random() / odd
        if kind < 0.03:
            bars = ""  # no bar: the step is counted on
        elif kind < 0.06:
            bars += "\r" + _bar(step + 1, TOTAL)  # the bar ran ahead of the dict
        elif kind < 0.08:
            bars += "\r 12%|█   | 3/25 [00:01<00:02, 9.9it/s]"  # another bar's total
        elif kind < 0.09:
            bars += "\r" + _bar(step, TOTAL).replace("<", "")  # a bar without `<`
        elif kind < 0.10:
            bars += " <<"  # a stray `<` after the bar
        elif kind < 0.11:
            bars += "{x}"  # a brace before the dict
        elif kind < 0.12:
            bars += " (lr decayed)"  # an `l` before the dict
        items = list(keys)
        if rng.random() < 0.04 * odd:
            items.append("extra_metric")
        if rng.random() < 0.03 * odd:
            items.remove("grad_norm")
        if rng.random() < 0.01 * odd:
            items.append("loss")  # a key twice
        body = ", ".join(f"'{k}': {_value(rng, odd)}" for k in items)
        prefix = ""
        if rng.random() < 0.1 * odd:
            prefix = rng.choice(["[rank0]:", "2026-12-04 10:00:00 "])
        clear = "\r" + " " * (700 if rng.random() < 0.03 * odd else rng.choice([0, 40, 120])) + "\r"
        out.append(f"{bars}{clear}{prefix}{{{body}}}{eol}")
        other = rng.random() / odd
        if other < 0.03:
            out.append(
                "\n\x1b[A\r100%|██████████| 50/50 [00:04<00:00, 12.1it/s]\x1b[A\r"
                f"{{'eval_loss': {_value(rng, odd)}, 'eval_runtime': 4.1, 'epoch': 0.5}}\n"
            )
        elif other < 0.05:
            out.append(f"step={step} loss={_value(rng, odd)} lr=1e-05\n")  # a text metric line
        elif other < 0.06:
            out.append('Traceback (most recent call last):\n  File "train.py", line 3\n')
        elif other < 0.07:
            out.append("WARNING: slow step {'step': 3, 'loss': 1.0}\n")
        elif other < 0.08:
            out.append("\n")
    text = "".join(out)
    if rng.random() < 0.3:
        text = text[: -rng.randint(1, 30)]  # a truncated last line
    return text.encode()


def test_runs_take_the_plain_lines_of_a_regular_log() -> None:
    """On a regular log nearly every train line is read by a run (the test below would pass
    trivially if runs never started)."""
    rng = random.Random(1)
    lines = [f"  Total optimization steps = {TOTAL:,}\n"]
    for step in range(5, 2001, 5):
        bars = "".join("\r" + _bar(s, TOTAL) for s in range(step - 4, step + 1))
        lines.append(
            f"{bars}\r{' ' * 60}\r{{'loss': {rng.random():.4f}, 'grad_norm': {rng.random()!r}, "
            f"'learning_rate': 4.9e-05, 'epoch': {step / 4000}}}\n"
        )
    data = "".join(lines).encode()
    read = 0

    def counting(*args: object) -> tuple[int, int]:
        nonlocal read
        n, end = read_run(*args)  # type: ignore[arg-type]
        read += n
        return n, end

    original = parser_module.read_run
    parser_module.read_run = counting  # type: ignore[assignment]
    try:
        parser = LogParser()
        records = parser.feed(data) + parser.finish()
    finally:
        parser_module.read_run = original
    assert len(records) == 400
    assert read == 398  # all but the first (it sets the step) and the second (the interval)
    assert [r.step for r in records] == list(range(5, 2001, 5))
    assert [r.line_no for r in records] == list(range(2, 402))
    assert _parse(data, [], runs=True) == _parse(data, [], runs=False)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 10**9),
    st.integers(1, 120),
    st.lists(st.integers(0, 40_000), max_size=12),
)
def test_runs_change_nothing_on_generated_logs(seed: int, lines: int, cuts: list[int]) -> None:
    data = hf_log(seed, lines)
    assert _parse(data, cuts, runs=True) == _parse(data, cuts, runs=False)


@pytest.mark.parametrize("seed", range(6))
def test_runs_change_nothing_on_long_generated_logs(seed: int) -> None:
    data = hf_log(seed, 3000)
    cuts = list(range(0, len(data), 65536 + 7 * seed))
    assert _parse(data, cuts, runs=True) == _parse(data, cuts, runs=False)
    assert _parse(data, [], runs=True) == _parse(data, [], runs=False)


def _real_logs() -> list[Path]:
    paths = sorted(p for p in DATA.rglob("*") if p.is_file())
    for folder in ("logs", "logs2", "trainer_states"):
        if (SHARED / folder).is_dir():
            paths += sorted(
                p for p in (SHARED / folder).rglob("*") if p.is_file() and "MANIFEST" not in p.name
            )
    return paths


@pytest.mark.parametrize("path", _real_logs(), ids=lambda p: p.name)
def test_runs_change_nothing_on_real_logs(path: Path) -> None:
    data = path.read_bytes()
    assert _parse(data, [], runs=True) == _parse(data, [], runs=False)
    cuts = list(range(0, len(data), 4093))
    assert _parse(data, cuts, runs=True) == _parse(data, cuts, runs=False)


def test_an_infinite_epoch_after_a_bar_is_read_not_raised() -> None:
    """The scan's whole-epoch check met `'epoch': inf` (found by the generated logs above)."""
    header = f"  Total optimization steps = {TOTAL:,}\n"
    data = f"{header}\r{_bar(20, TOTAL)}\r{{'loss': 0.5, 'epoch': inf}}\n".encode()
    parser = LogParser()
    records = parser.feed(data) + parser.finish()
    assert [(r.step, r.values["loss"]) for r in records] == [(20, 0.5)]
    assert records[0].values["epoch"] == float("inf")
