"""The parser against the second real third-party corpus (`../shared/logs2`), read in place.

Expected record counts come from its MANIFEST, parsed here, never copied into the tests.
The main series each file must give (loss, eval loss, LR, grad norm) are this project's
reading of the manifest's metric column, written down below per file number.

Counting choice: where several ranks or two writers print the same step (204, 218, 224,
225), every printed record is one record, as the manifest counts them; their values differ
between ranks, so merging them would average silently or drop one.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise
from pathlib import Path

import pytest

from trainmon.parsing import LogParser
from trainmon.records import MetricRecord

MAIN = ("loss", "eval_loss", "learning_rate", "grad_norm")
L, E, R, G = MAIN

SERIES: dict[str, set[str]] = {
    "201": {L, E, R, G},
    "202": {L, E, R, G},
    "203": {L},
    "204": {L, R},
    "205": {L, R},
    "206": {L, R},
    "207": {L, E},
    "208": {L, G},
    "209": {L, E, R},
    "210": {L},
    "211": {R},  # box, cls and dfl losses are components: no single training loss
    "212": set(),  # accuracies and a SmoothL1 term; no loss, LR or grad norm printed
    "213": {L},
    "214": {L, E},
    "215": {L, E, R},
    "216": {L},
    "217": {L, R},
    "218": {L},
    "219": {L, R},
    "220": {L, E},
    "221": {L},
    "222": {L, R, G},
    "223": {L, R},
    "224": {L},
    "225": {L},
    "226": {L, R},
    "227": {L, E},
    "228": {L, R, G},
    "229": {L, R, G},
    "230": {L, R},
    "231": {L},
    "232": {L, E, R},
    "233": {L, R},
    "234": {L, E},
    "235": {L, G},
    "236": {L, R, G},
    "237": {L, R},
    "238": {L, R},
    "239": {L, R},
    "240": {L, R},
    "241": set(),  # only the final summary dict
}

BACKWARDS = {
    "204": "two processes appended to one trainer_log.jsonl, out of order",
    "205": "several runs appended to one metrics.json",
    "212": "several training sessions appended, epochs restart",
}
"""Files whose train steps go backwards because the file holds several runs (manifest)."""


def _rows(folder: Path) -> list[tuple[str, int]]:
    text = (folder / "MANIFEST.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+\.log)` \| [^|]* \| [^|]+ \| [^|]+ \| (\d+) \|", text, re.M)
    return [(name, int(count)) for name, count in rows]


def _parse(path: Path) -> tuple[LogParser, list[MetricRecord]]:
    parser = LogParser()
    records = parser.feed(path.read_bytes())
    records += parser.finish()
    return parser, records


def test_the_manifest_lists_every_file(shared_logs2: Path) -> None:
    rows = _rows(shared_logs2)
    assert sorted(n for n, _ in rows) == sorted(p.name for p in shared_logs2.glob("*.log"))
    assert sorted(n[:3] for n, _ in rows) == sorted(SERIES)


def test_every_file_gives_the_manifest_count_series_and_one_step_axis(
    shared_logs2: Path,
) -> None:
    wrong: list[str] = []
    for name, count in _rows(shared_logs2):
        parser, records = _parse(shared_logs2 / name)
        number = name[:3]
        if len(records) != count:
            wrong.append(f"{name}: {len(records)} records, manifest says {count}")
        present = {k for r in records for k in r.values} & set(MAIN)
        if present != SERIES[number]:
            wrong.append(f"{name}: series {sorted(present)}, expected {sorted(SERIES[number])}")
        if not all(r.values and isinstance(r.step, int) and r.step >= 0 for r in records):
            wrong.append(f"{name}: a record without values or without a step")
        train = [r.step for r in records if r.kind == "train"]
        if number not in BACKWARDS and any(b < a for a, b in pairwise(train)):
            wrong.append(f"{name}: train steps go backwards")
        if parser.format == "unknown" and count:
            wrong.append(f"{name}: format unknown")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("number", "facts"),
    [
        ("201", {"first_step": 1, "loss0": 11.010252, "grad0": 15.1374}),
        ("208", {"first_step": 1, "loss0": 2.998, "grad0": 0.2370}),
        ("222", {"first_step": 991, "loss0": 10.6, "tokens0": 634e3}),
        ("237", {"first_step": 1000}),
    ],
)
def test_values_and_steps_of_prefixed_and_multi_line_files(
    shared_logs2: Path, number: str, facts: dict[str, float]
) -> None:
    path = next(shared_logs2.glob(f"{number}_*.log"))
    _parser, records = _parse(path)
    train = [r for r in records if r.kind == "train" and "loss" in r.values]
    assert (train or records)[0].step == facts["first_step"]
    if "loss0" in facts:
        assert math.isclose(train[0].values["loss"], facts["loss0"])
    if "grad0" in facts:
        assert math.isclose(train[0].values["grad_norm"], facts["grad0"])
    if "tokens0" in facts:
        assert train[0].values["consumed_tokens"] == facts["tokens0"]


def test_glog_records_join_their_lines(shared_logs2: Path) -> None:
    _p, records = _parse(next(shared_logs2.glob("237_*.log")))
    train = [r for r in records if r.kind == "train"]
    evals = [r for r in records if r.kind == "eval"]
    assert [r.step for r in train] == [1000, 2000, 3000]
    assert all({"loss", "learning_rate"} <= set(r.values) for r in train)
    assert [r.step for r in evals] == [0, 1000, 2000, 3000]
    assert all(len(r.values) == 2 for r in evals)
    _p, records = _parse(next(shared_logs2.glob("238_*.log")))
    assert [len(r.values) for r in records] == [6, 6]  # loss, four outputs, lr


def test_ranks_printing_one_batch_are_kept_apart(shared_logs2: Path) -> None:
    _p, records = _parse(next(shared_logs2.glob("218_*.log")))
    assert len({r.step for r in records}) == 5
    by_step: dict[int, list[float]] = {}
    for r in records:
        by_step.setdefault(r.step, []).append(r.values["loss"])
    assert all(len(v) == 2 and v[0] != v[1] for v in by_step.values())
