"""Shared fixtures: event stores on every backend, built through the real migrations."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hedgebot.eventstore import schema
from hedgebot.eventstore.memory import MemoryEventStore
from hedgebot.eventstore.postgres import PostgresEventStore
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import EventStore
from tests.postgres_databases import PostgresServer, ServerUnavailable, in_ci, unique_name


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


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The PostgreSQL server of the tests (see tests/postgres_databases.py).

    Unreachable: the PostgreSQL tests fail in CI (CI=true) and are skipped elsewhere.
    """
    server = PostgresServer.from_environment()
    try:
        server.check()
    except ServerUnavailable as exc:
        if in_ci():
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))
    server.drop_stale()
    return server


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> Iterator[str]:
    """A database migrated to head once per session; tests get copies of it."""
    name = unique_name("_template")
    url = postgres_server.create(name)
    try:
        schema.upgrade(url)
        yield name
    finally:
        postgres_server.drop(name)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, postgres_template: str) -> Iterator[str]:
    """URL of a fresh migrated database of its own, dropped after the test."""
    name = unique_name()
    url = postgres_server.create(name, template=postgres_template)
    try:
        yield url
    finally:
        postgres_server.drop(name)


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[PostgresEventStore]:
    store = PostgresEventStore(postgres_url, max_size=4)
    yield store
    store.close()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, sqlite_path: Path) -> Iterator[EventStore]:
    """The event store under contract test, once per backend."""
    if request.param == "memory":
        yield MemoryEventStore()
        return
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_store")
        return
    sqlite = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    yield sqlite
    sqlite.close()
