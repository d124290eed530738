"""Property tests: the parser never raises, and chunking never changes what it finds."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pieces import parse_in_pieces
from trainmon.parsing import LogParser

DATA = Path(__file__).resolve().parent.parent / "data"

TOKENS = [
    b"{",
    b"}",
    b"{'",
    b"'",
    b'"',
    b"{'loss': ",
    b"'eval_loss': ",
    b'{"step": ',
    b"loss",
    b": ",
    b"=",
    b" ",
    b"  ",
    b"\n",
    b"\r",
    b"\r\n",
    b"1.5",
    b"-2e-05",
    b"nan",
    b"inf",
    b"1e400",
    b"np.float64(",
    b"tensor(",
    b")",
    b",",
    b"|",
    b"[",
    b"]",
    b"/",
    b"<",
    b" 10/20 [00:01<00:01,  1.0it/s]",
    b"epoch",
    b"Epoch 1/3",
    b"step=",
    b"iter ",
    b"iteration  5/ 10 | lm loss: 2.0 |",
    b"\x1b[31m",
    b"\x1b[A",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"epoch,train_loss,val_loss",
    b"0,1.0,2.0",
    b"\t",
]

tokens = st.lists(st.sampled_from(TOKENS), max_size=80).map(b"".join)


def _fixture_lines() -> list[bytes]:
    lines: list[bytes] = []
    for path in sorted(DATA.iterdir()):
        lines += path.read_bytes().splitlines()
    return lines


LINES = _fixture_lines()


def _key(records: list) -> list:  # type: ignore[type-arg]
    return [
        (
            r.kind,
            r.step,
            r.step_exact,
            r.line_no,
            r.time_s,
            tuple((k, repr(v)) for k, v in r.values.items()),
        )
        for r in records
    ]


def _run(data: bytes, cuts: list[int]) -> tuple[list, int, int | None]:  # type: ignore[type-arg]
    parser = LogParser()
    records = parse_in_pieces(parser, data, cuts)
    return _key(records), parser.lines, parser.total_steps


def _whole(data: bytes) -> tuple[list, int, int | None]:  # type: ignore[type-arg]
    return _run(data, [])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=20))
def test_arbitrary_bytes_never_raise_and_chunking_does_not_matter(
    data: bytes, cuts: list[int]
) -> None:
    assert _run(data, cuts) == _whole(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tokens, st.lists(st.integers(0, 2000), max_size=20))
def test_token_soup_never_raises_and_chunking_does_not_matter(data: bytes, cuts: list[int]) -> None:
    assert _run(data, cuts) == _whole(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(LINES), st.sampled_from([b"\n", b"\r", b"\r\n"])),
        max_size=40,
    ),
    st.lists(st.integers(0, 5000), max_size=30),
)
def test_real_looking_lines_in_any_chunking(
    lines: list[tuple[bytes, bytes]], cuts: list[int]
) -> None:
    data = b"".join(line + end for line, end in lines)
    assert _run(data, cuts) == _whole(data)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(LINES), min_size=1, max_size=30))
def test_complete_lines_fed_one_by_one(lines: list[bytes]) -> None:
    data = b"".join(line + b"\n" for line in lines)
    cuts = []
    pos = 0
    for line in lines:
        pos += len(line) + 1
        cuts.append(pos)
    assert _run(data, cuts) == _whole(data)
