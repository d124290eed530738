"""The fault catalogue of the real-run benchmark: what is injected, when, and what a correct
finding says. `label` is the fault label of `bench/advice_eval.py` (it decides which rules
count as a detection)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_STEPS = 600
INJECT_AT = 240
"""Mid-run faults start at this optimizer step (40 % of the run)."""


@dataclass(frozen=True)
class Fault:
    name: str
    label: str
    """advice_eval's label: `healthy`, `divergence`, `nan`, `plateau`, ..."""
    expected: str
    """What a correct finding says, in words."""
    at: int | None = None
    """The optimizer step it is injected at; None: from the start (a config value)."""
    lr_scale: float = 1.0
    factor: float = 1.0


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("none", "healthy", "nothing above info"),
        # LR 0.1 under AdamW with clipping: the loss rises for a few steps, then the model
        # falls into a constant (character-frequency) prediction and stays there far above a
        # healthy run; what a practitioner sees is a run that stopped learning, not a blow-up
        Fault(
            "lr-x100",
            "lr-high",
            "LR too high: the loss stalls far above a healthy run's (a constant prediction)",
            None,
            100,
        ),
        # LR 1.0: the loss grows many-fold over its start within the first 100 steps
        Fault(
            "lr-x1000", "divergence", "divergence: the loss grows far above its start", None, 1000
        ),
        Fault("lr-div1000", "plateau", "not learning: the loss barely moves", None, 1e-3),
        Fault("shuffled-labels", "plateau", "no learning beyond label frequencies"),
        Fault("labels-masked", "zero-loss", "loss 0.0 or NaN from the injected step", INJECT_AT),
        Fault("tiny-train-set", "overfitting", "eval loss rises while train loss falls"),
        # at 10x the LR without warm-up these models trained smoothly (as the healthy runs);
        # at 20-50x they did not swing either (Adam normalises the step): from step 0 the
        # loss drops at once into a flat line near the character-frequency level and stays
        # far above a healthy run's. At 50x that is visible in both frameworks: scored with
        # the LR x100 fault it resembles (a learning run that stopped), in the plateau family
        Fault(
            "no-warmup",
            "lr-high",
            "no warm-up at a high LR: the loss collapses at once to a flat line far above a "
            "healthy run's (a near-constant prediction)",
            None,
            50,
        ),
        Fault("nan-input", "nan", "non-finite loss or grad norm from the injected step", INJECT_AT),
        Fault(
            "grad-explosion",
            "grad-explosion",
            "grad norm explodes (no clipping), the loss follows",
            INJECT_AT,
            factor=30,
        ),
        Fault("scheduler-restart", "lr-jump", "LR jumps back up after warm-up", INJECT_AT),
        Fault("slow-loader", "stall", "throughput falls from the injected step", INJECT_AT),
    )
}
