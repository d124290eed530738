"""argparse's own words (`usage: `, `options`, its error lines) in the user's language.

argparse words its frame through the standard library's gettext, looked up in its module as
`argparse._` (the function `gettext.gettext`, in the global text domain), while trainmon's
messages live in their own domain. The one adapter to that internal: while argparse still
looks its words up that way, the lookup is pointed at trainmon's catalogue; an argparse that
does otherwise keeps its words in English (the fallback), and `--help` stays correct.
"""

from __future__ import annotations

import argparse
from typing import Final

from trainmon.i18n import N_, _, language

WORDS: Final = (
    N_("usage: "),
    N_("options"),
    N_("positional arguments"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("expected one argument"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
)
"""The words argparse shows on trainmon's parsers, for the catalogues."""


def speak_argparse() -> bool:
    """Point argparse's lookup at trainmon's catalogue; True when argparse still looks its
    words up through `gettext.gettext` (else nothing changes)."""
    import gettext

    lookup = getattr(argparse, "_", None)
    if lookup is _:
        return True
    if lookup is not gettext.gettext or language() == "en":
        return False
    argparse._ = _  # type: ignore[attr-defined]
    return True
