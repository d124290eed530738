"""Regenerate the real-run benchmark: every fault on two seeds and two frameworks, plus
healthy runs, each trained for real on CPU by `train.py`.

Each run gets a folder `bench/realruns/runs/<name>/` with
- `train.log`: the run's stdout and stderr as a redirected `2>&1` log holds them;
- `arrivals.tsv`: byte offset and seconds since start of every chunk the run wrote, so a
  replay feeds the log with its original timing (the throughput rules read arrival times);
- `config.json`: the model config, as a Trainer output directory holds it;
- `label.json`: framework, model, fault, seed, the injected step, the onset step, the
  advice_eval label, what a correct finding says, and the split (seed 0: tune, 1: test).

    nice -n 10 python bench/realruns/generate.py [--only NAME_SUBSTRING] [--jobs 1]
    python bench/realruns/generate.py --relabel   # rewrite label.json from faults.py, no training

Needs `torch` and `transformers` (the `bench` extra); about 20 s of one CPU core per run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from faults import FAULTS, MAX_STEPS  # noqa: E402

RUNS = HERE / "runs"
HEALTHY_SEEDS = (0, 1, 2, 3, 4, 5)
FAULT_SEEDS = (0, 1)
TUNE_BERT_SEED = 2
"""The Trainer's BERT runs of seeds 0 and 1 alternate with GPT-2, so every BERT fault run was
a test run; these faults also run on a BERT of this (tune) seed, so the rules can be tuned on
a classifier too."""
TUNE_BERT_FAULTS = (
    "none",
    "no-warmup",
    "lr-x100",
    "lr-div1000",
    "shuffled-labels",
    "grad-explosion",
)


def matrix() -> list[tuple[str, str, str, int]]:
    """(name, framework, fault, seed) for every run; HF runs alternate GPT-2 and BERT, plus the
    tune BERT runs."""
    out = []
    for fault in FAULTS:
        seeds = HEALTHY_SEEDS if fault == "none" else FAULT_SEEDS
        for framework in ("hf", "loop"):
            for seed in seeds:
                model = "gpt2" if framework == "loop" or seed % 2 == 0 else "bert"
                name = f"{framework}-{model}_{fault}_s{seed}"
                out.append((name, framework, fault, seed))
        if fault in TUNE_BERT_FAULTS:
            out.append((f"hf-bert_{fault}_s{TUNE_BERT_SEED}", "hf", fault, TUNE_BERT_SEED))
    return out


def onset(fault_name: str, facts: dict[str, object]) -> int | None:
    """The step the symptom starts: the injected step, or the best eval for overfitting."""
    fault = FAULTS[fault_name]
    if fault.label == "healthy":
        return None
    if fault.label == "overfitting":
        evals = facts.get("evals") or []
        assert isinstance(evals, list)
        if evals:
            return int(min(evals, key=lambda e: e[1])[0])
    return fault.at if fault.at is not None else 0


def run_one(
    name: str,
    framework: str,
    fault: str,
    seed: int,
    runs: Path = RUNS,
    lr_scale: float | None = None,
) -> str:
    folder = runs / name
    folder.mkdir(parents=True, exist_ok=True)
    model = name.split("_")[0].split("-", 1)[1]
    facts_path = folder / "facts.tmp.json"
    cmd = [
        sys.executable,
        str(HERE / "train.py"),
        "--framework", framework,
        "--model", model,
        "--fault", fault,
        "--seed", str(seed),
        "--out-dir", str(folder),
        "--facts", str(facts_path),
    ]  # fmt: skip
    if lr_scale is not None:
        cmd += ["--lr-scale", str(lr_scale)]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=folder, env=env
    )
    assert proc.stdout is not None
    data = bytearray()
    arrivals: list[tuple[int, float]] = []
    while chunk := os.read(proc.stdout.fileno(), 65536):
        data += chunk
        arrivals.append((len(data), time.monotonic() - t0))
    rc = proc.wait()
    shutil.rmtree(folder / "trainer", ignore_errors=True)  # nothing is saved there
    (folder / "train.log").write_bytes(bytes(data))
    (folder / "arrivals.tsv").write_text("".join(f"{o}\t{t:.3f}\n" for o, t in arrivals))
    facts = json.loads(facts_path.read_text()) if facts_path.exists() else {}
    facts_path.unlink(missing_ok=True)
    write_label(folder, name, framework, model, fault, seed, rc, facts)
    return f"{name}: exit {rc}, {len(data)} bytes, {time.monotonic() - t0:.0f} s"


def write_label(
    folder: Path,
    name: str,
    framework: str,
    model: str,
    fault: str,
    seed: int,
    rc: int,
    facts: dict[str, object],
) -> None:
    spec = FAULTS[fault]
    label = {
        "run": name,
        "framework": framework,
        "model": model,
        "fault": fault,
        "seed": seed,
        "max_steps": MAX_STEPS,
        "injected_step": spec.at if spec.at is not None else (None if fault == "none" else 0),
        "onset_step": onset(fault, facts),
        "label": spec.label,
        "expected": spec.expected,
        "split": "tune" if seed % 2 == 0 else "test",
        "exit_code": rc,
        "evals": facts.get("evals", []),
    }
    (folder / "label.json").write_text(json.dumps(label, indent=1) + "\n")


def relabel(name: str, framework: str, fault: str, seed: int) -> str:
    """Rewrite a committed run's label from the fault catalogue, keeping what it measured."""
    folder = RUNS / name
    if not (folder / "label.json").is_file():
        return f"{name}: not generated yet"
    old = json.loads((folder / "label.json").read_text())
    facts = {"evals": old.get("evals", [])}
    write_label(folder, name, framework, old["model"], fault, seed, old["exit_code"], facts)
    return f"{name}: relabelled {FAULTS[fault].label}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="run only names containing this text")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument(
        "--relabel", action="store_true", help="rewrite label.json files only (no training)"
    )
    ap.add_argument("--runs-dir", type=Path, default=RUNS, help="write the runs here")
    ap.add_argument(
        "--lr-scale", type=float, help="override the faults' LR multiplier (to try a fault)"
    )
    args = ap.parse_args()
    todo = [m for m in matrix() if args.only in m[0]]
    if args.relabel:
        for m in todo:
            print(relabel(*m))
        return 0
    with ThreadPoolExecutor(args.jobs) as pool:
        for line in pool.map(lambda m: run_one(*m, args.runs_dir, args.lr_scale), todo):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
