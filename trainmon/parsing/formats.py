"""The formats trainmon reads, as one table: name, who prints it, example lines, a pre-check.

Line formats are tried in table order on each line (after its launcher and logger prefixes
are stripped); a format's pre-check is a few `in` tests, so a line pays for a regex only when
it can be that format. The general reader (`general.py`) comes last, so a log that no entry
names still parses when its lines look like metrics. Entries without a reader are read by
dedicated paths: printed dicts (`parser.py`, the fast path), JSON documents and tables
(`tables.py`); their examples still go through the parser in the tests.

`trainmon formats`, the "no recognisable metrics" message and the README table all come from
`FORMATS`; user formats (`--pattern`, `formats.toml`) are tried before it (`user.py`).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from trainmon.parsing import lines as L
from trainmon.parsing.general import read_general
from trainmon.parsing.lines import ANSI, Hit, LineState, read_context, stamp
from trainmon.parsing.prefixes import strip_prefix
from trainmon.parsing.user import user_formats

if TYPE_CHECKING:
    from trainmon.parsing.tables import TableReader

Reader = Callable[[bytes, LineState], "list[Hit] | None"]


@dataclass(frozen=True, slots=True)
class LineFormat:
    """One entry of the format table."""

    name: str
    printed_by: str
    examples: tuple[str, ...]
    precheck: Callable[[bytes], bool] | None = None
    read: Reader | None = None
    """None: read by the dict, JSON-document or table path instead of the line loop."""


def _has(*needles: bytes) -> Callable[[bytes], bool]:
    return lambda s: all(n in s for n in needles)


FORMATS: Final[tuple[LineFormat, ...]] = (
    LineFormat(
        "hf-trainer",
        "Hugging Face Trainer, TRL, axolotl, LLaMA-Factory, Unsloth, sentence-transformers v3",
        (
            "{'loss': 0.51, 'grad_norm': 1.2, 'learning_rate': 5e-05, 'epoch': 0.3}",
            "{'eval_loss': 0.42, 'eval_runtime': 3.1, 'epoch': 1.0}",
        ),
    ),
    LineFormat(
        "trainer-state",
        "trainer_state.json (its log_history, max_steps, logging_steps)",
        ('{"log_history": [{"loss": 0.5, "step": 20}], "max_steps": 100}',),
    ),
    LineFormat(
        "jsonl",
        "JSON lines: LLaMA-Factory trainer_log.jsonl, detectron2 metrics.json, any JSON per line",
        ('{"current_steps": 10, "total_steps": 100, "loss": 1.2, "lr": 1e-05}',),
    ),
    LineFormat(
        "csv",
        "CSV and TSV tables: Lightning metrics.csv, YOLO results.csv, Keras CSVLogger, timm",
        ("epoch,train_loss,val_loss,lr", "0,0.91,0.95,0.001"),
    ),
    LineFormat(
        "fastai",
        "fastai's printed table",
        (
            "epoch  train_loss  valid_loss  accuracy  time",
            "0      0.61        0.52        0.81      00:12",
        ),
    ),
    LineFormat(
        "table",
        "Markdown-style evaluation tables (Detectron2 / COCO evaluation consoles)",
        (
            "|   AP   |  AP50  |  AP75  |  APs  |",
            "|:------:|:------:|:------:|:-----:|",
            "| 36.512 | 57.817 | 39.289 | 20.74 |",
        ),
    ),
    LineFormat(
        "pandas-series",
        "a pandas Series printed with print(series)",
        ("loss        0.512", "accuracy    0.810", "dtype: float64"),
    ),
    LineFormat(
        "yolov5-results",
        "YOLOv5 results.txt (no header)",
        (
            "     0/99     1.86G   0.09831   0.09352         0    0.1918        24       416"
            "         0         0  0.005487  0.001083   0.09149   0.05837         0",
        ),
    ),
    LineFormat(
        "megatron",
        "Megatron-LM, Megatron-DeepSpeed",
        (
            "iteration      100/    1000 | learning rate: 3.0E-04 | lm loss: 2.3E+00 |"
            " grad norm: 1.2 |",
        ),
        _has(b"iteration", b"|"),
        L.read_megatron,
    ),
    LineFormat(
        "fairseq",
        "fairseq",
        (
            "epoch 001:  450 / 1891 loss=11.521, ppl=1886.05, lr=8.9e-05, gnorm=1.543,"
            " num_updates=445",
        ),
        lambda s: b"epoch " in s and (b"loss=" in s or b" subset" in s or b"| loss " in s),
        L.read_fairseq,
    ),
    LineFormat(
        "mmengine",
        "MMEngine (MMDetection 3, MMPretrain, ...)",
        ("Epoch(train) [1][ 50/4309]  lr: 5.96e-05  grad_norm: 993.3  loss: 1111.4",),
        lambda s: b"Epoch(" in s or b"Iter(" in s,
        L.read_mmengine,
    ),
    LineFormat(
        "mmcv",
        "MMCV runners (MMDetection 2)",
        ("Epoch [3][50/1749]\tlr: 2.000e-02, eta: 0:52:33, loss: 0.7339, grad_norm: 0.0668",),
        lambda s: (b"Epoch [" in s or b"Iter [" in s) and b": " in s,
        L.read_mmcv,
    ),
    LineFormat(
        "detectron2",
        "Detectron2 (and fvcore-style loggers)",
        ("iter: 199  total_loss: 3.188  loss_cls: 0.312  lr: 0.000698",),
        lambda s: b"iter: " in s and b"loss" in s,
        L.read_detectron2,
    ),
    LineFormat(
        "torchtune",
        "torchtune",
        ("Step 3 | loss:0.905 lr:2e-05", "1|18|Loss: 1.75:  18%|##   | 18/101"),
        lambda s: (s.startswith(b"Step ") and b"|" in s) or b"|Loss: " in s,
        L.read_torchtune,
    ),
    LineFormat(
        "torchtitan",
        "torchtitan",
        ("step: 10  loss:  8.1234  memory: 12.3GiB(15%)  tps: 1,234  mfu: 2.1%",),
        _has(b"step:", b"loss:"),
        L.read_torchtitan,
    ),
    LineFormat(
        "nanogpt",
        "nanoGPT",
        (
            "iter 100: loss 4.0863, time 561.94ms, mfu 30.1%",
            "step 500: train loss 3.9, val loss 4.0",
        ),
        lambda s: b"iter " in s or (b"train loss" in s and b"val loss" in s),
        L.read_nanogpt,
    ),
    LineFormat(
        "metric-logger",
        "DeiT / DETR / torchvision MetricLogger",
        ("Epoch: [0]  [ 10/1251]  eta: 0:10:00  lr: 0.000001  loss: 6.9 (6.9)",),
        lambda s: b"Epoch: [" in s or (b"Test:" in s and b"[" in s) or b"* Acc@1" in s,
        L.read_metric_logger,
    ),
    LineFormat(
        "keras",
        "Keras / tf.keras (and R keras)",
        (
            "Epoch 2/15",
            "1875/1875 [====] - 5s 2ms/step - loss: 0.29 - accuracy: 0.91 - val_loss: 0.14",
        ),
        lambda s: s.startswith(b"Epoch ") and s[6:7].isdigit(),
        L.read_keras_epoch,
    ),
    LineFormat(
        "lightning",
        "PyTorch Lightning progress bar",
        ("Epoch 0:  97%|###| 1651/1702 [13:00<00:24, 2.11it/s, loss=0.158, v_num=0]",),
        lambda s: s.startswith(b"Epoch ") and b"%" in s and b"=" in s,
        L.read_lightning,
    ),
    LineFormat(
        "keras",
        "",
        (),
        lambda s: b" - " in s and b": " in s and s[:1].isdigit(),
        L.read_keras,
    ),
    LineFormat(
        "char-rnn",
        "char-rnn (Torch7)",
        ("170/9500 (epoch 0.895), train_loss = 2.844, grad/param norm = 1.3e-01",),
        _has(b"(epoch ", b"train_loss = "),
        L.read_char_rnn,
    ),
    LineFormat(
        "sentence-transformers",
        "sentence-transformers fit() evaluators",
        (
            "Evaluating the model on the sts-dev dataset after epoch 1:",
            "Cosine-Similarity :\tPearson: 0.8123\tSpearman: 0.8234",
        ),
        _has(b"Evaluating the model on"),
        L.read_st_header,
    ),
    LineFormat(
        "sentence-transformers",
        "",
        (),
        None,  # only while an evaluation header is active (see `parse_segment`)
        L.read_st_result,
    ),
    LineFormat(
        "key-value",
        "anything else that prints `name: value` pairs with a step counter (the general reader)",
        (
            "step=10 loss=2.3 lr=1e-4",
            "iter: 10 / 500 | loss: 2.3 | grad_norm: 0.8",
            "Epoch [3/100], Step [200/600], Loss: 0.4100",
            "[step=10/500,epoch=0] train/CrossEntropyLoss=2.99",
            "Iter 5: Train loss 3.361, Learning Rate 1.000e-05, Tokens/sec 512.3",
            "epoch:1 loss:1.11:  72%|###  | 282/391 [00:38<00:13,  8.08it/s]",
        ),
        lambda s: True,
        read_general,
    ),
)
"""Every format, in the order the line loop tries them (dict and table formats first)."""

_LINE_FORMATS: Final = tuple(f for f in FORMATS if f.read is not None and f.name != "key-value")
_ST_RESULT: Final = L.read_st_result


def known_formats() -> tuple[str, ...]:
    """One line per named format: `name: example` (for messages and `trainmon formats`)."""
    out: list[str] = []
    for f in FORMATS:
        if f.printed_by and f.examples:
            out.append(f"{f.name} ({f.printed_by}): {f.examples[0]}")
    return tuple(out)


def closest_format(lines: list[bytes]) -> LineFormat | None:
    """The named format whose examples look most like the first non-blank `lines` (for the
    "no recognisable metrics" message), or None without any text to compare."""
    import difflib

    sample = [strip_prefix(x).strip().decode("utf-8", "replace") for x in lines if x.strip()]
    if not sample:
        return None
    best: tuple[float, LineFormat] | None = None
    for entry in FORMATS:
        for example in entry.examples:
            for line in sample[:20]:
                ratio = difflib.SequenceMatcher(None, line[:200], example, autojunk=False).ratio()
                if best is None or ratio > best[0]:
                    best = (ratio, entry)
    return best[1] if best is not None else None


def markdown_table() -> str:
    """The README's table of formats (a test keeps the README equal to it)."""
    rows = ["| format | printed by | example |", "|---|---|---|"]
    for entry in FORMATS:
        if not entry.printed_by:
            continue
        examples = "<br>".join(
            "`" + " ".join(e.split()).replace("|", "\\|") + "`" for e in entry.examples
        )
        rows.append(f"| {entry.name} | {entry.printed_by} | {examples} |")
    return "\n".join(rows)


def format_names() -> tuple[str, ...]:
    """The distinct format names, in table order."""
    return tuple(dict.fromkeys(f.name for f in FORMATS))


def parse_segment(
    seg: bytes,
    state: LineState,
    tables: TableReader,
    context: MutableMapping[str, object],
) -> list[Hit]:
    """Every record on one `\\r`/`\\n`-free segment; `[]` when it holds none."""
    if b"\x1b" in seg or b"\x08" in seg:
        seg = ANSI.sub(b"", seg)
    raw = seg
    body = strip_prefix(seg)
    state.indented = body[:1] in (b" ", b"\t")
    s = body.strip()
    if not s:
        return []
    if s.endswith((b"it/s]", b"s/it]")) and b"oss" not in s:
        return []  # a bare tqdm bar: its counter is read by the dict path's look-back
    hit = tables.feed(s)
    if hit is not None:
        return [hit] if hit.values else []
    hits = read_line(s, state)
    if hits:
        when = stamp(raw)
        if when is not None:
            hits = [h._replace(time_s=when) for h in hits]
        return hits
    read_context(s, context)
    return []


def read_line(s: bytes, state: LineState) -> list[Hit]:
    """A stripped line through the user formats, the format table, then the general reader."""
    for taught in user_formats():
        found = taught.read(s, state)
        if found is not None:
            return found
    for entry in _LINE_FORMATS:
        check = entry.precheck
        if check is None:
            if not state.st_active:
                continue
        elif not check(s):
            continue
        assert entry.read is not None
        hits = entry.read(s, state)
        if hits is not None:
            return hits
    return read_general(s, state)


def closest_example(path: str, lines: int = 40) -> str | None:
    """`name: example` of the known format nearest to the first `lines` lines of `path`
    (None when it cannot be read or holds no text): the hint for a log nothing parsed."""
    try:
        with open(path, "rb") as f:
            head = [f.readline(4096) for _ in range(lines)]
    except OSError:
        return None
    entry = closest_format(head)
    return f"{entry.name}: {entry.examples[0]}" if entry is not None and entry.examples else None
