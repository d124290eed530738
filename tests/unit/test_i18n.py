"""Choosing the language: `--lang`, else the environment as gettext reads it, else English."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.trainmon_process import trainmon
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


def test_unknown_lang_is_one_line_and_exit_2() -> None:
    r = trainmon("report", "--lang", "xx", "nothing.log")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "--lang xx" in r.stderr and "en" in r.stderr


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ru_RU.UTF-8"}, "ru"),
        ({"LANG": "nb_NO.UTF-8"}, "nb"),
        ({"LANG": "no_NO"}, "nb"),
        ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LANG": "zh_SG.UTF-8"}, "zh_CN"),
        ({"LANGUAGE": "zh"}, "zh_CN"),
        ({"LANG": "zh_TW.UTF-8"}, "en"),  # traditional script: no catalogue, English
        ({"LANGUAGE": "de:ru", "LANG": "en_US.UTF-8"}, "ru"),  # the first one with a catalogue
        ({"LC_ALL": "ru_RU.UTF-8", "LANG": "nb_NO.UTF-8"}, "ru"),
        ({"LC_MESSAGES": "nb_NO.UTF-8", "LANG": "ru_RU.UTF-8"}, "nb"),
        ({"LANGUAGE": "", "LANG": "ru_RU.UTF-8"}, "ru"),  # an empty variable is not set
    ],
)
def test_environment_picks_a_catalogue(environ: dict[str, str], expected: str) -> None:
    assert i18n.choose(None, environ) == expected


def test_lang_option_wins_over_the_environment() -> None:
    assert i18n.choose("nb", {"LANG": "ru_RU.UTF-8"}) == "nb"
    assert i18n.choose("zh-CN", {}) == "zh_CN"
    assert i18n.choose("ru_RU.UTF-8", {}) == "ru"


@pytest.mark.parametrize("lang", [lang for lang in i18n.LANGUAGES if lang != "en"])
def test_a_catalogue_translates_and_counts(lang: str) -> None:
    assert i18n.set_language(lang) == lang
    assert i18n.language() == lang
    healthy = "no findings: the run looks healthy so far"
    assert i18n._(healthy) != healthy
    one = i18n.ngettext("{count} other line", "{count} other lines", 1).format(count=1)
    many = i18n.ngettext("{count} other line", "{count} other lines", 5).format(count=5)
    assert "1" in one and "5" in many


def test_russian_plural_forms() -> None:
    i18n.set_language("ru")
    forms = [
        i18n.ngettext("{count} other line", "{count} other lines", n).format(count=n)
        for n in (1, 3, 5, 21)
    ]
    assert forms == [
        "1 другая строка",
        "3 другие строки",
        "5 других строк",
        "21 другая строка",
    ]


def test_a_broken_catalogue_leaves_english(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "ru" / "LC_MESSAGES" / "trainmon.mo"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a catalogue")
    monkeypatch.setattr(i18n, "LOCALE_DIR", str(tmp_path))
    assert i18n.set_language("ru") == "en"
    assert i18n._("paused") == "paused"


def _report(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return trainmon("report", *args, env=env)


def test_report_json_keeps_ids_and_severities_and_says_the_language(data_dir: Path) -> None:
    log = str(data_dir / "hf-trainer.log")
    english = json.loads(_report(log, "--json").stdout)
    env = {**os.environ, "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"}
    chinese = json.loads(_report(log, "--json", env=env).stdout)
    russian = json.loads(_report(log, "--json", "--lang", "ru", env=env).stdout)
    assert (english["lang"], chinese["lang"], russian["lang"]) == ("en", "zh_CN", "ru")
    for doc in (chinese, russian):
        assert [(f["rule"], f["severity"], f["step"]) for f in doc["findings"]] == [
            (f["rule"], f["severity"], f["step"]) for f in english["findings"]
        ]
        for mine, theirs in zip(doc["findings"], english["findings"], strict=True):
            assert mine["title"] != theirs["title"] and mine["advice"] != theirs["advice"]
    assert "梯度" in chinese["findings"][0]["title"]


def test_cli_errors_and_help_in_the_language(tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing.log")
    r = _report(missing, "--lang", "nb")
    assert r.returncode == 2 and "filen finnes ikke" in r.stderr
    r = trainmon("--lang", "ru", "--help")
    assert r.returncode == 0 and "Терминальный монитор обучения" in r.stdout
    assert "--lang LANG" in r.stdout
    # argparse's own frame too: its usage line, its option group and its errors
    assert r.stdout.startswith("использование: trainmon") and "\nпараметры:" in r.stdout
    assert "показать эту справку и выйти" in r.stdout
    r = trainmon("report", "--lang", "nb", "--bogus", missing)
    assert r.returncode == 2 and "ukjente argumenter: --bogus" in r.stderr
    english = trainmon(
        "report",
        "--help",
        env={k: v for k, v in os.environ.items() if k not in i18n.ENV_VARS},
    )
    assert english.stdout.startswith("usage: trainmon report")
    # a folder's report too
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _report(str(empty), "--lang", "ru")
    assert r.returncode == 1 and "запуски не найдены" in r.stderr


def test_cell_width_counts_wide_characters_twice() -> None:
    assert i18n.cell_width("loss") == 4
    assert i18n.cell_width("学习率") == 6
    assert i18n.cell_width("依据：") == 6  # the fullwidth colon is wide too
    assert i18n.cell_width("скорость") == 8
    assert i18n.cell_width("e\u0301") == 1  # a combining accent takes no cell
    assert i18n.pad_cells("建议", 6) == "建议  "
    assert i18n.pad_cells("too long", 3) == "too long"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_text_report_labels_line_up_in_cells(lang: str, data_dir: Path) -> None:
    r = _report(str(data_dir / "hf-trainer.log"), "--lang", lang)
    lines = r.stdout.splitlines()
    start = lines.index(next(x for x in lines if x.startswith("  [critical]")))
    evidence, advice = lines[start + 1], lines[start + 2]

    def value_cell(line: str) -> int:
        label_end = line.index(" ", 6)
        rest = line[label_end:]
        return i18n.cell_width(line[:label_end]) + len(rest) - len(rest.lstrip(" "))

    assert value_cell(evidence) == value_cell(advice)
    assert "[critical] nan-grad-norm" in r.stdout  # ids and severities as machines read them


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_details_read_back_a_recurring_findings_episodes(lang: str) -> None:
    """The engine writes the episodes into the evidence in the user's language; the finding's
    details read the count and the steps back from it in the same language."""
    from trainmon.advice.recurrence_text import episodes_evidence, episodes_in

    i18n.set_language(lang)
    evidence = episodes_evidence(3, "40", "900", "loss non-finite on 4 record(s), ", "x; y")
    assert episodes_in(evidence) == (3, "40", "900")
    assert episodes_in("loss nan at step 40") is None


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_text_report_summary_lines_are_translated_and_aligned(lang: str, data_dir: Path) -> None:
    log = str(data_dir / "hf-trainer.log")
    lines = _report(log, "--lang", lang).stdout.splitlines()
    head = lines[: lines.index("")]
    assert head[0].endswith(f" {log}") and head[1].endswith(" hf-trainer")  # as the log says

    def value_cell(line: str) -> int:
        label = line.split(" ", 1)[0]
        return i18n.cell_width(label) + len(line[len(label) :]) - len(line[len(label) :].lstrip())

    assert len({value_cell(line) for line in head}) == 1, head
    table = lines[len(head) + 1]
    rows = lines[len(head) + 2 : lines.index("", len(head) + 1)]
    assert {i18n.cell_width(row) for row in rows} == {i18n.cell_width(table)}  # columns line up
    words = (head[0].split()[0], head[3].split()[0], table.split()[0])
    if lang == i18n.ENGLISH:
        assert words == ("log", "records", "series")
        assert head[3] == "records   7 (train 4, eval 2, summary 1)"
    else:
        assert not set(words) & {"log", "records", "series"}
