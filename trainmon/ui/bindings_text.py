"""Key bindings described in the user's language.

The footer shows each binding's description, and Textual merges a class's `BINDINGS` when
the class is made, before `--lang` is read; so the descriptions are marked with `N_()` and
translated on each node as it is made.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.dom import DOMNode

from trainmon.i18n import _


class TranslatedBindings:
    """Mixed in before the Textual class: the node's key descriptions in the user's language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self, DOMNode):
            translate_bindings(self)


def translate_bindings(node: DOMNode) -> None:
    """Replace `node`'s bindings by copies with translated descriptions (English: the same).

    Textual keeps a node's bindings in its own copy of the class's map, so other nodes and
    the class itself are not touched."""
    bindings = node._bindings.key_to_bindings
    for key, found in bindings.items():
        bindings[key] = [
            replace(b, description=_(b.description)) if b.description else b for b in found
        ]
