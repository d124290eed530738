"""Fixtures shared by every test layer: the third-party log corpus and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"


def _shared(folder: str, what: str) -> Path:
    """`../shared/FOLDER`, read in place; the tests that need it skip where it is absent."""
    path = SHARED / folder
    if not (path / "MANIFEST.md").is_file():
        pytest.skip(f"../shared/{folder} not found: the {what} is only in the development checkout")
    return path


@pytest.fixture(scope="session")
def shared_logs() -> Path:
    """`../shared/logs`: real third-party logs, read in place, never copied into the repo."""
    return _shared("logs", "third-party real-log corpus")


@pytest.fixture(scope="session")
def shared_logs2() -> Path:
    """`../shared/logs2`: a second set of real third-party logs, read in place."""
    return _shared("logs2", "third-party real-log collection")


@pytest.fixture(scope="session")
def shared_trainer_states() -> Path:
    """`../shared/trainer_states`: real trainer_state.json files, read in place."""
    return _shared("trainer_states", "third-party trainer_state corpus")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """`tests/data`: hand-written imitation fixtures that belong to the repository."""
    return DATA
