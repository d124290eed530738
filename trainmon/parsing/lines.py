"""Per-segment matchers for the text formats (everything that is not a printed dict).

Each matcher is guarded by a cheap `in` test on the segment so that a line pays for a regex
only when it can be that format. Matchers return `Hit`s with the names as printed; the
parser canonicalises them and places them on the step axis. All patterns are bytes
patterns without nested quantifiers, so a hostile line costs linear time.
"""

from __future__ import annotations

import calendar
import contextlib
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple

from trainmon.parsing.dicts import parse_pairs
from trainmon.records import RecordKind

if TYPE_CHECKING:
    from trainmon.parsing.tables import TableReader


class Hit(NamedTuple):
    """One record found on a segment, before canonical names and step placement."""

    fmt: str
    kind: RecordKind
    values: dict[str, float]
    step: int | None = None
    exact: bool = True
    total: int | None = None
    time_s: float | None = None


@dataclass(slots=True)
class LineState:
    """What earlier lines told us that later lines need (per segment of the log)."""

    keras_epoch: int | None = None
    st_step: int | None = None
    st_active: bool = False
    st_epoch: float | None = None


NUM: Final = rb"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|NaN|inf|Inf)"
_END: Final = rb"(?![\w.:])"

_ANSI: Final = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|[\x08]")
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
_COUNTER: Final = re.compile(
    rb"(?i)(?:(?<![\w.])(epoch|step|iter|iteration|batch)\s*:?\s*\[?\s*|^\s*\[\s*(?=\d+\s*/))"
    rb"(\d+)(?:\s*/\s*(\d+))?\s*\]?(?![\w.])"
)
"""Hand-written progress counters: `Epoch [3/100], Step [200/600]`, `Epoch 3/100`,
`[Epoch 3]`, `Step 200:`, and a bare `[200/5000]` at the start of a line."""
_SPACED: Final = re.compile(
    rb"(?i)(?<![\w.])((?:train|training|val|valid|validation|eval|test)[ _])?"
    rb"(loss|acc|accuracy|ppl|perplexity|lr)\s+(" + NUM + rb")(?![\w.])"
)
"""`train loss 0.41, val loss 0.52`: names and values with only a space between them."""
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
_STEP_NAMES: Final = frozenset(
    {"step", "global_step", "iter", "iteration", "global_iter", "it", "steps", "num_updates"}
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
_TOKEN_SPLIT: Final = re.compile(r"[^a-z0-9]+")
_EVAL_HEADS: Final = frozenset(
    {b"dev", b"eval", b"evaluation", b"valid", b"val", b"validation", b"test"}
)


def _num(raw: bytes) -> float:
    return float(raw)


_keys: dict[bytes, str] = {}


def _key(raw: bytes) -> str:
    """A printed name as text, inner whitespace as `_` (cached: logs repeat their names)."""
    hit = _keys.get(raw)
    if hit is None:
        hit = "_".join(raw.decode("utf-8", "replace").split())
        if len(_keys) < 65536:
            _keys[raw] = hit
    return hit


def _stamp(seg: bytes) -> float | None:
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
    if "loss" in low:
        return True
    return any(tok.rstrip("0123456789") in _METRIC_TOKENS for tok in _TOKEN_SPLIT.split(low))


def parse_segment(
    seg: bytes,
    state: LineState,
    tables: TableReader,
    context: MutableMapping[str, object],
) -> list[Hit]:
    """Every record on one `\\r`/`\\n`-free segment; `[]` when it holds none."""
    if b"\x1b" in seg or b"\x08" in seg:
        seg = _ANSI.sub(b"", seg)
    s = seg.strip()
    if not s:
        return []
    if s.endswith((b"it/s]", b"s/it]")) and b"oss" not in s:
        return []  # a bare tqdm bar: its counter is read by the dict path's look-back
    hit = tables.feed(s)
    if hit is not None:
        return [hit] if hit.values else []
    hits = _specific(s, state)
    if hits is None:
        hits = _generic(s, state)
    if hits:
        stamp = _stamp(s)
        if stamp is not None:
            hits = [h._replace(time_s=stamp) for h in hits]
        return hits
    _context(s, context)
    return []


def _specific(s: bytes, state: LineState) -> list[Hit] | None:
    """Formats with a recognisable frame; None when none of them applies."""
    if b"iteration" in s and b"|" in s:
        return _megatron(s)
    if b"epoch " in s and (b"loss=" in s or b" subset" in s or b"| loss " in s):
        return _fairseq(s)
    if b"Epoch(" in s or b"Iter(" in s:
        return _mmengine(s)
    if (b"Epoch [" in s or b"Iter [" in s) and b": " in s:
        return _mmcv(s)
    if b"iter: " in s and (b"total_loss" in s or b"d2." in s or b"loss" in s):
        m = _D2_ITER.search(s)
        if m is not None:
            values = _kv(s)
            values.pop("iter", None)
            if values:
                return [Hit("detectron2", "train", values, int(m.group(1)))]
    if s.startswith(b"Step ") and b"|" in s:
        m = _TT_STEP.match(s)
        if m is not None:
            values = {_key(k): _num(v) for k, v in _TT_KV.findall(s, m.end())}
            return [Hit("torchtune", "train", values, int(m.group(1)))] if values else []
    if b"|Loss: " in s:
        m = _TT_BAR.match(s)
        if m is not None:
            values = {"loss": _num(m.group(3)), "epoch": float(m.group(1))}
            return [Hit("torchtune", "train", values, int(m.group(2)))]
    if b"step:" in s and b"loss:" in s:
        m = _TITAN.search(s)
        if m is not None:
            values = {"loss": _num(m.group(2))}
            for k, v in _TITAN_EXTRA.findall(s, m.end()):
                with contextlib.suppress(ValueError):
                    values[_key(k)] = float(v.replace(b",", b""))
            return [Hit("torchtitan", "train", values, int(m.group(1)))]
    if s.startswith(b"iter ") or b" iter " in s:
        m = _NANO_ITER.search(s)
        if m is not None:
            values = {"loss": _num(m.group(2)), "time_ms": _num(m.group(3))}
            if m.group(4) is not None:
                values["mfu"] = _num(m.group(4))
            return [Hit("nanogpt", "train", values, int(m.group(1)))]
    if b"train loss" in s and b"val loss" in s:
        m = _NANO_EVAL.search(s)
        if m is not None:
            values = {"train loss": _num(m.group(2)), "val loss": _num(m.group(3))}
            return [Hit("nanogpt", "eval", values, int(m.group(1)))]
    if b"Epoch: [" in s:
        m = _DEIT.search(s)
        if m is not None:
            epoch, i, n = int(m.group(1)), int(m.group(2)), int(m.group(3))
            values = {_key(k): _num(v) for k, v in _DEIT_KV.findall(s, m.end())}
            values.pop("eta", None)
            values.pop("max_mem", None)
            if values:
                values["epoch"] = float(epoch)
                return [Hit("metric-logger", "train", values, epoch * n + i, exact=False)]
            return []
    if b"Test:" in s and b"[" in s:
        m = _DEIT_TEST.search(s)
        if m is not None:
            values = {_key(k): _num(v) for k, v in _DEIT_KV.findall(s, m.end())}
            values.pop("eta", None)
            return [Hit("metric-logger", "eval", values)] if values else []
    if b"* Acc@1" in s:
        m = _DEIT_ACC.search(s)
        if m is not None:
            values = {
                "acc1": _num(m.group(1)),
                "acc5": _num(m.group(2)),
                "loss": _num(m.group(3)),
            }
            return [Hit("metric-logger", "eval", values)]
    if s.startswith(b"Epoch "):
        m = _KERAS_EPOCH.match(s)
        if m is not None:
            state.keras_epoch = int(m.group(1))
            return []
        if b"%" in s and b"=" in s:
            return _lightning(s)
    if b" - " in s and b": " in s:
        m = _KERAS_COUNT.match(s)
        if m is not None:
            return _keras(s, m, state)
    if b"(epoch " in s and b"train_loss = " in s:
        m = _CHARRNN.match(s)
        if m is not None:
            values = {
                "epoch": _num(m.group(3)),
                "loss": _num(m.group(4)),
                "grad/param norm": _num(m.group(5)),
            }
            if m.group(6) is not None:
                values["time/batch"] = _num(m.group(6))
            return [Hit("char-rnn", "train", values, int(m.group(1)), total=int(m.group(2)))]
    if b"Evaluating the model on" in s:
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
    if state.st_active:
        hits = _sentence_transformers(s, state)
        if hits is not None:
            return hits
        state.st_active = False
    return None


def _megatron(s: bytes) -> list[Hit]:
    m = _MEGATRON.search(s)
    kind: RecordKind = "train"
    step: int | None = None
    total: int | None = None
    if m is not None:
        step, total = int(m.group(1)), int(m.group(2))
    else:
        v = _MEGATRON_VAL.search(s)
        if v is None:
            return []
        kind, step = "eval", int(v.group(1))
    values: dict[str, float] = {}
    for part in s.split(b"|"):
        if b":" not in part:
            continue
        name, _, raw = part.rpartition(b":")
        raw = raw.strip()
        key = _key(name)
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


def _fairseq(s: bytes) -> list[Hit] | None:
    m = _FAIRSEQ_TRAIN.search(s)
    if m is not None:
        values: dict[str, float] = {}
        for k, v in _FAIRSEQ_KV.findall(m.group(4)):
            values[_key(k)] = _num(v)
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
        values[_key(pm.group(1))] = _num(pm.group(2))
    if "epoch" in values:
        epoch = values.pop("epoch")
    step_raw = values.pop("num_updates", None)
    step = int(step_raw) if step_raw is not None and step_raw == step_raw else None
    if not values:
        return None if b" | " not in s else []  # `epoch 3 iter 100/500 loss=…`: generic
    if epoch is not None:
        values["epoch"] = epoch
    return [Hit("fairseq", kind, values, step)]


def _mmengine(s: bytes) -> list[Hit]:
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


def _mmcv(s: bytes) -> list[Hit] | None:
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


def _keras(s: bytes, m: re.Match[bytes], state: LineState) -> list[Hit]:
    values = {_key(k): _num(v) for k, v in _KERAS_KV.findall(s, m.end())}
    if not values:
        return []
    n, total = int(m.group(1)), int(m.group(2))
    epoch = state.keras_epoch if state.keras_epoch is not None else 1
    values["epoch"] = float(epoch)
    step = (epoch - 1) * total + n if total > 0 else None
    return [Hit("keras", "train", values, step, exact=False)]


def _lightning(s: bytes) -> list[Hit]:
    m = _LIGHTNING.search(s)
    if m is None:
        return []
    values = {}
    for k, v in _LIGHTNING_KV.findall(m.group(5)):
        key = _key(k)
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
        name = _key(m.group(1).lower().replace(b"-", b"_"))
        name = name.replace("_similarity", "").replace("_distance", "")
        values[f"{name}_pearson"] = _num(m.group(2))
        values[f"{name}_spearman"] = _num(m.group(3))
    else:
        m2 = _ST_METRIC.search(s)
        if m2 is None:
            return None
        name = _key(m2.group(1).lower().replace(b"-", b"_"))
        values[name] = _num(m2.group(2))
    if state.st_epoch is not None:
        values["epoch"] = state.st_epoch
    return [Hit("sentence-transformers", "eval", values, state.st_step)]


def _kv(s: bytes) -> dict[str, float]:
    values: dict[str, float] = {}
    for k, v, _total in _KV.findall(s):
        key = _key(k)
        if key not in _DROP:
            values[key] = _num(v)
    return values


_ROLE_PLAIN, _ROLE_STEP, _ROLE_GLOBAL_STEP, _ROLE_EPOCH, _ROLE_DROP = range(5)
_roles: dict[str, tuple[int, bool, bool]] = {}


def _role(key: str) -> tuple[int, bool, bool]:
    """(role, is a quality metric, has an eval prefix) of a printed name, cached."""
    hit = _roles.get(key)
    if hit is not None:
        return hit
    low = key.lower()
    if low in _STEP_NAMES or low.endswith(("_step", "_iter")):
        role = _ROLE_GLOBAL_STEP if low.startswith("global") else _ROLE_STEP
    elif low.endswith("epoch"):
        role = _ROLE_EPOCH
    elif key in _DROP:
        role = _ROLE_DROP
    else:
        role = _ROLE_PLAIN
    hit = (role, is_metric_name(key), low.startswith(("val_", "eval_", "valid_", "test_")))
    if len(_roles) < 65536:
        _roles[key] = hit
    return hit


def _generic(s: bytes, state: LineState) -> list[Hit]:
    """`step=10 loss=2.3`, `key: value | key: value`, `loss: 2.3` and their relatives."""
    if b":" not in s and b"=" not in s and b"|" not in s:
        return []
    pairs: list[tuple[bytes, bytes, bytes]] = []
    parts = s.split(b"|") if b"|" in s else (s,)
    if len(parts) > 1:
        for part in parts:
            pm = _PART.match(part)
            if pm is not None:
                pairs.append((pm.group(1), pm.group(2), pm.group(3) or b""))
            else:
                pairs += _KV.findall(part)
    else:
        pairs = _KV.findall(s)
    if not pairs:
        pairs = [(k.replace(b" ", b"_") + name, v, b"") for k, name, v in _SPACED.findall(s)]
        if not pairs:
            return []
    values: dict[str, float] = {}
    step: int | None = None
    total: int | None = None
    epoch_step: int | None = None
    epoch_total: int | None = None
    metric = False
    all_eval = True
    for raw_key, raw_value, raw_total in pairs:
        key = _key(raw_key)
        role, is_metric, evalish = _role(key)
        value = float(raw_value)
        if role == _ROLE_PLAIN:
            values[key] = value
            metric = metric or is_metric
            all_eval = all_eval and evalish
        elif role == _ROLE_EPOCH:
            values["epoch"] = value
            if value == value and abs(value) < 1e18 and value == int(value):
                epoch_step = int(value)
                epoch_total = int(raw_total) if raw_total else epoch_total
        elif (
            role != _ROLE_DROP
            and value == value
            and abs(value) < 1e18
            and (step is None or role == _ROLE_GLOBAL_STEP)
        ):
            step = int(value)
            total = int(raw_total) if raw_total else total
    if values and b"{'" in s:
        for key, value in parse_pairs(s[s.find(b"{'") :]).items():
            if key not in values:
                values[key] = value
                metric = metric or _role(key)[1]
    if not metric:
        return []
    exact = True
    if "epoch" not in values or step is None:
        step, exact, total, epoch_step = _counters(s, values, step, total, epoch_step)
    words = (parts[0].split() or [b""]) if len(parts) > 1 else (s.split() or [b""])
    head = (words[-1] if len(parts) > 1 else words[0]).lower().rstrip(b":")
    kind: RecordKind = "eval" if head in _EVAL_HEADS or all_eval else "train"
    if step is None and epoch_step is not None and kind == "train":
        step, exact = epoch_step, False
        total = total if total is not None else epoch_total  # `Epoch:[844/1500]`
    return [Hit("key-value", kind, values, step, exact, total)]


def _counters(
    s: bytes, values: dict[str, float], step: int | None, total: int | None, epoch_step: int | None
) -> tuple[int | None, bool, int | None, int | None]:
    """Read `Epoch [3/100]`-style counters into the epoch and the step, where no field did.

    An inner counter printed beside the epoch (`Step [200/600]`, `Batch 5/40`) restarts
    every epoch, so the step it gives is `(epoch - 1) x per-epoch + n` and not exact; on its
    own it is the run's step and its total.
    Returns (step, step is exact, total, epoch step).
    """
    epoch: tuple[int, int | None] | None = None
    inner: tuple[int, int | None] | None = None
    for name, n, of in _COUNTER.findall(s):
        counter = (int(n), int(of) if of else None)
        if name.lower() == b"epoch":
            epoch = counter if epoch is None else epoch
        elif inner is None:
            inner = counter
    exact = True
    if epoch is not None and "epoch" not in values:
        values["epoch"] = float(epoch[0])
        epoch_step = epoch[0]
        if step is None and inner is None and total is None:
            total = epoch[1]  # the step axis counts epochs: the run ends at the last one
    if step is None and inner is not None:
        n, per = inner
        if per is not None and "epoch" in values:
            current = values["epoch"]
            whole = int(current) if current == current and abs(current) < 1e18 else 1
            step, exact = max(whole - 1, 0) * per + n, False
            if epoch is not None and epoch[1] is not None and total is None:
                total = epoch[1] * per
        else:  # the run's own step counter (no per-epoch total to restart from)
            step, total = n, per if per is not None else total
    return step, exact, total, epoch_step


def _context(s: bytes, context: MutableMapping[str, object]) -> None:
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
