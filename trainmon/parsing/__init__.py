"""Log parsing: any framework's training log in, `MetricRecord`s on one step axis out.

Public interface: `LogParser` (incremental, format-detecting), `canonical_name` (the one
metric vocabulary) and `KNOWN_FORMATS` (for the "formats I know" message).
"""

from __future__ import annotations

from trainmon.parsing.formats import KNOWN_FORMATS
from trainmon.parsing.names import canonical_name
from trainmon.parsing.parser import LogParser

__all__ = ["KNOWN_FORMATS", "LogParser", "canonical_name"]
