"""Transient database errors (locked/busy) are retried with backoff; the import stays whole."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hedgebot.bootstrap import build_projector
from hedgebot.eventstore import StoreTransaction, TransientStoreError, schema
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.migration import mapping
from hedgebot.migration.importer import (
    MIGRATION_RETRY,
    WRITE_PARTS,
    is_transient_database_error,
    write,
)
from hedgebot.migration.progress import PlainProgress
from hedgebot.migration.source import open_legacy, read_legacy
from tests.migration.conftest import event_rows, url


class BusyOnce:
    """A real SQLite store whose first transaction fails as a busy database would."""

    def __init__(self, store: SqliteEventStore, failures: int) -> None:
        self._store = store
        self.failures = failures
        self.attempts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        self.attempts += 1
        if self.attempts <= self.failures:
            return self._busy()
        return self._store.transaction()

    @contextmanager
    def _busy(self) -> Iterator[StoreTransaction]:
        raise TransientStoreError("SQLite store is busy: database is locked")
        yield  # pragma: no cover


def _planned(path: Path) -> tuple[list[mapping.PlannedAggregate], int]:
    _, conn, layout = open_legacy(url(path))
    data = read_legacy(conn, layout, PlainProgress(write=lambda _: None))
    conn.close()
    return mapping.plan(data, datetime(2025, 12, 6, tzinfo=UTC)), data.max_execution_id


def test_a_busy_database_is_retried_with_backoff_and_the_import_completes(desk_db: Path) -> None:
    planned, max_id = _planned(desk_db)
    schema.upgrade(url(desk_db))
    store = BusyOnce(SqliteEventStore(str(desk_db)), failures=2)
    waits: list[float] = []
    policy = MIGRATION_RETRY.with_(sync_sleep=waits.append, random=lambda: 0.0)
    timings: dict[str, float] = {"read": 1.5}
    result = write(
        store,  # type: ignore[arg-type]
        build_projector(),
        planned,
        clean=False,
        max_execution_id=max_id,
        progress=PlainProgress(write=lambda _: None),
        retry=policy,
        timings=timings,
    )
    store.close()
    # the write's parts are timed, the caller's other entries kept
    assert list(timings) == ["read", *WRITE_PARTS]
    assert timings["read"] == 1.5
    assert all(timings[part] > 0 for part in WRITE_PARTS if part != "child wait")
    assert store.attempts == 3
    assert waits == [0.05, 0.1]  # exponential backoff
    assert result.events == 13
    assert len(event_rows(desk_db)) == 13


def test_retries_give_up_after_the_policy_and_nothing_is_written(desk_db: Path) -> None:
    planned, max_id = _planned(desk_db)
    schema.upgrade(url(desk_db))
    store = BusyOnce(SqliteEventStore(str(desk_db)), failures=100)
    policy = MIGRATION_RETRY.with_(sync_sleep=lambda _: None, max_attempts=3)
    try:
        with pytest.raises(TransientStoreError):
            write(
                store,  # type: ignore[arg-type]
                build_projector(),
                planned,
                clean=False,
                max_execution_id=max_id,
                progress=PlainProgress(write=lambda _: None),
                retry=policy,
            )
    finally:
        store.close()
    assert store.attempts == 3
    assert event_rows(desk_db) == []


def test_locked_and_busy_sqlite_errors_are_transient_other_errors_are_not() -> None:
    assert is_transient_database_error(sqlite3.OperationalError("database is locked"))
    assert is_transient_database_error(TransientStoreError("busy"))
    assert not is_transient_database_error(sqlite3.OperationalError("no such table: x"))
    assert not is_transient_database_error(ValueError("database is locked"))
