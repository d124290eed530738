"""A log fed to a parser in pieces, as a follower's reads cut it."""

from __future__ import annotations

from collections.abc import Iterable

from trainmon.parsing import LogParser
from trainmon.records import MetricRecord


def parse_in_pieces(parser: LogParser, data: bytes, cuts: Iterable[int]) -> list[MetricRecord]:
    """Feed `data` cut at `cuts` (any order, clipped to its length), then finish."""
    records: list[MetricRecord] = []
    prev = 0
    for cut in sorted({min(c, len(data)) for c in cuts}):
        records += parser.feed(data[prev:cut])
        prev = cut
    records += parser.feed(data[prev:])
    records += parser.finish()
    return records
