"""Bad and awkward input: never a traceback, never a lost record after it."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from trainmon.parsing import LogParser, canonical_name
from trainmon.records import MetricRecord

GOOD = b"{'loss': 0.5, 'learning_rate': 1e-05, 'epoch': 1.0}\n"


def parse(data: bytes, chunk: int | None = None) -> tuple[LogParser, list[MetricRecord]]:
    parser = LogParser()
    records: list[MetricRecord] = []
    if chunk is None:
        records += parser.feed(data)
    else:
        for i in range(0, len(data), chunk):
            records += parser.feed(data[i : i + chunk])
    records += parser.finish()
    return parser, records


def losses(records: list[MetricRecord]) -> list[float]:
    return [r.values["loss"] for r in records if "loss" in r.values]


def test_binary_and_nul_bytes_are_skipped() -> None:
    junk = bytes(range(256)) * 8 + b"\x00\x00{'loss'\x00: 1}\n"
    parser, records = parse(junk + GOOD)
    assert losses(records) == [0.5]
    assert parser.unparsed_lines >= 1


def test_ten_megabyte_line_does_not_hide_the_next_record() -> None:
    big = b"x" * (10 << 20) + b"\n"
    for chunk in (None, 1 << 20):
        parser, records = parse(big + GOOD + b"loss: 0.25\n", chunk)
        assert losses(records) == [0.5, 0.25], chunk
        assert parser.lines == 3


def test_ten_megabyte_dict_line_is_bounded() -> None:
    line = b"{'loss': 1.0, " + b"'k': 'v', " * (1 << 20) + b"'epoch': 1}\n"
    _, records = parse(line + GOOD, 1 << 20)
    assert losses(records)[-1] == 0.5


def test_invalid_utf8_is_replaced() -> None:
    data = b"\xff\xfe loss: 2.5 \xc3\n{'lo\xffss': 1.0, 'loss': 3.0}\n"
    _, records = parse(data)
    assert losses(records) == [2.5, 3.0]
    assert "lo\ufffdss" in records[1].values


def test_ansi_escapes_are_stripped() -> None:
    data = b"\x1b[32mstep=5 \x1b[1mloss=\x1b[0m0.75 lr=1e-3\x1b[0m\n"
    _, records = parse(data)
    assert records[0].step == 5
    assert records[0].values == {"loss": 0.75, "learning_rate": 1e-3}


def test_markup_characters_are_plain_text() -> None:
    data = b"[bold]loss: 1.5[/] [red]acc: 0.5[/red]\n{'loss': 2.0, '[b]x[/b]': 1.0}\n"
    _, records = parse(data)
    assert losses(records) == [1.5, 2.0]
    assert records[1].values["[b]x[/b]"] == 1.0


def test_huge_exponent_is_infinite() -> None:
    _, records = parse(b"{'loss': 1e400, 'grad_norm': -1e400, 'epoch': 1}\n")
    assert records[0].values["loss"] == math.inf
    assert records[0].values["grad_norm"] == -math.inf


def test_deep_nesting_neither_recurses_nor_loses_records() -> None:
    deep = b"{" * 200_000 + b"}" * 200_000 + b"\n"
    deep_dict = b"{'a': " * 100_000 + b"1" + b"}" * 100_000 + b"\n"
    brackets = b"[" * 200_000 + b"\n"
    json_deep = b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"\n"
    for chunk in (None, 4096):
        _, records = parse(deep + deep_dict + brackets + json_deep + GOOD, chunk)
        assert losses(records) == [0.5]


def test_last_line_without_newline_is_parsed_at_finish() -> None:
    parser = LogParser()
    first = parser.feed(b"{'loss': 1.0, 'epoch': 0.1}\n{'loss': 2.0, 'epoch'")
    assert losses(first) == [1.0]
    records = parser.finish(b": 0.2}")
    assert losses(records) == [2.0]
    assert parser.lines == 2


def test_partial_line_is_held_until_its_newline() -> None:
    parser = LogParser()
    first = parser.feed(b"{'loss': 1.0, 'epo")
    assert first == []
    second = parser.feed(b"ch': 0.1}\n")
    assert losses(second) == [1.0]


def test_crlf_and_carriage_returns() -> None:
    data = b"step=1 loss=3.0\r\nstep=2 loss=2.0\rstep=3 loss=1.0\r\n"
    parser, records = parse(data)
    assert [(r.step, r.values["loss"]) for r in records] == [(1, 3.0), (2, 2.0), (3, 1.0)]
    assert parser.lines == 2


def test_glued_dicts_and_dict_after_bar() -> None:
    bar = b" 50%|#####     | 10/20 [00:10<00:10,  1.00it/s]"
    data = bar + b"{'loss': 1.0, 'epoch': 0.5}{'eval_loss': 1.5, 'epoch': 0.5}\n"
    _, records = parse(data)
    assert [(r.kind, r.step) for r in records] == [("train", 10), ("eval", 10)]


def test_eval_bar_does_not_set_the_train_step() -> None:
    train_bar = b"\r 50%|#####     | 10/20 [00:10<00:10,  1.00it/s]"
    eval_bar = b"\r100%|##########| 5/5 [00:01<00:00,  5.00it/s]"
    data = (
        train_bar
        + b"\r{'loss': 1.0, 'epoch': 0.5}\n"
        + eval_bar
        + b"\r{'loss': 0.9, 'epoch': 0.6}\n"
    )
    _, records = parse(data)
    assert records[0].step == 10 and records[0].step_exact
    assert records[1].step != 5


def test_reconstructed_steps_follow_the_interval() -> None:
    data = (
        b"\r 10%|#         | 10/100 [00:10<01:30,  1.00it/s]\r{'loss': 3.0, 'epoch': 0.1}\n"
        b"\r 20%|##        | 20/100 [00:20<01:20,  1.00it/s]\r{'loss': 2.0, 'epoch': 0.2}\n"
        b"{'loss': 1.0, 'epoch': 0.3}\n"
        b"{'eval_loss': 1.5, 'epoch': 0.3}\n"
    )
    _, records = parse(data)
    assert [(r.step, r.step_exact) for r in records] == [
        (10, True),
        (20, True),
        (30, False),
        (30, False),
    ]


def test_plain_dict_log_uses_the_record_ordinal() -> None:
    _, records = parse(GOOD * 3)
    assert [(r.step, r.step_exact) for r in records] == [(1, False), (2, False), (3, False)]


def test_non_metric_dicts_and_values_are_dropped() -> None:
    data = (
        b"{'model_type': 'llama', 'hidden_size': 4096}\n"
        b"{'loss': 1.0, 'note': 'text', 'flag': True, 'none': None, 'version': '4.41.2'}\n"
    )
    _, records = parse(data)
    assert len(records) == 1
    assert records[0].values == {"loss": 1.0}


def test_json_block_that_is_not_a_trainer_state_is_read_as_lines() -> None:
    data = b'{\n  "name": "x",\n  "lr": 1\n}\n' + GOOD
    _, records = parse(data)
    assert losses(records) == [0.5]


def test_unclosed_json_block_is_flushed_at_finish() -> None:
    data = b"{\n" + GOOD + b"loss: 0.25\n"
    for chunk in (None, 7):
        _, records = parse(data, chunk)
        assert losses(records) == [0.5, 0.25]


def test_finish_starts_a_new_segment() -> None:
    parser = LogParser()
    first = parser.feed(b"step=100 loss=1.0\n") + parser.finish()
    second = parser.feed(b"loss: 2.0\n") + parser.finish()
    assert first[0].step == 100
    assert second[0].step == 1 and second[0].line_no == 1
    assert parser.lines == 2


def test_canonical_names() -> None:
    assert canonical_name("val_loss", "train") == "eval_loss"
    assert canonical_name("val_acc", "train") == "eval_accuracy"
    assert canonical_name("valid_loss", "eval") == "eval_loss"
    assert canonical_name("lm loss", "train") == "loss"
    assert canonical_name("lr", "train") == "learning_rate"
    assert canonical_name("grad norm", "train") == "grad_norm"
    assert canonical_name("gnorm", "train") == "grad_norm"
    assert canonical_name("total_loss", "train") == "loss"
    assert canonical_name("train loss", "eval") == "loss"
    assert canonical_name("val loss", "eval") == "eval_loss"
    assert canonical_name("avg_loss", "eval") == "eval_loss"
    assert canonical_name("accuracy", "eval") == "eval_accuracy"
    assert canonical_name("eval_accuracy", "eval") == "eval_accuracy"
    assert canonical_name("mfu", "train") == "mfu"
    assert canonical_name("train_loss", "summary") == "train_loss"


def test_hf_banner_is_context_not_metrics() -> None:
    banner = (
        b"[INFO|trainer.py:2314] 2026-01-01 07:00:05,100 >> ***** Running training *****\n"
        b"[INFO|trainer.py:2321] 2026-01-01 07:00:05,100 >>   Gradient Accumulation steps = 4\n"
        b"[INFO|trainer.py:2322] 2026-01-01 07:00:05,100 >>   Total optimization steps = 2,000\n"
    )
    parser, records = parse(banner + GOOD)
    assert len(records) == 1
    assert parser.total_steps == 2000
    assert parser.format == "hf-trainer"


def test_generated_hf_log_gives_the_generator_count(tmp_path: Path) -> None:
    """The shared HF log generator (bench/gen_hf_log.py) says how many records it wrote."""
    gen_path = Path(__file__).resolve().parents[2] / "bench" / "gen_hf_log.py"
    if not gen_path.is_file():
        pytest.skip("bench/gen_hf_log.py not present")
    spec = importlib.util.spec_from_file_location("gen_hf_log", gen_path)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    out = tmp_path / "hf.log"
    truth = gen.generate(out, 3_000_000, seed=3)
    data = out.read_bytes()
    for chunk in (None, 65536):
        parser, records = parse(data, chunk)
        kinds = [r.kind for r in records]
        assert len(records) == truth["records"]
        assert kinds.count("eval") == truth["eval"]
        assert kinds.count("summary") == truth["summary"]
        assert parser.total_steps == truth["total_steps"]
        train = [r for r in records if r.kind == "train"]
        assert all(r.step_exact for r in train)
        steps = [r.step for r in train]
        assert steps == sorted(steps) and len(set(steps)) == len(steps)


def test_config_dumps_fill_the_context() -> None:
    data = (
        b"{'max_steps': 500, 'vocab_size': 32000, 'max_grad_norm': 1.0}\n"
        b'Model config {"vocab_size": 50257, "num_labels": 3}\n'
        b"TrainingArguments(\nbf16=True,\nfp16=False,\nlogging_steps=10,\nwarmup_steps=0,\n)\n"
        + GOOD
    )
    parser, records = parse(data)
    assert len(records) == 1
    assert parser.total_steps == 500
    assert parser.context["vocab_size"] == 50257
    assert parser.context["num_labels"] == 3
    assert parser.context["max_grad_norm"] == 1.0
    assert parser.context["bf16"] is True and parser.context["fp16"] is False
    assert parser.context["logging_steps"] == 10
    assert records[0].step == 10  # no counter: the configured logging interval


def test_a_restarted_run_with_another_total_keeps_exact_steps() -> None:
    def run(total: int) -> bytes:
        bar = b"\r 10%%|#         | 5/%d [00:05<00:45,  1.00it/s]" % total
        banner = b"  Total optimization steps = %d\n" % total
        return banner + bar + b"\r{'loss': 1.0, 'epoch': 0.1}\n"

    parser = LogParser()
    first = parser.feed(run(50)) + parser.finish()
    second = parser.feed(run(80)) + parser.finish()
    assert (first[0].step, first[0].step_exact) == (5, True)
    assert (second[0].step, second[0].step_exact) == (5, True)
    assert parser.total_steps == 80


def test_epoch_only_batch_lines_get_increasing_steps() -> None:
    data = b"".join(
        b"Train Epoch: %d [%d/600 (%d%%)]\tLoss: %.3f\n" % (e, i * 64, i * 10, 2.0 / (i + e))
        for e in (1, 2)
        for i in range(3)
    )
    _, records = parse(data)
    steps = [r.step for r in records]
    assert len(records) == 6
    assert steps == sorted(steps) and len(set(steps)) == 6
    assert [r.values["epoch"] for r in records] == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    assert not any(r.step_exact for r in records)
