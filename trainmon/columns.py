"""Columns of numbers that grow for ever, kept compact in sealed chunks.

A store holds one step and one time per record, and one value per point of each series, for
tens of millions of records. All are regular: steps mostly rise by one stride, records read
together share one arrival time, and logged values are short decimals (`0.4123`), float32
numbers printed in full, or smooth schedules. Values go into a plain `array` tail; every
`CHUNK` values the tail is sealed into the smallest exact form: an arithmetic run (start,
stride), small integer deltas, runs of equal values, integers coded as small deltas (floats
as scaled decimals or as their bit patterns, see `_IntCode`), or the raw numbers. Every form
gives back the very bits that went in. Reads decode only the chunks they touch, so no reader
ever needs the whole column at once.
"""

from __future__ import annotations

import itertools
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    import numpy.typing as npt

    Numbers = npt.NDArray[Any]

CHUNK_SHIFT: Final = 16
CHUNK: Final = 1 << CHUNK_SHIFT
"""Values per sealed chunk: decoding one costs well under a millisecond."""

CACHED_CHUNKS: Final = 2
"""Decoded chunks a column keeps (each costs up to 512 KiB)."""

Typecode = Literal["q", "i", "d"]
"""`q`: int64 (steps); `i`: int32 (a series' record index); `d`: float64 (times)."""


class _Sealed:
    """One sealed chunk: its exact values in a compact form, with its min and max."""

    __slots__ = (
        "code",
        "deltas",
        "first",
        "hi",
        "kind",
        "lo",
        "n",
        "starts",
        "stride",
        "values",
    )

    def __init__(self, values: Numbers, typecode: Typecode) -> None:
        import numpy as np

        n = len(values)
        self.n = n
        self.lo = values.min().item()
        self.hi = values.max().item()
        self.first = values[0].item()
        self.stride: Any = 0
        self.deltas: Numbers | None = None
        self.starts: Numbers | None = None
        self.values: Numbers | None = None
        self.code: _IntCode | None = None
        if typecode != "d":
            d = np.diff(values)
            if not len(d) or bool(np.all(d == d[0])):
                self.kind = "stride"
                self.stride = int(d[0]) if len(d) else 0
                return
            for narrow in (np.int8, np.int16, np.int32):
                info = np.iinfo(narrow)
                if int(d.min()) >= info.min and int(d.max()) <= info.max:
                    self.kind = "deltas"
                    self.deltas = d.astype(narrow)
                    return
        else:
            bits = values.view(np.int64)  # exact equality, NaN included
            starts = np.flatnonzero(bits[1:] != bits[:-1]) + 1
            if (len(starts) + 1) * 12 <= n * 8:
                self.kind = "runs"
                self.starts = np.concatenate(([0], starts)).astype(np.int32)
                self.values = values[self.starts]
                return
            with np.errstate(all="ignore"):  # wrapping integer deltas are part of the code
                code = _IntCode.for_floats(values)
            if code is not None:
                self.kind = "code"
                self.code = code
                return
        self.kind = "raw"
        self.values = values.copy()

    def decode(self, dtype: Any) -> Numbers:
        import numpy as np

        if self.kind == "stride":
            out: Numbers = np.arange(self.n, dtype=dtype) * self.stride + self.first
            return out
        if self.kind == "deltas":
            assert self.deltas is not None
            out = np.empty(self.n, dtype=dtype)
            out[0] = self.first
            np.cumsum(self.deltas, dtype=dtype, out=out[1:])
            out[1:] += self.first
            return out
        if self.kind == "code":
            assert self.code is not None
            return self.code.decode()
        if self.kind == "runs":
            assert self.starts is not None and self.values is not None
            lengths = np.diff(np.append(self.starts, self.n))
            return np.repeat(self.values, lengths)
        assert self.values is not None
        return self.values

    @property
    def nbytes(self) -> int:
        arrays = (self.deltas, self.starts, self.values)
        code = self.code.nbytes if self.code is not None else 0
        return 64 + code + sum(a.nbytes for a in arrays if a is not None)


_NARROW_TYPES: Final = ("int8", "int16", "int32")
_EXCEPTION_BYTES: Final = 12
"""An int32 position and an int64 value for each delta too wide for the narrow type."""
_DECIMAL_PLACES: Final = 10
_EXACT_INT: Final = float(2**53)
FLOAT32_BITS: Final = -1


class _IntCode:
    """Float64 values as integers, coded as they are or by their deltas of order 1 or 2, in
    the narrowest integer type, with the few deltas that do not fit kept aside (exceptions).

    The integers are the values times 10^k when that gives back every value exactly (numbers
    printed as short decimals), else the bit patterns of the values as float32 when that type
    holds them exactly (`loss.item()` of a float32 tensor), else their float64 bit patterns
    (smooth schedules have small second differences there). Non-finite values of a decimal chunk are
    patched in after decoding. Integer arithmetic wraps around in numpy, so the deltas of any
    bit patterns decode exactly.
    """

    __slots__ = ("exc_pos", "exc_val", "head", "n", "narrow", "patch_pos", "patch_val", "places")

    def __init__(
        self,
        ints: Numbers,
        order: int,
        places: int | None,
        patch_pos: Numbers | None = None,
        patch_val: Numbers | None = None,
    ) -> None:
        import numpy as np

        self.n = len(ints)
        self.places = places
        """k of the 10^k scale; None: the integers are the floats' bit patterns;
        `FLOAT32_BITS`: the bit patterns of the values as float32 (which hold them exactly)."""
        self.patch_pos = patch_pos
        self.patch_val = patch_val
        self.head = ints[:order].copy()
        if order == 2 and len(ints) > 1:
            self.head[1:] = np.diff(ints[:2])
        r = np.diff(ints, n=order) if len(ints) > order else np.empty(0, np.int64)
        self.narrow, self.exc_pos, self.exc_val = _narrowest(r)

    @classmethod
    def for_floats(cls, values: Numbers) -> _IntCode | None:
        """The smallest code for `values`, or None when none is smaller than the raw bytes."""
        import numpy as np

        candidates: list[_IntCode] = []
        good_enough = len(values) * 2 + 1024  # two bytes a value: no other form is tried
        decimal = _as_decimal(values)
        if decimal is not None:
            ints, places, patch_pos, patch_val = decimal
            candidates.append(cls(ints, 1, places, patch_pos, patch_val))
            if candidates[-1].nbytes > good_enough:
                candidates.append(cls(ints, 2, places, patch_pos, patch_val))
        if min((c.nbytes for c in candidates), default=values.nbytes) > good_enough:
            single = values.astype(np.float32)
            if np.array_equal(single.astype(np.float64).view(np.int64), values.view(np.int64)):
                narrow_bits = single.view(np.int32).astype(np.int64)
                candidates.append(cls(narrow_bits, 0, FLOAT32_BITS))
                candidates.append(cls(narrow_bits, 1, FLOAT32_BITS))
                candidates.append(cls(narrow_bits, 2, FLOAT32_BITS))
            bits = values.view(np.int64)
            candidates.append(cls(bits, 1, None))
            candidates.append(cls(bits, 2, None))
        if not candidates:
            return None
        best = min(candidates, key=lambda c: c.nbytes)
        return best if best.nbytes < values.nbytes else None

    def decode(self) -> Numbers:
        import numpy as np

        with np.errstate(all="ignore"):
            return self._decode()

    def _decode(self) -> Numbers:
        import numpy as np

        r = self.narrow.astype(np.int64)
        if len(self.exc_pos):
            r[self.exc_pos] = self.exc_val
        for k in range(len(self.head) - 1, -1, -1):  # undo the differences, highest order first
            out = np.empty(len(r) + 1, dtype=np.int64)
            out[0] = self.head[k]
            np.cumsum(r, out=out[1:])
            out[1:] += self.head[k]
            r = out
        ints = r[: self.n]
        if self.places is None:
            return ints.view(np.float64)
        if self.places == FLOAT32_BITS:
            return ints.astype(np.int32).view(np.float32).astype(np.float64)
        floats: Numbers = ints.astype(np.float64) / 10.0**self.places
        if self.patch_pos is not None and self.patch_val is not None:
            floats[self.patch_pos] = self.patch_val
        return floats

    @property
    def nbytes(self) -> int:
        arrays = (self.narrow, self.exc_pos, self.exc_val, self.head)
        patches = (self.patch_pos, self.patch_val)
        return 48 + sum(a.nbytes for a in arrays) + sum(a.nbytes for a in patches if a is not None)


def _narrowest(r: Numbers) -> tuple[Numbers, Numbers, Numbers]:
    """`r` in the integer type that costs least, counting the exceptions it leaves."""
    import numpy as np

    best: tuple[int, Any] | None = None
    lo, hi = (int(r.min()), int(r.max())) if len(r) else (0, 0)
    for name in _NARROW_TYPES:
        info = np.iinfo(name)
        size = np.dtype(name).itemsize * len(r)
        if info.min <= lo and hi <= info.max:
            cost, outside = size, None
        else:
            outside = np.flatnonzero((r < info.min) | (r > info.max))
            cost = size + _EXCEPTION_BYTES * len(outside)
        if best is None or cost < best[0]:
            best = (cost, (name, outside))
        if outside is None:
            break
    assert best is not None
    name, outside = best[1]
    if outside is None or not len(outside):
        return r.astype(name), np.empty(0, np.int32), np.empty(0, np.int64)
    exc_val = r[outside].copy()
    kept = r.copy()
    kept[outside] = 0
    return kept.astype(name), outside.astype(np.int32), exc_val


def _as_decimal(values: Numbers) -> tuple[Numbers, int, Numbers | None, Numbers | None] | None:
    """(integers, k, non-finite positions, their values) with integers / 10^k == values to
    the bit, for the smallest k that works; None when no k up to `_DECIMAL_PLACES` does."""
    import numpy as np

    finite = np.isfinite(values)
    patch_pos = patch_val = None
    if not finite.all():
        bad = np.flatnonzero(~finite)
        if len(bad) * 8 > len(values):
            return None
        patch_pos, patch_val = bad.astype(np.int32), values[bad].copy()
        values = np.where(finite, values, 0.0)
    sample = values[:64]
    for places in range(_DECIMAL_PLACES + 1):
        if not _exact_at(sample, places):
            continue
        if _exact_at(values, places):
            ints = np.rint(values * 10.0**places).astype(np.int64)
            return ints, places, patch_pos, patch_val
    return None


def _exact_at(values: Numbers, places: int) -> bool:
    import numpy as np

    scale = 10.0**places
    scaled = np.rint(values * scale)
    if not bool(np.all(np.abs(scaled) < _EXACT_INT)):
        return False
    back = scaled / scale
    return bool(np.array_equal(back.view(np.int64), values.view(np.int64)))


class Column:
    """A growable column of int64, int32 or float64 values: appends in C, compact sealed chunks.

    Reads: `len()`, `col[i]` (negative too), `col[lo:hi]` (a numpy copy, as `span`),
    `col[indices]` (as `take`), `take(indices)`, `span(lo, hi)`, `min()`, `max()`,
    iteration. Single-threaded, like the store that owns it.
    """

    __slots__ = ("_cache", "_chunk_len", "_highs", "_sealed", "_shift", "_tail", "typecode")

    def __init__(self, typecode: Typecode, chunk_shift: int = CHUNK_SHIFT) -> None:
        self.typecode: Typecode = typecode
        self._shift = chunk_shift
        self._chunk_len = 1 << chunk_shift
        self._sealed: list[_Sealed] = []
        self._highs: list[Any] = []
        """Each sealed chunk's max, for `bisect_left`."""
        self._tail: array[Any] = array(typecode)
        self._cache: tuple[tuple[int, Numbers], ...] = ()
        """The last decoded chunks, newest first (scalar reads tend to hit the same one, and
        the advice rules read the same window over two chunks one rule after another)."""

    @property
    def _dtype(self) -> Any:
        import numpy as np

        return {"q": np.int64, "i": np.int32, "d": np.float64}[self.typecode]

    # -- writing -------------------------------------------------------------------------------

    def fromlist(self, values: list[Any]) -> None:
        """Append values (converted in one C loop, as `array.fromlist`)."""
        self._tail.fromlist(values)
        if len(self._tail) >= self._chunk_len:
            self._seal()

    def extend(self, other: Column, offset: int = 0) -> None:
        """Append all of `other`'s values (plus `offset`), one chunk at a time."""
        for k in range(len(other._sealed) + 1):
            values = other._chunk(k)
            if offset:
                values = values + offset
            self._tail.frombytes(values.astype(self._dtype).tobytes())
            if len(self._tail) >= self._chunk_len:
                self._seal()

    def _seal(self) -> None:
        import numpy as np

        while len(self._tail) >= self._chunk_len:
            head = np.array(self._tail[: self._chunk_len], dtype=self._dtype)
            self._sealed.append(_Sealed(head, self.typecode))
            self._highs.append(self._sealed[-1].hi)
            del self._tail[: self._chunk_len]

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._sealed) * self._chunk_len + len(self._tail)

    def __bool__(self) -> bool:
        return bool(self._sealed) or bool(self._tail)

    def __getitem__(self, i: int | slice | Numbers) -> Any:
        if isinstance(i, slice):
            if i.step not in (None, 1):
                raise ValueError("column slices take no step")
            lo, hi, _ = i.indices(len(self))
            return self.span(lo, hi)
        if not isinstance(i, int):
            if hasattr(i, "__len__"):
                return self.take(i)
            i = int(i)  # a numpy integer
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("column index out of range")
        sealed = len(self._sealed) * self._chunk_len
        if i >= sealed:
            return self._tail[i - sealed]
        k, offset = divmod(i, self._chunk_len)
        chunk = self._sealed[k]
        if chunk.kind == "stride":
            return chunk.first + chunk.stride * offset
        return self._chunk(k)[offset].item()

    def __iter__(self) -> Iterator[Any]:
        for k in range(len(self._sealed)):
            yield from self._chunk(k).tolist()
        yield from self._tail

    def _chunk(self, k: int) -> Numbers:
        """Chunk `k` decoded (the tail for k == number of sealed chunks: a copy)."""
        import numpy as np

        if k == len(self._sealed):
            return np.array(self._tail, dtype=self._dtype)
        for cached, values in self._cache:
            if cached == k:
                return values
        values = self._sealed[k].decode(self._dtype)
        self._cache = ((k, values), *self._cache[: CACHED_CHUNKS - 1])
        return values

    @property
    def sealed_chunks(self) -> int:
        """How many chunks are sealed (they never change again)."""
        return len(self._sealed)

    def chunk(self, k: int) -> Numbers:
        """Chunk `k` decoded: a sealed one (do not modify it) or, for `sealed_chunks`, a copy
        of the values after them."""
        return self._chunk(k)

    def chunks(self) -> Iterator[Numbers]:
        """Every value, one decoded chunk at a time (the last one is the tail's copy)."""
        for k in range(len(self._sealed) + 1):
            chunk = self._chunk(k)
            if len(chunk):
                yield chunk

    def span(self, lo: int = 0, hi: int | None = None) -> Numbers:
        """Values [lo, hi) as a new numpy array."""
        import numpy as np

        n = len(self)
        hi = n if hi is None else max(0, min(hi, n))
        lo = max(0, lo)
        if lo >= hi:
            return np.empty(0, dtype=self._dtype)
        first, last = lo >> self._shift, (hi - 1) >> self._shift
        parts = [self._chunk(k) for k in range(first, last + 1)]
        joined = parts[0] if len(parts) == 1 else np.concatenate(parts)
        start = lo - (first << self._shift)
        return joined[start : start + hi - lo].copy()

    def take(self, index: Numbers) -> Numbers:
        """The values at record positions `index` (any order), decoding only their chunks."""
        import numpy as np

        idx = np.asarray(index, dtype=np.int64)
        if not len(idx):
            return np.empty(0, dtype=self._dtype)
        lowest = int(idx.min())
        if lowest < 0:  # (numpy's own indexing rejects indices past the end)
            raise IndexError("column index out of range")
        sealed = len(self._sealed) << self._shift
        if lowest >= sealed:  # all in the tail: gather through a temporary view
            view = np.frombuffer(self._tail, dtype=self._dtype)
            out: Numbers = view[idx - sealed] if sealed else view[idx]
            del view  # a live view would pin the tail's buffer and block the next append
            return out
        chunk_of = idx >> self._shift
        order = None
        if len(idx) > 1 and not bool(np.all(chunk_of[1:] >= chunk_of[:-1])):
            order = np.argsort(idx, kind="stable")
            idx, chunk_of = idx[order], chunk_of[order]
        bounds = [0, *(np.flatnonzero(np.diff(chunk_of)) + 1).tolist(), len(idx)]
        out = np.empty(len(idx), dtype=self._dtype)
        for a, b in itertools.pairwise(bounds):
            k = int(chunk_of[a])
            out[a:b] = self._chunk(k)[idx[a:b] - (k << self._shift)]
        if order is None:
            return out
        result = np.empty_like(out)
        result[order] = out
        return result

    def bisect_left(self, value: Any) -> int:
        """Where `value` goes in this column, whose values must never decrease (a series'
        record index): a bisection over the chunks' maxima and one search in a chunk, in C,
        where `bisect` over the column would make a Python call per probe."""
        import numpy as np

        k = bisect_left(self._highs, value)
        base = k * self._chunk_len
        if k == len(self._sealed):
            return base + bisect_left(self._tail, value)
        chunk = self._sealed[k]
        if chunk.kind == "stride" and chunk.stride > 0:
            steps = -(-(value - chunk.first) // chunk.stride)
            return base + max(0, min(chunk.n, int(steps)))
        return base + int(np.searchsorted(self._chunk(k), value, "left"))

    def min(self) -> Any:
        """The smallest value (the column must not be empty)."""
        return min([c.lo for c in self._sealed] + self._tail_extremes(0))

    def max(self) -> Any:
        """The largest value (the column must not be empty)."""
        return max([c.hi for c in self._sealed] + self._tail_extremes(1))

    def _tail_extremes(self, which: int) -> list[Any]:
        """[min] or [max] of the tail (reduced in C over a temporary view), [] when empty."""
        import numpy as np

        if not self._tail:
            return []
        view = np.frombuffer(self._tail, dtype=self._dtype)
        value = (view.max() if which else view.min()).item()
        del view  # a live view would pin the tail's buffer and block the next append
        return [value]

    @property
    def nbytes(self) -> int:
        """Bytes held by the values (sealed chunks and the tail's allocation)."""
        tail = self._tail.buffer_info()[1] * self._tail.itemsize
        return sum(c.nbytes for c in self._sealed) + tail
