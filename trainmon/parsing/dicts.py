"""Turn one printed metrics dict (Python repr or JSON) into `{name: float}`, never by eval.

Hugging Face's Trainer prints its logs with `print(dict)`, so the text is a Python repr:
single quotes, bare `nan`/`inf`, and in some versions `np.float64(1.2)`, `tensor(1.2,
device='cuda:0')` or numbers printed as quoted strings. `ast.literal_eval` is slow, drops
most of those, and can exhaust the stack on hostile nesting. The fast path swaps quotes and
hands the text to orjson (about 0.5 µs a line); anything orjson refuses goes to one compiled
regex that reads `'key': <number>` pairs left to right without any recursion.
"""

from __future__ import annotations

import re
from typing import Final

import orjson

_NUMBER: Final = (
    rb"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|NaN|inf|Inf|Infinity)"
)

_PAIR: Final = re.compile(
    rb"['\"]([^'\"\\\r\n]{1,200})['\"]\s*:\s*['\"]?"
    rb"(?:(?:np|numpy)\.(?:float|int)\d*\(\s*|tensor\(\s*)?"
    rb"(" + _NUMBER + rb")(?![\w.])"
)

_key_cache: dict[bytes, str] = {}
_loads: Final = orjson.loads


def _key(raw: bytes) -> str:
    hit = _key_cache.get(raw)
    if hit is None:
        hit = raw.decode("utf-8", "replace")
        if len(_key_cache) < 65536:
            _key_cache[raw] = hit
    return hit


def to_float(value: object) -> float | None:
    """A JSON value as a float: numbers and numeric strings; bools, None, text -> None."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int:
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:
            return float("inf") if value > 0 else float("-inf")  # type: ignore[operator]
    if kind is str and 0 < len(value) < 64:  # type: ignore[arg-type]
        try:
            return float(value)  # type: ignore[arg-type]
        except ValueError:
            return None
    return None


def numeric_items(obj: dict[str, object]) -> dict[str, float]:
    """Keep the numeric values of a parsed dict; one level of nesting is flattened as `a/b`."""
    out: dict[str, float] = {}
    for key, value in obj.items():
        kind = type(value)
        if kind is float:
            out[key] = value  # type: ignore[assignment]
        elif kind is dict:
            for sub, inner in value.items():  # type: ignore[attr-defined]
                number = to_float(inner)
                if number is not None:
                    out[f"{key}/{sub}"] = number
        else:
            number = to_float(value)
            if number is not None:
                out[key] = number
            elif kind is str and "/" in key:
                _split_pair(key, value, out)  # type: ignore[arg-type]
    return out


def _split_pair(key: str, value: str, out: dict[str, float]) -> None:
    """`"global_step/max_steps": "10/500"`: one progress field holding two numbers."""
    names = key.split("/")
    numbers = value.split("/")
    if len(names) == 2 == len(numbers):
        for name, raw in zip(names, numbers, strict=True):
            number = to_float(raw.strip())
            if number is None:
                return
            out[name.strip()] = number


def parse_repr_dict(text: bytes) -> dict[str, float]:
    """Numeric items of one `{...}` dict printed by Python (or JSON); `{}` when none."""
    try:
        obj = orjson.loads(text.replace(b"'", b'"'))
    except orjson.JSONDecodeError:
        return parse_pairs(text)
    if type(obj) is not dict:
        return parse_pairs(text)
    return numeric_items(obj)


def parse_pairs(text: bytes) -> dict[str, float]:
    """The regex fallback: every `'key': number` pair in `text`, in order, last one wins."""
    out: dict[str, float] = {}
    for raw_key, raw_value in _PAIR.findall(text):
        out[_key(raw_key)] = float(raw_value)
    return out


def hot_dict_values(text: bytes) -> dict[str, float]:
    """Numeric items of a `{'...}` dict line; a dict of plain numbers (two quotes per key,
    no list) is used as decoded, skipping the per-item filter."""
    try:
        obj = _loads(text.replace(b"'", b'"'))
    except orjson.JSONDecodeError:
        return parse_pairs(text)
    if text.count(b"'") == 2 * len(obj) and 91 not in text:  # 91: `[`, a list
        return obj  # type: ignore[no-any-return]
    return numeric_items(obj)


def parse_json_object(text: bytes) -> dict[str, object] | None:
    """A JSON object, or None when `text` is not one (orjson bounds its own nesting depth)."""
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return obj if type(obj) is dict else None
