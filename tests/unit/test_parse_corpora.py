"""The parser against the real third-party corpora, read in place (each skips when absent):
`../shared/logs`, `../shared/trainer_states` and `../shared/logs2`.

Expected record counts come from the corpus MANIFESTs, parsed here, never copied into the
tests. The main series each file must give (loss, eval loss, LR, grad norm) are this project's
reading of the manifests' metric column, written down below per file number.

Counting choice: where several ranks or two writers print the same step (logs2's 204, 218,
224, 225), every printed record is one record, as the manifest counts them; their values
differ between ranks, so merging them would average silently or drop one.
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


def _parse(path: Path) -> tuple[LogParser, list[MetricRecord]]:
    parser = LogParser()
    records = parser.feed(path.read_bytes())
    records += parser.finish()
    return parser, records


def _log_rows(folder: Path) -> list[tuple[str, str, int]]:
    """(file, format, record count) per log a corpus MANIFEST lists."""
    text = (folder / "MANIFEST.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+\.log)` \| [^|]* \| ([^|]+?) \| [^|]+ \| (\d+) \|", text, re.M)
    return [(name, fmt, int(count)) for name, fmt, count in rows]


def _state_rows(shared_trainer_states: Path) -> list[tuple[str, int, int, int, int]]:
    """(file, log_history, train loss entries, eval_loss entries, summary entries)."""
    text = (shared_trainer_states / "MANIFEST.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| `([^`]+\.json)` \| [^|]+ \| \d+ \| (\d+|—) \| (\d+|—) \| (\d+|—) \| (\d+|—) \|",
        text,
        re.M,
    )

    def num(raw: str) -> int:
        return int(raw) if raw.isdigit() else 0

    return [(n, num(a), num(b), num(c), num(d)) for n, a, b, c, d in rows]


# -- the manifests of logs and trainer_states --------------------------------------------------


def test_manifest_tables_are_read(shared_logs: Path, shared_trainer_states: Path) -> None:
    logs = _log_rows(shared_logs)
    states = _state_rows(shared_trainer_states)
    assert len(logs) == len(list(shared_logs.glob("*.log")))
    assert len(states) == len(list(shared_trainer_states.glob("*.json")))


# -- ../shared/logs ----------------------------------------------------------------------------


def test_every_real_log_gives_the_manifest_record_count(shared_logs: Path) -> None:
    wrong = []
    for name, _fmt, count in _log_rows(shared_logs):
        _parser, records = _parse(shared_logs / name)
        if len(records) != count:
            wrong.append(f"{name}: {len(records)} records, manifest says {count}")
        assert all(r.values for r in records), name
    assert not wrong, wrong


def test_detected_format_matches_the_manifest_family(shared_logs: Path) -> None:
    family = {
        "hf-trainer": "hf-trainer",
        "hf-trainer-trl": "hf-trainer",
        "sentence-transformers-v3": "hf-trainer",
        "hf-trainer-state": "trainer-state",
        "keras": "keras",
        "nanogpt": "nanogpt",
        "megatron-deepspeed": "megatron",
        "fairseq": "fairseq",
        "torchtune": "torchtune",
        "mmengine": "mmengine",
        "mmdet-v2": "mmcv",
        "mmcv": "mmcv",
        "detectron2": "detectron2",
        "lightning-progress": "lightning",
        "yolo-results-csv": "csv",
        "key-value": "key-value",
        "custom-print": "key-value",
        "char-rnn-torch7": "char-rnn",
    }
    for name, fmt, _count in _log_rows(shared_logs):
        parser, _ = _parse(shared_logs / name)
        assert parser.format == family[fmt], name


def test_semantic_facts(shared_logs: Path) -> None:
    _, r007 = _parse(shared_logs / "007_hf-trainer_loss-zero-gradnorm-nan.log")
    assert r007[1].values["loss"] == 0.0
    assert all(math.isnan(r.values["grad_norm"]) for r in r007)

    _, r029 = _parse(shared_logs / "029_keras_overfitting.log")
    assert [r.values["eval_loss"] for r in r029][:2] == [0.6770, 0.6765]
    assert r029[-1].values["eval_accuracy"] == 0.5456

    _, r040 = _parse(shared_logs / "040_megatron-deepspeed_gradnorm-nan.log")
    assert all(math.isnan(r.values["grad_norm"]) for r in r040)
    assert all("loss" not in r.values for r in r040)
    assert [r.step for r in r040] == [5426, 5427, 5428]
    assert r040[0].values["learning_rate"] == 2.999e-4

    p024, r024 = _parse(shared_logs / "024_hf-trainer-state_healthy.log")
    evals = [r for r in r024 if r.kind == "eval"]
    assert [round(r.values["eval_loss"], 3) for r in evals] == [0.395, 0.415, 0.389]
    assert evals[0].step == 125
    assert p024.total_steps == 375

    _, r041 = _parse(shared_logs / "041_fairseq_healthy.log")
    valid = [r for r in r041 if r.kind == "eval"]
    assert len(valid) == 1 and valid[0].values["eval_loss"] == 8.11425 and valid[0].step == 600
    assert r041[0].step == 445 and r041[0].values["grad_norm"] == 1.543

    _, r075 = _parse(shared_logs / "075_custom-print_overfitting.log")
    dev = [r for r in r075 if r.kind == "eval"]
    assert [round(r.values["eval_loss"], 2) for r in dev] == [2.51, 2.17, 2.28, 2.52]
    train = [r for r in r075 if r.kind == "train"]
    assert [r.step for r in train] == [1428, 2856, 4284]
    assert dev[1].step == 1428

    _, r042 = _parse(shared_logs / "042_fairseq_noisy.log")
    assert r042[0].time_s is not None and r042[1].time_s - r042[0].time_s == 29.0


LOGS_SERIES: dict[str, set[str]] = {
    "002": {L, R, G}, "003": {L, R}, "005": {L, R, G}, "007": {L, R, G},
    "011": {L, R, G}, "013": {L, R, G}, "015": {L, R, G}, "021": {E},
    "024": {L, E, R, G}, "029": {L, E}, "033": {L, E}, "037": {L},
    "040": {R, G},  # the excerpt's three iterations print no lm loss (NaN grad norm)
    "041": {L, E, R, G}, "042": {L, R, G}, "046": {L, R}, "049": {L, R, G},
    "050": {L, R, G}, "052": {L, R}, "055": {L, R, G}, "057": {L, R}, "061": {L},
    "063": {R},  # YOLO prints box/obj/cls loss components, no single loss
    "069": {L, R}, "071": {L}, "075": {L, E, R}, "077": {L},
}  # fmt: skip
"""The main series each file gives: this project's reading of the manifest's metrics."""


def test_every_real_log_gives_its_main_series_on_one_step_axis(shared_logs: Path) -> None:
    wrong = []
    for name, _fmt, _count in _log_rows(shared_logs):
        _parser, records = _parse(shared_logs / name)
        present = {k for r in records for k in r.values} & set(MAIN)
        if present != LOGS_SERIES[name[:3]]:
            wrong.append(f"{name}: {sorted(present)} vs {sorted(LOGS_SERIES[name[:3]])}")
        train = [r.step for r in records if r.kind == "train"]
        if train != sorted(train):
            wrong.append(f"{name}: train steps go backwards")
    assert not wrong, wrong


# -- ../shared/trainer_states ------------------------------------------------------------------


def test_every_trainer_state_gives_its_log_history(shared_trainer_states: Path) -> None:
    wrong = []
    for name, history, train, evals, summary in _state_rows(shared_trainer_states):
        parser, records = _parse(shared_trainer_states / name)
        kinds = [r.kind for r in records]
        with_eval_loss = sum(1 for r in records if r.kind == "eval" and "eval_loss" in r.values)
        got = (len(records), with_eval_loss, kinds.count("summary"))
        if got != (history, evals, summary):
            wrong.append(f"{name}: {got} vs {(history, evals, summary)}")
        with_loss = sum(1 for r in records if r.kind == "train" and "loss" in r.values)
        if with_loss != train:
            wrong.append(f"{name}: {with_loss} train losses vs {train}")
        if history:
            assert parser.format == "trainer-state", name
            assert all(r.step_exact for r in records if r.kind == "train"), name
    assert not wrong, wrong


def test_trainer_state_reveals_max_steps(shared_trainer_states: Path) -> None:
    parser, records = _parse(
        shared_trainer_states
        / "armenkarakashian+TrOcr-Number-Line-Fraction-Recognition_trainer_state.json"
    )
    assert parser.total_steps == 10000
    assert parser.context["logging_steps"] == 2
    assert records[-1].step == 1400


def test_lfs_pointer_is_not_a_trainer_state(shared_trainer_states: Path) -> None:
    name = "hansung-prism-lab+industry-academia-2025-whisper-stt_output_trainer_state.json"
    parser, records = _parse(shared_trainer_states / name)
    assert records == []
    assert parser.format == "unknown"
    assert parser.unparsed_lines >= 1


# -- ../shared/logs2 ---------------------------------------------------------------------------


LOGS2_SERIES: dict[str, set[str]] = {
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


def test_the_manifest_lists_every_file(shared_logs2: Path) -> None:
    rows = _log_rows(shared_logs2)
    assert sorted(n for n, _, _ in rows) == sorted(p.name for p in shared_logs2.glob("*.log"))
    assert sorted(n[:3] for n, _, _ in rows) == sorted(LOGS2_SERIES)


def test_every_file_gives_the_manifest_count_series_and_one_step_axis(
    shared_logs2: Path,
) -> None:
    wrong: list[str] = []
    for name, _fmt, count in _log_rows(shared_logs2):
        parser, records = _parse(shared_logs2 / name)
        number = name[:3]
        if len(records) != count:
            wrong.append(f"{name}: {len(records)} records, manifest says {count}")
        present = {k for r in records for k in r.values} & set(MAIN)
        if present != LOGS2_SERIES[number]:
            wrong.append(
                f"{name}: series {sorted(present)}, expected {sorted(LOGS2_SERIES[number])}"
            )
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
