"""Open the event store named by a database URL."""

from __future__ import annotations

from hedgebot.eventstore import schema
from hedgebot.eventstore.dburl import DatabaseUrl, parse_database_url
from hedgebot.eventstore.errors import EventStoreError
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import EventStore


def open_store(
    database_url: str | DatabaseUrl,
    *,
    upgrade: bool = True,
    sqlite_synchronous: str = "FULL",
) -> EventStore:
    """Open (and by default migrate) the store at ``database_url``."""
    url = parse_database_url(database_url) if isinstance(database_url, str) else database_url
    if upgrade:
        schema.upgrade(url)
    if url.kind == "sqlite":
        assert url.path is not None
        return SqliteEventStore(url.path, synchronous=sqlite_synchronous)
    try:
        from hedgebot.eventstore.postgres import PostgresEventStore
    except ImportError as exc:  # pragma: no cover - the module ships with the package
        raise EventStoreError(f"PostgreSQL backend unavailable: {exc}") from exc
    return PostgresEventStore(url.conninfo())
