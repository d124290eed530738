"""Formats users teach: `--pattern REGEX` for one run, `formats.toml` for good.

A user format is a regular expression with named groups: `step`, `total` and `epoch` place
the record, every other group is a metric of that name (`(?P<loss>[\\d.]+)`). User formats
are tried before the built-in table, on each line after its prefixes are stripped.

`formats.toml` lives in the user config directory (`$XDG_CONFIG_HOME/trainmon/formats.toml`,
by default `~/.config/trainmon/formats.toml`):

    [[format]]
    name = "my-trainer"
    pattern = 'it (?P<step>\\d+)/(?P<total>\\d+) L=(?P<loss>\\S+) lr=(?P<lr>\\S+)'

A bad pattern or file is a `UserFormatError` whose message is one line naming the problem.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from trainmon.parsing.lines import Hit, LineState
from trainmon.records import RecordKind

PLACE_GROUPS: Final = frozenset({"step", "total", "epoch"})
_EVAL_PREFIXES: Final = ("eval_", "val_", "valid_", "test_")


class UserFormatError(ValueError):
    """A pattern or a formats.toml that cannot be used (the message is one line)."""


@dataclass(frozen=True, slots=True)
class UserFormat:
    """One taught format: a name and a compiled bytes pattern."""

    name: str
    pattern: re.Pattern[bytes]

    def read(self, s: bytes, state: LineState) -> list[Hit] | None:
        """The line's record when the pattern matches it, else None."""
        m = self.pattern.search(s)
        if m is None:
            return None
        values: dict[str, float] = {}
        step: int | None = None
        total: int | None = None
        for name, raw in m.groupdict().items():
            if raw is None:
                continue
            try:
                number = float(raw.replace(b",", b""))
            except ValueError:
                continue
            if name == "step" or name == "total":
                if number == number and 0 <= number < 1e18:
                    if name == "step":
                        step = int(number)
                    else:
                        total = int(number)
            else:
                values[name] = number
        if not any(k != "epoch" for k in values):
            return []
        evals = all(k.startswith(_EVAL_PREFIXES) for k in values if k != "epoch")
        kind: RecordKind = "eval" if evals else "train"
        return [Hit(self.name, kind, values, step, True, total)]


def compile_pattern(text: str, name: str = "pattern") -> UserFormat:
    """A `UserFormat` from a regular expression with named groups; `UserFormatError` if bad."""
    try:
        pattern = re.compile(text.encode())
    except re.error as exc:
        raise UserFormatError(f"{name}: not a valid regular expression: {exc}") from None
    metrics = [g for g in pattern.groupindex if g not in PLACE_GROUPS]
    if not metrics:
        raise UserFormatError(
            f"{name}: needs a named group for at least one metric, e.g. (?P<loss>[0-9.]+)"
        )
    return UserFormat(name, pattern)


def config_path() -> Path:
    """Where `formats.toml` is read from (XDG config directory)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "trainmon" / "formats.toml"


def load_formats(path: Path | None = None) -> tuple[UserFormat, ...]:
    """The formats of a formats.toml (none when the file does not exist)."""
    path = config_path() if path is None else path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise UserFormatError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        doc = tomllib.loads(data.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError as exc:
        raise UserFormatError(f"{path}: not valid TOML: {exc}") from None
    entries = doc.get("format", [])
    if not isinstance(entries, list):
        raise UserFormatError(f"{path}: `format` must be an array of tables ([[format]])")
    out: list[UserFormat] = []
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("pattern"), str):
            raise UserFormatError(f"{path}: format {i} needs a `pattern` string")
        label = entry.get("name")
        label = label if isinstance(label, str) and label else f"user-{i}"
        try:
            out.append(compile_pattern(entry["pattern"], label))
        except UserFormatError as exc:
            raise UserFormatError(f"{path}: {exc}") from None
    return tuple(out)


_active: tuple[UserFormat, ...] = ()


def set_user_formats(formats: tuple[UserFormat, ...]) -> None:
    """Install the formats every `LogParser` tries first (the CLI does, once, at start)."""
    global _active
    _active = tuple(formats)


def user_formats() -> tuple[UserFormat, ...]:
    """The installed user formats, in the order they are tried."""
    return _active
