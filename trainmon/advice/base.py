"""What every rule sees and returns: a prefix view of the store, run facts, and hits.

Rules never read the store directly: they get a `View` that ends at a checkpoint (a record
count), so a rule evaluated live, after a batch of records, sees exactly what it saw when
the same records were replayed. That is what makes the findings independent of batching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from trainmon.advice.context import RunContext
from trainmon.records import Severity
from trainmon.store import INDEX_DTYPE, index_array

if TYPE_CHECKING:
    import numpy.typing as npt

    from trainmon.store import MetricStore

    FloatArray = npt.NDArray[np.float64]

LOSS = "loss"
EVAL_LOSS = "eval_loss"
LR = "learning_rate"
GRAD = "grad_norm"
EPOCH = "epoch"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule's identity, for help texts, the README and `--mute`."""

    id: str
    family: str
    severity: Severity
    """The default (usual) severity; some rules escalate or downgrade with corroboration."""
    description: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule's positive check: what it would report if it holds long enough."""

    severity: Severity
    step: int | None
    title: str
    evidence: str
    advice: str


class View:
    """The store as it was after its first `end` records (read-only, copies only windows)."""

    __slots__ = ("_counts", "end", "store")

    def __init__(self, store: MetricStore, end: int) -> None:
        self.store = store
        self.end = end
        self._counts: dict[str, int] = {}

    def count(self, name: str) -> int:
        """How many points of `name` belong to the first `end` records."""
        cached = self._counts.get(name)
        if cached is not None:
            return cached
        n = self.count_at(name, self.end)
        self._counts[name] = n
        return n

    def values(self, name: str, lo: int = 0, hi: int | None = None) -> FloatArray:
        """Values of points [lo, hi) of `name` (hi clipped to the view)."""
        series = self.store.get(name)
        n = self.count(name)
        hi = n if hi is None else min(hi, n)
        lo = max(0, lo)
        if series is None or lo >= hi:
            return np.empty(0)
        return series.values.span(lo, hi)

    def sampled(self, name: str, lo: int, hi: int | None = None, limit: int = 256) -> FloatArray:
        """Every k-th value of points [lo, hi) so that at most `limit` remain (bounded cost)."""
        series = self.store.get(name)
        n = self.count(name)
        hi = n if hi is None else min(hi, n)
        lo = max(0, lo)
        if series is None or lo >= hi:
            return np.empty(0)
        stride = max(1, -(-(hi - lo) // limit))
        return series.values.take(np.arange(lo, hi, stride))

    def steps(self, name: str, lo: int = 0, hi: int | None = None) -> FloatArray:
        """Steps of points [lo, hi) of `name`."""
        series = self.store.get(name)
        n = self.count(name)
        hi = n if hi is None else min(hi, n)
        lo = max(0, lo)
        if series is None or lo >= hi:
            return np.empty(0)
        index = index_array(series.record_index[lo:hi])
        return self.store.record_steps.take(index).astype(np.float64)

    def count_at(self, name: str, end: int) -> int:
        """How many points of `name` belong to the first `end` records (any end)."""
        series = self.store.get(name)
        return 0 if series is None else series.record_index.bisect_left(end)

    def record_positions(self, name: str, lo: int, hi: int) -> FloatArray:
        """Record indices of points [lo, hi) of `name`, as float64 for matching."""
        series = self.store.get(name)
        if series is None or lo >= hi:
            return np.empty(0)
        return np.frombuffer(series.record_index[lo:hi], dtype=INDEX_DTYPE).astype(np.float64)

    def record_of(self, name: str, position: int) -> int:
        """The record index of one point of `name`."""
        series = self.store.get(name)
        assert series is not None
        return int(series.record_index[position])

    def last_before(self, name: str, end: int) -> float | None:
        """The value of the newest point of `name` among the first `end` records."""
        n = min(self.count_at(name, end), self.count(name))
        return None if n == 0 else float(self.values(name, n - 1, n)[0])

    def step_of(self, name: str, position: int) -> int:
        """The step of one point of `name`."""
        series = self.store.get(name)
        assert series is not None
        return int(self.store.record_steps[series.record_index[position]])

    def tail(self, name: str, k: int) -> FloatArray:
        """The last `k` values of `name` in the view."""
        n = self.count(name)
        return self.values(name, n - k, n)

    def last(self, name: str) -> float | None:
        """The newest value of `name` in the view."""
        n = self.count(name)
        return None if n == 0 else float(self.values(name, n - 1, n)[0])

    @property
    def step(self) -> int:
        """The step of the newest record in the view."""
        return int(self.store.record_steps[self.end - 1]) if self.end else 0

    def names(self) -> list[str]:
        """Metric names with at least one point in the view."""
        return [n for n in self.store.names() if self.count(n)]

    def has_summary(self) -> bool:
        """Whether the run's end-of-training summary record is in the view."""
        kinds = self.store.record_kinds
        return self.end > 0 and "summary" in kinds[max(0, self.end - 3) : self.end]


@dataclass(slots=True)
class Facts:
    """What the engine learned about the run so far; updated in record order."""

    ctx: RunContext
    total_steps: int | None = None
    loss_init: float | None = None
    """Median of the first three finite train losses (needs an early first record)."""
    first_loss_step: int | None = None
    loss_first: float | None = None
    """The first train loss the log printed (what `initial-loss` reports)."""
    peak_lr: float = 0.0
    peak_lr_pos: int = -1
    first_lr: float | None = None
    warmup_end_pos: int | None = None
    """Position of the LR peak once the LR stopped rising (None while it still rises)."""
    warmup_end_step: int | None = None
    has_warmup: bool = False
    burn_in_pos: int | None = None
    """Position of the first loss point after burn-in (None until known)."""
    loss0: float | None = None
    """L0: median of the first five losses after burn-in."""
    numerics_active: bool = False
    spike_positions: list[tuple[int, float, float]] = field(default_factory=list)
    """Loss spikes (position, value, local median), for the spike and instability rules."""
    early_unstable_step: int | None = None
    steps_uncertain: bool = False
    """A train record's step went backwards (runs appended to one file, a counter that
    restarts): trends over the step axis would be guesses, so the windowed rules keep quiet."""
    schedule: str = ""

    def planned(self) -> int | None:
        """Planned total steps (max_steps from the context or the log)."""
        return self.ctx.max_steps or self.total_steps


class Rule:
    """A windowed rule, evaluated at checkpoints. Subclasses keep their own state."""

    info: ClassVar[RuleInfo]
    persist: ClassVar[int] = 1
    """Consecutive positive checks before a finding becomes active."""
    clear: ClassVar[int] = 3
    """Consecutive negative checks before an active finding clears."""
    suppressed_by_numerics: ClassVar[bool] = True
    defers_to: ClassVar[frozenset[str]] = frozenset()
    """Rules that already tell the same story: while one of them is active, this rule does
    not start a finding (one that is already active stays while it holds)."""
    defers_to_worse: ClassVar[bool] = False
    """Reassuring advice (e.g. still improving) that must never stand beside an active
    warning or critical finding: it stays quiet while one is active."""

    def check(self, view: View, facts: Facts) -> Hit | None:  # pragma: no cover - abstract
        raise NotImplementedError
