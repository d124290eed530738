"""Immutable values that cross module and thread boundaries.

Every part of trainmon speaks in these types: the parser emits `MetricRecord`s, the follower
emits `FollowEvent`s, the advice engine emits `Finding`s. They are frozen so that a worker
thread can hand them to the UI thread without copying or locking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

RecordKind = Literal["train", "eval", "summary"]
"""`train`: a training-step record; `eval`: an evaluation record; `summary`: an end-of-run
summary (e.g. the Trainer's `train_runtime` dict)."""

Severity = Literal["info", "warning", "critical"]

SEVERITY_RANK: Final[Mapping[Severity, int]] = {"info": 0, "warning": 1, "critical": 2}
"""Order of severities, lowest first; used for sorting and `--fail-on`."""

FollowEventKind = Literal["waiting", "opened", "truncated", "rotated", "error", "eof"]
"""`waiting`: the path does not exist (yet), or a FIFO has no writer yet; `opened`: a file is
being read from its start (or from its end with --from-end), or a FIFO's writer came;
`truncated`: the file shrank or was rewritten from its start, a new segment starts at its
beginning; `rotated`: the path now names another file (inode changed), the old one was read to
its end first; `error`: a problem worth showing (permission denied, a directory, a device);
`eof`: a non-followed read (report) reached the end, or a FIFO or pipe was closed."""


class MetricRecord(NamedTuple):
    """One metric record parsed from a log, placed on the run's optimizer-step axis.

    `values` uses the canonical metric names (`loss`, `eval_loss`, `learning_rate`,
    `grad_norm`, `epoch`, ...; other metrics keep their own names). NaN and inf are kept:
    they are findings, not noise. `values` never contains `step`: that is `step`. Treat
    `values` as read-only; it is a plain dict for speed.

    A NamedTuple rather than a frozen dataclass: a gigabyte of log holds over half a million
    records, and a frozen dataclass costs several times more to construct.
    """

    kind: RecordKind
    step: int
    values: Mapping[str, float]
    step_exact: bool = True
    """False when the log did not reveal the step and it was reconstructed."""
    line_no: int = 0
    """1-based number of the line (within the current segment) where the record ended."""
    time_s: float | None = None
    """Wall-clock timestamp printed in the log line itself (Unix seconds), if there was one."""


@dataclass(frozen=True, slots=True)
class FollowEvent:
    """Something the follower noticed about the file, as opposed to its content."""

    kind: FollowEventKind
    path: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """One diagnosis from the advice engine: what, since when, the numbers, and what to do."""

    rule: str
    """Stable rule id, e.g. `nan-loss` or `overfitting`."""
    severity: Severity
    step: int | None
    """The step at which the condition started (None for findings not tied to a step)."""
    title: str
    """One line, plain language."""
    evidence: str
    """The numbers behind the finding, e.g. `eval_loss 0.31→0.47 over 3 evals`."""
    advice: str
    """Concrete remedies."""

    def as_json(self) -> dict[str, object]:
        """The finding in the `trainmon report --json` schema."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "step": self.step,
            "title": self.title,
            "evidence": self.evidence,
            "advice": self.advice,
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """What the log reveals about how far the run has come."""

    step: int | None = None
    total_steps: int | None = None
    epoch: float | None = None
    steps_per_s: float | None = None
    eta_s: float | None = None

    @property
    def fraction(self) -> float | None:
        """Share of the run done, 0..1, when both the step and the total are known."""
        if self.step is None or not self.total_steps:
            return None
        return max(0.0, min(1.0, self.step / self.total_steps))
