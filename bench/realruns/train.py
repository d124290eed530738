"""Train one tiny model for real on CPU, with or without an injected fault.

Two frameworks print what users see in their logs:
- `hf`: the Hugging Face Trainer on a tiny GPT-2 (character language model) or a tiny BERT
  (sentence classifier), both built from a config object (no download); its dicts and tqdm
  bars go to stdout/stderr as in any redirected run.
- `loop`: a plain PyTorch loop on the same tiny GPT-2 that prints nanoGPT-style lines with the
  learning rate at the end, as nanoGPT forks that log it do
  (`iter 100: loss 2.0863, time 15.94ms, mfu 0.01%, lr 9.8765e-04`,
  `step 200: train loss 1.9, val loss 2.0`).

The data are synthetic sentences from a small grammar, tokenised per character here, so the
runs need no network and no dataset. Faults (see `faults.py`) are injected the way they
happen in practice: a wrong config value, a broken collator, a callback that restarts the
scheduler, a data loader that starts sleeping. The script writes the label facts it measured
(best eval step, for overfitting) to `--facts` as JSON.

    python bench/realruns/train.py --framework hf --model gpt2 --fault none --seed 0 \
        --out-dir /tmp/run --facts /tmp/run/facts.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults import FAULTS, MAX_STEPS, Fault

torch.set_num_threads(1)

SEQ = 48
BATCH = 16
LOG_EVERY = 5
EVAL_EVERY = 100
BASE_LR = 1e-3
WARMUP = 30
MIN_LR = 1e-4
SLEEP_S = 0.12

SUBJECTS = ["the cat", "a dog", "my friend", "the old man", "a red bird", "the child", "she"]
VERBS = ["sees", "likes", "finds", "eats", "paints", "hears", "wants"]
OBJECTS = ["the ball", "a green apple", "the river", "some bread", "a small boat", "the moon"]
ENDS = [".", " today.", " again.", " at night.", " in the park."]
ALPHABET = sorted(set("abcdefghijklmnopqrstuvwxyz .,"))
PAD = 0
VOCAB = ["<pad>", *ALPHABET]
INDEX = {c: i for i, c in enumerate(VOCAB)}


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(ENDS)}"


def encode(text: str) -> list[int]:
    return [INDEX[c] for c in text]


def lm_examples(rng: random.Random, n: int) -> list[list[int]]:
    """`n` windows of SEQ+1 characters cut from a stream of sentences."""
    stream: list[int] = []
    while len(stream) < n * (SEQ + 1):
        stream += encode(sentence(rng) + " ")
    return [stream[i * (SEQ + 1) : (i + 1) * (SEQ + 1)] for i in range(n)]


def cls_examples(rng: random.Random, n: int, noise: float = 0.1) -> list[tuple[list[int], int]]:
    """Sentences labelled 1 when an animal does the action, with 10 % label noise."""
    out = []
    for _ in range(n):
        text = sentence(rng)
        label = int(any(text.startswith(s) for s in ("the cat", "a dog", "a red bird")))
        if rng.random() < noise:
            label = 1 - label
        ids = encode(text)[:SEQ]
        out.append((ids + [PAD] * (SEQ - len(ids)), label))
    return out


def gpt2_config():  # type: ignore[no-untyped-def]
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=len(VOCAB), n_positions=64, n_embd=64, n_layer=2, n_head=2, bos_token_id=0
    )


def bert_config():  # type: ignore[no-untyped-def]
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=64,
        num_labels=2,
        pad_token_id=PAD,
    )


class Switches:
    """Fault state the training code reads at each step (set by the step counter)."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.step = 0

    @property
    def after(self) -> bool:
        return self.fault.at is not None and self.step >= self.fault.at

    @property
    def exactly(self) -> bool:
        return self.fault.at is not None and self.step == self.fault.at


def poison_embeddings(model: torch.nn.Module, sw: Switches) -> None:
    """Make the input embeddings NaN on the injected step (a corrupt input batch)."""
    emb = model.get_input_embeddings()

    def hook(_m, _i, out):  # type: ignore[no-untyped-def]
        return out * float("nan") if sw.exactly else out

    emb.register_forward_hook(hook)


# -- Hugging Face Trainer ---------------------------------------------------------------


def run_hf(args: argparse.Namespace, fault: Fault, facts: dict[str, object]) -> None:
    from torch.utils.data import Dataset
    from transformers import (
        BertForSequenceClassification,
        GPT2LMHeadModel,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    sw = Switches(fault)
    lm = args.model == "gpt2"
    n_train = 16 if fault.name == "tiny-train-set" else 2048

    if lm:
        train = lm_examples(rng, n_train)
        valid = lm_examples(rng, 128)
        config = gpt2_config()
        model = GPT2LMHeadModel(config)
    else:
        train_c = cls_examples(rng, n_train)
        valid_c = cls_examples(rng, 256)
        config = bert_config()
        model = BertForSequenceClassification(config)
    config.to_json_file(str(Path(args.out_dir) / "config.json"))
    if fault.name == "nan-input":
        poison_embeddings(model, sw)

    class Rows(Dataset):  # type: ignore[type-arg]
        def __init__(self, rows: list) -> None:  # type: ignore[type-arg]
            self.rows = rows

        def __len__(self) -> int:
            return len(self.rows)

        def __getitem__(self, i: int):  # type: ignore[no-untyped-def]
            return self.rows[i]

    shuffled = fault.name == "shuffled-labels"
    perm_rng = random.Random(args.seed + 1000)

    def collate(rows: list) -> dict[str, torch.Tensor]:  # type: ignore[type-arg]
        if fault.name == "slow-loader" and sw.after:
            time.sleep(SLEEP_S)
        if lm:
            ids = torch.tensor([r[:SEQ] for r in rows])
            labels = ids.clone()
            if shuffled:
                labels = labels[:, torch.randperm(SEQ)]
        else:
            ids = torch.tensor([r[0] for r in rows])
            labels = torch.tensor([r[1] for r in rows])
            if shuffled:
                labels = torch.tensor([perm_rng.randint(0, 1) for _ in rows])
        if fault.name == "labels-masked" and sw.after:
            labels = torch.full_like(labels, -100)
        batch = {"input_ids": ids, "labels": labels}
        if not lm:
            batch["attention_mask"] = (ids != PAD).long()
        return batch

    class Faults(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, targs, state, control, **kw):  # type: ignore[no-untyped-def]
            sw.step = state.global_step + 1  # the step being taken (logged under this number)
            if fault.name == "scheduler-restart" and sw.exactly:
                kw["lr_scheduler"].last_epoch = 0  # a resumed run that built a new scheduler
            if fault.name == "grad-explosion" and sw.exactly:
                sched = kw["lr_scheduler"]
                sched.base_lrs = [lr * fault.factor for lr in sched.base_lrs]

        def on_evaluate(self, targs, state, control, metrics=None, **kw):  # type: ignore[no-untyped-def]
            if metrics and "eval_loss" in metrics:
                evals = facts.setdefault("evals", [])
                assert isinstance(evals, list)
                evals.append([state.global_step, metrics["eval_loss"]])

    def accuracy(pred) -> dict[str, float]:  # type: ignore[no-untyped-def]
        return {"accuracy": float((pred.predictions.argmax(-1) == pred.label_ids).mean())}

    targs = TrainingArguments(
        output_dir=str(Path(args.out_dir) / "trainer"),
        max_steps=MAX_STEPS,
        per_device_train_batch_size=BATCH,
        per_device_eval_batch_size=64,
        learning_rate=BASE_LR * fault.lr_scale,
        warmup_steps=0 if fault.name == "no-warmup" else WARMUP,
        lr_scheduler_type="cosine",
        weight_decay=0.01,
        max_grad_norm=0.0 if fault.name == "grad-explosion" else 1.0,
        logging_steps=LOG_EVERY,
        eval_strategy="steps",
        eval_steps=EVAL_EVERY,
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        use_cpu=True,
        dataloader_num_workers=0,
    )
    trainer = Trainer(
        model=model,
        args=targs,
        train_dataset=Rows(train if lm else train_c),
        eval_dataset=Rows(valid if lm else valid_c),
        data_collator=collate,
        callbacks=[Faults()],
        compute_metrics=None if lm else accuracy,
    )
    trainer.train()


# -- plain PyTorch loop ---------------------------------------------------------------


def cosine_lr(it: int, peak: float, warmup: int) -> float:
    """nanoGPT's schedule: linear warm-up, cosine decay to MIN_LR at MAX_STEPS."""
    if it < warmup:
        return peak * (it + 1) / (warmup + 1)
    ratio = (it - warmup) / max(1, MAX_STEPS - warmup)
    return MIN_LR * peak / BASE_LR + 0.5 * (1 + math.cos(math.pi * ratio)) * (
        peak - MIN_LR * peak / BASE_LR
    )


def run_loop(args: argparse.Namespace, fault: Fault, facts: dict[str, object]) -> None:
    from transformers import GPT2LMHeadModel

    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    sw = Switches(fault)
    n_train = 16 if fault.name == "tiny-train-set" else 2048
    train = torch.tensor(lm_examples(rng, n_train))
    valid = torch.tensor(lm_examples(rng, 128))
    config = gpt2_config()
    config.to_json_file(str(Path(args.out_dir) / "config.json"))
    model = GPT2LMHeadModel(config)
    if fault.name == "nan-input":
        poison_embeddings(model, sw)
    peak = BASE_LR * fault.lr_scale
    warmup = 0 if fault.name == "no-warmup" else WARMUP
    opt = torch.optim.AdamW(model.parameters(), lr=peak, weight_decay=0.01, betas=(0.9, 0.95))
    clip = 0.0 if fault.name == "grad-explosion" else 1.0
    gen = torch.Generator().manual_seed(args.seed)
    schedule_origin = 0

    def get_batch(data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if fault.name == "slow-loader" and sw.after:
            time.sleep(SLEEP_S)
        idx = torch.randint(len(data), (BATCH,), generator=gen)
        rows = data[idx]
        x, y = rows[:, :-1].clone(), rows[:, 1:].clone()
        if fault.name == "shuffled-labels":
            y = y[:, torch.randperm(SEQ, generator=gen)]
        if fault.name == "labels-masked" and sw.after:
            y = torch.full_like(y, -1)
        return x, y

    def loss_of(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = model(input_ids=x).logits
        per_token = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), y.reshape(-1).clamp(min=0), reduction="none"
        )
        mask = (y.reshape(-1) >= 0).float()
        # the masked mean most SFT loops write: an all-masked batch gives exactly 0
        return (per_token * mask).sum() / mask.sum().clamp(min=1.0)

    @torch.no_grad()
    def estimate() -> tuple[float, float]:
        model.eval()
        out = []
        for data in (train, valid):
            losses = []
            for k in range(4):
                rows = data[torch.arange(k * BATCH, (k + 1) * BATCH) % len(data)]
                losses.append(float(loss_of(rows[:, :-1], rows[:, 1:])))
            out.append(sum(losses) / len(losses))
        model.train()
        return out[0], out[1]

    print(f"number of parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M")
    t0 = time.time()
    for it in range(MAX_STEPS + 1):
        sw.step = it
        if fault.name == "scheduler-restart" and sw.exactly:
            schedule_origin = it  # resumed with a fresh scheduler: warm-up starts again
        if fault.name == "grad-explosion" and sw.exactly:
            peak *= fault.factor
        lr = cosine_lr(it - schedule_origin, peak, warmup)
        for group in opt.param_groups:
            group["lr"] = lr
        if it % EVAL_EVERY == 0:
            tl, vl = estimate()
            print(f"step {it}: train loss {tl:.4f}, val loss {vl:.4f}")
            evals = facts.setdefault("evals", [])
            assert isinstance(evals, list)
            evals.append([it, vl])
        if it == MAX_STEPS:
            break
        x, y = get_batch(train)
        loss = loss_of(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        t1 = time.time()
        dt, t0 = t1 - t0, t1
        if it % LOG_EVERY == 0:
            mfu = 6 * 1.0e5 * BATCH * SEQ / dt / 1e12 * 100
            print(
                f"iter {it}: loss {loss.item():.4f}, time {dt * 1000:.2f}ms, mfu {mfu:.2f}%, "
                f"lr {lr:.4e}"
            )
        sys.stdout.flush()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--framework", choices=("hf", "loop"), required=True)
    ap.add_argument("--model", choices=("gpt2", "bert"), default="gpt2")
    ap.add_argument("--fault", choices=sorted(FAULTS), default="none")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--facts", required=True)
    ap.add_argument("--lr-scale", type=float, help="override the fault's LR multiplier (a sweep)")
    args = ap.parse_args()
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    fault = FAULTS[args.fault]
    if args.lr_scale is not None:
        fault = replace(fault, lr_scale=args.lr_scale)
    facts: dict[str, object] = {}
    try:
        if args.framework == "hf":
            run_hf(args, fault, facts)
        else:
            run_loop(args, fault, facts)
    finally:
        Path(args.facts).write_text(json.dumps(facts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
