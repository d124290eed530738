"""The general metric-line reader: a line of `name<sep>value` pairs and a step counter.

It runs after every named format declined a line, so a log nobody described still parses
when its lines look like metrics: `step=10 loss=2.3`, `iter: 10 / 500 | loss: 2.3`,
`[step=10/500,epoch=0]`, `Epoch [3/100], Step [200/600], Loss: 0.41`, `Val acc is 86.0%`,
`consumed_tokens: 634K`, `total_tokens=2,097,152`, a tqdm postfix `…it/s, loss=0.1]`.

Precision matters as much as recall: a line is a record only when it names a quality metric
(`loss`, `acc`, `ppl`, `mAP`, …; see `is_metric_name`), or an LR or grad norm next to a
step counter. Configuration prints (`Namespace(lr=…)`, `TrainConfig(…)`, an indented
`name = value` assignment, `--flag=value`) are never records. A line that carries a step
counter and no metric (`Iteration 0, Testing net`, `[step=1/15000,epoch=0]`, `Epoch 0/100,
Batch 16/29316`) is a *header*: it is remembered in `LineState.header`, and the parser joins
the metric lines that follow it into one record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from trainmon.parsing.dicts import parse_pairs
from trainmon.parsing.lines import Hit, LineState, is_metric_name, key_text
from trainmon.records import RecordKind

_NAME: Final = rb"[A-Za-z_#][\w./@()#\-]*(?: [A-Za-z_#][\w./@()#\-]*){0,5}?(?: \([\w/%.]{1,12}\))?"
VALUE: Final = (
    rb"[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?"
    rb"|nan|NaN|inf|Inf)"
)
"""A number as logs print it: thousands separators, exponents, `nan`/`inf`."""
_SUFFIX: Final = rb"([KMGT](?![A-Za-z]))?"
_END: Final = rb"(?!\w)(?![.:]\w)"
"""A value ends at a non-word byte; a sentence's full stop or a tqdm `: ` may follow."""

_KV: Final = re.compile(
    rb"(?<![\w./@#-])(" + _NAME + rb")(?:\s*[:=]\s*|\s+is\s+)\[?\s*(" + VALUE + rb")" + _SUFFIX
    + _END + rb"%?(?:\s*/\s*(\d+))?"
)  # fmt: skip
_PART: Final = re.compile(
    rb"^\s*(" + _NAME + rb")\s*[:=]?\s+\[?\s*(" + VALUE + rb")" + _SUFFIX
    + rb"(?:\s*/\s*(\d+))?\]?\s*%?(?:\s*\([^()]{0,40}\))?\s*;?\s*$"
)  # fmt: skip
_SPACED: Final = re.compile(
    rb"(?i)(?<![\w.])((?:train|training|val|valid|validation|eval|test)[ _])?"
    rb"(loss|acc|accuracy|ppl|perplexity|lr|norm|learning rate)\s+(" + VALUE + rb")" + _END
)
"""`train loss 0.41, val loss 0.52`: names and values with only a space between them."""
_COUNTER: Final = re.compile(
    rb"(?i)(?:(?<![\w.])(epoch|step|iter|iteration|batch)\s*:?\s*\[?\s*|^\s*\[\s*(?=\d+\s*/))"
    rb"(\d+)(?:\s*/\s*(\d+))?\s*\]?(?![\w.])"
)
"""Hand-written progress counters: `Epoch [3/100], Step [200/600]`, `Epoch 3/100`,
`[Epoch 3]`, `Step 200:`, and a bare `[200/5000]` at the start of a line."""
_TQDM: Final = re.compile(rb"(?<![\w/])(\d+)/(\d+) \[[\d:]+<")
"""A tqdm counter `282/391 [00:38<00:13, …]` on the same line as the metrics."""
_RATIO: Final = re.compile(
    rb"^([A-Za-z][\w\- ]{0,40}?):\s*(\d+)\s*/\s*(\d+)\s*=\s*(" + VALUE + rb")\s*$"
)
"""An evaluation result printed as a fraction: `HellaSwag: 2500/10042 = 0.248954`."""
CONFIG: Final = re.compile(
    rb"(?:^|[\s(\[])[A-Z]\w*(?:Config|Arguments|Args|Namespace|Params|Options|Settings)\("
    rb"|^\s*Namespace\(|^\s*[\w.]+\((?:\w+=)|^\s*--\w"
    rb"|^(?:def|class|return|if|elif|for|while|with|import|from|assert|print)\b|\):$|\bself\b"
)
"""Argument and configuration dumps (`Namespace(lr=…)`, `TrainConfig(seed=…)`, `--lr=…`)
and source code (`def f(lr=0.02):`, a `print(…)` statement) printed into the log."""
_ASSIGN: Final = re.compile(rb"^[A-Za-z_]\w* = " + VALUE + rb"$")
"""An indented `name = number` alone on its line: source code, not a metric print."""
_EVAL_WORDS: Final = re.compile(
    rb"(?i)(?<![\w])(?:test|testing|eval|evaluat\w*|valid\w*|val|dev)(?![\w])"
)

DROP: Final = frozenset(
    {"eta", "v_num", "ETA", "data_time_s", "max_mem", "Train_Epoch", "global_iter", "Iter"}
)
_STEP_NAMES: Final = frozenset(
    {"step", "global_step", "iter", "iteration", "global_iter", "it", "steps", "num_updates"}
)
_RUN_NAMES: Final = frozenset({"lr", "learning_rate", "grad_norm", "gnorm", "norm", "grad norm"})
"""Counted as metrics only on a line that also carries a step counter."""
_EVAL_HEADS: Final = frozenset(
    {b"dev", b"eval", b"evaluation", b"valid", b"val", b"validation", b"test"}
)
_MULT: Final = {b"K": 1e3, b"M": 1e6, b"G": 1e9, b"T": 1e12}

_ROLE_PLAIN, _ROLE_STEP, _ROLE_GLOBAL_STEP, _ROLE_EPOCH, _ROLE_DROP = range(5)
_roles: dict[str, tuple[int, bool, bool, bool]] = {}


def number(raw: bytes, suffix: bytes = b"") -> float:
    """A printed value as a float (`2,097,152`, `634K`)."""
    value = float(raw.replace(b",", b"")) if b"," in raw else float(raw)
    return value * _MULT[suffix] if suffix else value


def _role(key: str) -> tuple[int, bool, bool, bool]:
    """(role, quality metric, eval prefix, run metric) of a printed name, cached."""
    hit = _roles.get(key)
    if hit is not None:
        return hit
    low = key.lower()
    if low in _STEP_NAMES or low.endswith(("_step", "_iter")):
        role = _ROLE_GLOBAL_STEP if low.startswith("global") else _ROLE_STEP
    elif low.endswith("epoch") or low in ("ep", "epochs"):
        role = _ROLE_EPOCH
    elif key in DROP:
        role = _ROLE_DROP
    else:
        role = _ROLE_PLAIN
    run = low.replace("_", " ") in _RUN_NAMES or low.endswith(("_lr", " lr", "grad_norm"))
    evalish = low.startswith(("val_", "eval_", "valid_", "test_", "validation_"))
    hit = (role, is_metric_name(key), evalish, run)
    if len(_roles) < 65536:
        _roles[key] = hit
    return hit


def pairs_of(s: bytes) -> tuple[list[tuple[bytes, bytes, bytes, bytes]], list[bytes]]:
    """(name, value, suffix, total) pairs of a line, and its `|`-separated parts."""
    parts = s.split(b"|") if b"|" in s else [s]
    pairs: list[tuple[bytes, bytes, bytes, bytes]] = []
    if len(parts) > 1:
        for part in parts:
            pm = _PART.match(part)
            if pm is not None:
                pairs.append((pm.group(1), pm.group(2), pm.group(3) or b"", pm.group(4) or b""))
            else:
                pairs += _KV.findall(part)
    else:
        pairs = _KV.findall(s)
    if not pairs:
        pairs = _spaced_pairs(s)
    return pairs, parts


_Pair = tuple[bytes, bytes, bytes, bytes]
"""(key, value, value suffix, `/total` after the value) as the pair patterns capture them."""


@dataclass(slots=True)
class _Fields:
    """What the pairs of one line say: metric values, step and epoch counters, and whether
    a field names a metric, a run-level metric (LR, grad norm), or only eval metrics."""

    values: dict[str, float] = field(default_factory=dict)
    step: int | None = None
    total: int | None = None
    epoch_step: int | None = None
    epoch_total: int | None = None
    metric: bool = False
    run_metric: bool = False
    all_eval: bool = True


def read_general(s: bytes, state: LineState) -> list[Hit]:
    """Every record of one line read as `name<sep>value` pairs; `[]` for none."""
    if CONFIG.search(s) is not None or (state.indented and _ASSIGN.match(s) is not None):
        return []
    if b":" not in s and b"=" not in s and b"|" not in s and b" is " not in s:
        pairs: list[_Pair] = _spaced_pairs(s)
        parts = [s]
    else:
        ratio = _RATIO.match(s)
        if ratio is not None:
            name = key_text(ratio.group(1))
            return [Hit("key-value", "eval", {name: number(ratio.group(4))})]
        pairs, parts = pairs_of(s)
    if not pairs:
        _header(s, state)
        return []
    fields = _read_fields(pairs)
    values = fields.values
    if values and b"{'" in s:
        _add_repr_dict(s, fields)
    step, total, epoch_step = fields.step, fields.total, fields.epoch_step
    exact = True
    if "epoch" not in values or step is None:
        step, exact, total, epoch_step = _counters(s, values, step, total, epoch_step)
    if not _is_record(fields, state, step, epoch_step):
        _header(s, state)
        return []
    if step is None:
        tq = _TQDM.search(s)
        if tq is not None:
            step, total, exact = int(tq.group(1)), int(tq.group(2)), True
    kind = _kind(s, parts, fields.all_eval)
    from_epoch = step is None and epoch_step is not None and kind == "train"
    if from_epoch:
        step, exact = epoch_step, False
        total = total if total is not None else fields.epoch_total  # `Epoch:[844/1500]`
    return [Hit("key-value", kind, values, step, exact, total, from_epoch=from_epoch)]


def _spaced_pairs(s: bytes) -> list[_Pair]:
    """Pairs of a line with no separator at all (`loss 2.3 acc 0.5`)."""
    return [(k.replace(b" ", b"_") + name, v, b"", b"") for k, name, v in _SPACED.findall(s)]


def _read_fields(pairs: list[_Pair]) -> _Fields:
    """Sort each pair by the role of its name: a metric value, the epoch, or a step counter
    (a global step wins over any other step); a value that is not a number is skipped."""
    fields = _Fields()
    for raw_key, raw_value, suffix, raw_total in pairs:
        key = key_text(raw_key)
        role, is_metric, evalish, run = _role(key)
        try:
            value = number(raw_value, suffix)
        except ValueError:
            continue
        if role == _ROLE_PLAIN:
            fields.values[key] = value
            fields.metric = fields.metric or is_metric
            fields.run_metric = fields.run_metric or run
            fields.all_eval = fields.all_eval and evalish
        elif role == _ROLE_EPOCH:
            _read_epoch(fields, value, raw_total)
        elif (
            role != _ROLE_DROP
            and _is_whole(value)
            and (fields.step is None or role == _ROLE_GLOBAL_STEP)
        ):
            fields.step = int(value)
            fields.total = int(raw_total) if raw_total else fields.total
    return fields


def _read_epoch(fields: _Fields, value: float, raw_total: bytes) -> None:
    """The epoch field: its value, and a step (with its `/total`) when it is a whole number."""
    fields.values["epoch"] = value
    if _is_whole(value) and value == int(value):
        fields.epoch_step = int(value)
        fields.epoch_total = int(raw_total) if raw_total else fields.epoch_total


def _is_whole(value: float) -> bool:
    """Whether `int(value)` is defined: not NaN and not beyond any step count."""
    return value == value and abs(value) < 1e18


def _add_repr_dict(s: bytes, fields: _Fields) -> None:
    """A line that ends in a Python dict (`step 10 {'loss': 2.3}`) adds its items too."""
    for key, value in parse_pairs(s[s.find(b"{'") :]).items():
        if key not in fields.values:
            fields.values[key] = value
            fields.metric = fields.metric or _role(key)[1]


def _is_record(fields: _Fields, state: LineState, step: int | None, epoch_step: int | None) -> bool:
    """A line is a record when it names a metric, an LR or grad norm beside a counter, or
    continues an indented block under a header; otherwise it may be a header itself."""
    return fields.metric or (
        (fields.run_metric and (step is not None or epoch_step is not None))
        or (state.indented and state.in_block and bool(fields.values))
    )


def _kind(s: bytes, parts: list[bytes], all_eval: bool) -> RecordKind:
    """Eval when the line's head word says so (`Validation: loss=…`) or every metric is an
    eval metric; train otherwise."""
    words = (parts[0].split() or [b""]) if len(parts) > 1 else (s.split() or [b""])
    head = (words[-1] if len(parts) > 1 else words[0]).lower().rstrip(b":")
    return "eval" if head in _EVAL_HEADS or all_eval else "train"


def _header(s: bytes, state: LineState) -> None:
    """Remember a metric-less line with a step counter: the start of a multi-line record."""
    if len(s) > 160 or b"it/s" in s or b"s/it" in s:
        return
    values: dict[str, float] = {}
    step, exact, total, epoch_step = _counters(s, values, None, None, None)
    if step is None:
        for k, v, _suffix, raw_total in _KV.findall(s):
            role = _role(key_text(k))[0]
            if role in (_ROLE_STEP, _ROLE_GLOBAL_STEP) and v.isdigit():
                step, total, exact = int(v), int(raw_total) if raw_total else None, True
            elif role == _ROLE_EPOCH and v.replace(b".", b"").isdigit():
                values["epoch"] = float(v)
                epoch_step = int(float(v))
    if step is None and epoch_step is None:
        return
    kind: RecordKind = "eval" if _EVAL_WORDS.search(s) is not None else "train"
    from_epoch = step is None
    if from_epoch:
        step, exact = epoch_step, False
    state.header = Hit("key-value", kind, values, step, exact, total, from_epoch=from_epoch)


def _counters(
    s: bytes, values: dict[str, float], step: int | None, total: int | None, epoch_step: int | None
) -> tuple[int | None, bool, int | None, int | None]:
    """Read `Epoch [3/100]`-style counters into the epoch and the step, where no field did.

    An inner counter printed beside the epoch (`Step [200/600]`, `Batch 5/40`) restarts
    every epoch, so the step it gives is `(epoch - 1) x per-epoch + n` and not exact; on its
    own it is the run's step and its total. Without a per-epoch total beside an epoch it is
    not exact either (the parser counts on where it would go backwards).
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
            exact = "epoch" not in values
    return step, exact, total, epoch_step
