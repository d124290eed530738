"""Fixtures shared by every test layer: the third-party log corpus and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def shared_logs() -> Path:
    """`../shared/logs`: real third-party logs, read in place, never copied into the repo."""
    path = SHARED / "logs"
    if not (path / "MANIFEST.md").is_file():
        pytest.skip(
            "../shared/logs not found: the third-party real-log corpus is only present "
            "in the development checkout"
        )
    return path


@pytest.fixture(scope="session")
def shared_logs2() -> Path:
    """`../shared/logs2`: a second set of real third-party logs, read in place."""
    path = SHARED / "logs2"
    if not (path / "MANIFEST.md").is_file():
        pytest.skip(
            "../shared/logs2 not found: the third-party real-log collection is only present "
            "in the development checkout"
        )
    return path


@pytest.fixture(scope="session")
def shared_trainer_states() -> Path:
    """`../shared/trainer_states`: real trainer_state.json files, read in place."""
    path = SHARED / "trainer_states"
    if not (path / "MANIFEST.md").is_file():
        pytest.skip(
            "../shared/trainer_states not found: the third-party trainer_state corpus is "
            "only present in the development checkout"
        )
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """`tests/data`: hand-written imitation fixtures that belong to the repository."""
    return DATA
