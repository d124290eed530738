"""Choosing the language: `--lang`, else the environment as gettext reads it, else English."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from trainmon import i18n


@pytest.fixture(autouse=True)
def english_after() -> Iterator[None]:
    yield
    i18n.set_language(i18n.ENGLISH)


def test_english_until_a_language_is_set() -> None:
    assert i18n.language() == "en"
    assert i18n._("no findings: the run looks healthy so far") == (
        "no findings: the run looks healthy so far"
    )
    assert i18n.ngettext("{count} other line", "{count} other lines", 1) == "{count} other line"
    assert i18n.ngettext("{count} other line", "{count} other lines", 2) == "{count} other lines"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "POSIX"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANGUAGE": "de:fr", "LANG": "C"}, "en"),
        ({"LC_ALL": "en_GB.UTF-8", "LANG": "de_DE"}, "en"),
    ],
)
def test_environment_without_a_catalogue_is_english(environ: dict[str, str], expected: str) -> None:
    assert i18n.choose(None, environ) == expected


def test_unknown_lang_option_is_refused() -> None:
    with pytest.raises(i18n.UnknownLanguage):
        i18n.choose("klingon")
    assert i18n.choose("en") == "en"
    assert i18n.choose("en_US.UTF-8") == "en"


def test_lang_option_is_taken_out_of_the_command_line() -> None:
    assert i18n.take_lang_option(["--lang", "en", "report", "x"]) == ("en", ["report", "x"])
    assert i18n.take_lang_option(["report", "--lang=en", "x"]) == ("en", ["report", "x"])
    # after `--` the arguments belong to the wrapped command
    assert i18n.take_lang_option(["--", "python", "t.py", "--lang", "de"]) == (
        None,
        ["--", "python", "t.py", "--lang", "de"],
    )
    with pytest.raises(i18n.UnknownLanguage):
        i18n.take_lang_option(["report", "--lang"])


def test_unknown_lang_is_one_line_and_exit_2(tmp_path: object) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "trainmon", "report", "--lang", "xx", "nothing.log"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "--lang xx" in r.stderr and "en" in r.stderr
