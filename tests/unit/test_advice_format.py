"""What the log and its folder reveal reaches the advice engine: the detected format (rules
word their advice for the framework that wrote the log), and the vocabulary size or class
count of a model config beside the log (the rules that compare a loss with ln(vocab) or
ln(classes) need them)."""

from __future__ import annotations

import json
from pathlib import Path

from trainmon.advice import parse_context
from trainmon.report import read_log, summary_run
from trainmon.run import run_context

DATA = Path(__file__).parent.parent / "data"


def test_report_context_carries_the_detected_format() -> None:
    # GIVEN imitation logs of two frameworks WHEN read for a report
    hf_summary = read_log(str(DATA / "hf-trainer.log"))
    lightning_summary = read_log(str(DATA / "lightning.log"))
    hf = summary_run(hf_summary).context
    lightning = summary_run(lightning_summary).context
    # THEN the run context names the format that produced the records
    assert hf["format"] == "hf-trainer" == hf_summary.format
    assert lightning["format"] == lightning_summary.format != "hf-trainer"
    assert parse_context(hf).hf_trainer
    assert not parse_context(lightning).hf_trainer


def test_a_log_without_records_names_no_format() -> None:
    assert "format" not in run_context({}, "unknown", {})
    assert "format" not in run_context({}, None, {})
    assert run_context({"format": "x"}, "hf-trainer", {"format": "y"})["format"] == "y"


def test_format_parsing_is_forgiving() -> None:
    assert parse_context({"format": " Trainer-State "}).hf_trainer
    assert parse_context({"format": ""}).log_format is None
    assert parse_context({"format": 3}).log_format is None
    assert not parse_context({}).hf_trainer


def test_report_reads_vocab_and_classes_from_a_config_beside_the_log(tmp_path) -> None:
    log = tmp_path / "train.log"
    log.write_text("".join(f"step={k} loss=0.69\n" for k in range(1, 5)))
    (tmp_path / "config.json").write_text(
        json.dumps({"architectures": ["BertForSequenceClassification"], "num_labels": 2})
    )
    assert summary_run(read_log(str(log))).context["num_classes"] == 2
