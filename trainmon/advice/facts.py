"""Run facts the rules share, updated at each checkpoint: warm-up, burn-in, L0, spikes.

Kept in one place so every rule agrees on when warm-up ended and what "the loss after
warm-up" was; computed incrementally (new points only) so the cost per checkpoint is bounded.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import numpy.typing as npt

from trainmon.advice.base import LOSS, LR, Facts, View
from trainmon.advice.stats import block_baseline, fmt, middle, safe_log
from trainmon.i18n import N_, _
from trainmon.store import KIND_NAMES

NORMAL_SUFFIX = N_(": normal")
"""Ends the schedule note of a textbook warm-up; dropped while a problem is active."""

SPIKE_WINDOW = 20
SPIKE_Z = 6.0
SPIKE_RATIO = 1.5
SPIKE_KEEP = 256
MIN_SPIKE_WINDOW = 8
TRAIN_CODE = KIND_NAMES.index("train")
"""A train record's code in the store's kind column."""


def _goes_back(recent: npt.NDArray[np.int64], new: npt.NDArray[np.int64], ranks: int) -> bool:
    """True when a step of `new` is lower than every one of the `ranks` steps before it (the
    last of `recent` first)."""
    steps = np.concatenate((recent, new))
    big = np.iinfo(np.int64).max
    padded = np.concatenate((np.full(ranks, big, dtype=np.int64), steps[:-1]))
    # window j: the `ranks` steps before steps[j] (padding where fewer came before)
    lowest = np.lib.stride_tricks.sliding_window_view(padded, ranks).min(axis=1)
    judged = slice(max(1, len(recent)), None)  # the very first step has none before it
    return bool(np.any(steps[judged] < lowest[judged]))


class FactsUpdater:
    """Advances `Facts` to a checkpoint, looking only at points added since the last one."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self._lr_seen = 0
        self._spike_seen = 0
        self._steps_seen = 0
        self._recent_steps: deque[int] = deque(maxlen=min(64, max(1, facts.ctx.ranks or 1)))
        """The last train steps, one per rank: ranks print the same step in any order."""

    def advance(self, view: View) -> None:
        f = self.facts
        f.total_steps = view.store.total_steps
        self._step_axis(view)
        self._learning_rate(view)
        self._loss_anchors(view)
        self._spikes(view)

    def _step_axis(self, view: View) -> None:
        """Notice a train step lower than the one before it (checked on new records only).

        With several ranks printing, a rank that lags prints a step the others passed: a step
        lower than all of the last `ranks` train steps is a step going back. Judged over the
        new records at once, in numpy: a Python loop per record cost more than every rule
        together on a long history.
        """
        store = view.store
        lo, hi = self._steps_seen, view.end
        self._steps_seen = hi
        if lo >= hi:
            return
        kinds = np.frombuffer(store.record_kinds.codes, dtype=np.int8)[lo:hi]
        train = np.flatnonzero(kinds == TRAIN_CODE)
        del kinds  # a live view would pin the kinds' buffer and block the next append
        if not len(train):
            return
        recent = self._recent_steps
        new = store.record_steps.take(train + lo)
        if not self.facts.steps_uncertain:
            self.facts.steps_uncertain = _goes_back(
                np.array(recent, dtype=np.int64), new, recent.maxlen or 1
            )
        recent.extend(new[-(recent.maxlen or 1) :].tolist())

    def _learning_rate(self, view: View) -> None:
        f = self.facts
        n = view.count(LR)
        if n <= self._lr_seen:
            return
        values = view.values(LR, self._lr_seen, n)
        if f.first_lr is None and len(values):
            f.first_lr = float(values[0])
        finite = np.where(np.isfinite(values), values, -np.inf)
        k = int(np.argmax(finite))
        if finite[k] > f.peak_lr * (1 + 1e-9):
            f.peak_lr = float(finite[k])
            f.peak_lr_pos = self._lr_seen + k
        self._lr_seen = n
        if f.warmup_end_pos is None and f.peak_lr > 0 and n >= f.peak_lr_pos + 3:
            f.warmup_end_pos = f.peak_lr_pos
            f.warmup_end_step = view.step_of(LR, f.peak_lr_pos)
            f.has_warmup = f.first_lr is not None and f.first_lr < 0.5 * f.peak_lr
        if f.warmup_end_pos is not None:
            last = float(values[-1])
            kind = _("constant") if last >= 0.98 * f.peak_lr else _("decaying")
            if f.has_warmup:
                f.schedule = _(
                    "LR: warm-up to {peak} by step {step}, then {kind} (now {now})"
                ).format(peak=fmt(f.peak_lr), step=f.warmup_end_step, kind=kind, now=fmt(last)) + _(
                    NORMAL_SUFFIX
                )
            else:
                f.schedule = _("LR: no warm-up, peak {peak}, {kind} (now {now})").format(
                    peak=fmt(f.peak_lr), kind=kind, now=fmt(last)
                )

    def _loss_anchors(self, view: View) -> None:
        f = self.facts
        n = view.count(LOSS)
        if f.first_loss_step is None and n:
            f.first_loss_step = view.step_of(LOSS, 0)
            f.loss_first = float(view.values(LOSS, 0, 1)[0])
        if f.loss_init is None and n >= 3:
            planned = f.planned()
            early = max(50, int(0.01 * planned)) if planned else 50
            head = view.values(LOSS, 0, 3)
            if f.first_loss_step is not None and f.first_loss_step <= early:
                if np.isfinite(head).all():
                    f.loss_init = middle(head)
            else:
                f.loss_init = float("nan")  # unknown: the log starts late
        if f.burn_in_pos is None:
            f.burn_in_pos = self._burn_in(view, n)
        if f.loss0 is None and f.burn_in_pos is not None and n >= f.burn_in_pos + 5:
            head = view.values(LOSS, f.burn_in_pos, f.burn_in_pos + 5)
            head = head[np.isfinite(head)]
            if len(head):
                f.loss0 = middle(head)

    def _burn_in(self, view: View, n: int) -> int | None:
        f = self.facts
        if n < 5:
            return None
        planned = f.planned()
        min_step = int(0.01 * planned) if planned else 0
        if view.count(LR):
            if f.warmup_end_step is None:
                return None
            min_step = max(min_step, f.warmup_end_step)
        elif n < 8:
            return None  # give a late LR series a chance to show up
        steps = view.steps(LOSS, 0, n)
        first = int(np.searchsorted(steps, min_step, side="left"))
        pos = max(5, first + 5)
        return pos if pos < n else None

    def _spikes(self, view: View) -> None:
        f = self.facts
        n = view.count(LOSS)
        if f.burn_in_pos is None or n <= f.burn_in_pos:
            return
        start = max(self._spike_seen, f.burn_in_pos)
        if start >= n:
            return
        if start < SPIKE_WINDOW:
            self._early_spikes(view, start, min(n, SPIKE_WINDOW))
            start = SPIKE_WINDOW
            self._spike_seen = min(n, SPIKE_WINDOW)
            if start >= n:
                return
        lo = (start // SPIKE_WINDOW - 1) * SPIKE_WINDOW  # the block before start's block
        values = view.values(LOSS, lo, n)
        logs = safe_log(values)
        med, sig = block_baseline(logs, SPIKE_WINDOW)
        new = slice(start - lo, None)
        z = (logs[new] - med[new]) / (sig[new] + 1e-3)
        base = np.exp(med[new])
        floor = max(0.05, 0.02 * (f.loss0 or 0.0))
        is_spike = (z > SPIKE_Z) & (values[new] > SPIKE_RATIO * base) & (values[new] - base > floor)
        is_spike &= np.isfinite(values[new])
        for k in np.flatnonzero(is_spike).tolist():
            f.spike_positions.append((start + k, float(values[new][k]), float(base[k])))
        self._trim()
        self._spike_seen = n

    def _early_spikes(self, view: View, start: int, end: int) -> None:
        """Spikes among the first 20 points, judged against the (at least 8) points before."""
        f = self.facts
        floor = max(0.05, 0.02 * (f.loss0 or 0.0))
        for pos in range(max(start, MIN_SPIKE_WINDOW), end):
            prev = safe_log(view.values(LOSS, max(0, pos - 10), pos))
            value = float(view.values(LOSS, pos, pos + 1)[0])
            if not np.isfinite(value) or not np.isfinite(prev).all():
                continue
            # early on the loss still falls fast: take the level from the newest points and the
            # noise from successive differences, so the trend does not inflate either
            med = middle(prev[-3:])
            d = np.diff(prev)
            sig = 1.4826 * middle(np.abs(d - middle(d))) / math.sqrt(2)
            base = math.exp(med)
            z = (math.log(max(value, 1e-12)) - med) / (sig + 1e-3)
            if z > SPIKE_Z and value > SPIKE_RATIO * base and value - base > floor:
                f.spike_positions.append((pos, value, base))

    def _trim(self) -> None:
        f = self.facts
        if len(f.spike_positions) > SPIKE_KEEP:
            del f.spike_positions[: len(f.spike_positions) - SPIKE_KEEP]
