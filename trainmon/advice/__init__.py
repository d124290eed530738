"""Rule-based training advice: deterministic, warm-up-aware, evidence-backed findings.

`analyze(store, context)` replays a whole run for `trainmon report`; `AdviceEngine` is the
incremental form the dashboard calls after new records. Both give the same findings for the
same records, however they were batched. The core never imports UI libraries.
"""

from __future__ import annotations

from trainmon.advice.base import RuleInfo
from trainmon.advice.context import RunContext, context_from_model_config, parse_context
from trainmon.advice.engine import AdviceEngine, AdviceState, Detection, analyze
from trainmon.advice.registry import RULE_IDS, RULES
from trainmon.advice.throughput import is_live_only

__all__ = [
    "RULES",
    "RULE_IDS",
    "AdviceEngine",
    "AdviceState",
    "Detection",
    "RuleInfo",
    "RunContext",
    "analyze",
    "context_from_model_config",
    "is_live_only",
    "parse_context",
]
