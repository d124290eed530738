"""Progress-bar redraws skipped in bulk read exactly as when every redraw is parsed."""

from __future__ import annotations

import random

import pytest

from trainmon.parsing import LogParser
from trainmon.parsing import parser as parser_module


def bar(step: int, total: int, postfix: str = "") -> str:
    pct = step * 100 // total
    return f"\r{pct:3d}%|{'#' * (pct // 10):<10}| {step}/{total} [00:10<01:30,  9.50it/s{postfix}]"


def read(data: bytes, chunk: int = 4096) -> tuple[list[object], tuple[object, ...]]:
    p = LogParser()
    out: list[object] = []
    for i in range(0, len(data), chunk):
        out += p.feed(data[i : i + chunk])
    out += p.finish()
    return out, (p.lines, p.unparsed_lines, dict(p.format_counts), p.total_steps, p.context)


def logs() -> dict[str, bytes]:
    rng = random.Random(7)
    kv, held, mixed = [], [], []
    for rec in range(1, 60):
        redraws = "".join(bar(rec * 20 + k, 2000) for k in range(rng.randint(0, 40)))
        kv.append(f"{redraws}\nstep={rec * 20} loss={1 / rec:.5f} lr=0.0001\n")
        # a record continued by an indented line, then bars: the first bar ends it
        held.append(f"step={rec} loss={1 / rec:.4f}\n    acc=0.5\n{redraws}\n")
        # bars on the record's own line, the last one before a record segment
        post = bar(rec, 60, ", loss=0.5") if rec % 3 == 0 else ""
        mixed.append(f"{redraws}{post}\repoch {rec} step {rec * 10} loss {2 / rec:.4f}\n")
    return {
        "kv": "".join(kv).encode(),
        "held": "".join(held).encode(),
        "mixed": "".join(mixed).encode(),
    }


@pytest.mark.parametrize("name", ["kv", "held", "mixed"])
@pytest.mark.parametrize("chunk", [97, 4096, 1 << 20])
def test_bulk_skip_equals_parsing_every_redraw(
    name: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = logs()[name]
    skipped = read(data, chunk)
    monkeypatch.setattr(parser_module, "_without_redraws", lambda line: line)
    every = read(data, chunk)
    assert skipped == every
    assert len(skipped[0]) >= 59


def test_only_whole_runs_of_bare_bars_are_cut() -> None:
    line = b"".join(bar(i, 100).encode() for i in range(1, 6)) + b"\rstep=5 acc=0.5"
    assert parser_module._without_redraws(line) == bar(5, 100).encode()[1:] + b"\rstep=5 acc=0.5"
    with_loss = bar(1, 100, ", loss=0.5").encode() * 3
    assert parser_module._without_redraws(with_loss) == with_loss  # a postfix may be a record
    other = b"\rsome text" + bar(1, 100).encode() * 3
    assert parser_module._without_redraws(other) == other  # a segment that is not a bar
