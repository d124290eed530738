"""The grad-norm pane's data per redraw, with and without the run's plot cache, against the
floor of decoding the column once (what an uncached redraw must at least do).

    python bench/bench_grad_norm.py            # 10^3 and 10^6 records, a few seconds
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

import numpy as np

from trainmon.plotdata import PlotCache, grad_norm_data
from trainmon.records import MetricRecord
from trainmon.store import MetricStore


def per_call_ms(fn: Callable[[], object], repeat: int) -> float:
    """CPU milliseconds per call, the best of three rounds."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(repeat):
            fn()
        best = min(best, (time.process_time() - start) / repeat * 1000)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", default="1000,1000000")
    p.add_argument("--width", type=int, default=100)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    print("| records | floor: decode the column | uncached | cached | cached vs floor |")
    print("|---|---|---|---|---|")
    for n in (int(x) for x in args.records.split(",")):
        store = MetricStore()
        values = np.round(np.abs(rng.standard_normal(n)) + 0.5, 4)
        records = [
            MetricRecord("train", i + 1, {"grad_norm": float(v)}) for i, v in enumerate(values)
        ]
        store.extend(records, 0.0)
        column = store.get("grad_norm")
        assert column is not None
        cache = PlotCache()
        grad_norm_data(store, args.width, max_grad_norm=1.0, cache=cache)
        floor = per_call_ms(column.values.span, 10)
        draw = functools.partial(grad_norm_data, store, args.width, max_grad_norm=1.0)
        plain = per_call_ms(draw, 10)
        cached = per_call_ms(functools.partial(draw, cache=cache), 10)
        print(
            f"| {n:,} | {floor:.2f} ms | {plain:.2f} ms | {cached:.2f} ms | {cached / floor:.2f}x |"
        )


if __name__ == "__main__":
    main()
