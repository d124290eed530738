"""The frame the dashboard's modal screens (help, a finding in full, the quit question) share:
centred, never wider or taller than the terminal, as tall as its content. Each screen sets
only its frame's width (and its border colour, when it warns)."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

Result = TypeVar("Result")


class FramedModal(ModalScreen[Result]):
    """A modal screen whose one child, a `Vertical` or a `VerticalScroll`, is the bordered
    frame its content sits in."""

    DEFAULT_CSS = """
    FramedModal {
        align: center middle;
    }
    FramedModal > Vertical, FramedModal > VerticalScroll {
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        border-title-color: $primary;
        background: $surface;
        padding: 0 1;
    }
    """
