"""The parser against the real third-party corpus, read in place (skips when it is absent).

Expected counts come from the corpus MANIFESTs, parsed here, never copied into the tests.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from trainmon.parsing import LogParser
from trainmon.records import MetricRecord


def _parse(path: Path) -> tuple[LogParser, list[MetricRecord]]:
    parser = LogParser()
    records = parser.feed(path.read_bytes())
    records += parser.finish()
    return parser, records


def _log_rows(shared_logs: Path) -> list[tuple[str, str, int]]:
    text = (shared_logs / "MANIFEST.md").read_text(encoding="utf-8")
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


def test_manifest_tables_are_read(shared_logs: Path, shared_trainer_states: Path) -> None:
    logs = _log_rows(shared_logs)
    states = _state_rows(shared_trainer_states)
    assert len(logs) == len(list(shared_logs.glob("*.log")))
    assert len(states) == len(list(shared_trainer_states.glob("*.json")))


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


_L, _E, _R, _G = "loss", "eval_loss", "learning_rate", "grad_norm"
MAIN_SERIES: dict[str, set[str]] = {
    "002": {_L, _R, _G}, "003": {_L, _R}, "005": {_L, _R, _G}, "007": {_L, _R, _G},
    "011": {_L, _R, _G}, "013": {_L, _R, _G}, "015": {_L, _R, _G}, "021": {_E},
    "024": {_L, _E, _R, _G}, "029": {_L, _E}, "033": {_L, _E}, "037": {_L},
    "040": {_R, _G},  # the excerpt's three iterations print no lm loss (NaN grad norm)
    "041": {_L, _E, _R, _G}, "042": {_L, _R, _G}, "046": {_L, _R}, "049": {_L, _R, _G},
    "050": {_L, _R, _G}, "052": {_L, _R}, "055": {_L, _R, _G}, "057": {_L, _R}, "061": {_L},
    "063": {_R},  # YOLO prints box/obj/cls loss components, no single loss
    "069": {_L, _R}, "071": {_L}, "075": {_L, _E, _R}, "077": {_L},
}  # fmt: skip
"""The main series each file gives: this project's reading of the manifest's metrics."""


def test_every_real_log_gives_its_main_series_on_one_step_axis(shared_logs: Path) -> None:
    wrong = []
    for name, _fmt, _count in _log_rows(shared_logs):
        _parser, records = _parse(shared_logs / name)
        present = {k for r in records for k in r.values} & {_L, _E, _R, _G}
        if present != MAIN_SERIES[name[:3]]:
            wrong.append(f"{name}: {sorted(present)} vs {sorted(MAIN_SERIES[name[:3]])}")
        train = [r.step for r in records if r.kind == "train"]
        if train != sorted(train):
            wrong.append(f"{name}: train steps go backwards")
    assert not wrong, wrong
