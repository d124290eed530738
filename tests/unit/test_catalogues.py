"""The catalogues match the code: every message translated, none stale, the same placeholders,
and every committed `.mo` compiled from its `.po` as it is now.

The messages are extracted from the source with Babel at test time (the same extraction as
`pybabel extract -F babel.cfg`), so a new `_()` anywhere fails here until each catalogue
translates it.
"""

from __future__ import annotations

import ast
import gettext
import io
import string
from pathlib import Path

import pytest

from trainmon import i18n

babel_extract = pytest.importorskip("babel.messages.extract", reason="Babel (the test extra)")
from babel.messages.catalog import Catalog  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

PACKAGE = Path(i18n.__file__).resolve().parent
TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != i18n.ENGLISH]

MessageId = str | tuple[str, str]


def source_messages() -> set[MessageId]:
    """Every message marked in trainmon/ (`_`, `N_`, `ngettext`), as Babel extracts it."""
    keywords = dict(babel_extract.DEFAULT_KEYWORDS)
    keywords["N_"] = None
    found: set[MessageId] = set()
    for _file, _line, message, _comments, _context in babel_extract.extract_from_dir(
        PACKAGE, method_map=[("**.py", "python")], keywords=keywords
    ):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


def read_catalogue(lang: str) -> Catalog:
    path = PACKAGE / "locale" / lang / "LC_MESSAGES" / "trainmon.po"
    with path.open("rb") as fp:
        return read_po(fp, locale=lang)


def fields(text: str) -> list[tuple[str, str]]:
    """The `{name:spec}` fields of a message, in sorted order (order may differ)."""
    return sorted(
        (name, spec or "")
        for _lit, name, spec, _conv in string.Formatter().parse(text)
        if name is not None
    )


def problems(source: set[MessageId], catalogue: Catalog) -> list[str]:
    """What is wrong with one catalogue against the source's messages, one line each."""
    out: list[str] = []
    ids: set[MessageId] = set()
    for message in catalogue:
        if not message.id:
            continue
        key: MessageId = message.id if isinstance(message.id, str) else tuple(message.id[:2])  # type: ignore[assignment]
        ids.add(key)
        singular = key if isinstance(key, str) else key[0]
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if message.fuzzy:
            out.append(f"fuzzy: {singular!r}")
        if not all(strings):
            out.append(f"untranslated: {singular!r}")
            continue
        wanted = fields(singular) if isinstance(key, str) else fields(key[1])
        for translated in strings:
            if fields(translated) != wanted:
                out.append(f"placeholders differ: {singular!r} -> {translated!r}")
    out += [f"missing: {m!r}" for m in sorted(source - ids, key=str)]
    out += [f"stale: {m!r}" for m in sorted(ids - source, key=str)]
    return out


@pytest.fixture(scope="module")
def source() -> set[MessageId]:
    return source_messages()


def test_the_source_marks_messages(source: set[MessageId]) -> None:
    assert "no findings: the run looks healthy so far" in source
    assert "no GPU: NVML not found (no NVIDIA driver on this host)" in source
    assert "Training loss is trending up" in source


def test_placeholders_are_named(source: set[MessageId]) -> None:
    """A translation can only reorder named fields: `{}` and `{0}` are refused."""
    positional = [
        m
        for m in source
        for text in ([m] if isinstance(m, str) else list(m))
        for name, _spec in fields(text)
        if name == "" or name.isdigit()
    ]
    assert positional == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_matches_the_source(lang: str, source: set[MessageId]) -> None:
    assert problems(source, read_catalogue(lang)) == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_compiled_catalogue_is_the_po_as_it_is(lang: str) -> None:
    """The committed `.mo` holds exactly the `.po`'s translations (compile after editing)."""
    catalogue = read_catalogue(lang)
    expected: dict[object, str] = {}
    for message in catalogue:
        if not message.id:
            continue
        if isinstance(message.id, str):
            expected[message.id] = str(message.string)
        else:
            for i, form in enumerate(message.string):
                expected[(message.id[0], i)] = form
    with open(i18n.catalogue_path(lang), "rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    catalog = {k: v for k, v in compiled._catalog.items() if k != ""}  # type: ignore[attr-defined]
    assert catalog == expected, f"run: pybabel compile -d trainmon/locale -D trainmon ({lang})"


def _catalogue(entries: dict[str, str]) -> Catalog:
    catalogue = Catalog(locale="ru")
    for msgid, msgstr in entries.items():
        catalogue.add(msgid, msgstr)
    return catalogue


def test_the_check_finds_each_kind_of_problem() -> None:
    source: set[MessageId] = {"loss {value} at step {step}", "paused", "finished"}
    catalogue = _catalogue(
        {
            "loss {value} at step {step}": "loss {value} на шаге {stap}",
            "paused": "",
            "gone": "ушло",
        }
    )
    found = problems(source, catalogue)
    assert "missing: 'finished'" in found
    assert "stale: 'gone'" in found
    assert "untranslated: 'paused'" in found
    assert any(p.startswith("placeholders differ: 'loss {value}") for p in found)
    reordered = _catalogue(
        {
            "loss {value} at step {step}": "на шаге {step} loss {value}",
            "paused": "x",
            "finished": "y",
        }
    )
    assert problems(source, reordered) == []


def test_pot_template_matches_the_source(source: set[MessageId]) -> None:
    """The template translators start from (`trainmon/locale/trainmon.pot`) is current."""
    with (PACKAGE / "locale" / "trainmon.pot").open("rb") as fp:
        template = read_po(io.BytesIO(fp.read()))
    ids = {m.id if isinstance(m.id, str) else tuple(m.id[:2]) for m in template if m.id}
    assert ids == source, "run: pybabel extract (see README, Languages)"


def test_no_message_reads_as_percent_format(source: set[MessageId]) -> None:
    """`pybabel compile` checks messages that look like %-formatting (`5% of`: "% o") against
    their translations and fails on them; percentages go in placeholders (`{share:.0%}`).
    argparse's own words are %-formatted by argparse itself: their translations must keep
    exactly their %-placeholders."""
    from babel.messages.catalog import PYTHON_FORMAT

    from trainmon.argparse_words import WORDS

    looks_like = [
        text
        for m in source
        for text in ([m] if isinstance(m, str) else list(m))
        if PYTHON_FORMAT.search(text) and text not in WORDS
    ]
    assert looks_like == []
    for lang in ("nb", "ru", "zh_CN"):
        path = PACKAGE / "locale" / lang / "LC_MESSAGES" / "trainmon.po"
        with path.open("rb") as fp:
            catalog = read_po(fp)
        for word in WORDS:
            translated = catalog.get(word)
            assert translated is not None and translated.string, (lang, word)
            expected = sorted(m.group(0) for m in PYTHON_FORMAT.finditer(word))
            got = sorted(m.group(0) for m in PYTHON_FORMAT.finditer(str(translated.string)))
            assert got == expected, (lang, word)


def _english_text(node: ast.expr) -> bool:
    """A string literal or f-string with words in it (not only punctuation and fields)."""
    parts = node.values if isinstance(node, ast.JoinedStr) else [node]
    return any(
        isinstance(part, ast.Constant)
        and isinstance(part.value, str)
        and any(ch.isalpha() for ch in part.value)
        for part in parts
    )


def test_every_finding_text_is_marked_for_translation() -> None:
    """A rule's title, evidence and advice (`Hit(severity, step, title, evidence, advice)`)
    go through `_()`: English written straight into a `Hit` would never reach a catalogue."""
    unmarked = []
    for path in sorted((PACKAGE / "advice").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Hit":
                texts = [*node.args[2:5], *(k.value for k in node.keywords)]
                unmarked += [f"{path.name}:{arg.lineno}" for arg in texts if _english_text(arg)]
    assert unmarked == []
