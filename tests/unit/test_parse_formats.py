"""Table-driven format tests: one hand-written imitation fixture per format in tests/data.

Each case lists every record the fixture must give: kind, step, whether the step was printed
(exact) and the values to check (canonical names; NaN compared as NaN).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from trainmon.parsing import LogParser, format_names
from trainmon.records import MetricRecord

NAN = float("nan")
INF = float("inf")

Expected = tuple[str, int, bool, dict[str, float]]

CASES: dict[str, tuple[str, list[Expected]]] = {
    "hf-trainer.log": (
        "hf-trainer",
        [
            ("train", 10, True, {"loss": 2.3046, "grad_norm": 1.25, "learning_rate": 4.5e-05}),
            ("train", 20, True, {"loss": NAN, "grad_norm": INF, "epoch": 1.0}),
            ("eval", 20, False, {"eval_loss": 1.9, "eval_accuracy": 0.61}),
            ("train", 30, True, {"loss": 1.75, "grad_norm": 0.8, "learning_rate": 3e-05}),
            ("train", 40, True, {"loss": -INF, "grad_norm": 0.5}),
            ("eval", 40, False, {"eval_loss": 1.7}),
            ("summary", 40, False, {"train_runtime": 60.5, "train_loss": 1.9, "epoch": 2.0}),
        ],
    ),
    "trainer-state.json": (
        "trainer-state",
        [
            ("train", 5, True, {"loss": 2.25, "grad_norm": 1.5, "learning_rate": 4e-05}),
            ("train", 10, True, {"loss": 2.0, "epoch": 1.0}),
            ("eval", 10, True, {"eval_loss": 2.125, "eval_runtime": 1.5}),
            ("summary", 20, True, {"train_runtime": 30.25, "train_loss": 2.1}),
        ],
    ),
    "jsonl.log": (
        "jsonl",
        [
            ("train", 5, True, {"loss": 1.5, "learning_rate": 2e-05, "epoch": 0.1}),
            ("train", 10, True, {"loss": 1.25}),
            ("eval", 10, True, {"eval_loss": 1.4}),
            ("train", 20, True, {"loss": 1.0, "grad_norm": 0.5}),
        ],
    ),
    "csv-lightning.log": (
        "csv",
        [
            ("train", 49, True, {"loss": 0.9, "epoch": 0.0}),
            ("train", 99, True, {"loss": 0.7}),
            ("eval", 99, True, {"eval_loss": 0.65, "eval_accuracy": 0.8}),
            ("train", 149, True, {"loss": 0.5, "epoch": 1.0}),
        ],
    ),
    "csv-yolo.log": (
        "csv",
        [
            ("train", 0, False, {"train/box_loss": 0.335, "metrics/mAP50(B)": 0.354}),
            ("train", 1, False, {"val/box_loss": 0.23, "learning_rate": 0.0382}),
        ],
    ),
    "csv-timm.log": (
        "csv",
        [
            ("train", 0, False, {"loss": 6.9, "eval_loss": 6.8, "eval_top1": 0.4}),
            ("train", 1, False, {"loss": 6.5, "eval_loss": 6.1, "learning_rate": 0.0002}),
        ],
    ),
    "keras.log": (
        "keras",
        [
            ("train", 32, False, {"loss": 2.3, "accuracy": 0.1, "epoch": 1.0}),
            ("train", 100, False, {"loss": 1.9, "eval_loss": 1.8, "eval_accuracy": 0.35}),
            ("train", 200, False, {"loss": 1.5, "eval_loss": 1.6, "epoch": 2.0}),
            ("train", 300, False, {"loss": 1.2, "eval_loss": 1.7, "eval_accuracy": 0.5}),
        ],
    ),
    "keras1.log": (
        "keras",
        [
            ("train", 600, False, {"loss": 0.69, "acc": 0.55, "eval_loss": 0.68}),
            ("train", 1200, False, {"loss": 0.65, "eval_loss": 0.69, "eval_accuracy": 0.55}),
        ],
    ),
    "lightning.log": (
        "lightning",
        [
            ("train", 5, False, {"loss": 0.9, "epoch": 0.0}),
            ("train", 10, False, {"loss": 0.8, "train_loss": 0.75}),
            ("train", 15, False, {"loss": 0.7, "eval_loss": 0.85, "epoch": 1.0}),
        ],
    ),
    "nanogpt.log": (
        "nanogpt",
        [
            ("eval", 0, True, {"loss": 10.9876, "eval_loss": 10.9912}),
            ("train", 0, True, {"loss": 10.982, "mfu": -100.0}),
            ("train", 10, True, {"loss": 9.1234, "time_ms": 250.5, "mfu": 31.2}),
            ("train", 20, True, {"loss": 8.5}),
            ("eval", 250, True, {"loss": 4.1, "eval_loss": 4.3}),
        ],
    ),
    "megatron.log": (
        "megatron",
        [
            ("train", 100, True, {"loss": 6.54321, "learning_rate": 1.5e-4, "grad_norm": 1.234}),
            ("train", 200, True, {"loss": 5.4321, "grad_norm": NAN, "loss_scale": 65536.0}),
            ("eval", 200, True, {"eval_loss": 5.5, "eval_ppl": 244.6919}),
        ],
    ),
    "fairseq.log": (
        "fairseq",
        [
            ("train", 100, True, {"loss": 9.5, "learning_rate": 1e-4, "grad_norm": 2.5}),
            ("eval", 100, True, {"eval_loss": 8.5, "eval_ppl": 256.0}),
            ("train", 200, True, {"loss": 8.75, "grad_norm": 2.0, "epoch": 1.0}),
            ("eval", 200, True, {"eval_loss": 8.25, "eval_nll_loss": 7.9}),
        ],
    ),
    "mmengine.log": (
        "mmengine",
        [
            ("train", 50, False, {"loss": 2.5, "learning_rate": 1e-3, "grad_norm": 5.5}),
            ("train", 100, False, {"loss": 2.25, "base_lr": 1e-2, "loss_cls": 1.25}),
            ("eval", 100, False, {"eval_coco/bbox_mAP": 0.123}),
            ("train", 300, True, {"loss": 1.75, "learning_rate": 1e-4}),
        ],
    ),
    "mmcv.log": (
        "mmcv",
        [
            ("train", 150, False, {"loss": 0.75, "learning_rate": 0.02, "grad_norm": 3.5}),
            ("train", 200, False, {"loss": 0.65, "grad_norm": NAN, "epoch": 2.0}),
            ("eval", 200, False, {"eval_bbox_mAP": 0.31}),
            ("train", 400, True, {"loss": 0.4, "decode.loss_seg": 0.4}),
        ],
    ),
    "detectron2.log": (
        "detectron2",
        [
            ("train", 19, True, {"loss": 2.5, "loss_cls": 0.75, "learning_rate": 0.0002}),
            ("train", 39, True, {"loss": 2.25, "learning_rate": 0.0004}),
        ],
    ),
    "torchtune.log": (
        "torchtune",
        [
            ("train", 1, True, {"loss": 1.5, "learning_rate": 2e-05}),
            ("train", 2, True, {"loss": 1.25, "tokens_per_second_per_gpu": 1010.0}),
            ("train", 3, True, {"loss": 1.125, "epoch": 1.0}),
        ],
    ),
    "torchtitan.log": (
        "torchtitan",
        [
            ("train", 1, True, {"loss": 8.1234, "tps": 1234.0, "mfu": 17.66}),
            ("train", 10, True, {"loss": 7.5, "grad_norm": 1.5, "memory": 12.6}),
        ],
    ),
    "metric-logger.log": (
        "metric-logger",
        [
            ("train", 0, False, {"loss": 6.9, "learning_rate": 1e-06}),
            ("train", 10, False, {"loss": 6.8, "epoch": 0.0}),
            ("eval", 10, False, {"eval_loss": 6.5, "eval_acc1": 1.0}),
            ("eval", 10, False, {"eval_acc1": 1.5, "eval_acc5": 6.0, "eval_loss": 6.45}),
        ],
    ),
    "fastai.log": (
        "fastai",
        [
            ("train", 0, False, {"loss": 0.612345, "eval_loss": 0.523456, "accuracy": 0.812}),
            ("train", 1, False, {"loss": 0.412345, "eval_loss": 0.423456}),
        ],
    ),
    "sentence-transformers.log": (
        "sentence-transformers",
        [
            ("eval", 100, True, {"eval_cosine_pearson": 0.8123, "eval_cosine_spearman": 0.8234}),
            ("eval", 100, True, {"eval_manhattan_pearson": 0.8011}),
        ],
    ),
    "char-rnn.log": (
        "char-rnn",
        [
            ("train", 1, True, {"loss": 4.19, "epoch": 0.01, "grad/param_norm": 0.5}),
            ("train", 2, True, {"loss": 4.10, "time/batch": 0.11}),
        ],
    ),
    "epoch-counter.log": (
        "key-value",
        [
            # `Step [n/600]` restarts every epoch: the step is (epoch - 1) x 600 + n
            ("train", 100, False, {"loss": 2.3012, "epoch": 1.0}),
            ("train", 200, False, {"loss": 2.1034, "epoch": 1.0}),
            ("train", 700, False, {"loss": 1.95, "epoch": 2.0}),
            # epoch counters alone: the epoch numbers are below the steps, so count on
            # (by one: no printed step gave the interval)
            ("train", 701, False, {"loss": 1.7, "Acc": 0.41, "epoch": 3.0}),
            ("train", 702, False, {"loss": 1.6, "learning_rate": 0.001, "epoch": 4.0}),
        ],
    ),
    "key-value.log": (
        "key-value",
        [
            ("train", 10, True, {"loss": 2.3, "learning_rate": 1e-4}),
            ("train", 20, True, {"loss": 2.1, "acc": 0.4}),
            # epoch numbers below the printed steps: the axis counts on by the interval
            ("train", 30, False, {"loss": 1.5, "epoch": 3.0}),
            ("train", 40, False, {"loss": 1.25, "eval_loss": 1.5}),
            ("train", 50, False, {"loss": 0.75}),
        ],
    ),
}


def _parse(path: Path) -> tuple[LogParser, list[MetricRecord]]:
    parser = LogParser()
    records = parser.feed(path.read_bytes())
    records += parser.finish()
    return parser, records


def _same(a: float, b: float) -> bool:
    if math.isnan(b):
        return math.isnan(a)
    return a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_records(name: str, data_dir: Path) -> None:
    fmt, expected = CASES[name]
    parser, records = _parse(data_dir / name)
    assert parser.format == fmt
    got = [(r.kind, r.step, r.step_exact) for r in records]
    assert got == [(kind, step, exact) for kind, step, exact, _ in expected]
    for record, (_, _, _, values) in zip(records, expected, strict=True):
        assert "step" not in record.values
        for key, want in values.items():
            assert key in record.values, (key, dict(record.values))
            assert _same(record.values[key], want), (key, record.values[key], want)


def test_every_fixture_has_a_case(data_dir: Path) -> None:
    assert sorted(p.name for p in data_dir.iterdir() if p.is_file()) == sorted(CASES)


def test_known_formats_name_every_detected_format() -> None:
    assert {fmt for fmt, _ in CASES.values()} <= set(format_names())


def test_hf_fixture_facts(data_dir: Path) -> None:
    parser, records = _parse(data_dir / "hf-trainer.log")
    assert parser.total_steps == 40
    assert parser.context["num_train_epochs"] == 2
    # the WARNING line's dict is mid-line text, not a metric record
    assert all(r.values.get("loss") != 9.9 for r in records)
    assert parser.lines == 11
    assert parser.unparsed_lines == 5  # the banner (4 lines) and the WARNING line


def test_trainer_state_context(data_dir: Path) -> None:
    parser, _records = _parse(data_dir / "trainer-state.json")
    assert parser.total_steps == 20
    assert parser.context["logging_steps"] == 5
    assert parser.context["eval_steps"] == 10
    assert parser.unparsed_lines == 0
    assert parser.lines == 39


def test_epoch_counters_reveal_the_total() -> None:
    only_epochs = LogParser()
    out = only_epochs.feed(b"Epoch [30/100] loss=0.5\nEpoch [31/100] loss=0.49\n")
    out += only_epochs.release()  # the last line could have continued on the next one
    assert [(r.step, r.values["epoch"]) for r in out] == [(30, 30.0), (31, 31.0)]
    assert only_epochs.total_steps == 100
    inner = LogParser()
    out = inner.feed(b"Epoch [2/10], Step [5/40], Loss: 0.5\n") + inner.release()
    assert [(r.step, r.step_exact) for r in out] == [(45, False)]
    assert inner.total_steps == 400
    keyed = LogParser()
    out = keyed.feed(b"Training Epoch:[844/1500]\t loss=10.32\t lr=0.0001\n") + keyed.release()
    assert [(r.step, r.step_exact, r.values["epoch"]) for r in out] == [(844, False, 844.0)]
    assert keyed.total_steps == 1500


def test_keyvalue_context(data_dir: Path) -> None:
    parser, _ = _parse(data_dir / "key-value.log")
    assert parser.context["fp16"] is True
    assert parser.context["max_grad_norm"] == 1.0
    assert parser.context["learning_rate"] == 5e-05


def test_timestamps(data_dir: Path) -> None:
    _, fairseq = _parse(data_dir / "fairseq.log")
    assert fairseq[0].time_s is None
    assert fairseq[2].time_s is not None and fairseq[3].time_s is not None
    assert fairseq[3].time_s - fairseq[2].time_s == 60.0
    _, mmcv = _parse(data_dir / "mmcv.log")
    assert mmcv[1].time_s is not None and mmcv[0].time_s is not None
    assert mmcv[1].time_s - mmcv[0].time_s == pytest.approx(60.0)
    _, mmengine = _parse(data_dir / "mmengine.log")
    assert mmengine[0].time_s is not None


def test_megatron_and_char_rnn_reveal_totals(data_dir: Path) -> None:
    assert _parse(data_dir / "megatron.log")[0].total_steps == 1000
    assert _parse(data_dir / "char-rnn.log")[0].total_steps == 500
    assert _parse(data_dir / "mmengine.log")[0].total_steps == 10000


# Lines people print by hand, one per fresh parser: (line, step, step exact, values).
HAND_WRITTEN = [
    (b"[Epoch 3] train_loss=0.41 val_loss=0.52", 3, False, {"loss": 0.41, "epoch": 3.0}),
    (b"Epoch 3: train loss 0.41, val loss 0.52", 3, False, {"loss": 0.41, "eval_loss": 0.52}),
    (b"train: epoch 3 iter 100/500 loss=0.41", 1100, False, {"loss": 0.41, "epoch": 3.0}),
    (b"[100/5000] loss: 2.310 lr: 0.0003", 100, True, {"loss": 2.31, "learning_rate": 3e-4}),
    (b"Step 200: loss=2.1, lr=2e-4", 200, True, {"loss": 2.1, "learning_rate": 2e-4}),
    (b"{'train/loss': 2.3, 'train/global_step': 100}", 100, True, {"loss": 2.3}),
]


@pytest.mark.parametrize(("line", "step", "exact", "values"), HAND_WRITTEN)
def test_hand_written_lines(line: bytes, step: int, exact: bool, values: dict[str, float]) -> None:
    parser = LogParser()
    records = parser.feed(line + b"\n") + parser.release()
    assert [(r.step, r.step_exact) for r in records] == [(step, exact)]
    for key, want in values.items():
        assert records[0].values[key] == pytest.approx(want)
    assert not any("step" in key for key in records[0].values)


def test_spaced_names_need_a_known_metric_word() -> None:
    parser = LogParser()
    assert parser.feed(b"Epoch 3: processed 512 images, dropped 2\n") == []


def test_nanogpt_iter_lines_with_a_trailing_learning_rate() -> None:
    """Forks of nanoGPT print the LR last: it is read, and time and mfu still are."""
    from trainmon.parsing import LogParser

    parser = LogParser()
    records = parser.feed(
        b"iter 10: loss 3.1000, time 20.50ms, mfu 1.20%, lr 6.0000e-04\n"
        b"iter 20: loss 2.9000, time 19.00ms, mfu 1.30%\n"
    )
    assert [r.step for r in records] == [10, 20]
    assert records[0].values == {
        "loss": 3.1,
        "time_ms": 20.5,
        "mfu": 1.2,
        "learning_rate": 6e-4,
    }
    assert "learning_rate" not in records[1].values
