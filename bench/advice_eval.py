"""Score the advice rules against the labelled corpus in `bench/advice_labels.csv`.

Each run is parsed with the real `LogParser` (synthetic runs are generated, rendered to log
text and parsed line by line with their original timing; `excerpt` runs are short log
excerpts that start mid-training, written by `bench/excerpts.py`), replayed through the
`AdviceEngine`, and compared with its label. Prints markdown tables: per rule family
precision, recall and time-to-detection, and false alarms per severity on healthy runs.
Time to detection counts from the first record that can show the fault (`Outcome.observable`):
the injected step, the first non-finite or zero record for numerics, and the first evaluation
after the best one for overfitting. Tune thresholds on `--split tune`; score `--split test`
once, after the last rule change.

    python bench/advice_eval.py [--split test|tune|all] [--list]
    python bench/advice_eval.py --perf 556000   # analyze cost vs a floor, same machine, same run

Real corpora are read in place from ../shared and skipped when absent.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from excerpts import Excerpt  # noqa: E402

from trainmon.advice import AdviceEngine, context_from_model_config  # noqa: E402
from trainmon.advice.engine import Detection  # noqa: E402
from trainmon.parsing.parser import LogParser  # noqa: E402
from trainmon.records import Finding  # noqa: E402
from trainmon.run import run_context  # noqa: E402
from trainmon.simulate import Fault, SimulatedRun  # noqa: E402
from trainmon.store import MetricStore  # noqa: E402

SHARED = ROOT.parent / "shared"
LABELS = ROOT / "bench" / "advice_labels.csv"

REALRUNS = ROOT / "bench" / "realruns" / "runs"
FAMILY_OF_LABEL = {
    # LR x100 on the real runs: the loss stalls far above a healthy run's (bench/README.md)
    "lr-high": "plateau",
    "instability": "divergence",
    "grad-explosion": "divergence",
    "nan": "numerics",
    "zero-loss": "numerics",
    "gradnorm-nan": "numerics",
    "divergence": "divergence",
    "overfitting": "overfitting",
    "plateau": "plateau",
    "lr-zero": "schedule",
    "lr-jump": "schedule",
    "spike": "spike",
    "stall": "stall",
}
NO_EFFECT = "no-effect"
"""A fault injected for real that left no visible trace in the log (no-warm-up on the real
runs): no rule can be asked to see it, so it is left out of recall and precision, and its
findings above info are listed with the per-fault table."""
_NUMERIC_RULES = {"nan-loss", "nan-eval-loss", "nan-grad-norm", "nan-metric", "zero-loss"}
_DIVERGENCE_RULES = {
    "loss-rising",
    "early-divergence",
    "loss-explosion",
    "loss-instability",
    "grad-drift",
    "early-oscillation",
    "no-warmup-instability",
    "loss-jump",
}
RULES_OF_LABEL = {
    "nan": {"nan-loss", "nan-eval-loss", "nan-grad-norm", "nan-metric"},
    "zero-loss": {"zero-loss", "nan-grad-norm", "nan-loss", "nan-metric"},
    "gradnorm-nan": {"nan-grad-norm"},
    "divergence": _DIVERGENCE_RULES,
    "overfitting": {"overfitting", "memorisation", "generalisation-gap"},
    "lr-high": {
        *_DIVERGENCE_RULES,
        # a far too high LR under Adam and clipping often knocks a small model into a
        # constant prediction rather than a blow-up: a plateau at a high loss
        "early-plateau",
        "not-learning",
        "stuck-at-chance",
        *_NUMERIC_RULES,
        # the cause itself, read from the printed LR before the loss shows it
        "lr-too-high",
    },
    "instability": {
        "loss-instability",
        "early-oscillation",
        "no-warmup-instability",
        "early-divergence",
        "loss-explosion",
    },
    "grad-explosion": {
        "loss-jump",
        "grad-spike",
        "grad-drift",
        "loss-explosion",
        "loss-rising",
        "early-divergence",
        "loss-instability",
        *_NUMERIC_RULES,
    },
    "plateau": {
        "not-learning",
        "early-plateau",
        "flat-loss",
        "frozen-loss",
        "short-plateau",
        "late-plateau",
        "stuck-at-chance",
        "grad-collapse",
        "zero-grad-norm",
        "lr-too-low",
    },
    "lr-zero": {"lr-zero-early"},
    "lr-jump": {"lr-jump"},
    "spike": {"loss-spike", "grad-spike"},
    "stall": {"stall", "throughput-drop"},
}
FAMILY_RULES: dict[str, set[str]] = defaultdict(set)
"""The rules whose firing counts as an alarm of the family (for precision)."""
for _label, _rules in RULES_OF_LABEL.items():
    # lr-high also counts a divergence or NaN as its detection, but those rules alarm for
    # their own families, not for the plateau family it is scored in
    _own = _rules & (RULES_OF_LABEL["plateau"] | {"lr-too-high"}) if _label == "lr-high" else _rules
    FAMILY_RULES[FAMILY_OF_LABEL[_label]] |= _own


@dataclass
class Outcome:
    source: str
    run: str
    label: str
    split: str
    onset: int | None
    observable: int | None = None
    """The first record that can show the fault (time to detection counts from here): the
    onset, except for overfitting, where it is the first evaluation after the best one (no
    rule can see a rise before an evaluation shows it)."""
    findings: list[Finding] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)
    records: int = 0
    last_step: int = 0
    record_steps: float = 1.0
    eval_steps: float = 0.0
    seconds: float = 0.0
    fault: str = ""


def _synthetic(spec: str) -> SimulatedRun:
    kv = dict(part.split("=", 1) for part in spec.split(";"))
    faults: tuple[Fault, ...] = ()
    if "fault" in kv:
        kind, at = kv["fault"].split("@")
        faults = (Fault(kind, int(at)),)  # type: ignore[arg-type]
    return SimulatedRun(
        seed=int(kv["seed"]),
        steps=int(kv["steps"]),
        faults=faults,
        logging_steps=int(kv["logging"]),
        eval_steps=int(kv["eval"]) or None,
        noise=float(kv["noise"]),
        warmup_ratio=float(kv["warmup"]),
    )


def load(source: str, run: str) -> tuple[MetricStore, dict[str, object]] | None:
    """Parse one corpus entry into a store (None when its corpus is absent)."""
    parser = LogParser()
    store = MetricStore()
    if source == "synthetic":
        sim = _synthetic(run)
        # lines written at the same moment arrive together (a tqdm redraw and its dict)
        chunk: list[str] = []
        when = 0.0
        for t, line in sim.lines():
            if chunk and t != when:
                store.extend(parser.feed("".join(chunk).encode()), when)
                store.total_steps = parser.total_steps
                chunk = []
            chunk.append(line)
            when = t
        store.extend(parser.feed("".join(chunk).encode()) + parser.finish(), when)
    elif source == "realrun":
        folder = REALRUNS / run
        if not (folder / "train.log").is_file():
            return None
        # fed as the run wrote it: each chunk at the second it arrived (a live replay)
        data = (folder / "train.log").read_bytes()
        done = 0
        for line in (folder / "arrivals.tsv").read_text().splitlines():
            offset, seconds = line.split("\t")
            store.extend(parser.feed(data[done : int(offset)]), float(seconds))
            store.total_steps = store.total_steps or parser.total_steps
            done = int(offset)
        store.extend(parser.feed(data[done:]) + parser.finish(), store.last_arrival_s or 0.0)
    elif source == "excerpt":
        records = parser.feed(Excerpt(run).text().encode()) + parser.finish()
        store.total_steps = parser.total_steps
        store.extend(records, 0.0)
    else:
        folder = SHARED / {"log": "logs", "log2": "logs2"}.get(source, "trainer_states")
        path = folder / run
        if not path.is_file():
            return None
        records = parser.feed(path.read_bytes()) + parser.finish()
        store.total_steps = parser.total_steps
        store.extend(records, 0.0)
    store.total_steps = store.total_steps or parser.total_steps
    # The run context exactly as `report` and the dashboard build it (a `Run`'s), with the
    # config.json that real runs keep beside their logs.
    beside = context_from_model_config(REALRUNS / run / "train.log") if source == "realrun" else {}
    return store, run_context(parser.context, parser.format, {}, beside)


def evaluate(row: dict[str, str]) -> Outcome | None:
    loaded = load(row["source"], row["run"])
    if loaded is None:
        return None
    store, context = loaded
    onset = int(row["onset_step"]) if row["onset_step"] else None
    out = Outcome(row["source"], row["run"], row["label"], row["split"], onset)
    t0 = time.perf_counter()
    engine = AdviceEngine(context)
    engine.finish(store)
    out.seconds = time.perf_counter() - t0
    out.findings = engine.findings()
    out.detections = list(engine.detections)
    out.records = store.records
    out.last_step = store.last_step or 0
    train_steps = [
        s for s, k in zip(store.record_steps, store.record_kinds, strict=True) if k == "train"
    ]
    if len(train_steps) > 1:
        out.record_steps = max(1.0, (train_steps[-1] - train_steps[0]) / (len(train_steps) - 1))
    eval_steps = [
        s for s, k in zip(store.record_steps, store.record_kinds, strict=True) if k == "eval"
    ]
    if len(eval_steps) > 1:
        out.eval_steps = (eval_steps[-1] - eval_steps[0]) / (len(eval_steps) - 1)
    numerics = FAMILY_OF_LABEL.get(out.label) == "numerics"
    if numerics and (onset is None or row["source"] == "realrun"):
        # the first non-finite (or zero) record: what a reader of the log can see
        out.onset = _first_nonfinite_or_zero(store) or onset
    out.observable = out.onset
    if FAMILY_OF_LABEL.get(out.label) == "overfitting" and out.onset is not None:
        later = [s for s in eval_steps if s > out.onset]
        out.observable = int(later[0]) if later else out.onset
    if row["source"] == "realrun":
        out.fault = row.get("fault", "")
    return out


def detection_delay(o: Outcome) -> float:
    """Steps from the first record that can show the fault to its first timely detection."""
    start = o.observable if o.observable is not None else o.onset
    return min(d.detected_step for d in timely(o)) - (start or 0)


def _first_nonfinite_or_zero(store: MetricStore) -> int | None:
    """Labelled onset for numerics faults in real logs: the first bad value in the data."""
    first: int | None = None
    for name in ("loss", "eval_loss", "grad_norm"):
        s = store.get(name)
        if s is None:
            continue
        for i, v in enumerate(s.values):
            if not math.isfinite(v) or (name == "loss" and v == 0.0):
                step = store.record_steps[s.record_index[i]]
                first = step if first is None else min(first, step)
                break
    return first


def window(o: Outcome) -> tuple[float, float]:
    """Steps in which a detection counts as timely: [onset - 1 record, onset + tolerance]."""
    if o.onset is None:
        return (-math.inf, math.inf)  # excerpt labels: anywhere in the excerpt
    fam = FAMILY_OF_LABEL[o.label]
    if fam == "numerics":
        tol = 3 * o.record_steps
    elif fam == "overfitting":
        tol = 4 * max(o.eval_steps, o.record_steps)
    elif fam == "plateau" or o.label == "lr-high":  # a far too high LR may end in a plateau
        # flatness takes time to show, and two evaluations to confirm (seen at the record
        # after the second one)
        tol = max(
            0.25 * max(o.last_step, 1), 20 * o.record_steps, 2 * o.eval_steps + o.record_steps
        )
    else:
        tol = max(0.1 * max(o.last_step, 1), 20 * o.record_steps)
    return (o.onset - o.record_steps, o.onset + tol)


def timely(o: Outcome) -> list[Detection]:
    """Detections by a rule of the run's label inside its window."""
    if o.label not in RULES_OF_LABEL:
        return []
    lo, hi = window(o)
    return [
        d
        for d in o.detections
        if d.finding.rule in RULES_OF_LABEL[o.label] and lo <= d.detected_step <= hi
    ]


GROUPS = (
    ("real runs", frozenset({"realrun"})),
    ("shared real logs + trainer states", frozenset({"log", "log2", "trainer_state"})),
    ("synthetic", frozenset({"synthetic", "excerpt"})),
)


def _family_cell(outcomes: list[Outcome], fam: str) -> str:
    labelled = [o for o in outcomes if FAMILY_OF_LABEL.get(o.label) == fam]
    rules = FAMILY_RULES[fam]
    alarmed = [o for o in outcomes if any(d.finding.rule in rules for d in o.detections)]
    correct = [o for o in alarmed if FAMILY_OF_LABEL.get(o.label) == fam and timely(o)]
    hits = [o for o in labelled if timely(o)]
    if not labelled and not alarmed:
        return "–"
    ttd = [detection_delay(o) for o in hits if o.onset is not None]
    recall = f"{len(hits)}/{len(labelled)}" if labelled else "–"
    prec = f"{len(correct)}/{len(alarmed)}" if alarmed else "–"
    t = f"{statistics.median(ttd):.0f}" if ttd else "–"
    return f"{recall} · {prec} · {t}"


def side_by_side(outcomes: list[Outcome]) -> None:
    """Recall, precision and median time to detection per family, one column per corpus."""
    print(
        "Per family: detected/labelled (recall) · correct/alarmed runs (precision) · median "
        "steps to detection from the first record that can show the fault\n"
    )
    print("| family | " + " | ".join(name for name, _ in GROUPS) + " |")
    print("|---|" + "---|" * len(GROUPS))
    for fam in sorted(set(FAMILY_OF_LABEL.values())):
        cells = [
            _family_cell([o for o in outcomes if o.source in sources], fam) for _, sources in GROUPS
        ]
        print(f"| {fam} | " + " | ".join(cells) + " |")
    print()
    print("| healthy runs: findings per 10 runs | runs | critical | warning | info |")
    print("|---|---|---|---|---|")
    for name, sources in GROUPS:
        healthy = [o for o in outcomes if o.source in sources and o.label in ("healthy", "empty")]
        if not healthy:
            continue
        rates = [
            10 * sum(f.severity == sev for o in healthy for f in o.findings) / len(healthy)
            for sev in ("critical", "warning", "info")
        ]
        print(f"| {name} | {len(healthy)} | " + " | ".join(f"{r:.2f}" for r in rates) + " |")


def realrun_table(outcomes: list[Outcome]) -> None:
    """Per injected fault of the real-run benchmark: recall and detection delay."""
    runs = [o for o in outcomes if o.source == "realrun" and o.label != "healthy"]
    if not runs:
        return
    print("\nReal runs, per injected fault (delay from the first record that can show the")
    print("fault: the injected step; numerics: the first non-finite or zero record;")
    print("overfitting: the first evaluation after the best one):\n")
    print(
        "| fault | family | runs | detected | within 5 % of the run | delay median / max "
        "(steps) | rules that caught it |"
    )
    print("|---|---|---|---|---|---|---|")
    for fault in sorted({o.fault for o in runs}):
        group = [o for o in runs if o.fault == fault]
        if group[0].label == NO_EFFECT:
            loud = sum(f.severity != "info" for o in group for f in o.findings)
            print(
                f"| {fault} | no visible effect: not scored | {len(group)} | – | – | – | "
                f"{loud} warning or critical findings |"
            )
            continue
        fam = FAMILY_OF_LABEL[group[0].label]
        caught = [o for o in group if timely(o)]
        delays = [detection_delay(o) for o in caught]
        within = sum(1 for o, t in zip(caught, delays, strict=True) if t <= 0.05 * o.last_step)
        rules = sorted({min(timely(o), key=lambda d: d.detected_step).finding.rule for o in caught})
        delay = f"{statistics.median(delays):.0f} / {max(delays):.0f}" if delays else "–"
        print(
            f"| {fault} | {fam} | {len(group)} | {len(caught)}/{len(group)} | "
            f"{within}/{len(group)} | {delay} | {', '.join(rules) or '–'} |"
        )


def realrun_rows() -> list[dict[str, str]]:
    """Label rows for the real-run benchmark, from each run's `label.json`."""
    rows = []
    for path in sorted(REALRUNS.glob("*/label.json")):
        d = json.loads(path.read_text())
        onset = d.get("onset_step")
        rows.append(
            {
                "source": "realrun",
                "run": d["run"],
                "label": d["label"],
                "onset_step": "" if onset is None else str(onset),
                "split": d["split"],
                "fault": d["fault"],
                "note": d["expected"],
            }
        )
    return rows


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return math.nan
    k = min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))
    return values[k]


def wilson(k: int, n: int) -> str:
    if n == 0:
        return "–"
    z = 1.96
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return f"{max(0, c - h):.2f}–{min(1, c + h):.2f}"


def report(outcomes: list[Outcome], show_list: bool) -> None:
    families = sorted(set(FAMILY_OF_LABEL.values()))
    print(
        "| family | labelled runs | detected (recall) | 95% CI | runs alarmed | precision "
        "| healthy runs alarmed (warn+ / info) | TTD median / p90 (steps) | TTD median (records) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for fam in families:
        rules = FAMILY_RULES[fam]
        labelled = [o for o in outcomes if FAMILY_OF_LABEL.get(o.label) == fam]
        hits = 0
        ttd: list[float] = []
        ttd_records: list[float] = []
        for o in labelled:
            lo, hi = window(o)
            ok = [
                d
                for d in o.detections
                if d.finding.rule in RULES_OF_LABEL[o.label] and lo <= d.detected_step <= hi
            ]
            if ok:
                hits += 1
                if o.onset is not None:
                    ttd.append(detection_delay(o))
                    ttd_records.append(ttd[-1] / o.record_steps)
        alarmed = 0
        correct = 0
        for o in outcomes:
            fired = [d for d in o.detections if d.finding.rule in rules]
            if not fired:
                continue
            alarmed += 1
            if FAMILY_OF_LABEL.get(o.label) == fam:
                lo, hi = window(o)
                if any(
                    d.finding.rule in RULES_OF_LABEL[o.label] and lo <= d.detected_step <= hi
                    for d in fired
                ):
                    correct += 1
        recall = f"{hits}/{len(labelled)} = {hits / len(labelled):.2f}" if labelled else "–"
        prec = f"{correct}/{alarmed} = {correct / alarmed:.2f}" if alarmed else "–"
        t = f"{statistics.median(ttd):.0f} / {pct(ttd, 0.9):.0f}" if ttd else "–"
        ci = wilson(hits, len(labelled))
        healthy_runs = [o for o in outcomes if o.label in ("healthy", "empty")]
        warn = sum(
            any(f.rule in rules and f.severity != "info" for f in o.findings) for o in healthy_runs
        )
        info = sum(
            any(f.rule in rules and f.severity == "info" for f in o.findings) for o in healthy_runs
        )
        tr = f"{statistics.median(ttd_records):.1f}" if ttd_records else "–"
        print(
            f"| {fam} | {len(labelled)} | {recall} | {ci} | {alarmed} | {prec} | {warn} / {info} "
            f"| {t} | {tr} |"
        )
    healthy = [o for o in outcomes if o.label in ("healthy", "empty")]
    print()
    print(f"False alarms on {len(healthy)} healthy runs (real and synthetic):")
    print()
    print("| severity | findings | per 10 healthy runs | runs with one |")
    print("|---|---|---|---|")
    for sev in ("critical", "warning", "info"):
        found = [(o, f) for o in healthy for f in o.findings if f.severity == sev]
        runs = len({o.run for o, _ in found})
        rate = 10 * len(found) / max(1, len(healthy))
        print(f"| {sev} | {len(found)} | {rate:.2f} | {runs} |")
    noisy = [o for o in outcomes if o.label == "noisy"]
    if noisy:
        n_warn = sum(1 for o in noisy for f in o.findings if f.severity != "info")
        print(f"\nNoisy (manifest) runs: {len(noisy)}, warning+critical findings: {n_warn}")
    total = sum(o.seconds for o in outcomes)
    print(f"\nRuns scored: {len(outcomes)}; engine time {total:.2f} s in all")
    if show_list:
        print("\nFindings on healthy runs (warning and critical):")
        for o in healthy:
            for f in o.findings:
                if f.severity != "info":
                    print(
                        f"- {o.source} {o.run}: {f.rule} {f.severity} step {f.step}: {f.evidence}"
                    )
        print("\nInfo findings on healthy runs:")
        for o in healthy:
            for f in o.findings:
                if f.severity == "info":
                    print(f"- {o.source} {o.run}: {f.rule} step {f.step}: {f.evidence}")
        print("\nMissed labelled runs:")
        for o in outcomes:
            if o.label not in RULES_OF_LABEL:
                continue
            lo, hi = window(o)
            ok = [
                d
                for d in o.detections
                if d.finding.rule in RULES_OF_LABEL[o.label] and lo <= d.detected_step <= hi
            ]
            if not ok:
                seen = ", ".join(f"{d.finding.rule}@{d.detected_step}" for d in o.detections)
                print(f"- {o.source} {o.run} [{o.label} onset {o.onset}]: {seen or 'nothing'}")


def perf(records: int) -> None:
    """Time `analyze` on a synthetic run against a floor measured in the same process.

    The floor is the cheapest conceivable whole-run pass: one vectorised isfinite + median over
    the loss and grad-norm arrays. The ratio, not the seconds, is what to compare across
    machines.
    """
    import numpy as np

    from trainmon.advice import analyze

    run = SimulatedRun(seed=3, steps=records, logging_steps=1, eval_steps=max(1, records // 100))
    store = MetricStore()
    store.extend((r for _, r in run.records()), 0.0)
    store.total_steps = records
    loss = store.get("loss")
    grad = store.get("grad_norm")
    assert loss is not None and grad is not None

    def floor() -> None:
        for series in (loss, grad):
            v = series.values_np()
            np.median(v[np.isfinite(v)])

    def best_of(fn, n: int = 3) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    t_floor = best_of(floor)
    t_analyze = best_of(lambda: analyze(store, run.context))
    engine = AdviceEngine(run.context)
    engine.finish(store)
    print(f"records: {store.records}; checkpoints evaluated: {engine.checkpoints}")
    print(f"analyze: {t_analyze:.3f} s (best of 3); floor (isfinite+median pass): {t_floor:.4f} s")
    print(f"ratio analyze/floor: {t_analyze / t_floor:.1f}")
    rule_shares(store, {**run.context, "format": "hf-trainer", "vocab_size": 30})


def rule_shares(store: MetricStore, context: dict[str, object]) -> None:
    """Each windowed rule's `check` time as a share of one engine pass, in the same process
    (shares, unlike seconds, hold on a loaded machine). The context is a Trainer language
    model's, so the rules that need one (`lr-too-high`, `lr-too-low`) run too."""
    from collections.abc import Callable

    from trainmon.advice.base import Facts, Hit, Rule, View
    from trainmon.advice.registry import WINDOW_RULES

    spent: dict[str, float] = defaultdict(float)
    originals = {cls: cls.check for cls in WINDOW_RULES}

    def timed(cls: type[Rule]) -> Callable[[Rule, View, Facts], Hit | None]:
        def check(self: Rule, view: View, facts: Facts) -> Hit | None:
            t0 = time.perf_counter()
            try:
                return originals[cls](self, view, facts)
            finally:
                spent[cls.info.id] += time.perf_counter() - t0

        return check

    for cls in WINDOW_RULES:
        cls.check = timed(cls)  # type: ignore[method-assign, assignment]
    try:
        t0 = time.perf_counter()
        AdviceEngine(context).finish(store)
        total = time.perf_counter() - t0
    finally:
        for cls, check in originals.items():
            cls.check = check  # type: ignore[method-assign]
    top = sorted(spent.items(), key=lambda kv: -kv[1])
    print(f"engine pass with a Trainer LM context: {total:.3f} s; rule check times:")
    print(", ".join(f"{rid} {t / total:.2%}" for rid, t in top))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("test", "tune", "all"), default="test")
    ap.add_argument("--list", action="store_true", help="list false alarms and misses")
    ap.add_argument(
        "--detail", action="store_true", help="also the per-family table over all corpora"
    )
    ap.add_argument(
        "--corpus",
        choices=("all", "realrun", "shared", "synthetic"),
        default="all",
        help="score one corpus only",
    )
    ap.add_argument("--perf", type=int, metavar="RECORDS", help="time analyze on a synthetic run")
    args = ap.parse_args(argv)
    if args.perf:
        perf(args.perf)
        return 0
    with LABELS.open(newline="") as fh:
        rows = list(csv.DictReader(fh)) + realrun_rows()
    rows = [r for r in rows if args.split in ("all", r["split"])]
    wanted = {
        "all": {"realrun", "log", "log2", "trainer_state", "synthetic", "excerpt"},
        "realrun": {"realrun"},
        "shared": {"log", "log2", "trainer_state"},
        "synthetic": {"synthetic", "excerpt"},
    }[args.corpus]
    rows = [r for r in rows if r["source"] in wanted]
    outcomes = []
    skipped = 0
    for row in rows:
        if row["label"] == "unclear":
            continue
        o = evaluate(row)
        if o is None:
            skipped += 1
            continue
        outcomes.append(o)
    print(f"Split: {args.split}; {len(outcomes)} runs ({skipped} skipped: corpus absent)\n")
    side_by_side(outcomes)
    realrun_table(outcomes)
    if args.detail or args.list:
        print()
        report(outcomes, args.list)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
