"""Fixtures shared by tests/api, tests/cli and tests/dashboard (imported by their conftest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.api.desk import seed


@pytest.fixture(scope="session")
def desk_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded desk, built once per session through the real pipeline."""
    path = tmp_path_factory.mktemp("desk") / "desk.db"
    shutil.copyfile(sqlite_template, path)
    seed(path)
    return path


@pytest.fixture
def desk_path(desk_template: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded desk for one test."""
    path = tmp_path / "desk.db"
    shutil.copyfile(desk_template, path)
    return path


@pytest.fixture
def desk_url(desk_path: Path) -> str:
    return f"sqlite://{desk_path}"
