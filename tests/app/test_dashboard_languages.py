"""The dashboard's own words in each language: the footer's keys, the loss plot's legend and
axis, the grad-norm summary, the advice pane's title, the metric browser and the log view (the
panes whose words are not in the advice snapshots), in a narrow terminal where CJK words take
two cells."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.app.helpers import jsonl, make_app, screen_text, wait_until
from trainmon import i18n
from trainmon.ui.metric_browser import MetricBrowser
from trainmon.ui.widgets.advice_panel import AdvicePanel
from trainmon.ui.widgets.grad_norm import GradNormPane
from trainmon.ui.widgets.loss_plot import LossPlot
from trainmon.ui.widgets.raw_log import RawLogView

WORDS = {
    # footer (help, pause), legend (eval, lr), x axis (step), grad norm (min, max), browser
    "en": ("help", "pause", "loss (EMA", "eval", "lr (right)", "step", "min ", "max ", "metric"),
    "nb": ("hjelp", "pause", "loss (EMA", "eval", "lr (høyre)", "steg", "min ", "maks ", "metrikk"),
    "ru": (
        "справка",
        "пауза",
        "loss (EMA",
        "валидация",
        "lr (справа)",
        "шаг",
        "мин ",
        "макс ",
        "метрика",
    ),
    "zh_CN": ("帮助", "暂停", "loss(EMA", "验证", "lr(右轴)", "步", "最小 ", "最大 ", "指标"),
}
SIZE = (72, 30)
"""A terminal in the narrow (40-79 column) layout."""


@pytest.fixture(params=i18n.LANGUAGES)
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    assert i18n.set_language(request.param) == request.param
    yield request.param
    i18n.set_language(i18n.ENGLISH)


def _log(path: Path) -> Path:
    lines = [
        jsonl(s, 2.0 / (1 + 0.01 * s), learning_rate=1e-4, grad_norm=1.0 + s % 3)
        for s in range(1, 61)
    ]
    lines += [jsonl(s, 1.9 / (1 + 0.01 * s)).replace('"loss"', '"eval_loss"') for s in (20, 40, 60)]
    path.write_text("".join(lines))
    return path


async def test_the_dashboard_speaks_the_language(lang: str, tmp_path: Path) -> None:
    help_word, pause, smoothed, eval_word, lr, step, low, high, metric = WORDS[lang]
    app = make_app([_log(tmp_path / "run.log")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.runs[0].store.records == 63, "the records")
        plot = app.query_one("#loss", LossPlot)
        await wait_until(pilot, lambda: lr in plot.render().plain, "the legend")  # type: ignore[union-attr]
        shown = plot.render().plain  # type: ignore[union-attr]
        assert smoothed in shown and eval_word in shown and step in shown
        summary = app.query_one(GradNormPane).summary().plain
        assert low in summary and high in summary
        # the advice pane's title, after the records were judged (with its count when any)
        advice = app.query_one("#advice", AdvicePanel)
        await wait_until(pilot, lambda: not app.runs[0].run.stale, "the advice")
        assert str(advice.border_title).startswith(i18n._("advice"))
        await wait_until(pilot, lambda: help_word in screen_text(app), "the footer")
        screen = screen_text(app)
        assert pause in screen
        assert all(cell_len(row) <= SIZE[0] for row in screen.splitlines())
        await pilot.press("M")
        await wait_until(pilot, lambda: isinstance(app.screen, MetricBrowser), "the browser")
        await pilot.pause()
        assert metric in screen_text(app)
        await pilot.press("escape")
        await pilot.press("v")
        await wait_until(pilot, lambda: app.query_one(RawLogView).display, "the log view")
        await pilot.pause()
        assert str(app.query_one(RawLogView).border_title).startswith(i18n._("log") + " · ")


SAID = {
    # what `x` (to the epoch axis) and `S` (more smoothing, from 0.6) say
    "en": ("x axis: epoch", "smoothing 0.8"),
    "nb": ("x-akse: epoke", "glatting 0.8"),
    "ru": ("ось x: эпоха", "сглаживание 0.8"),
    "zh_CN": ("x 轴：epoch", "平滑 0.8"),
}


async def test_the_view_keys_say_what_they_changed_in_the_language(
    lang: str, tmp_path: Path
) -> None:
    axis, smoothing = SAID[lang]
    app = make_app([_log(tmp_path / "run.log")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.runs[0].store.records == 63, "the records")
        await pilot.press("x", "S")
        await pilot.pause()
        said = [str(n.message) for n in app._notifications]
        assert axis in said and smoothing in said, said
