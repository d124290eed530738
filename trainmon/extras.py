"""Optional extras: import one when its option is used, or say in one line how to install it."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(Exception):
    """An option needs a package that is not installed; the message names the extra."""


def require(module: str, extra: str, option: str) -> ModuleType:
    """Import `module`, or raise MissingExtra: `--notify needs apprise: pip install ...`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(
            f"{option} needs the {extra} extra: pip install 'trainmon[{extra}]'"
        ) from None
