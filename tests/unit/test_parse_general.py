"""The format table, the general metric-line reader, prefixes and multi-line records.

Every fixture here is hand-written imitation text in the style of the framework named; no
third-party log text is copied.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainmon.parsing import FORMATS, LogParser
from trainmon.records import MetricRecord


def _read(text: bytes) -> tuple[LogParser, list[MetricRecord]]:
    parser = LogParser()
    records = parser.feed(text)
    records += parser.finish()
    return parser, records


def test_every_example_of_the_table_parses_as_its_format() -> None:
    for entry in FORMATS:
        if not entry.examples:
            continue
        parser, records = _read("\n".join(entry.examples).encode() + b"\n")
        assert records, entry.name
        assert parser.format == entry.name, (entry.name, parser.format_counts)


NON_METRIC_TEXT = b"""\
Traceback (most recent call last):
  File "/home/me/train.py", line 212, in <module>
    loss = criterion(outputs, labels)
  File "/usr/lib/python3/site-packages/torch/nn/modules/module.py", line 1501, in _call_impl
    return forward_call(*args, **kwargs)
RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 15.78 GiB total capacity)
torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB
Namespace(batch_size=32, epochs=10, loss_weight=0.5, lr=0.001, seed=42, val_loss_every=100)
TrainConfig(run_name='demo', seed=6198, max_duration=15000, learning_rate=0.0003)
python train.py --lr=0.001 --epochs 3 --loss-scale=128 --val_acc_target=0.9
***** Running training *****
  Num examples = 1000
  Num Epochs = 3
  Total optimization steps = 375
==================== Epoch 1 / 3 ====================
model:
  hidden_size: 768
  dropout: 0.1
  loss_weight: 1.0
  label_smoothing_factor: 0.1
  warmup_ratio: 0.03
optimizer: {lr: 0.001, weight_decay: 0.01}
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-05,
    val_loss = 0.0
    best_acc = 0
    def configure(self, lr=0.02, momentum=0.95):
    if loss < 0.5:
print(f"step {step}: loss {loss.item():.4f}")
Successfully installed torch-2.1.0 numpy-1.26.4
| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2 |
|  0  NVIDIA A100-SXM4-80GB  On | 00000000:07:00.0 Off |   0 |
Loading checkpoint shards: 100%|##########| 2/2 [00:03<00:00,  1.52s/it]
Saving model checkpoint to out/checkpoint-500
W1205 12:44:41.166817   276 device_context.cc:447] device: 0, cuDNN Version: 7.6.
[rank0]: NCCL version 2.18.1+cuda12.1
2024-01-01 12:00:00,123 - INFO - Using 8 GPUs, world size = 8
"""


def test_no_record_on_non_metric_text() -> None:
    parser, records = _read(NON_METRIC_TEXT)
    assert records == [], [(r.line_no, r.values) for r in records]
    assert parser.format == "unknown"


# --------------------------------------------------------------- prefixes, for every format

PREFIXES = [
    b"",
    b"[rank0]: ",
    b"[default0]:",
    b"0: ",
    b"localhost: ",
    b"10.0.0.7: ",
    b"[1,0]<stdout>:",
    b"2024-01-01 12:00:00,123 - INFO - ",
    b"2024-01-01T12:00:00.123456789Z ",
    b"INFO:root:",
    b"[INFO|trainer.py:2030] 2024-01-01 12:00:00,123 >> ",
    b"01/17/2024 13:47:27 [INFO|DP=0|PP=0|TP=0|node-3]: ",
    b"I0101 12:00:00.123456  4242 train.cc:87] ",
    b"\xef\xbb\xbf",
    b"\x00\x00\x00",
    b"\x1b]0;title\x07",
]

PREFIXED_LINES = [
    (b"{'loss': 2.5, 'learning_rate': 5e-05, 'epoch': 0.%d}", "hf-trainer", 2.5),
    (b"step=%d0 loss=2.5 lr=1e-4", "key-value", 2.5),
    (b"iter %d0: loss 2.5000, time 100.00ms, mfu 30.00%%", "nanogpt", 2.5),
    (b"Epoch(train) [1][%d0/100]  lr: 1.0e-04  loss: 2.5000", "mmengine", 2.5),
    (b"iteration       %d0/    1000 | lm loss: 2.500000E+00 | grad norm: 1.0 |", "megatron", 2.5),
]


@pytest.mark.parametrize("prefix", PREFIXES, ids=repr)
def test_prefixes_are_stripped_for_every_format(prefix: bytes) -> None:
    for line, fmt, loss in PREFIXED_LINES:
        text = b"".join(prefix + line % i + b"\n" for i in (1, 2, 3))
        parser, records = _read(text)
        assert len(records) == 3, (prefix, line)
        assert parser.format == fmt, (prefix, line)
        assert records[0].values["loss"] == loss


def test_the_same_record_printed_twice_is_one_record() -> None:
    _p, records = _read(b"step=10 loss=2.5\nstep=10 loss=2.5\nstep=20 loss=2.4\n")
    assert [(r.step, r.values["loss"]) for r in records] == [(10, 2.5), (20, 2.4)]


# ------------------------------------------------------------------ multi-line records

GLOG = b"""\
I0101 10:00:00.000001  4242 solver.cpp:330] Iteration 0, Testing net (#0)
I0101 10:00:01.000001  4242 solver.cpp:397]     Test net output #0: accuracy = 0.1
I0101 10:00:01.000002  4242 solver.cpp:397]     Test net output #1: loss = 2.31 (* 1 = 2.31 loss)
I0101 10:00:02.000001  4242 solver.cpp:218] Iteration 100 (5.1 iter/s, 19.6s/100 iters), loss = 0.91
I0101 10:00:02.000002  4242 solver.cpp:237]     Train net output #0: loss = 0.91 (* 1 = 0.91 loss)
I0101 10:00:02.000003  4242 sgd_solver.cpp:105] Iteration 100, lr = 0.01
I0101 10:00:04.000001  4242 solver.cpp:218] Iteration 200 (5.2 iter/s, 19.2s/100 iters), loss = 0.72
I0101 10:00:04.000002  4242 sgd_solver.cpp:105] Iteration 200, lr = 0.01
"""

BLOCKS = b"""\
2024-05-01 10:00:00.000\tnode-1:0\ttrainer.train:120\tINFO\t[step=10/1000,epoch=0]
    train/CrossEntropyLoss=3.012
    optim/total_grad_norm=0.8123
    throughput/total_tokens=1,310,720
2024-05-01 10:00:09.000\tnode-1:0\ttrainer.train:120\tINFO\t[step=20/1000,epoch=0]
    train/CrossEntropyLoss=2.871
    optim/total_grad_norm=0.7011
    throughput/total_tokens=2,621,440
"""

RANKS = b"""\
[1,0]<stdout>:Epoch 0/10, Batch 5/200
[1,1]<stdout>:Epoch 0/10, Batch 5/200
[1,0]<stdout>:Running loss is  2.50 ETA is  1:02:03.5
[1,1]<stdout>:Running loss is  2.61 ETA is  1:02:04.1
[1,0]<stdout>:Epoch 0/10, Batch 6/200
[1,0]<stdout>:Running loss is  2.40 ETA is  1:01:58.0
[1,1]<stdout>:Running loss is  2.52 ETA is  1:01:59.2
"""

PPRINT = b"""\
{'loss': 0.25,
 'grad_norm': 1.5,
 'learning_rate': 1e-05,
 'rewards/accuracy': 0.5,
 'epoch': 0.1}
{'loss': 0.24, 'grad_norm': 1.4, 'learning_rate': 1e-05, 'epoch': 0.2}
"""


def test_glog_lines_of_one_iteration_are_one_record() -> None:
    _p, records = _read(GLOG)
    assert [(r.kind, r.step) for r in records] == [("eval", 0), ("train", 100), ("train", 200)]
    assert records[1].values["loss"] == 0.91 and records[1].values["learning_rate"] == 0.01
    assert records[2].values == {"loss": 0.72, "learning_rate": 0.01}


def test_a_header_and_its_indented_lines_are_one_record() -> None:
    parser, records = _read(BLOCKS)
    assert [r.step for r in records] == [10, 20]
    assert all(r.step_exact for r in records)
    assert records[0].values["loss"] == 3.012 and records[0].values["grad_norm"] == 0.8123
    assert records[1].values["throughput/total_tokens"] == 2_621_440
    assert parser.series_sources["loss"] == "train/CrossEntropyLoss"
    assert parser.total_steps == 1000


def test_ranks_printing_one_batch_stay_apart() -> None:
    _p, records = _read(RANKS)
    assert [(r.step, r.values["loss"]) for r in records] == [
        (5, 2.50), (5, 2.61), (6, 2.40), (6, 2.52),
    ]  # fmt: skip


def test_a_pretty_printed_dict_is_one_record() -> None:
    parser, records = _read(PPRINT)
    assert [r.values["loss"] for r in records] == [0.25, 0.24]
    assert records[0].values["rewards/accuracy"] == 0.5
    assert parser.format == "hf-trainer"


def test_a_held_record_is_released_when_the_log_goes_quiet() -> None:
    parser = LogParser()
    assert parser.feed(b"Iteration 100, loss = 0.5\n") == []  # the next line may continue it
    released = parser.release()
    assert [(r.step, r.values) for r in released] == [(100, {"loss": 0.5})]
    assert parser.release() == []
    assert [r.step for r in parser.feed(b"step=200 loss=0.4\nstep=300 loss=0.3\n")] == [200]


def test_values_with_suffixes_separators_and_units() -> None:
    _p, records = _read(
        b"iteration: 10 / 100 | consumed_tokens: 634K | tokens_per_sec: 1.5M | lm_loss: 10.6"
        b" | throughput: 2,097,152 | mfu: 31.5% | lr: 1e-05\n"
        b"Epoch 3, val loss is 0.0339, val mse is 0.0117.\n"
        b"epoch:1 loss:1.11:  72%|#######   | 282/391 [00:38<00:13,  8.08it/s]\n"
    )
    first, second, third = records
    assert first.step == 10 and first.values["loss"] == 10.6
    assert first.values["consumed_tokens"] == 634e3 and first.values["tokens_per_sec"] == 1.5e6
    assert first.values["throughput"] == 2_097_152 and first.values["mfu"] == 31.5
    assert second.kind == "eval" and second.values["eval_loss"] == 0.0339
    assert third.step == 282 and third.values["loss"] == 1.11


# -------------------------------------------------- a format no entry names, generated

_NAMES = st.sampled_from(["loss", "train_loss", "acc", "val_loss", "ppl", "top1_err", "mse"])
_SEPS = st.sampled_from([(": ", " | "), ("=", " "), (": ", ", "), ("=", ", "), (" ", " | ")])
_COUNTERS = st.sampled_from(
    [
        b"step %d",
        b"it=%d",
        b"iter: %d / 5000",
        b"[step=%d/5000]",
        b"Iteration %d,",
        b"Step [%d/5000]",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(_NAMES, min_size=1, max_size=4, unique=True),
    seps=_SEPS,
    counter=_COUNTERS,
    prefix=st.sampled_from(PREFIXES),
    values=st.lists(
        st.floats(min_value=1e-4, max_value=1e4, allow_nan=False), min_size=5, max_size=5
    ),
)
def test_generated_metric_line_families_parse_without_code_changes(
    names: list[str],
    seps: tuple[str, str],
    counter: bytes,
    prefix: bytes,
    values: list[float],
) -> None:
    sep, joiner = seps
    if sep == " " and any(n not in ("loss", "acc", "ppl") for n in names):
        names = ["loss"]  # a bare space separates only the well-known metric words
    lines = []
    for i, value in enumerate(values):
        step = (i + 1) * 10
        pairs = joiner.join(f"{name}{sep}{value * (j + 1):.6g}" for j, name in enumerate(names))
        lines.append(prefix + (counter % step) + joiner.encode() + pairs.encode() + b"\n")
    _parser, records = _read(b"".join(lines))
    assert len(records) == len(values), lines
    assert [r.step for r in records] == [10, 20, 30, 40, 50], lines
    for record, value in zip(records, values, strict=True):
        got = sorted(v for k, v in record.values.items() if k != "epoch")
        want = sorted(float(f"{value * (j + 1):.6g}") for j in range(len(names)))
        assert all(math.isclose(a, b) for a, b in zip(got, want, strict=True)), (lines, record)


def _bar(n: int) -> str:
    return f" {n * 100 // 300:3d}%|##        | {n}/300 [00:10<00:20,  9.00it/s]"


def test_a_lagging_tqdm_bar_does_not_move_a_record_back() -> None:
    text = "  Num Epochs = 3\n  Total optimization steps = 300\n"
    for step in range(1, 301):
        if step % 100 == 0:
            shown = step - 3 if step == 300 else step  # the last redraw lags three steps
            text += "\r" + _bar(shown)
            text += f"\n{{'loss': {3 - step / 100:.2f}, 'epoch': {step / 100:.1f}}}\n"
        else:
            text += "\r" + _bar(step)
    _p, records = _read(text.encode())
    assert [r.step for r in records] == [100, 200, 300]


def test_a_dict_with_its_own_step_ignores_the_bar() -> None:
    text = "\r" + _bar(41) + "\n{'loss': 1.0, 'step': 40}\n"
    _p, records = _read(text.encode())
    assert [r.step for r in records] == [40]


def test_a_progress_field_holding_step_and_total() -> None:
    parser, records = _read(b'{"loss": 2.5, "global_step/max_steps": "10/500", "lr": 1e-4}\n')
    assert [(r.step, r.values) for r in records] == [(10, {"loss": 2.5, "learning_rate": 1e-4})]
    assert parser.total_steps == 500


def test_an_evaluation_table_is_an_eval_record_on_the_last_step() -> None:
    _p, records = _read(
        b"iter: 100  total_loss: 2.5  lr: 0.01\n"
        b"|   AP   |  AP50  |  AP75  |\n|:------:|:------:|:------:|\n"
        b"| 36.512 | 57.817 | 39.289 |\n"
        b"| Parameter | Value |\n| channels | 768 |\n"
    )
    assert [(r.kind, r.step) for r in records] == [("train", 100), ("eval", 100)]
    assert records[1].values == {"eval_AP": 36.512, "eval_AP50": 57.817, "eval_AP75": 39.289}


def test_a_pandas_series_dump_is_one_record_and_aligned_lines_alone_are_not_lost() -> None:
    _p, records = _read(
        b"step=10 loss=2.5\nloss        0.512\naccuracy    0.810\nName: 3, dtype: float64\n"
        b"loss    0.3\nloss    0.2\n"
    )
    assert [r.values for r in records] == [
        {"loss": 2.5}, {"loss": 0.512, "accuracy": 0.81}, {"loss": 0.3}, {"loss": 0.2},
    ]  # fmt: skip
    parser = LogParser()
    assert parser.feed(b"loss    0.3\n") == []  # a Series may follow
    assert [r.values for r in parser.release()] == [{"loss": 0.3}]
