"""The terminal-safe form of outside text: visible controls, exact JSON, bounded names."""

from __future__ import annotations

import json

import orjson
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import ATTACKS, RAW_UNSAFE, assert_terminal_safe, hostile_text
from trainmon.text import (
    MAX_NAME_CHARS,
    display_name,
    has_unsafe,
    json_terminal_safe,
    shorten,
    terminal_safe,
    terminal_safe_lines,
)


def test_each_kind_of_control_has_a_visible_form() -> None:
    assert terminal_safe("a\x1b]2;t\x07b") == "a␛]2;t␇b"
    assert terminal_safe("\x00\t\n\r\x1f") == "␀␉␊␍␟"
    assert terminal_safe("del\x7f") == "del␡"
    assert terminal_safe("c1\x9b31m") == "c1\\x9b31m"
    assert terminal_safe("evil\u202etxt.exe") == "evil\\u202etxt.exe"
    assert terminal_safe("\u2066\u2069\u200e\u200f\u061c") == (
        "\\u2066\\u2069\\u200e\\u200f\\u061c"
    )


def test_ordinary_text_is_unchanged() -> None:
    text = "eval_accuracy 0.91 → 0.93 · Ünïcödé 中文 [bold]not markup[/]"
    assert terminal_safe(text) == text
    assert not has_unsafe(text)


def test_multi_line_form_keeps_only_newlines() -> None:
    assert terminal_safe_lines("a\nb\x1b[2J\r\n") == "a\nb␛[2J␍\n"


@given(st.text())
def test_no_control_or_bidi_survives(text: str) -> None:
    safe = terminal_safe(text)
    assert RAW_UNSAFE.search(safe) is None
    assert "\n" not in safe
    assert not has_unsafe(safe)
    for line in terminal_safe_lines(text).split("\n"):
        assert_terminal_safe(line, "terminal_safe_lines")


@given(st.text(st.characters(blacklist_categories=("Cc", "Cf", "Zl", "Zp"))))
def test_text_without_controls_passes_through(text: str) -> None:
    assert terminal_safe(text) == text


@given(st.dictionaries(hostile_text, st.floats(allow_nan=False, allow_infinity=False), max_size=8))
def test_json_escapes_decode_to_the_exact_names(values: dict[str, float]) -> None:
    data = json_terminal_safe(orjson.dumps(values))
    assert_terminal_safe(data.decode(), "json")
    assert json.loads(data) == values


def test_json_without_unsafe_characters_is_returned_as_is() -> None:
    data = orjson.dumps({"loss": 1.5, "name": "é中"})
    assert json_terminal_safe(data) is data


def test_names_are_cut_with_an_ellipsis() -> None:
    assert shorten("short") == "short"
    cut = display_name("x" * 200_000)
    assert len(cut) == MAX_NAME_CHARS
    assert cut.endswith("…")
    assert len(display_name("\x1b" * 100)) == MAX_NAME_CHARS


def test_every_listed_attack_is_neutralised() -> None:
    for attack in ATTACKS:
        assert_terminal_safe(terminal_safe(attack), repr(attack))
