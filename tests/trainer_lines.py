"""Trainer-style log text for the tests that read a history apart (unit and app alike)."""

from __future__ import annotations


def step_lines(steps: range, *, base: float = 3.0, crash_at: int | None = None) -> str:
    """Trainer dicts with a printed step, an eval every 50 steps, progress text between, and
    a caught traceback at `crash_at` (a text event whose line number must count right)."""
    out = []
    for step in steps:
        loss = base / (1 + step) ** 0.3
        out.append(
            f"{{'loss': {loss:.5f}, 'grad_norm': {1 + step % 7 / 10:.2f}, "
            f"'learning_rate': 5e-05, 'epoch': {step / 1000:.3f}, 'step': {step}}}\n"
        )
        if step % 50 == 0:
            out.append(f"{{'eval_loss': {loss * 1.1:.5f}, 'epoch': {step / 1000:.3f}}}\n")
        if step % 10 == 0:
            out.append(f"some progress text at {step}\n")
        if step == crash_at:
            out.append("Traceback (most recent call last):\n")
            out.append('  File "train.py", line 10, in <module>\n')
            out.append("ValueError: a bad batch\n")
    return "".join(out)
