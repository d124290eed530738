"""One vocabulary for metric names, whatever framework printed them.

Every parser path hands its raw key to `canonical_name`, so the store, the plots and the
advice rules only ever see one name per quantity. Mapping table (raw name, matched without
regard to case, spaces and hyphens read as underscores):

==========================================  =================  ==========================
raw name(s)                                 canonical          printed by
==========================================  =================  ==========================
loss, train_loss, train loss, lm loss,      ``loss``           HF, Lightning, nanoGPT,
total_loss, Loss, train/loss, loss_total                       Megatron, detectron2, ...
val_loss, valid_loss, validation_loss,      ``eval_loss``      Keras, fairseq, nanoGPT,
val loss, eval/loss, avg_loss and loss                         Lightning, MiniLLM dev
(the last two on an eval line)
lr, learning_rate, learning rate,           ``learning_rate``  everyone
lr/pg0 (YOLO's first param group)
grad_norm, grad norm, gnorm, gradnorm,      ``grad_norm``      HF, Megatron, fairseq,
grad_norm_total, train/grad_norm                               MMEngine, torchtitan
epoch, epochs, train/epoch                  ``epoch``          everyone
val_acc, val_accuracy                       ``eval_accuracy``  Keras
val_<x>, valid_<x>, validation_<x>          ``eval_<x>``       Keras, fairseq, Lightning
==========================================  =================  ==========================

Other metrics keep their printed name with inner spaces turned into underscores
(``eval_accuracy``, ``mfu``, ``rewards/chosen``, ``s0.loss_cls``). On an eval record a name
that does not already say so gets the ``eval_`` prefix (``accuracy`` -> ``eval_accuracy``),
so eval metrics never mix with the train series of the same name.
"""

from __future__ import annotations

from typing import Final, Literal

NameKind = Literal["train", "eval", "summary"]

_ALIASES: Final[dict[str, str]] = {
    "loss": "loss",
    "train_loss": "loss",
    "lm_loss": "loss",
    "total_loss": "loss",
    "loss_total": "loss",
    "train/loss": "loss",
    "training_loss": "loss",
    "val_loss": "eval_loss",
    "valid_loss": "eval_loss",
    "validation_loss": "eval_loss",
    "eval/loss": "eval_loss",
    "val/loss": "eval_loss",
    "test_loss": "eval_loss",
    "eval_loss": "eval_loss",
    "lr": "learning_rate",
    "learning_rate": "learning_rate",
    "lr/pg0": "learning_rate",
    "train/learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
    "gnorm": "grad_norm",
    "gradnorm": "grad_norm",
    "grad_norm_total": "grad_norm",
    "train/grad_norm": "grad_norm",
    "epoch": "epoch",
    "epochs": "epoch",
    "train/epoch": "epoch",
    "val_acc": "eval_accuracy",
    "val_accuracy": "eval_accuracy",
    "valid_acc": "eval_accuracy",
    "valid_accuracy": "eval_accuracy",
}

# On an eval line the plain names mean the eval quantity.
_EVAL_ALIASES: Final[dict[str, str]] = {
    "loss": "eval_loss",
    "avg_loss": "eval_loss",
    "val_loss": "eval_loss",
    "valid_loss": "eval_loss",
    "acc": "eval_accuracy",
    "accuracy": "eval_accuracy",
    "epoch": "epoch",
    "lr": "learning_rate",
    "learning_rate": "learning_rate",
}

_EVAL_PREFIXES: Final = ("val_", "valid_", "validation_")

_cache: dict[tuple[str, str], str] = {}


def canonical_name(raw: str, kind: NameKind = "train") -> str:
    """Return the one name trainmon uses for the metric printed as `raw` on a `kind` line."""
    key = (raw, kind)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    name = _canonical(raw, kind)
    if len(_cache) < 65536:
        _cache[key] = name
    return name


def _canonical(raw: str, kind: str) -> str:
    printed = "_".join(raw.strip().split())
    norm = printed.lower().replace("-", "_")
    if kind == "summary":
        # end-of-run averages (`train_loss`) are not points of the train series
        return "epoch" if norm == "epoch" else printed
    if kind == "eval":
        hit = _EVAL_ALIASES.get(norm)
        if hit is not None:
            return hit
    hit = _ALIASES.get(norm)
    if hit is not None:
        return hit
    for prefix in _EVAL_PREFIXES:
        if norm.startswith(prefix) and len(norm) > len(prefix):
            return "eval_" + printed[len(prefix) :]
    if kind == "eval" and not norm.startswith(("eval_", "eval/", "test_", "predict_", "test/")):
        return "eval_" + printed
    return printed


_COMPONENT_WORDS: Final = (
    "cls", "bbox", "box", "obj", "dfl", "rpn", "mask", "aux", "kl", "reg", "_x", "#",
    "z-score", "zscore", "weight", "scale",
)  # fmt: skip
"""Words of a loss *component* (detector heads, auxiliary terms): never the training loss."""
_LOSS_PRIORITY: Final = ("crossentropyloss", "lm_loss", "avg_loss", "avr_loss", "total")

SERIES_TARGETS: Final = ("loss", "eval_loss", "learning_rate", "grad_norm")
"""The series the plots and the advice rules read; `choose_series` fills them."""
_TRAIN_TARGETS: Final = ("loss", "learning_rate", "grad_norm")
_EVAL_TARGETS: Final = ("eval_loss",)


def _candidate(target: str, name: str) -> int | None:
    """How well a printed name fits `target` (lower is better), None when it does not."""
    low = name.lower().replace(" ", "_")
    if target in ("loss", "eval_loss"):
        evalish = low.startswith(("eval_", "eval/", "val/", "valid/", "test_", "test/"))
        if evalish != (target == "eval_loss"):
            return None
        if low in ("tl", "eval_vl") or (
            "loss" in low and not any(w in low for w in _COMPONENT_WORDS)
        ):
            for rank, word in enumerate(_LOSS_PRIORITY):
                if word in low:
                    return rank
            return len(_LOSS_PRIORITY)
        return None
    if target == "learning_rate":
        words = low.replace("/", "_").split("_")
        if len(words) > 1 and words[-1].isdigit():  # `lr_0`: the first parameter group
            words.pop()
        return 0 if words[-1] in ("lr", "rate") and "eval" not in low else None
    if "grad" in low and "norm" in low and "param" not in low:
        return 0
    return 1 if low == "norm" else None


def choose_series(
    pairs: tuple[tuple[str, str], ...], kind: NameKind, sources: dict[str, str]
) -> tuple[tuple[str, str], ...]:
    """Give a record's (raw, canonical) names the `SERIES_TARGETS` the log has under other names.

    A log without a `loss` may print `lm_loss`, `train/CrossEntropyLoss`, `avg loss so far`:
    the best candidate of the first record that has one becomes `loss` for the whole log,
    and `sources` remembers it (`loss = lm_loss`, shown on screen and in `report`). Names the
    vocabulary already maps are remembered too. Every other metric keeps its name.
    """
    if kind == "summary":
        return pairs
    names = {name for _raw, name in pairs}
    out = list(pairs)
    for target in _EVAL_TARGETS if kind == "eval" else _TRAIN_TARGETS:
        if target in names:
            if target not in sources:
                raw = next(raw for raw, name in pairs if name == target)
                if "_".join(raw.split()).lower() != target:
                    sources[target] = raw
                else:
                    sources[target] = target
            continue
        chosen = sources.get(target)
        if chosen is None:
            ranked = [
                (rank, i)
                for i, (_raw, name) in enumerate(out)
                if (rank := _candidate(target, name)) is not None
            ]
            if not ranked:
                continue
            chosen = out[min(ranked)[1]][0]
            sources[target] = chosen
        for i, (raw, name) in enumerate(out):
            if raw == chosen and name not in SERIES_TARGETS:
                out[i] = (raw, target)
                break
    return tuple(out)
