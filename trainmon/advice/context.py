"""Run facts the log (or the user) revealed, parsed once into typed values.

Parsers hand a plain mapping (values may be numbers, booleans or strings from
`--context KEY=VALUE`); rules read a `RunContext` and simply skip what is unknown.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from trainmon.i18n import _

HF_FORMATS = frozenset({"hf-trainer", "trainer-state"})
"""Formats written by the Hugging Face Trainer (whose default max_grad_norm is 1.0)."""

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", "none", ""})


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def _as_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _as_count(value: object) -> int | None:
    number = _as_float(value)
    if number is None or number <= 0 or number >= 2**62:
        return None  # HF writes 2**63-1 for "unbounded" epochs
    return int(number)


@dataclass(frozen=True, slots=True)
class RunContext:
    """Typed run facts; None means unknown."""

    fp16: bool | None = None
    bf16: bool | None = None
    max_grad_norm: float | None = None
    """The clipping threshold when clipping is on and known."""
    clipping_off: bool = False
    """The run said `max_grad_norm` 0 (or none): gradients are not clipped."""
    max_steps: int | None = None
    num_train_epochs: float | None = None
    logging_steps: int | None = None
    eval_steps: int | None = None
    warmup_steps: int | None = None
    learning_rate: float | None = None
    vocab_size: int | None = None
    num_classes: int | None = None
    log_format: str | None = None
    """The parser's detected format (context key `format`), e.g. `hf-trainer`."""
    ranks: int | None = None
    """Ranks whose tags (`[rank1]:`, `[default1]:`) the log's records carried, when 2 or more."""

    @property
    def hf_trainer(self) -> bool:
        """The log comes from the Hugging Face Trainer, so its defaults (clip 1.0) apply."""
        return self.log_format in HF_FORMATS

    @property
    def ln_classes(self) -> float | None:
        """ln(C): the loss of a uniform guess, from num_classes or vocab_size."""
        n = self.num_classes or self.vocab_size
        return math.log(n) if n and n > 1 else None

    @property
    def classes_label(self) -> str:
        """How to name ln(C) in evidence text."""
        if self.num_classes:
            return _("ln({count} classes)").format(count=self.num_classes)
        return _("ln(vocab {size})").format(size=self.vocab_size)


def _clipping_off(value: object, clip: float | None) -> bool:
    """`max_grad_norm` 0, a negative value or `none`: the trainer does not clip."""
    if clip is not None:
        return clip <= 0
    return isinstance(value, str) and value.strip().lower() in ("none", "null", "off")


def parse_context(raw: Mapping[str, object] | None) -> RunContext:
    """Typed context from loose values; unknown keys and unparsable values are ignored."""
    raw = raw or {}
    epochs = _as_float(raw.get("num_train_epochs"))
    if epochs is not None and (epochs <= 0 or epochs >= 2**62):
        epochs = None
    clip = _as_float(raw.get("max_grad_norm"))
    lr = _as_float(raw.get("learning_rate"))
    log_format = raw.get("format")
    return RunContext(
        fp16=_as_bool(raw.get("fp16")),
        bf16=_as_bool(raw.get("bf16")),
        max_grad_norm=clip if clip is not None and clip > 0 else None,
        clipping_off=_clipping_off(raw.get("max_grad_norm"), clip),
        max_steps=_as_count(raw.get("max_steps")),
        num_train_epochs=epochs,
        logging_steps=_as_count(raw.get("logging_steps")),
        eval_steps=_as_count(raw.get("eval_steps")),
        warmup_steps=_as_count(raw.get("warmup_steps")),
        learning_rate=lr if lr is not None and lr > 0 else None,
        vocab_size=_as_count(raw.get("vocab_size")),
        num_classes=_as_count(raw.get("num_classes")),
        log_format=(log_format.strip().lower() or None) if isinstance(log_format, str) else None,
        ranks=_as_count(raw.get("ranks")),
    )


def context_from_model_config(log_path: str | Path) -> dict[str, object]:
    """vocab_size / num_classes from a `config.json` beside the log, if one is there.

    Returns an empty mapping when there is no readable config; never raises.
    """
    try:
        path = Path(log_path).expanduser().resolve().parent / "config.json"
        if not path.is_file() or path.stat().st_size > 4_000_000:
            return {}
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError, RuntimeError):
        return {}
    if not isinstance(data, dict):
        return {}
    found: dict[str, object] = {}
    vocab = data.get("vocab_size")
    if vocab is None and isinstance(data.get("text_config"), dict):
        vocab = data["text_config"].get("vocab_size")
    if isinstance(vocab, int) and vocab > 1:
        found["vocab_size"] = vocab
    archs = data.get("architectures")
    classifier = isinstance(archs, list) and any("Classification" in str(a) for a in archs)
    labels = data.get("id2label")
    if not classifier:
        return found  # LM configs often carry a default two-label id2label: not a task fact
    if isinstance(labels, dict) and len(labels) > 1:
        found["num_classes"] = len(labels)
    elif isinstance(data.get("num_labels"), int) and data["num_labels"] > 1:
        found["num_classes"] = data["num_labels"]
    return found
