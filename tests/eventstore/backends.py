"""Backend-specific set-up for the event-store contract suite, in one place.

The contract tests only use the `EventStore` port. What differs per backend lives
here: creating the example ``ledger_view`` table and opening a second, independent
connection to the same database. A new backend adds a branch to each function (and a
param to the ``store`` fixture of tests/conftest.py); nothing else changes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from hedgebot.eventstore.store import EventStore
from tests.eventstore.example_ledger import LEDGER_VIEW_DDL, LEDGER_VIEW_DDL_POSTGRES


def install_ledger_view(store: EventStore, request: pytest.FixtureRequest) -> None:
    """Create ``ledger_view`` in the store's database (the memory store needs nothing)."""
    if store.backend == "memory":
        return
    if store.backend == "sqlite":
        conn = sqlite3.connect(getattr(store, "path"))  # noqa: B009 - sqlite only
        try:
            conn.executescript(LEDGER_VIEW_DDL)
        finally:
            conn.close()
        return
    if store.backend == "postgresql":
        import psycopg

        with psycopg.connect(request.getfixturevalue("postgres_url"), autocommit=True) as conn:
            conn.execute(LEDGER_VIEW_DDL_POSTGRES)
        return
    raise NotImplementedError(f"add the ledger_view DDL for backend {store.backend!r} here")


def open_second_connection(
    store: EventStore, request: pytest.FixtureRequest
) -> tuple[EventStore, Callable[[], None]]:
    """Another store object on the same database, and how to close it.

    The memory store has no connections: its second "connection" is itself.
    """
    if store.backend == "memory":
        return store, lambda: None
    if store.backend == "sqlite":
        from hedgebot.eventstore.sqlite import SqliteEventStore

        other = SqliteEventStore(getattr(store, "path"), synchronous="NORMAL")  # noqa: B009
        return other, other.close
    if store.backend == "postgresql":
        from hedgebot.eventstore.postgres import PostgresEventStore

        pg = PostgresEventStore(request.getfixturevalue("postgres_url"), max_size=2)
        return pg, pg.close
    raise NotImplementedError(f"add a second connection for backend {store.backend!r} here")
