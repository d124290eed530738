"""The command line of alerts, metrics and cluster GPUs: every bad value is one line and exit 2,
a missing optional extra is named, and `trainmon serve` refuses what it cannot do."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from trainmon import cli


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "run.log"
    path.write_text("step=1 loss=2.0\n")
    return path


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--serve-metrics", "port"], "not a port: 'port'"),
        (["--serve-metrics", "1.2.3.4:70000"], "port out of range"),
        (["--prometheus", "prom:9090"], "not a Prometheus URL: 'prom:9090'"),
        (["--prometheus", "http://p:9090", "--prom-selector", "job=dcgm"], "not a label selector"),
        (["--stall-after", "soon"], "not a duration: 'soon'"),
        (["--prom-selector", 'job="x"'], "--prom-selector needs --prometheus URL"),
        (["--notify", "nosuchscheme://x"], "not a notification URL apprise knows"),
    ],
)
def test_bad_values_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], log: Path, args: list[str], says: str
) -> None:
    pytest.importorskip("apprise")
    assert says in _error(capsys, str(log), *args)


@pytest.mark.parametrize(
    ("module", "args", "extra"),
    [
        ("apprise", ["--notify", "json://127.0.0.1:1/x"], "notify"),
        ("prometheus_client", ["--serve-metrics", "9400"], "prometheus"),
    ],
)
def test_a_missing_extra_is_named(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    log: Path,
    module: str,
    args: list[str],
    extra: str,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    err = _error(capsys, str(log), *args)
    assert f"needs the {extra} extra: pip install 'trainmon[{extra}]'" in err
    err = _error(capsys, "serve", str(log), *args)
    assert f"trainmon[{extra}]" in err


def test_serve_needs_something_to_serve_and_a_free_port(
    capsys: pytest.CaptureFixture[str], log: Path
) -> None:
    pytest.importorskip("prometheus_client")
    assert "serve needs --serve-metrics" in _error(capsys, "serve", str(log))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = _error(capsys, "serve", str(log), "--serve-metrics", f"127.0.0.1:{port}")
    assert f"cannot serve metrics on 127.0.0.1:{port}: Address already in use" in err


def test_the_selector_forms_are_accepted_as_matchers() -> None:
    from trainmon.sources.prometheus import parse_selector

    assert parse_selector('{job="dcgm"}') == 'job="dcgm"'
    assert parse_selector('job="dcgm", Hostname=~"node-.*",') == 'job="dcgm", Hostname=~"node-.*"'
    assert parse_selector('gpu!="7"') == 'gpu!="7"'
    with pytest.raises(ValueError, match="not a label selector"):
        parse_selector('job="x"} or vector(1)')
