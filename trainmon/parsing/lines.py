"""The readers of the named text formats (everything that is not a printed dict or a table).

Each reader is one entry of the format table in `formats.py`, which guards it with a cheap
pre-check so that a line pays for a regex only when it can be that format. Readers return
`Hit`s with the names as printed; the parser canonicalises them and places them on the step
axis. All patterns are bytes patterns without nested quantifiers, so a hostile line costs
linear time. Shared pieces live here too: `Hit`, `LineState`, `is_metric_name`, timestamps
and the run facts (`read_context`) that banners and config prints reveal.
"""

from __future__ import annotations

import calendar
import contextlib
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple

from trainmon.records import RecordKind

if TYPE_CHECKING:
    pass


class Hit(NamedTuple):
    """One record found on a segment, before canonical names and step placement."""

    fmt: str
    kind: RecordKind
    values: dict[str, float]
    step: int | None = None
    exact: bool = True
    total: int | None = None
    time_s: float | None = None
    from_epoch: bool = False
    """The step is the epoch number (no step counter on the line)."""


@dataclass(slots=True)
class LineState:
    """What earlier lines told us that later lines need (per segment of the log)."""

    keras_epoch: int | None = None
    st_step: int | None = None
    st_active: bool = False
    st_epoch: float | None = None
    in_block: bool = False
    """A multi-line record is open: an indented `name=value` line continues it."""
    indented: bool = False
    """The current line (after its prefixes) starts with whitespace: a continuation."""
    header: Hit | None = None
    """The last header line (a step counter without metrics), set by the general reader."""


NUM: Final = rb"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|NaN|inf|Inf)"
_END: Final = rb"(?![\w.:])"

ANSI: Final = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|[\x08]")
_STAMP: Final = re.compile(
    rb"(\d{4})[-/](\d\d)[-/](\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[,.](\d{1,6}))?"
)
_KV: Final = re.compile(
    rb"(?<![\w./@-])([A-Za-z_][\w./@()\-]*(?: [A-Za-z_][\w./@()\-]*){0,5}?)\s*[:=]\s*\[?\s*("
    + NUM
    + rb")"
    + _END
    + rb"(?:\s*/\s*(\d+))?"
)
_PART: Final = re.compile(
    rb"^\s*([A-Za-z_][\w./@()\-]*(?: [A-Za-z_][\w./@()\-]*){0,5}?)\s*[:=]?\s+\[?\s*("
    + NUM
    + rb")(?:\s*/\s*(\d+))?\]?\s*%?\s*$"
)
_CONTEXT: Final = re.compile(
    rb"(?i)\b(fp16|bf16|max_grad_norm|max_steps|num_train_epochs|logging_steps|eval_steps|"
    rb"warmup_steps|learning_rate|vocab_size|num_classes|num_labels|warmup_ratio)['\"]?\s*[=:]\s*"
    rb"([\w.+-]+)"
)
_HF_BANNER: Final = re.compile(
    rb"(Total optimization steps|Num Epochs|Num examples|Total train batch size[^=]*)"
    rb"\s*=\s*([\d,]+)"
)

_MEGATRON: Final = re.compile(rb"iteration\s+(\d+)\s*/\s*(\d+)")
_MEGATRON_VAL: Final = re.compile(rb"validation loss at iteration (\d+)")
_FAIRSEQ_TRAIN: Final = re.compile(rb"epoch (\d+):\s*(\d+)\s*/\s*(\d+)\s+(.*)$")
_FAIRSEQ_KV: Final = re.compile(rb"([\w./]+)=(" + NUM + rb")%?(?=,|\s|$)")
_MMENGINE: Final = re.compile(rb"(Epoch|Iter)\((\w+)\)\s*((?:\[\s*\d+(?:\s*/\s*\d+)?\s*\]\s*)+)")
_MMCV: Final = re.compile(rb"(Epoch|Iter)\s*\[(\d+)\](?:\[(\d+)(?:/(\d+))?\])?")
_MMCV_ITER: Final = re.compile(rb"Iter\s*\[(\d+)/(\d+)\]")
_BRACKET: Final = re.compile(rb"\[\s*(\d+)(?:\s*/\s*(\d+))?\s*\]")
_D2_ITER: Final = re.compile(rb"\biter:\s*(\d+)")
_TT_STEP: Final = re.compile(rb"^Step (\d+) \|")
_TT_BAR: Final = re.compile(rb"^(\d+)\|(\d+)\|Loss: (" + NUM + rb")")
_TT_KV: Final = re.compile(rb"([A-Za-z_][\w/]*):(" + NUM + rb")" + _END)
_TITAN: Final = re.compile(rb"step:\s*(\d+)\s+loss:\s*(" + NUM + rb")")
_TITAN_EXTRA: Final = re.compile(
    rb"(grad_norm|memory|tps|tflops|mfu):\s*([\d,]*\.?\d+(?:[eE][-+]?\d+)?)"
)
_NANO_ITER: Final = re.compile(
    rb"iter (\d+): loss (" + NUM + rb"), time (" + NUM + rb")ms(?:, mfu (" + NUM + rb")%)?"
    rb"(?:, lr (" + NUM + rb"))?"
)
_NANO_EVAL: Final = re.compile(rb"step (\d+): train loss (" + NUM + rb"), val loss (" + NUM + rb")")
_DEIT: Final = re.compile(rb"Epoch: \[(\d+)\]\s+\[\s*(\d+)\s*/\s*(\d+)\]")
_DEIT_TEST: Final = re.compile(rb"Test:\s+\[\s*(\d+)\s*/\s*(\d+)\]")
_DEIT_ACC: Final = re.compile(
    rb"\* Acc@1 (" + NUM + rb") Acc@5 (" + NUM + rb") loss (" + NUM + rb")"
)
_DEIT_KV: Final = re.compile(
    rb"([A-Za-z_][\w@]*(?: [a-z]+)?): (" + NUM + rb")(?: \(" + NUM + rb"\))?" + _END
)
_KERAS_EPOCH: Final = re.compile(rb"^Epoch (\d+)/(\d+)\s*$")
_KERAS_COUNT: Final = re.compile(rb"^(\d+)/(\d+)\b")
_KERAS_KV: Final = re.compile(rb"-\s+([\w/@.]+):\s+(" + NUM + rb")" + _END)
_LIGHTNING: Final = re.compile(rb"Epoch (\d+):\s*(\d+)%.*?(\d+)/(\d+) \[[^\]]*?(?:it/s|s/it)(.*)\]")
_LIGHTNING_KV: Final = re.compile(rb"([\w./@-]+)=(" + NUM + rb")" + _END)
_CHARRNN: Final = re.compile(
    rb"^(\d+)/(\d+) \(epoch (" + NUM + rb")\), train_loss = (" + NUM + rb"), "
    rb"grad/param norm = (" + NUM + rb")(?:, time/batch = (" + NUM + rb")s)?"
)
_ST_HEADER: Final = re.compile(
    rb"Evaluating the model on (?:the )?(\S*)\s*(?:dataset)?"
    rb"(?: in epoch (\d+) after (\d+) steps| after epoch (\d+))?"
)
_ST_CORR: Final = re.compile(
    rb"([A-Za-z][\w\-]*(?: [A-Za-z][\w\-]*)*)\s*:\s*Pearson:\s*("
    + NUM
    + rb")\s+Spearman:\s*("
    + NUM
    + rb")"
)
_ST_METRIC: Final = re.compile(
    rb"(?:^|- )((?:Accuracy|F1|Precision|Recall|Average Precision|MRR|NDCG|MAP)(?:@\d+)?"
    rb"(?: with [A-Za-z\- ]+)?)\s*:\s*(" + NUM + rb")%?"
)

_DROP: Final = frozenset(
    {"eta", "v_num", "ETA", "data_time_s", "max_mem", "Train_Epoch", "global_iter", "Iter"}
)
_METRIC_TOKENS: Final = frozenset(
    {
        "loss",
        "acc",
        "accuracy",
        "ppl",
        "perplexity",
        "reward",
        "rewards",
        "f",
        "bleu",
        "rouge",
        "rougel",
        "wer",
        "cer",
        "map",
        "ap",
        "top",
        "auc",
        "err",
        "error",
        "score",
        "mse",
        "mae",
        "rmse",
        "dice",
        "iou",
        "miou",
        "precision",
        "recall",
        "nll",
    }
)
_SETTING_WORDS: Final = frozenset(
    {"weight", "weights", "scale", "multiplier", "coef", "coeff", "factor", "type", "fn"}
    | {"threshold", "thresh"}
)
"""Words of a setting's name (`loss_weight`, `loss_fn`): never a measured metric."""
_TOKEN_SPLIT: Final = re.compile(r"[^a-z0-9]+")


def _num(raw: bytes) -> float:
    return float(raw)


_keys: dict[bytes, str] = {}


def key_text(raw: bytes) -> str:
    """A printed name as text, inner whitespace as `_` (cached: logs repeat their names)."""
    hit = _keys.get(raw)
    if hit is None:
        hit = "_".join(raw.decode("utf-8", "replace").split())
        if len(_keys) < 65536:
            _keys[raw] = hit
    return hit


def stamp(seg: bytes) -> float | None:
    """Unix time of a `YYYY-MM-DD HH:MM:SS[,mmm]` prefix (read as UTC), if the line has one."""
    if b":" not in seg[:40]:
        return None
    m = _STAMP.search(seg, 0, 48)
    if m is None:
        return None
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        base = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s), 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    return base + (int(frac) / 10 ** len(frac) if frac else 0.0)


def is_metric_name(name: str) -> bool:
    """Whether a printed name is a quality metric (`train_loss`, `acc1`, `mAP50`), by word."""
    low = name.lower()
    tokens = _TOKEN_SPLIT.split(low)
    if any(tok in _SETTING_WORDS for tok in tokens):
        return False  # `loss_weight`, `label_smoothing_factor`: settings, not measurements
    if "loss" in low or low.endswith(("acc", "smoothl1")):
        return True
    return any(tok.rstrip("0123456789") in _METRIC_TOKENS for tok in tokens)


# Each reader below is one entry of the format table (`formats.py`): it is called only when
# the entry's pre-check passed, and returns the line's records, `[]` for a line of its format
# without metrics, or None when the line is not its format after all (the next entry tries).


def read_megatron(s: bytes, state: LineState) -> list[Hit] | None:
    m = _MEGATRON.search(s)
    kind: RecordKind = "train"
    step: int | None = None
    total: int | None = None
    if m is not None:
        step, total = int(m.group(1)), int(m.group(2))
    else:
        v = _MEGATRON_VAL.search(s)
        if v is None:
            return None  # `iteration: 991 / 1000 | …` (nanotron): the general reader's
        kind, step = "eval", int(v.group(1))
    values: dict[str, float] = {}
    for part in s.split(b"|"):
        if b":" not in part:
            continue
        name, _, raw = part.rpartition(b":")
        raw = raw.strip()
        key = key_text(name)
        if not key or key.startswith(("iteration", "validation_loss_at")):
            continue
        try:
            values[key] = float(raw)
        except ValueError:
            continue
    if kind == "eval":
        values = {
            ("loss" if k == "lm_loss_value" else "ppl" if k == "lm_loss_PPL" else k): v
            for k, v in values.items()
        }
    return [Hit("megatron", kind, values, step, total=total)] if values else []


def read_detectron2(s: bytes, state: LineState) -> list[Hit] | None:
    m = _D2_ITER.search(s)
    if m is None:
        return None
    values = _kv(s)
    values.pop("iter", None)
    return [Hit("detectron2", "train", values, int(m.group(1)))] if values else None


def read_torchtune(s: bytes, state: LineState) -> list[Hit] | None:
    m = _TT_STEP.match(s)
    if m is not None:
        values = {key_text(k): _num(v) for k, v in _TT_KV.findall(s, m.end())}
        return [Hit("torchtune", "train", values, int(m.group(1)))] if values else []
    m = _TT_BAR.match(s)
    if m is not None:
        values = {"loss": _num(m.group(3)), "epoch": float(m.group(1))}
        return [Hit("torchtune", "train", values, int(m.group(2)))]
    return None


def read_torchtitan(s: bytes, state: LineState) -> list[Hit] | None:
    m = _TITAN.search(s)
    if m is None:
        return None
    values = {"loss": _num(m.group(2))}
    for k, v in _TITAN_EXTRA.findall(s, m.end()):
        with contextlib.suppress(ValueError):
            values[key_text(k)] = float(v.replace(b",", b""))
    return [Hit("torchtitan", "train", values, int(m.group(1)))]


def read_nanogpt(s: bytes, state: LineState) -> list[Hit] | None:
    m = _NANO_ITER.search(s)
    if m is not None:
        values = {"loss": _num(m.group(2)), "time_ms": _num(m.group(3))}
        if m.group(4) is not None:
            values["mfu"] = _num(m.group(4))
        if m.group(5) is not None:  # forks that print the learning rate last
            values["lr"] = _num(m.group(5))
        return [Hit("nanogpt", "train", values, int(m.group(1)))]
    m = _NANO_EVAL.search(s)
    if m is not None:
        values = {"train loss": _num(m.group(2)), "val loss": _num(m.group(3))}
        return [Hit("nanogpt", "eval", values, int(m.group(1)))]
    return None


def read_metric_logger(s: bytes, state: LineState) -> list[Hit] | None:
    m = _DEIT.search(s)
    if m is not None:
        epoch, i, n = int(m.group(1)), int(m.group(2)), int(m.group(3))
        values = {key_text(k): _num(v) for k, v in _DEIT_KV.findall(s, m.end())}
        values.pop("eta", None)
        values.pop("max_mem", None)
        if values:
            values["epoch"] = float(epoch)
            return [Hit("metric-logger", "train", values, epoch * n + i, exact=False)]
        return []
    m = _DEIT_TEST.search(s)
    if m is not None:
        values = {key_text(k): _num(v) for k, v in _DEIT_KV.findall(s, m.end())}
        values.pop("eta", None)
        return [Hit("metric-logger", "eval", values)] if values else []
    m = _DEIT_ACC.search(s)
    if m is not None:
        values = {"acc1": _num(m.group(1)), "acc5": _num(m.group(2)), "loss": _num(m.group(3))}
        return [Hit("metric-logger", "eval", values)]
    return None


def read_keras_epoch(s: bytes, state: LineState) -> list[Hit] | None:
    """`Epoch 12/15` before Keras' bars: remembered, so `844/844` counts within epoch 12."""
    m = _KERAS_EPOCH.match(s)
    if m is None:
        return None
    state.keras_epoch = int(m.group(1))
    return []


def read_keras(s: bytes, state: LineState) -> list[Hit] | None:
    m = _KERAS_COUNT.match(s)
    if m is None:
        return None
    values = {key_text(k): _num(v) for k, v in _KERAS_KV.findall(s, m.end())}
    if not values:
        return []
    n, total = int(m.group(1)), int(m.group(2))
    epoch = state.keras_epoch if state.keras_epoch is not None else 1
    values["epoch"] = float(epoch)
    step = (epoch - 1) * total + n if total > 0 else None
    return [Hit("keras", "train", values, step, exact=False)]


def read_char_rnn(s: bytes, state: LineState) -> list[Hit] | None:
    m = _CHARRNN.match(s)
    if m is None:
        return None
    values = {
        "epoch": _num(m.group(3)),
        "loss": _num(m.group(4)),
        "grad/param norm": _num(m.group(5)),
    }
    if m.group(6) is not None:
        values["time/batch"] = _num(m.group(6))
    return [Hit("char-rnn", "train", values, int(m.group(1)), total=int(m.group(2)))]


def read_st_header(s: bytes, state: LineState) -> list[Hit] | None:
    """sentence-transformers' `Evaluating the model on … after epoch N`: results follow."""
    m = _ST_HEADER.search(s)
    state.st_active = True
    state.st_step = None
    state.st_epoch = None
    if m is not None:
        if m.group(3) is not None:
            state.st_step = int(m.group(3))
            state.st_epoch = float(m.group(2))
        elif m.group(4) is not None:
            state.st_epoch = float(m.group(4))
    return []


def read_st_result(s: bytes, state: LineState) -> list[Hit] | None:
    hits = _sentence_transformers(s, state)
    if hits is None:
        state.st_active = False
    return hits


def read_fairseq(s: bytes, state: LineState) -> list[Hit] | None:
    m = _FAIRSEQ_TRAIN.search(s)
    if m is not None:
        values: dict[str, float] = {}
        for k, v in _FAIRSEQ_KV.findall(m.group(4)):
            values[key_text(k)] = _num(v)
        step_raw = values.pop("num_updates", None)
        step = int(step_raw) if step_raw is not None and step_raw == step_raw else None
        values["epoch"] = float(m.group(1))
        return [Hit("fairseq", "train", values, step)]
    kind: RecordKind = "eval" if b" subset" in s else "train"
    values = {}
    epoch: float | None = None
    for part in s.split(b"|"):
        pm = _PART.match(part)
        if pm is None:
            continue
        values[key_text(pm.group(1))] = _num(pm.group(2))
    if "epoch" in values:
        epoch = values.pop("epoch")
    step_raw = values.pop("num_updates", None)
    step = int(step_raw) if step_raw is not None and step_raw == step_raw else None
    if not values:
        return None if b" | " not in s else []  # `epoch 3 iter 100/500 loss=…`: generic
    if epoch is not None:
        values["epoch"] = epoch
    return [Hit("fairseq", kind, values, step)]


def read_mmengine(s: bytes, state: LineState) -> list[Hit] | None:
    m = _MMENGINE.search(s)
    if m is None:
        return []
    unit, phase = m.group(1), m.group(2)
    brackets = _BRACKET.findall(m.group(3))
    values = _kv(s[m.end() :])
    values.pop("eta", None)
    if not values:
        return []
    kind: RecordKind = "train" if phase == b"train" else "eval"
    step: int | None = None
    total: int | None = None
    exact = True
    if kind == "train" and brackets:
        if unit == b"Iter":
            step = int(brackets[0][0])
            total = int(brackets[0][1]) if brackets[0][1] else None
        elif len(brackets) >= 2 and brackets[1][1]:
            epoch, i, n = int(brackets[0][0]), int(brackets[1][0]), int(brackets[1][1])
            step = (epoch - 1) * n + i
            values["epoch"] = float(epoch)
            exact = False
    return [Hit("mmengine", kind, values, step, exact, total)]


def read_mmcv(s: bytes, state: LineState) -> list[Hit] | None:
    m = _MMCV_ITER.search(s)
    values = _kv(s[m.end() if m else 0 :])
    values.pop("eta", None)
    if m is not None:
        if not values:
            return []
        return [Hit("mmcv", "train", values, int(m.group(1)), total=int(m.group(2)))]
    m2 = _MMCV.search(s)
    if m2 is None:
        return None  # `Epoch [3/100], Step [...]`: a hand-written counter, read generically
    values = _kv(s[m2.end() :])
    values.pop("eta", None)
    if not values:
        return []
    epoch = int(m2.group(2))
    if m2.group(4) is not None:
        i, n = int(m2.group(3)), int(m2.group(4))
        values["epoch"] = float(epoch)
        return [Hit("mmcv", "train", values, (epoch - 1) * n + i, exact=False)]
    return [Hit("mmcv", "eval", values)]


def read_lightning(s: bytes, state: LineState) -> list[Hit] | None:
    m = _LIGHTNING.search(s)
    if m is None:
        return []
    values = {}
    for k, v in _LIGHTNING_KV.findall(m.group(5)):
        key = key_text(k)
        if key != "v_num":
            values[key] = _num(v)
    if not values:
        return []
    epoch, n, total = int(m.group(1)), int(m.group(3)), int(m.group(4))
    values["epoch"] = float(epoch)
    return [Hit("lightning", "train", values, epoch * total + n, exact=False)]


def _sentence_transformers(s: bytes, state: LineState) -> list[Hit] | None:
    m = _ST_CORR.search(s)
    values: dict[str, float] = {}
    if m is not None:
        name = key_text(m.group(1).lower().replace(b"-", b"_"))
        name = name.replace("_similarity", "").replace("_distance", "")
        values[f"{name}_pearson"] = _num(m.group(2))
        values[f"{name}_spearman"] = _num(m.group(3))
    else:
        m2 = _ST_METRIC.search(s)
        if m2 is None:
            return None
        name = key_text(m2.group(1).lower().replace(b"-", b"_"))
        values[name] = _num(m2.group(2))
    if state.st_epoch is not None:
        values["epoch"] = state.st_epoch
    return [Hit("sentence-transformers", "eval", values, state.st_step)]


def _kv(s: bytes) -> dict[str, float]:
    values: dict[str, float] = {}
    for k, v, _total in _KV.findall(s):
        key = key_text(k)
        if key not in _DROP:
            values[key] = _num(v)
    return values


def read_context(s: bytes, context: MutableMapping[str, object]) -> None:
    """Remember run facts that advice rules need (fp16, max_grad_norm, max_steps, ...)."""
    if b"=" not in s and b":" not in s:
        return
    if b" = " in s:
        for name, raw in _HF_BANNER.findall(s):
            try:
                value = int(raw.replace(b",", b""))
            except ValueError:
                continue
            if name.startswith(b"Total optimization"):
                context["max_steps"] = value
                context["total_steps"] = value
            elif name.startswith(b"Num Epochs"):
                context["num_train_epochs"] = value
            elif name.startswith(b"Num examples"):
                context["num_examples"] = value
            else:
                context["total_train_batch_size"] = value
    for name, raw in _CONTEXT.findall(s):
        key = name.decode().lower()
        low = raw.lower()
        if key in ("fp16", "bf16"):
            if low in (b"true", b"1"):
                context[key] = True
            elif low in (b"false", b"0"):
                context[key] = False
            continue
        try:
            number = float(raw)
        except ValueError:
            continue
        integral = key.endswith(("steps", "epochs", "size", "classes", "labels"))
        context[key] = int(number) if integral and number.is_integer() else number
