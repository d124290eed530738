"""The one place that imports the TensorBoard and W&B libraries (optional extras).

Their protocol buffer modules are not a documented API: each is looked up at its current
path, then at the older or sibling paths it has had, so a release that moves one keeps
working until `.ci/upstream` notices. The pins in pyproject.toml (`trainmon[tensorboard]`,
`trainmon[wandb]`) keep an untested release from reaching users. A missing extra raises
`MissingExtra`, whose message is the one line the command line prints (exit 2).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, Final

EXTRA_FOR: Final = {"tensorboard": "tensorboard", "wandb": "wandb"}
"""Input kind -> the pip extra that reads it."""

_EVENT_PB2: Final = ("tensorboard.compat.proto.event_pb2", "tensorflow.core.util.event_pb2")
_TENSOR_UTIL: Final = ("tensorboard.util.tensor_util",)
_WANDB_PB2: Final = ("wandb.proto.wandb_internal_pb2", "wandb.proto.v7.wandb_internal_pb2")


class MissingExtra(RuntimeError):
    """The library that reads an input is not installed."""

    def __init__(self, kind: str, path: str) -> None:
        extra = EXTRA_FOR[kind]
        super().__init__(
            f"{path}: a {kind} run needs the {extra} reader: pip install 'trainmon[{extra}]'"
        )
        self.kind = kind


def _first_module(names: tuple[str, ...]) -> ModuleType | None:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _message_decoder(
    candidates: tuple[str, ...], message: str, extra: str, path: str
) -> Callable[[bytes], Any]:
    """`<message>.FromString` from the first of `candidates` that imports."""
    module = _first_module(candidates)
    if module is None:
        raise MissingExtra(extra, path)
    decode: Callable[[bytes], Any] = getattr(module, message).FromString
    return decode


def event_decoder(path: str) -> Callable[[bytes], Any]:
    """`Event.FromString` of TensorBoard's event protocol buffer."""
    return _message_decoder(_EVENT_PB2, "Event", "tensorboard", path)


def tensor_scalar() -> Callable[[Any], float | None]:
    """A TensorProto holding one number -> that number (None for anything else).

    TensorBoard's own `make_ndarray` when it is there; otherwise the proto's value fields.
    """
    module = _first_module(_TENSOR_UTIL)
    make_ndarray = getattr(module, "make_ndarray", None) if module else None

    def scalar(tensor: Any) -> float | None:
        if make_ndarray is not None:
            try:
                array = make_ndarray(tensor)
            except Exception:
                return None
            if array.size != 1 or array.dtype.kind not in "fiub":
                return None
            return float(array.reshape(-1)[0])
        for field in ("float_val", "double_val", "int_val", "int64_val"):
            values: Any = getattr(tensor, field, ())
            if len(values) == 1:
                return float(values[0])
        return None

    return scalar


def wandb_record_decoder(path: str) -> Callable[[bytes], Any]:
    """`Record.FromString` of W&B's internal record protocol buffer."""
    return _message_decoder(_WANDB_PB2, "Record", "wandb", path)
