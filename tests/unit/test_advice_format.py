"""The detected log format reaches the advice engine (rules word their advice for the
framework that wrote the log)."""

from __future__ import annotations

from pathlib import Path

from trainmon.advice import parse_context
from trainmon.report import read_log

DATA = Path(__file__).parent.parent / "data"


def test_report_context_carries_the_detected_format() -> None:
    # GIVEN imitation logs of two frameworks WHEN read for a report
    hf = read_log(str(DATA / "hf-trainer.log"))
    lightning = read_log(str(DATA / "lightning.log"))
    # THEN the context names the format that produced the records
    assert hf.context["format"] == "hf-trainer" == hf.format
    assert lightning.context["format"] == lightning.format != "hf-trainer"
    assert parse_context(hf.context).hf_trainer
    assert not parse_context(lightning.context).hf_trainer


def test_format_parsing_is_forgiving() -> None:
    assert parse_context({"format": " Trainer-State "}).hf_trainer
    assert parse_context({"format": ""}).log_format is None
    assert parse_context({"format": 3}).log_format is None
    assert not parse_context({}).hf_trainer
