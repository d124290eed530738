"""Messages in the user's language: stdlib gettext at run time, English when nothing matches.

Every user-facing string goes through `_()` (or `ngettext` where a count decides the form);
strings built at import time are marked with `N_()` and translated where they are shown.
Messages with values use named placeholders (`_("loss {value} at step {step}").format(...)`)
so a translation can put them in the order its language needs.

The language is chosen once, before any message is built: `--lang`, else the first of
`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG` that is set (as the stdlib's `gettext.find`
reads them). Until `set_language` is called the messages are English, so library use and
the tests see the same text whatever the environment. English costs nothing at start-up:
`gettext` is imported only when a catalogue is loaded.

The catalogues are `trainmon/locale/<lang>/LC_MESSAGES/trainmon.po`, compiled to the `.mo`
files committed beside them (see README, "Languages"); `tests/unit/test_catalogues.py`
fails when a message is missing, stale, has other placeholders, or a `.mo` is older than
its `.po`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from gettext import GNUTranslations

DOMAIN: Final = "trainmon"
LOCALE_DIR: Final = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")
"""The catalogues (a plain path: `pathlib` would be an import of its own at every start)."""
ENGLISH: Final = "en"
LANGUAGES: Final = (ENGLISH, "nb", "ru", "zh_CN")
"""English (the messages as written) and every language with a catalogue."""
ENV_VARS: Final = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_ALIASES: Final = {
    "c": ENGLISH,
    "posix": ENGLISH,
    "no": "nb",  # "Norwegian" in older locales means Bokmål
    "zh": "zh_CN",
    "zh_sg": "zh_CN",
    "zh_hans": "zh_CN",
    "zh_hans_cn": "zh_CN",
}

_translation: GNUTranslations | None = None
_language: str = ENGLISH


class UnknownLanguage(ValueError):
    """`--lang` named a language trainmon has no catalogue for."""


def normalise(name: str) -> str | None:
    """The catalogue for a locale name (`ru_RU.UTF-8`, `zh-Hans`, `nb`), or None.

    The encoding (`.UTF-8`) and modifier (`@latin`) are dropped; a region picks the
    language's catalogue (`ru_RU` → `ru`), except Chinese, where only the simplified
    script's regions match `zh_CN` (`zh_TW` readers get English, not a script they
    do not use)."""
    base = name.strip().split(".", 1)[0].split("@", 1)[0].replace("-", "_")
    if not base:
        return None
    key = base.lower()
    language = key.split("_", 1)[0]
    if key in _ALIASES:
        found: str | None = _ALIASES[key]
    elif language == "zh":
        found = next((g for g in LANGUAGES if g.lower() == key), None)
    else:
        found = _ALIASES.get(language, language)
    return found if found in LANGUAGES else None


def choose(requested: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The language to speak: `requested` (`--lang`) when given, else the environment's.

    Raises UnknownLanguage for a `--lang` without a catalogue (the user asked for it by
    name, so silently speaking English would hide a typo); an environment locale without
    one just means English."""
    if requested is not None:
        lang = normalise(requested)
        if lang is None:
            raise UnknownLanguage(requested)
        return lang
    env = os.environ if environ is None else environ
    for var in ENV_VARS:
        value = env.get(var, "")
        if value:
            for name in value.split(":"):
                lang = normalise(name)
                if lang is not None:
                    return lang
            return ENGLISH
    return ENGLISH


def catalogue_path(lang: str) -> str:
    """Where the compiled catalogue of `lang` lives in the installed package."""
    return os.path.join(LOCALE_DIR, lang, "LC_MESSAGES", f"{DOMAIN}.mo")


def set_language(lang: str) -> str:
    """Speak `lang` (one of LANGUAGES) from now on; returns it.

    A catalogue that cannot be read (a broken install) leaves the messages English rather
    than failing: the tool works, only in English."""
    global _translation, _language
    if lang == ENGLISH or lang not in LANGUAGES:
        _translation, _language = None, ENGLISH
        return ENGLISH
    from gettext import GNUTranslations

    try:
        with open(catalogue_path(lang), "rb") as fp:
            _translation = GNUTranslations(fp)
    except (OSError, ValueError):
        _translation, _language = None, ENGLISH
        return ENGLISH
    _language = lang
    return lang


def language() -> str:
    """The language messages are in now (`en` until `set_language` chose another)."""
    return _language


def _(message: str) -> str:
    """`message` in the current language (itself in English or when not translated)."""
    translation = _translation
    return message if translation is None else translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for the count `n`, in the current language."""
    translation = _translation
    if translation is None:
        return singular if n == 1 else plural
    return translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a message built at import time for the catalogue; `_()` translates it later."""
    return message


def cell_width(text: str) -> int:
    """Terminal cells `text` takes: East Asian wide and fullwidth characters two, combining
    marks none (for headless output, which cannot use Rich's `cell_len`)."""
    import unicodedata  # only the text report aligns labels: not at start-up

    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def pad_cells(text: str, cells: int) -> str:
    """`text` padded with spaces to `cells` terminal cells (as it is when it is wider)."""
    return text + " " * max(0, cells - cell_width(text))


def take_lang_option(args: list[str]) -> tuple[str | None, list[str]]:
    """`--lang X` / `--lang=X` taken out of a command line (before any `--`), so every
    subcommand accepts it without each parser knowing it; the last one given wins.

    Raises UnknownLanguage with an empty name for a `--lang` without its value."""
    lang: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg == "--lang":
            if i + 1 >= len(args):
                raise UnknownLanguage("")
            lang = args[i + 1]
            i += 2
            continue
        if arg.startswith("--lang="):
            lang = arg.removeprefix("--lang=")
        else:
            rest.append(arg)
        i += 1
    return lang, rest


def language_from_command_line(args: list[str]) -> tuple[list[str], str | None]:
    """Choose the language from `--lang` or the environment before anything is said, and
    return the command line without `--lang`, with a one-line problem for an unknown one."""
    try:
        requested, rest = take_lang_option(args)
        set_language(choose(requested))
    except UnknownLanguage as exc:
        set_language(choose(None))
        name = str(exc) or "(missing)"
        return args, _("--lang {name}: no catalogue for that language (known: {known})").format(
            name=name, known=", ".join(LANGUAGES)
        )
    return rest, None
