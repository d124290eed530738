"""The advice pane and the no-GPU pane in every language, wide and in a 40-column side pane.

The findings come from the real advice engine over the demo run (a generated log, written to
a temporary file), judged in the language under test; the no-GPU reason comes from the real
NVML source over a fake library that is not found. CJK characters take two cells and Russian
words are long: besides the snapshots, every line is checked to fit its pane in cells and
to lose no text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical

from tests.fakes.fake_nvml import LIBRARY_NOT_FOUND, FakeNvml
from trainmon import i18n
from trainmon.records import Finding
from trainmon.report import findings_for, read_log
from trainmon.simulate import demo_run
from trainmon.sources.nvml import NvmlGpuSource
from trainmon.sources.samples import GpuSnapshot
from trainmon.ui.widgets.advice_panel import AdvicePanel
from trainmon.ui.widgets.fit import cell_wrap
from trainmon.ui.widgets.gpu_panel import GpuPanel

SnapCompare = Callable[..., bool]
WIDTHS = {"wide": 64, "narrow": 40}
"""Pane widths: the advice column of a wide terminal, and a 40-column tmux side pane."""


@pytest.fixture(params=i18n.LANGUAGES)
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    assert i18n.set_language(request.param) == request.param
    yield request.param
    i18n.set_language(i18n.ENGLISH)


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.log"
    path.write_text(demo_run().text())
    return path


def demo_findings(path: Path) -> list[Finding]:
    """The engine's findings over the demo run, in the current language."""
    return findings_for(read_log(str(path), jobs=1))


def no_gpu() -> GpuSnapshot:
    """What the NVML source says on a host without the NVIDIA library."""
    snap = NvmlGpuSource(FakeNvml(init_error=LIBRARY_NOT_FOUND), clock=lambda: 1.0).sample()
    assert snap.status == "unavailable"
    return snap


class PanesApp(App[None]):
    """The advice pane (active warnings, earlier infos) over the GPU pane, `width` wide."""

    CSS = "Vertical { height: auto; border: round $primary; } AdvicePanel { height: auto; }"

    def __init__(self, findings: list[Finding], gpu: GpuSnapshot, width: int) -> None:
        super().__init__()
        self.findings, self.gpu, self.width = findings, gpu, width

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.styles.width = self.width
            yield AdvicePanel()
        with Vertical() as box:
            box.styles.width = self.width
            yield GpuPanel()

    def on_mount(self) -> None:
        active = [("", f) for f in self.findings if f.severity != "info"]
        earlier = [("", f) for f in self.findings if f.severity == "info"]
        self.query_one(AdvicePanel).show(active, earlier)
        self.query_one(GpuPanel).update_snapshot(self.gpu)


@pytest.mark.parametrize("layout", sorted(WIDTHS))
def test_advice_and_no_gpu_panes(
    snap_compare: SnapCompare, lang: str, layout: str, demo_log: Path
) -> None:
    app = PanesApp(demo_findings(demo_log), no_gpu(), WIDTHS[layout])
    assert snap_compare(app, terminal_size=(WIDTHS[layout] + 4, 36))


def test_findings_are_in_the_language_with_ids_and_severities_untranslated(
    lang: str, demo_log: Path
) -> None:
    findings = demo_findings(demo_log)
    i18n.set_language(i18n.ENGLISH)
    english = demo_findings(demo_log)
    assert [(f.rule, f.severity, f.step) for f in findings] == [
        (f.rule, f.severity, f.step) for f in english
    ]
    translated = [
        f.title != e.title and f.advice != e.advice for f, e in zip(findings, english, strict=True)
    ]
    assert all(translated) if lang != i18n.ENGLISH else not any(translated)


def _fits(text: Text, width: int, console_app: App[None]) -> None:
    lines = text.wrap(console_app.console, width)
    for line in lines:
        assert cell_len(line.plain) <= width, line.plain
    shown = "".join("".join(line.plain.split()) for line in lines)
    assert shown == "".join(text.plain.split())  # wrapped, nothing lost


@pytest.mark.parametrize("width", [40, 52, 79])
async def test_every_line_fits_the_narrow_layout(lang: str, width: int, demo_log: Path) -> None:
    app = PanesApp(demo_findings(demo_log), no_gpu(), width)
    async with app.run_test(size=(width + 4, 40)) as pilot:
        await pilot.pause()
        panel = app.query_one(AdvicePanel)
        inner = panel.content_size.width
        for item in panel.active:
            _fits(panel.detail_text(item), inner, app)
            line = panel.finding_line(item)
            line.truncate(inner, overflow="ellipsis")
            assert cell_len(line.plain) <= inner
        _fits(panel.history_text(), inner, app)
        gpu = app.query_one(GpuPanel)
        reason = gpu.render_text().plain
        assert "…" not in reason  # the reason reads whole over the pane's two rows
        assert all(cell_len(row) <= gpu.content_size.width for row in reason.splitlines())


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("no process has run.log open for writing; use --pid", 20, 3),
        ("无 GPU：未找到 NVML(本机没有 NVIDIA 驱动)", 20, 3),
        ("нет GPU: NVML не найден (на этом хосте нет драйвера NVIDIA)", 20, 4),
        ("переобучение" * 4, 10, 5),
    ],
)
def test_cell_wrap_breaks_between_words_or_wide_characters(
    text: str, width: int, lines: int
) -> None:
    wrapped = cell_wrap(text, width)
    assert len(wrapped) == lines
    assert all(cell_len(line) <= width for line in wrapped)
    assert "".join("".join(line.split()) for line in wrapped) == "".join(text.split())
    assert not any(line.startswith(("）", ")", "，", "：")) for line in wrapped)
