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
