"""Log parsing: any framework's training log in, `MetricRecord`s on one step axis out.

Public interface: `LogParser` (incremental, format-detecting), `canonical_name` (the one
metric vocabulary) and `FORMATS` / `known_formats()` (the format table, for `trainmon
formats` and messages).
"""

from __future__ import annotations

from trainmon.parsing.formats import FORMATS, format_names, known_formats
from trainmon.parsing.names import canonical_name
from trainmon.parsing.parser import LogParser

__all__ = ["FORMATS", "LogParser", "canonical_name", "format_names", "known_formats"]
