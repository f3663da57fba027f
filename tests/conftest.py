"""Shared fixtures: event stores on every backend, built through the real migrations."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hedgebot.eventstore import schema
from hedgebot.eventstore.memory import MemoryEventStore
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import EventStore


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated to head once per session; tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    schema.upgrade(f"sqlite://{path}")
    return path


@pytest.fixture
def sqlite_path(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    shutil.copyfile(sqlite_template, path)
    return path


@pytest.fixture
def sqlite_store(sqlite_path: Path) -> Iterator[SqliteEventStore]:
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    yield store
    store.close()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, sqlite_path: Path) -> Iterator[EventStore]:
    """The event store under contract test, once per backend."""
    if request.param == "memory":
        yield MemoryEventStore()
        return
    sqlite = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    yield sqlite
    sqlite.close()
