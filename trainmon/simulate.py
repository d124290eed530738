"""Synthetic training runs in Hugging Face Trainer log format, with faults at known steps.

Used to test and evaluate the advice rules against a known truth (which fault, from which
step), and by the dashboard demo. Deterministic: the same arguments give the same text.
The loss follows the LR schedule (progress accumulates with the LR), so schedule faults
show up in the loss the way they do in real runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np

from trainmon.records import MetricRecord

TimedRecord = tuple[float, MetricRecord]
"""A record and when the run logged it (seconds since its start)."""

FaultKind = Literal[
    "lr_x10", "nan", "frozen", "overfit", "lr_zero", "lr_jump", "spike", "explosion", "stall"
]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = (
    "lr_x10",
    "nan",
    "frozen",
    "overfit",
    "lr_zero",
    "lr_jump",
    "spike",
    "explosion",
    "stall",
)


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault.

    `lr_x10`: LR multiplied by `factor` from `at_step` (the loss destabilises and climbs);
    `nan`: loss and grad norm NaN from `at_step`; `frozen`: weights stop changing (flat loss,
    grad norm 0); `overfit`: eval loss turns up from `at_step` while train loss keeps
    falling; `lr_zero`: the scheduler was given `at_step` as its total, so the LR reaches 0
    there; `lr_jump`: the LR jumps back to its peak at `at_step` (a resume bug); `spike`:
    one record with a loss spike; `explosion`: the loss blows up; `stall`: no output for
    `stall_s` seconds before `at_step`.
    """

    kind: FaultKind
    at_step: int
    factor: float = 10.0
    stall_s: float = 900.0


@dataclass(slots=True)
class _Walk:
    """The state of a run being generated, carried from step to step."""

    rng: np.random.Generator
    last_clean: float
    progress: float = 0.0
    t: float = 0.0
    divergence: float = 0.0
    accuracy0: float = 0.0
    stalled: bool = False
    eval_at_onset: float | None = None
    window_losses: list[float] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class SimulatedRun:
    """A seeded synthetic run; `lines()` for timed playback, `text()` for a whole log."""

    seed: int = 0
    steps: int = 1000
    faults: tuple[Fault, ...] = ()
    logging_steps: int = 10
    eval_steps: int | None = 100
    warmup_ratio: float = 0.05
    peak_lr: float = 5e-5
    initial_loss: float = 2.5
    final_loss: float = 0.6
    noise: float = 0.04
    seconds_per_step: float = 0.2
    tqdm: bool = True
    grad_norm: bool = True
    task_metric: bool = True
    epochs: int = 3
    _rows: list[TimedRecord] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # at least one step, one record interval and one epoch: the schedule divides by them
        self.steps = max(1, self.steps)
        self.logging_steps = max(1, self.logging_steps)
        self.epochs = max(1, self.epochs)

    @property
    def warmup_steps(self) -> int:
        return int(self.warmup_ratio * self.steps)

    @property
    def tau(self) -> float:
        """Progress (in steps at peak LR) over which the loss falls by a factor e."""
        return 0.3 * self.steps

    @property
    def steps_per_epoch(self) -> float:
        return self.steps / self.epochs

    # -- public --------------------------------------------------------------------------

    @property
    def context(self) -> dict[str, object]:
        """What a parser would reveal about this run (for the advice engine)."""
        return {
            "max_steps": self.steps,
            "logging_steps": self.logging_steps,
            "eval_steps": self.eval_steps or 0,
            "warmup_steps": self.warmup_steps,
            "learning_rate": self.peak_lr,
            "num_train_epochs": self.epochs,
        }

    def records(self) -> list[TimedRecord]:
        """(seconds since start, record) pairs, without going through text."""
        return list(self._generate())

    def lines(self) -> Iterator[tuple[float, str]]:
        """(seconds since start, line text with its terminator), in log order."""
        total = self.steps
        for time_s, record in self._generate():
            if self.tqdm and record.kind == "train":
                yield time_s, self._bar(record.step, total, time_s)
            yield time_s, _format_dict(record.values) + "\n"

    def text(self) -> str:
        """The whole log."""
        return "".join(line for _, line in self.lines())

    # -- generation ----------------------------------------------------------------------

    def _fault(self, kind: FaultKind) -> Fault | None:
        for fault in self.faults:
            if fault.kind == kind:
                return fault
        return None

    def _lr(self, step: int) -> float:
        """The scheduled LR: linear warm-up, cosine decay; faults applied."""
        total = self.steps
        zero = self._fault("lr_zero")
        if zero is not None:
            total = max(self.warmup_steps + 1, zero.at_step)
        jump = self._fault("lr_jump")
        if jump is not None and step >= jump.at_step:
            step = self.warmup_steps + (step - jump.at_step)
        if step < self.warmup_steps:
            lr = self.peak_lr * (step + 1) / self.warmup_steps
        else:
            span = max(1, total - self.warmup_steps)
            frac = min(1.0, (step - self.warmup_steps) / span)
            lr = self.peak_lr * 0.5 * (1 + math.cos(math.pi * frac))
        x10 = self._fault("lr_x10")
        if x10 is not None and step >= x10.at_step:
            lr *= x10.factor
        return lr

    def _generate(self) -> list[TimedRecord]:
        if self._rows is not None:
            return self._rows
        walk = _Walk(np.random.default_rng(self.seed), last_clean=self.initial_loss)
        walk.accuracy0 = 0.55 + 0.1 * walk.rng.random()
        rows: list[TimedRecord] = []
        for step in range(1, self.steps + 1):
            self._advance(walk, step)
            if step % self.logging_steps and step != self.steps:
                continue
            loss = float(np.mean(walk.window_losses))
            walk.window_losses.clear()
            rows.append((walk.t, MetricRecord("train", step, self._train_values(walk, step, loss))))
            if self.eval_steps and step % self.eval_steps == 0:
                values = self._eval_values(walk, step)
                walk.t += 12.5
                rows.append((walk.t, MetricRecord("eval", step, values)))
        rows.append(self._summary_row(rows, walk.t))
        self._rows = rows
        return rows

    def _advance(self, walk: _Walk, step: int) -> None:
        """One optimiser step: progress along the schedule, the step's loss, the clock."""
        rng = walk.rng
        lr = self._lr(step - 1)
        frozen, x10 = self._fault("frozen"), self._fault("lr_x10")
        overfit, lr_jump = self._fault("overfit"), self._fault("lr_jump")
        if frozen is None or step < frozen.at_step:
            walk.progress += lr / self.peak_lr if x10 is None or step < x10.at_step else 1.0
        spread = self.initial_loss - self.final_loss
        clean = self.final_loss + spread * math.exp(-walk.progress / self.tau)
        if overfit is not None and step == overfit.at_step:
            walk.eval_at_onset = clean * 1.15 + 0.05
        if overfit is not None and step >= overfit.at_step:
            clean *= math.exp(-3.0 * (step - overfit.at_step) / self.steps)
        if x10 is not None and step >= x10.at_step:
            walk.divergence = min(1.0, walk.divergence + x10.factor / (0.5 * self.steps))
            clean += walk.divergence * (self.initial_loss * 1.2 - clean)
        if lr_jump is not None and step >= lr_jump.at_step:
            clean += 0.25 * spread * math.exp(-(step - lr_jump.at_step) / (0.05 * self.steps))
        walk.last_clean = clean
        sigma = self.noise * (4.0 if x10 is not None and step >= x10.at_step else 1.0)
        walk.window_losses.append(clean * math.exp(sigma * float(rng.standard_normal())))
        walk.t += self.seconds_per_step * (1 + 0.05 * float(rng.standard_normal()))
        stall = self._fault("stall")
        if stall is not None and step == stall.at_step and not walk.stalled:
            walk.t += stall.stall_s
            walk.stalled = True

    def _train_values(self, walk: _Walk, step: int, loss: float) -> dict[str, float]:
        """A train record's values: the window's mean loss, grad norm, LR, epoch; faults."""
        x10, spike = self._fault("lr_x10"), self._fault("spike")
        boom, frozen, nan = self._fault("explosion"), self._fault("frozen"), self._fault("nan")
        grad = (
            0.5
            * (0.4 + min(loss, 1e3) / self.initial_loss)
            * math.exp(0.25 * walk.rng.standard_normal())
        )
        if step < self.warmup_steps:
            grad *= 1.5
        if x10 is not None and step >= x10.at_step:
            grad *= 1 + 8 * walk.divergence
        if spike is not None and spike.at_step <= step < spike.at_step + self.logging_steps:
            loss *= 3.0
            grad *= 25.0
        if boom is not None and step >= boom.at_step:
            k = (step - boom.at_step) // self.logging_steps + 1
            loss = min(loss * (4.0**k), 1e6)
            grad *= 10.0 ** min(k, 8)
        if frozen is not None and step >= frozen.at_step:
            grad = 0.0
        if nan is not None and step >= nan.at_step:
            loss = float("nan")
            grad = float("nan")
        values: dict[str, float] = {"loss": round(loss, 4)}
        if self.grad_norm:
            values["grad_norm"] = round(grad, 6) if math.isfinite(grad) else grad
        values["learning_rate"] = float(f"{self._lr(step - 1):.6g}")
        values["epoch"] = round(step / self.steps_per_epoch, 4)
        return values

    def _eval_values(self, walk: _Walk, step: int) -> dict[str, float]:
        """An eval record's values: eval loss (and accuracy) behind the train loss; faults."""
        overfit, nan = self._fault("overfit"), self._fault("nan")
        e = walk.last_clean * 1.15 + 0.05
        acc = walk.accuracy0 + (0.95 - walk.accuracy0) * (1 - math.exp(-walk.progress / self.tau))
        if overfit is not None and step >= overfit.at_step:
            if walk.eval_at_onset is None:
                walk.eval_at_onset = walk.last_clean * 1.15 + 0.05
            spread = self.initial_loss - self.final_loss
            e = walk.eval_at_onset + 1.5 * spread * (step - overfit.at_step) / self.steps
            acc -= 0.1 * (step - overfit.at_step) / self.steps
        if nan is not None and step >= nan.at_step:
            e = float("nan")
        e *= math.exp(0.01 * float(walk.rng.standard_normal()))
        values: dict[str, float] = {"eval_loss": round(e, 4) if math.isfinite(e) else e}
        if self.task_metric:
            values["eval_accuracy"] = round(min(1.0, acc), 4)
        values.update(
            eval_runtime=12.5,
            eval_samples_per_second=80.0,
            eval_steps_per_second=10.0,
            epoch=round(step / self.steps_per_epoch, 4),
        )
        return values

    def _summary_row(self, rows: list[TimedRecord], t: float) -> TimedRecord:
        """The Trainer's closing dict: runtime, throughput, mean train loss."""
        train = [r.values["loss"] for _, r in rows if r.kind == "train"]
        finite = [v for v in train if math.isfinite(v)]
        return t, MetricRecord(
            "summary",
            self.steps,
            {
                "train_runtime": round(t, 4),
                "train_samples_per_second": round(8 * self.steps / max(t, 1e-9), 3),
                "train_steps_per_second": round(self.steps / max(t, 1e-9), 3),
                "train_loss": float(np.mean(finite)) if finite else float("nan"),
                "epoch": float(self.epochs),
            },
        )

    def _bar(self, step: int, total: int, t: float) -> str:
        pct = int(100 * step / total)
        filled = pct // 10
        bar = "█" * filled + " " * (10 - filled)
        rate = step / t if t > 0 else 0.0
        left = (total - step) / rate if rate > 0 else 0.0
        return f"{pct:3d}%|{bar}| {step}/{total} [{_clock(t)}<{_clock(left)}, {rate:.2f}it/s]\r"


def _clock(seconds: float) -> str:
    s = int(seconds)
    return (
        f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
        if s >= 3600
        else f"{s // 60:02d}:{s % 60:02d}"
    )


def _format_dict(values: Mapping[str, float]) -> str:
    """A dict line as the Trainer prints it (Python repr: `nan`, `inf`, quotes)."""
    return "{" + ", ".join(f"'{k}': {v!r}" for k, v in values.items()) + "}"


def demo_run(seed: int = 7, steps: int = 3000) -> SimulatedRun:
    """Healthy, then overfitting from 60% of the run, with one loss spike at 35%."""
    return SimulatedRun(
        seed=seed,
        steps=steps,
        faults=(Fault("spike", int(0.35 * steps)), Fault("overfit", int(0.6 * steps))),
        logging_steps=10,
        eval_steps=max(10, steps // 20),
    )
