"""Several ranks printing into one log: records keep one step axis (not one per print), a
rank that lags is not a step going backwards, and a real restart still is."""

from __future__ import annotations

from trainmon.advice import AdviceEngine
from trainmon.parsing import LogParser
from trainmon.records import MetricRecord
from trainmon.store import MetricStore


def _parse(lines: list[str]) -> tuple[list[MetricRecord], LogParser]:
    parser = LogParser()
    data = ("\n".join(lines) + "\n").encode()
    return parser.feed(data) + parser.finish(), parser


def test_two_ranks_printing_stepless_dicts_share_one_step_axis() -> None:
    lines = [
        f"[rank{r}]:{{'loss': {2.0 - i * 0.1 + r * 0.01:.3f}, 'learning_rate': 1e-4, "
        f"'epoch': {i * 0.1:.1f}}}"
        for i in range(1, 6)
        for r in (0, 1)
    ]
    records, parser = _parse(lines)
    assert [r.step for r in records] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert len(records) == 10  # both ranks' prints stay records, nothing is averaged
    assert parser.context["ranks"] == 2


def test_one_untagged_writer_still_counts_on() -> None:
    lines = [f"{{'loss': {2.0 - i * 0.1:.3f}, 'learning_rate': 1e-4}}" for i in range(1, 6)]
    records, parser = _parse(lines)
    assert [r.step for r in records] == [1, 2, 3, 4, 5]
    assert "ranks" not in parser.context


def test_a_step_followed_by_a_colon_is_not_a_rank() -> None:
    _records, parser = _parse([f"{i * 10}: loss={2.0 - i * 0.01:.3f}" for i in range(1, 9)])
    assert "ranks" not in parser.context


def _uncertain(lines: list[str]) -> bool:
    records, parser = _parse(lines)
    store = MetricStore()
    store.extend(records, 0.0)
    engine = AdviceEngine(dict(parser.context))
    engine.finish(store)
    return engine.facts.steps_uncertain


def _lagging(steps: range) -> list[str]:
    lines = []
    for i in steps:
        lines.append(f"[rank0]:step {i * 10} | loss {3.0 - i * 0.01:.3f} | lr 1e-4")
        if i > 1:
            lines.append(f"[rank1]:step {(i - 1) * 10} | loss {3.0 - i * 0.01:.3f} | lr 1e-4")
    return lines


def test_a_lagging_rank_is_not_a_step_going_back() -> None:
    assert not _uncertain(_lagging(range(1, 60)))


def test_a_restart_in_a_two_rank_log_is_still_a_step_going_back() -> None:
    assert _uncertain(_lagging(range(1, 60)) + _lagging(range(1, 20)))


def test_without_rank_tags_a_step_going_back_is_noticed_as_before() -> None:
    lines = [f"step {i * 10} | loss {3.0 - i * 0.01:.3f}" for i in range(1, 40)]
    lines.insert(20, "step 50 | loss 2.9")
    assert _uncertain(lines)


def _goes_back_one_by_one(kinds: list[str], steps: list[int], ranks: int) -> bool:
    """The rule as a loop over every record: what the batched numpy judgement must equal."""
    from collections import deque

    recent: deque[int] = deque(maxlen=ranks)
    back = False
    for kind, step in zip(kinds, steps, strict=True):
        if kind != "train":
            continue
        if recent and step < min(recent):
            back = True
        recent.append(step)
    return back


def test_step_going_back_judged_in_batches_equals_the_loop_over_records() -> None:
    import random

    from trainmon.advice.base import Facts, View
    from trainmon.advice.context import parse_context
    from trainmon.advice.facts import FactsUpdater

    rng = random.Random(7)
    seen: set[bool] = set()
    for trial in range(300):
        ranks = rng.choice([1, 1, 2, 3, 8])
        n = rng.randint(1, 60)
        kinds = [rng.choice(["train", "train", "train", "eval"]) for _ in range(n)]
        steps, step = [], 0
        for _ in range(n):
            step += rng.choice([1, 1, 1, 0, -1, -3, 5]) if trial % 2 else 1
            steps.append(step)
        store = MetricStore()
        store.extend(
            [MetricRecord(k, s, {"loss": 1.0}) for k, s in zip(kinds, steps, strict=True)], 0.0
        )
        facts = Facts(parse_context({"ranks": ranks}))
        updater = FactsUpdater(facts)
        cuts = sorted(rng.sample(range(1, n + 1), min(n, rng.randint(1, 4))))
        for end in cuts if cuts[-1] == n else [*cuts, n]:
            updater.advance(View(store, end))
        expected = _goes_back_one_by_one(kinds, steps, ranks)
        assert facts.steps_uncertain == expected, (trial, ranks, kinds, steps, cuts)
        seen.add(expected)
    assert seen == {True, False}
