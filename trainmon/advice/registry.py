"""The rule list, in evaluation order, and its public description (`RULES`)."""

from __future__ import annotations

from trainmon.advice.base import Rule, RuleInfo
from trainmon.advice.dynamics import DYNAMICS_RULES
from trainmon.advice.evaluation import EVAL_RULES
from trainmon.advice.gradients import GRADIENT_RULES
from trainmon.advice.hardware import HARDWARE_RULES
from trainmon.advice.lifecycle import ProcessExited
from trainmon.advice.loss_jump import LOSS_JUMP_RULES
from trainmon.advice.lr_range import LR_RANGE_RULES
from trainmon.advice.numerics import SCAN_RULES
from trainmon.advice.plateau import PLATEAU_RULES
from trainmon.advice.schedule import SCHEDULE_RULES
from trainmon.advice.shorthistory import SHORT_HISTORY_RULES
from trainmon.advice.text_events import TEXT_EVENT_RULES
from trainmon.advice.throughput import THROUGHPUT_RULES, NoProgress

WINDOW_RULES: tuple[type[Rule], ...] = (
    *DYNAMICS_RULES,
    *SHORT_HISTORY_RULES,
    *PLATEAU_RULES,
    *EVAL_RULES,
    *GRADIENT_RULES,
    *THROUGHPUT_RULES,
    *SCHEDULE_RULES,  # after dynamics: no-warmup-instability reads early-oscillation's fact
    *LR_RANGE_RULES,
    *LOSS_JUMP_RULES,  # after dynamics: defers to loss-instability at the same checkpoint
)

RULES: tuple[RuleInfo, ...] = (
    *(r.info for r in SCAN_RULES),
    *(r.info for r in WINDOW_RULES),
    NoProgress.info,
    ProcessExited.info,
    *HARDWARE_RULES,
    *TEXT_EVENT_RULES,
)
"""Every rule: id, family, default severity, one-line description (for --help and README)."""

RULE_IDS: frozenset[str] = frozenset(r.id for r in RULES)
