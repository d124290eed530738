"""Numerics rules, checked on every record: NaN/inf, exact zeros, negative loss, explosion.

They are cheap (one vectorised mask per new chunk of records) and must fire within one
record, so the engine feeds them every record in order rather than at checkpoints. Each
keeps a per-record state machine (`FlagRun`), so the result does not depend on how the
records were batched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np

from trainmon.advice.base import EVAL_LOSS, GRAD, LOSS, Facts, Hit, RuleInfo, View
from trainmon.advice.stats import fmt
from trainmon.i18n import N_, _
from trainmon.records import SEVERITY_RANK, Severity

if TYPE_CHECKING:
    import numpy.typing as npt

    BoolArray = npt.NDArray[np.bool_]
    FloatArray = npt.NDArray[np.float64]

EventKind = Literal["fire", "clear"]


@dataclass(frozen=True, slots=True)
class Event:
    """A scan rule's verdict at one record: a finding starts (or escalates) or clears."""

    kind: EventKind
    hit: Hit | None = None
    record: int = -1
    """Index of the record at which the finding was established (for detection times)."""


class FlagRun:
    """Persistence and clearing for a per-record condition, independent of chunking."""

    __slots__ = ("active", "clean", "clear", "persist", "run")

    def __init__(self, persist: int, clear: int) -> None:
        self.persist = persist
        self.clear = clear
        self.run = 0
        self.clean = 0
        self.active = False

    def feed(self, mask: BoolArray) -> list[tuple[EventKind, int]]:
        """Events (kind, chunk position) for one chunk; `fire` positions are run starts."""
        events: list[tuple[EventKind, int]] = []
        prev = -1
        for i in np.flatnonzero(mask).tolist():
            self._gap(i - prev - 1, prev, events)
            self.run += 1
            self.clean = 0
            if not self.active and self.run >= self.persist:
                self.active = True
                events.append(("fire", i - self.persist + 1))
            prev = i
        self._gap(len(mask) - prev - 1, prev, events)
        return events

    def _gap(self, gap: int, prev: int, events: list[tuple[EventKind, int]]) -> None:
        if gap <= 0:
            return
        self.run = 0
        if self.active:
            need = self.clear - self.clean
            if gap >= need:
                self.active = False
                events.append(("clear", prev + need))
                self.clean = 0
            else:
                self.clean += gap


class ScanRule:
    """A rule fed every new record (in chunks); emits fire/clear events in record order."""

    info: ClassVar[RuleInfo]

    def scan(self, view: View, start: int, facts: Facts) -> list[Event]:  # pragma: no cover
        """Process records [start, view.end)."""
        raise NotImplementedError

    def tally(self) -> str | None:
        """How many records showed the condition so far (for a recurring finding), if counted."""
        return None


def _chunk(view: View, name: str, start: int) -> tuple[int, FloatArray]:
    lo = view.count_at(name, start)
    return lo, view.values(name, lo)


def _precision(facts: Facts) -> str:
    if facts.ctx.fp16:
        return "fp16"
    if facts.ctx.bf16:
        return "bf16"
    return _("unknown")


class _MaskRule(ScanRule):
    """A scan rule on one series: a boolean mask per value, persistence, clearing."""

    series: ClassVar[str] = LOSS
    persist: ClassVar[int] = 1
    clear_after: ClassVar[int] = 5
    what: ClassVar[str | None] = None
    """How the condition reads in a tally (`non-finite`); None: not tallied."""

    def __init__(self) -> None:
        self.flags = FlagRun(self.persist, self.clear_after)
        self.flagged = 0

    def tally(self) -> str | None:
        if self.what is None:
            return None
        return _("{series} {what} on {count} record(s)").format(
            series=self.series, what=_(self.what), count=self.flagged
        )

    def mask(self, view: View, lo: int, values: FloatArray, facts: Facts) -> BoolArray:
        raise NotImplementedError  # pragma: no cover

    def hit(self, view: View, pos: int, facts: Facts) -> Hit:
        raise NotImplementedError  # pragma: no cover

    def scan(self, view: View, start: int, facts: Facts) -> list[Event]:
        lo, values = _chunk(view, self.series, start)
        if not len(values):
            return []
        out: list[Event] = []
        mask = self.mask(view, lo, values, facts)
        self.flagged += int(np.count_nonzero(mask))
        for kind, i in self.flags.feed(mask):
            if kind == "fire":
                done = view.record_of(self.series, lo + i + self.persist - 1)
                out.append(Event("fire", self.hit(view, lo + i, facts), done))
            else:
                out.append(Event("clear"))
        return out


_NAN_ADVICE = N_(
    "Resume from the last good checkpoint with a 2-10x lower peak LR and gradient clipping "
    "at 1.0; check the data for empty or NaN targets."
)


class NanLoss(_MaskRule):
    info = RuleInfo("nan-loss", "numerics", "critical", "train loss is NaN or infinite")
    what = N_("non-finite")

    def mask(self, view: View, lo: int, values: FloatArray, facts: Facts) -> BoolArray:
        return ~np.isfinite(values)

    def hit(self, view: View, pos: int, facts: Facts) -> Hit:
        value = view.values(LOSS, pos, pos + 1)[0]
        prev = view.values(LOSS, max(0, pos - 3), pos)
        before = ", ".join(fmt(v) for v in prev) or _("none")
        extra = ""
        if facts.ctx.fp16:
            extra = " " + _("fp16 overflow is the usual cause (max 65504): prefer bf16 or fp32.")
        return Hit(
            "critical",
            view.step_of(LOSS, pos),
            _("Train loss became {value}").format(value=value),
            _("loss {value} at step {step}; previous values {before}").format(
                value=value, step=view.step_of(LOSS, pos), before=before
            ),
            _(_NAN_ADVICE) + extra,
        )


class NanEvalLoss(_MaskRule):
    info = RuleInfo("nan-eval-loss", "numerics", "critical", "eval loss is NaN or infinite")
    series = EVAL_LOSS
    clear_after = 2
    what = N_("non-finite")

    def mask(self, view: View, lo: int, values: FloatArray, facts: Facts) -> BoolArray:
        return ~np.isfinite(values)

    def hit(self, view: View, pos: int, facts: Facts) -> Hit:
        value = view.values(EVAL_LOSS, pos, pos + 1)[0]
        train = view.last(LOSS)
        return Hit(
            "critical",
            view.step_of(EVAL_LOSS, pos),
            _("Eval loss became {value}").format(value=value),
            _("eval_loss {value} at step {step}; last train loss {train}").format(
                value=value, step=view.step_of(EVAL_LOSS, pos), train=fmt(train)
            ),
            _(
                "If the train loss is finite, compute the eval loss in fp32 (disable "
                "fp16_full_eval) and check the eval set for empty targets; otherwise see "
                "nan-loss."
            ),
        )


class NanGradNorm(ScanRule):
    info = RuleInfo(
        "nan-grad-norm", "numerics", "critical", "grad norm is NaN/inf (rare fp16 skips: info)"
    )

    clear_after: ClassVar[int] = 20

    def __init__(self) -> None:
        self.severity: Severity | None = None
        self.clean = 0
        self.flagged = 0

    def tally(self) -> str | None:
        return _("{series} {what} on {count} record(s)").format(
            series=GRAD, what=_("non-finite"), count=self.flagged
        )

    def scan(self, view: View, start: int, facts: Facts) -> list[Event]:
        lo, values = _chunk(view, GRAD, start)
        if not len(values):
            return []
        out: list[Event] = []
        prev = -1
        bad = np.flatnonzero(~np.isfinite(values)).tolist()
        self.flagged += len(bad)
        for i in bad:
            self._gap(i - prev - 1, out)
            self.clean = 0
            sev = self._severity(view, lo + i, facts)
            if self.severity is None or SEVERITY_RANK[sev] > SEVERITY_RANK[self.severity]:
                self.severity = sev
                out.append(
                    Event("fire", self._hit(view, lo + i, sev, facts), view.record_of(GRAD, lo + i))
                )
            prev = i
        self._gap(len(values) - prev - 1, out)
        return out

    def _gap(self, gap: int, out: list[Event]) -> None:
        if gap <= 0 or self.severity is None:
            return
        self.clean += gap
        if self.clean >= self.clear_after:
            self.severity = None
            self.clean = 0
            out.append(Event("clear"))

    def _severity(self, view: View, pos: int, facts: Facts) -> Severity:
        recent = view.values(GRAD, pos - 9, pos + 1)
        recent50 = view.values(GRAD, pos - 49, pos + 1)
        loss = view.last_before(LOSS, view.record_of(GRAD, pos) + 1)
        repeated = int(np.count_nonzero(~np.isfinite(recent))) >= 3
        if repeated or (loss is not None and (not np.isfinite(loss) or loss == 0.0)):
            return "critical"
        if facts.ctx.bf16 or (facts.ctx.fp16 is False and facts.ctx.bf16 is False):
            return "critical"
        if facts.ctx.fp16 and int(np.count_nonzero(~np.isfinite(recent50))) <= 2:
            return "info"
        return "warning"

    def _hit(self, view: View, pos: int, sev: Severity, facts: Facts) -> Hit:
        recent = view.values(GRAD, pos - 9, pos + 1)
        n_bad = int(np.count_nonzero(~np.isfinite(recent)))
        step = view.step_of(GRAD, pos)
        evidence = _(
            "grad_norm {value} at step {step}; {count} of the last {total} grad norms "
            "non-finite; precision {precision}"
        ).format(
            value=view.values(GRAD, pos, pos + 1)[0],
            step=step,
            count=n_bad,
            total=len(recent),
            precision=_precision(facts),
        )
        if sev == "info":
            return Hit(
                sev,
                step,
                _("Occasional non-finite grad norm (fp16 loss scaler skipping a step)"),
                evidence,
                _("Harmless if rare: the fp16 loss scaler skips the step and lowers its scale."),
            )
        return Hit(
            sev,
            step,
            _("Gradient norm is NaN/inf: updates are invalid or skipped"),
            evidence,
            _(
                "Switch fp16 to bf16, lower the LR, look for log(0) or division by zero in "
                "custom losses, and resume from a good checkpoint."
            ),
        )


SUDDEN_ZERO_FROM = 0.05
"""A zero right after a loss at least this large cannot be rounding of a converged loss."""


def _runs_started_by(
    flags: BoolArray, starts_marked: BoolArray, continues: bool, carried: bool
) -> BoolArray:
    """`flags` where the run of consecutive flags each belongs to began at a marked position
    (`continues`: the first run goes on from before this stretch, marked as `carried`)."""
    positions = np.arange(len(flags))
    previous = np.concatenate(([continues], flags[:-1]))
    run_start = flags & ~previous
    last_start = np.maximum.accumulate(np.where(run_start, positions, -1))
    marked = np.where(last_start >= 0, starts_marked[np.maximum(last_start, 0)], carried)
    return flags & marked


class ZeroLoss(ScanRule):
    info = RuleInfo("zero-loss", "numerics", "critical", "train loss exactly 0.0")

    def __init__(self) -> None:
        self.flags = FlagRun(2, 3)
        self.strong = FlagRun(1, 3)
        self.active = False
        self.sudden_run = False
        """Whether the run of zeros the last scan ended in began with a sudden drop."""

    def scan(self, view: View, start: int, facts: Facts) -> list[Event]:
        lo, values = _chunk(view, LOSS, start)
        if not len(values):
            return []
        zero = values == 0.0
        grad_bad = np.zeros(len(values), dtype=bool)
        grad_alive = np.zeros(len(values), dtype=bool)
        if zero.any() and view.count(GRAD):
            recs = view.record_positions(LOSS, lo, lo + len(values))
            glo = 0
            grecs = view.record_positions(GRAD, glo, view.count(GRAD))
            gvals = view.values(GRAD)
            idx = np.searchsorted(grecs, recs)
            ok = idx < len(grecs)
            match = np.zeros(len(values), dtype=bool)
            match[ok] = grecs[idx[ok]] == recs[ok]
            gv = np.full(len(values), 1.0)
            gv[match] = gvals[idx[match]]
            grad_bad = ~np.isfinite(gv)
            grad_alive = match & np.isfinite(gv) & (gv > 0.0)
        # a loss that falls to exactly 0.0 from a real value is broken at that very record;
        # one that converged towards 0 and prints 0.0000 needs a second zero to be believed
        before = view.values(LOSS, lo - 1, lo)
        prev = np.concatenate([before if len(before) else [np.inf], values[:-1]])
        sudden = zero & ((prev >= SUDDEN_ZERO_FROM) | ~np.isfinite(prev))
        # a loss that converged below the log's printed precision (Trainer rounds to 4
        # decimals) while the gradient at that step is finite and non-zero is not 0.0: masked
        # labels or an overflow leave no gradient, or a non-finite one. A run of zeros that
        # began with a sudden drop stays broken whatever the gradient says.
        sudden_run = _runs_started_by(zero, sudden, prev[0] == 0.0, self.sudden_run)
        self.sudden_run = bool(sudden_run[-1])
        rounded = zero & grad_alive & ~sudden_run
        weak = self.flags.feed(zero & ~rounded)
        strong = self.strong.feed(zero & (grad_bad | sudden))
        out: list[Event] = []
        merged = sorted([(p, k, "weak") for k, p in weak] + [(p, k, "strong") for k, p in strong])
        for p, kind, src in merged:
            if kind == "fire" and not self.active:
                self.active = True
                done = min(lo + p + (0 if src == "strong" else 1), lo + len(values) - 1)
                out.append(
                    Event(
                        "fire",
                        self._hit(view, lo + p, bool(grad_bad[p])),
                        view.record_of(LOSS, done),
                    )
                )
            elif kind == "clear" and self.active and not (self.flags.active or self.strong.active):
                self.active = False
                out.append(Event("clear"))
        return out

    def _hit(self, view: View, pos: int, grad_nan: bool) -> Hit:
        step = view.step_of(LOSS, pos)
        n = view.count(LOSS)
        zeros = int(np.count_nonzero(view.values(LOSS, pos, n) == 0.0))
        prev = view.values(LOSS, max(0, pos - 1), pos)
        evidence = _("loss 0.0 on {count} record(s) from step {step}").format(
            count=zeros, step=step
        )
        if len(prev):
            evidence += " " + _("(previous {value})").format(value=fmt(float(prev[0])))
        if grad_nan:
            evidence += "; " + _("grad_norm non-finite at the same step")
        return Hit(
            "critical",
            step,
            _("Train loss is exactly 0.0: almost never real convergence"),
            evidence,
            _(
                "Inspect one collated batch's labels: all tokens masked (-100) by truncation or "
                "a wrong chat template is common; fp16 overflow (use bf16) and attention-kernel "
                "bugs (try disabling flash-attention) are the other usual causes."
            ),
        )


class ZeroGradNorm(_MaskRule):
    info = RuleInfo(
        "zero-grad-norm", "gradients", "critical", "grad norm exactly 0: nothing is training"
    )
    series = GRAD
    persist = 3
    what = N_("exactly 0")

    def mask(self, view: View, lo: int, values: FloatArray, facts: Facts) -> BoolArray:
        m: BoolArray = np.equal(values, 0.0)
        if lo == 0 and len(m):
            m = m.copy()
            m[0] = False  # the very first step may legitimately log 0
        return m

    def hit(self, view: View, pos: int, facts: Facts) -> Hit:
        step = view.step_of(GRAD, pos)
        prev = view.values(GRAD, max(0, pos - 3), pos)
        return Hit(
            "critical",
            step,
            _("Gradient norm is exactly 0: the weights are not being updated"),
            _("grad_norm 0.0 for {count}+ records from step {step}; before: {before}").format(
                count=self.persist, step=step, before=", ".join(fmt(v) for v in prev) or _("none")
            ),
            _(
                "Check that parameters have requires_grad (PEFT/LoRA targets exist), that the "
                "loss is not detached, and that the labels are not all masked."
            ),
        )


class NegativeLoss(_MaskRule):
    info = RuleInfo("negative-loss", "numerics", "warning", "negative loss where impossible")
    persist = 2
    what = N_("negative")

    def mask(self, view: View, lo: int, values: FloatArray, facts: Facts) -> BoolArray:
        if _signed_objective(view):
            return np.zeros(len(values), dtype=bool)
        return values < 0

    def hit(self, view: View, pos: int, facts: Facts) -> Hit:
        step = view.step_of(LOSS, pos)
        vals = view.values(LOSS, pos, pos + self.persist)
        return Hit(
            "warning",
            step,
            _("Loss is negative: impossible for cross-entropy or MSE"),
            _("loss {values} from step {step}").format(
                values=", ".join(fmt(v) for v in vals), step=step
            ),
            _(
                "Check for a sign error, an unnormalised probability, or an added reward or "
                "regulariser term; ignore if the objective can be negative (ELBO, contrastive, "
                "RL)."
            ),
        )


def _signed_objective(view: View) -> bool:
    """Logs of objectives that can go negative (RL, preference, contrastive)."""
    return signed_objective(view.store.names())


def signed_objective(names: Iterable[str]) -> bool:
    """Whether series of these names belong to an objective that can go negative."""
    return any(("reward" in n or "logps" in n or n == "kl") for n in names)


GROWTH_FACTOR = 4.0
GROWTH_MIN_DELTA = 1.0
GROWTH_HOLD = 0.8
GROWTH_LOOKBACK = 3


class LossExplosion(_MaskRule):
    info = RuleInfo("loss-explosion", "numerics", "critical", "loss blew up far above its start")
    persist = 2

    def __init__(self) -> None:
        super().__init__()
        self.early: float | None = None

    def mask(self, view: View, lo: int, values: FloatArray, facts: Facts) -> BoolArray:
        # the absolute cap only means something for a loss that started well below it
        # (summed detection losses sit above 1e3 in healthy runs)
        start = view.values(LOSS, 0, 3)
        capped = len(start) == 3 and bool(np.all(np.isfinite(start))) and float(start.max()) < 100
        m = (values >= 1e3) if capped else np.zeros(len(values), dtype=bool)
        if lo < 3:
            m = m.copy()
            m[: 3 - lo] = False
        if facts.loss0 is not None and facts.burn_in_pos is not None:
            l0 = facts.loss0
            limit = max(3.0 * l0, l0 + 2.0)
            ln_c = facts.ctx.ln_classes
            if ln_c is not None:
                limit = min(limit, max(ln_c + 1.0, l0 + 1.0))
            after = (np.arange(lo, lo + len(values)) >= facts.burn_in_pos + 5) & (values > limit)
            m = m | after
        return (m | self._growing(view, lo, values)) & np.isfinite(values)

    def _growing(self, view: View, lo: int, values: FloatArray) -> BoolArray:
        """Many times the early loss and still at its highest: divergence in any phase
        (warm-up included), which a spike that recovers never is."""
        early = self._early(view)
        if early is None:
            return np.zeros(len(values), dtype=bool)
        before = view.values(LOSS, lo - GROWTH_LOOKBACK, lo)
        joined = np.concatenate([before, values])
        joined = np.where(np.isfinite(joined), joined, -np.inf)
        k = len(before)
        # the highest of the GROWTH_LOOKBACK values before each new one (vectorised)
        padded = np.concatenate([np.full(GROWTH_LOOKBACK, -np.inf), joined])
        windows = np.lib.stride_tricks.sliding_window_view(padded, GROWTH_LOOKBACK)
        recent_max = windows[k : k + len(values)].max(axis=1)
        high = (values > GROWTH_FACTOR * early) & (values - early > GROWTH_MIN_DELTA)
        still_growing = values >= GROWTH_HOLD * recent_max
        m: BoolArray = high & still_growing
        return m

    def _early(self, view: View) -> float | None:
        """Median of the first three finite losses (the run's early value)."""
        if self.early is None:
            head = view.values(LOSS, 0, 8)
            head = head[np.isfinite(head)][:3]
            if len(head) == 3 and float(np.median(head)) > 0:
                self.early = float(np.median(head))
        return self.early

    def hit(self, view: View, pos: int, facts: Facts) -> Hit:
        step = view.step_of(LOSS, pos)
        vals = view.values(LOSS, pos, pos + 2)
        if self.early is not None and vals[0] > GROWTH_FACTOR * self.early:
            ref = _("x{ratio:.0f} the early loss {early}, still growing").format(
                ratio=vals[0] / self.early, early=fmt(self.early)
            )
        elif facts.loss0 is not None:
            ref = _("L0 {value} after warm-up").format(value=fmt(facts.loss0))
        else:
            ref = _("cap 1e3")
        grads = view.values(GRAD)
        g90 = float(np.percentile(grads[np.isfinite(grads)], 90)) if len(grads) > 5 else None
        advice = (
            _(
                "Stop and restart from a checkpoint before the blow-up with ~2x lower peak LR, "
                "a longer warm-up and clip near the 90th-percentile grad norm ({value})."
            ).format(value=fmt(g90))
            if g90
            else _(
                "Stop and restart from a checkpoint before the blow-up with ~2x lower peak LR, "
                "a longer warm-up."
            )
        )
        return Hit(
            "critical",
            step,
            _("Loss has blown up: the run has diverged"),
            _("loss {values} at step {step}; {ref}").format(
                values=" → ".join(fmt(v) for v in vals), step=step, ref=ref
            ),
            advice,
        )


_LOSS_WORDS = ("loss", "perplexity", "ppl")
_GRAD_WORDS = ("grad_norm", "gradnorm", "gnorm", "grad norm", "grad-norm")
_NOT_LOSS = ("scale", "weight", "coef", "lambda", "count", "num_", "time", "_lr")
_WATCHED_ELSEWHERE = frozenset({LOSS, EVAL_LOSS, GRAD})


def loss_like(name: str) -> bool:
    """A metric whose non-finite value means broken numerics: any loss or loss component,
    a perplexity, or a gradient norm (whatever the log called it)."""
    low = name.lower()
    if any(w in low for w in _GRAD_WORDS):
        return True
    return any(w in low for w in _LOSS_WORDS) and not any(w in low for w in _NOT_LOSS)


class NanMetric(ScanRule):
    """NaN/inf in any loss-like series other than the three the rules above watch (a loss
    component such as `loss_box_reg`, a tqdm postfix, a perplexity, a renamed grad norm)."""

    info = RuleInfo(
        "nan-metric",
        "numerics",
        "critical",
        "a loss component, perplexity or grad norm is NaN/inf",
    )
    clear_after: ClassVar[int] = 5

    def __init__(self) -> None:
        self.flags: dict[str, FlagRun] = {}
        self.flagged: dict[str, int] = {}
        self.active: set[str] = set()

    def tally(self) -> str | None:
        parts = [
            _("{name} on {count}").format(name=name, count=n)
            for name, n in self.flagged.items()
            if n
        ]
        if not parts:
            return None
        return _("non-finite: {counts} record(s)").format(counts=", ".join(parts))

    def scan(self, view: View, start: int, facts: Facts) -> list[Event]:
        found: list[tuple[int, str, int]] = []  # (record, series, position) of each onset
        cleared: list[tuple[int, str]] = []
        for name in view.names():
            if name in _WATCHED_ELSEWHERE or not loss_like(name):
                continue
            lo, values = _chunk(view, name, start)
            if not len(values):
                continue
            flags = self.flags.setdefault(name, FlagRun(1, self.clear_after))
            bad = ~np.isfinite(values)
            self.flagged[name] = self.flagged.get(name, 0) + int(np.count_nonzero(bad))
            for kind, i in flags.feed(bad):
                pos = min(lo + i, lo + len(values) - 1)
                if kind == "fire":
                    found.append((view.record_of(name, pos), name, pos))
                else:
                    cleared.append((view.record_of(name, pos), name))
        out: list[Event] = []
        # in record order, whatever order the series were visited in
        for record, kind, name, pos in sorted(
            [(r, "fire", n, p) for r, n, p in found] + [(r, "clear", n, -1) for r, n in cleared]
        ):
            if kind == "fire":
                first = not self.active
                self.active.add(name)
                if first:
                    out.append(Event("fire", self._hit(view, name, pos), record))
            else:
                self.active.discard(name)
                if not self.active:
                    out.append(Event("clear"))
        return out

    def _hit(self, view: View, name: str, pos: int) -> Hit:
        value = view.values(name, pos, pos + 1)[0]
        step = view.step_of(name, pos)
        prev = view.values(name, max(0, pos - 3), pos)
        before = ", ".join(fmt(v) for v in prev) or _("none")
        return Hit(
            "critical",
            step,
            _("{name} became {value}").format(name=name, value=value),
            _("{name} {value} at step {step}; previous values {before}").format(
                name=name, value=value, step=step, before=before
            ),
            _(_NAN_ADVICE),
        )


SCAN_RULES: tuple[type[ScanRule], ...] = (
    NanLoss,
    NanEvalLoss,
    NanGradNorm,
    ZeroLoss,
    ZeroGradNorm,
    NegativeLoss,
    LossExplosion,
    NanMetric,
)
