"""The end-to-end tests' fixture: a private tmux server per test, killed afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.helpers import TMUX, Tmux


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if TMUX is None:
        pytest.skip("tmux is not installed")
    server = Tmux(f"trainmon-test-{uuid.uuid4().hex[:12]}")
    try:
        yield server
    finally:
        server.kill()
