"""Short, deterministic log excerpts for the advice evaluation: what users paste or resume.

Real users rarely hand a monitor a whole run. They resume from a checkpoint, or paste 5-20
lines into a bug report, so the log starts mid-training with no warm-up and no early fall to
compare against. `Excerpt` writes such an excerpt as log text in one of several real formats
(parsed by the real `LogParser` in `advice_eval.py`), from a spec string that fits one CSV
cell of `bench/advice_labels.csv`:

    fmt=kv;seed=3;n=12;start=600;every=1;level=10.3;trend=0;noise=0.008;lr=1e-4

Keys (defaults in `Excerpt.__init__`):

- `fmt`: `hf` (Trainer dicts, no step printed), `jsonl` (dicts with `step`), `mmcv`,
  `mmengine`, `kv` (`epoch: E | loss: ... | lr: ...`, one record per epoch), `lightning`
  (progress lines, 3 significant digits), `nanogpt` (`iter I: loss ...`, no LR);
- `n` records, the first at step (or epoch, for `kv`) `start`, then every `every`;
  `ipe`: optimizer steps per epoch (`mmcv`, `mmengine`, `lightning`, `hf`, `jsonl`);
- the loss: `level` at the first record, a fitted relative change `trend` over the excerpt
  (-0.05: falls 5 %), multiplicative noise `noise` per record (log units), printed with
  `digits` decimals (significant digits for `lightning`); `frozen=1` prints the same value on
  every record; `stale=k` prints a new value only every k-th record (a progress bar whose
  postfix is set less often than it redraws);
- the LR: `lr` at the first record, `lr_end` at the last (geometric in between; default
  constant); `total`: planned epochs or steps shown where the format shows one.

Same spec, same text: every random draw comes from `numpy.random.default_rng(seed)`.
"""

from __future__ import annotations

import math

import numpy as np

FORMATS = ("hf", "jsonl", "mmcv", "mmengine", "kv", "lightning", "nanogpt")


class Excerpt:
    """One excerpt, parsed from its spec string; `text()` is the log."""

    def __init__(self, spec: str) -> None:
        kv = dict(part.split("=", 1) for part in spec.split(";") if part)
        self.fmt = kv.get("fmt", "hf")
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown excerpt format {self.fmt!r} (one of {FORMATS})")
        self.seed = int(kv.get("seed", "0"))
        self.n = int(kv.get("n", "10"))
        self.start = int(kv.get("start", "1000"))
        self.every = int(kv.get("every", "10"))
        self.ipe = int(kv.get("ipe", "1000"))
        self.level = float(kv.get("level", "2.0"))
        self.trend = float(kv.get("trend", "0"))
        self.noise = float(kv.get("noise", "0.01"))
        self.digits = int(kv.get("digits", "4"))
        self.frozen = kv.get("frozen", "0") == "1"
        self.stale = max(1, int(kv.get("stale", "1")))
        self.lr = float(kv.get("lr", "1e-4"))
        self.lr_end = float(kv.get("lr_end", kv.get("lr", "1e-4")))
        self.total = int(kv.get("total", "0"))

    def losses(self) -> list[float]:
        """The printed loss of each record."""
        rng = np.random.default_rng(self.seed)
        out: list[float] = []
        shown = self.level
        for k in range(self.n):
            frac = k / max(1, self.n - 1)
            value = self.level * math.exp(self.trend * frac + self.noise * rng.standard_normal())
            if self.frozen:
                value = self.level
            if k % self.stale == 0:
                shown = value
            out.append(shown)
        return out

    def lrs(self) -> list[float]:
        """The LR at each record (geometric from `lr` to `lr_end`)."""
        if self.n == 1 or self.lr <= 0 or self.lr_end <= 0:
            return [self.lr] * self.n
        ratio = self.lr_end / self.lr
        return [self.lr * ratio ** (k / (self.n - 1)) for k in range(self.n)]

    def text(self) -> str:
        lines = []
        for k, (loss, lr) in enumerate(zip(self.losses(), self.lrs(), strict=True)):
            step = self.start + k * self.every
            lines.append(self._line(step, loss, lr))
        return "".join(lines)

    def _fmt(self, loss: float) -> str:
        if self.fmt == "lightning":
            return f"{loss:.{self.digits}g}"
        return f"{loss:.{self.digits}f}"

    def _line(self, step: int, loss: float, lr: float) -> str:
        value = self._fmt(loss)
        epoch, it = divmod(step, self.ipe)
        if self.fmt == "hf":
            return (
                f"{{'loss': {value}, 'grad_norm': 1.25, 'learning_rate': {lr:.6g}, "
                f"'epoch': {round(step / self.ipe, 2)}}}\n"
            )
        if self.fmt == "jsonl":
            return (
                f'{{"loss": {value}, "learning_rate": {lr:.6g}, '
                f'"epoch": {round(step / self.ipe, 2)}, "step": {step}}}\n'
            )
        if self.fmt == "mmcv":
            return (
                f"2024-03-01 10:{k_min(step)} - INFO - Epoch [{epoch + 1}][{it}/{self.ipe}]\t"
                f"lr: {lr:.3e}, eta: 1 day, 2:03:04, time: 0.812, data_time: 0.040, "
                f"memory: 8342, loss: {value}\n"
            )
        if self.fmt == "mmengine":
            return (
                f"03/01 10:{k_min(step)} - mmengine - INFO - Epoch(train) "
                f"[{epoch + 1}][{it:>4}/{self.ipe}]  base_lr: {lr:.4e} lr: {lr:.4e}  "
                f"eta: 1 day, 1:02:03  time: 1.0123  data_time: 0.0123  memory: 20345  "
                f"grad_norm: 12.3456  loss: {value}\n"
            )
        if self.fmt == "kv":
            of = f"/{self.total}" if self.total else ""
            return f"epoch: {step}{of} | loss: {value} | lr: {lr:.6f} | time: 150.9\n"
        if self.fmt == "lightning":
            pct = int(100 * it / self.ipe)
            return (
                f"Epoch {epoch}:  {pct}% {it}/{self.ipe} [06:00<07:00,  2.11it/s, "
                f"loss={value}, v_num=0]\n"
            )
        return f"iter {step}: loss {value}, time 120.53ms, mfu 31.20%\n"  # nanogpt


def k_min(step: int) -> str:
    """A clock that moves with the step (mm:ss), so timestamped formats look real."""
    return f"{step // 60 % 60:02d}:{step % 60:02d},000"
