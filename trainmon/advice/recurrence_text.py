"""How a finding that came back reads: written by the engine, read back by the details view.

The engine merges the episodes of a recurring finding into one evidence line that opens with
their count and the first and last step; the finding's details show those as fields. Both
sides use the one template, in the user's language, so the details can read the count and
steps back whatever the language (a translation may put them in another order).
"""

from __future__ import annotations

import re
from typing import Final

from trainmon.i18n import N_, _

EPISODES: Final = N_(
    "{count} episodes (first at step {first_step}, last at step {last_step}); "
    "{tally}cleared in between; first: {first}"
)

_FIELDS: Final = {
    "count": r"(?P<count>\d+)",
    "first_step": r"(?P<first_step>\S+?)",
    "last_step": r"(?P<last_step>\S+?)",
}


def episodes_evidence(count: int, first_step: str, last_step: str, tally: str, first: str) -> str:
    """The merged evidence of `count` episodes (`tally` ends with ", " when given)."""
    return _(EPISODES).format(
        count=count, first_step=first_step, last_step=last_step, tally=tally, first=first
    )


def episodes_in(evidence: str) -> tuple[int, str, str] | None:
    """(count, first step, last step) when `evidence` opens as a merged one, else None.

    The template is matched up to the text that follows the last of the three fields, so
    what the engine appends after them (the tally, the first episode's evidence) may be
    anything."""
    import string  # only the finding details read evidence back: not at start-up

    pattern, wanted = "", set(_FIELDS)
    for literal, name, _spec, _conversion in string.Formatter().parse(_(EPISODES)):
        pattern += re.escape(literal)
        if not wanted or name is None:
            break
        wanted.discard(name)
        pattern += _FIELDS.get(name, rf"(?P<{name}>.*?)")
    found = re.match(pattern, evidence, re.DOTALL)

    if found is None:
        return None
    return int(found["count"]), found["first_step"], found["last_step"]
