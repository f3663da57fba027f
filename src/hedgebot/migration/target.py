"""What the target event store already holds, read with plain SQL.

The same reads serve every mode: a dry run reads the legacy file's own event tables
through its read-only connection (so nothing, not even the journal mode, changes),
a run or verification reads through the store's ``query`` (SQLite or PostgreSQL,
``?`` placeholders).

`classify` sorts the planned aggregates into *to write*, *already imported* (the
stream starts with the very event this import would write, ``migrated_at`` aside)
and *conflicts* (the stream exists with something else): this is what makes a second
run a no-op and keeps an import from writing over data it did not produce.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hedgebot.eventstore import EventStore
from hedgebot.migration.mapping import PlannedAggregate

MIGRATED_AT = "migrated_at"
TOKENS_AGGREGATE = "SchwabAuth"


class SqlReader(Protocol):
    dialect: str  # "sqlite" or "postgresql"

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]: ...

    def columns(self, table: str) -> set[str]: ...


class ConnectionReader:
    """Reads through a (read-only) sqlite3 connection."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        return list(self.conn.execute(sql, tuple(params)).fetchall())

    def columns(self, table: str) -> set[str]:
        # table_xinfo, not table_info: the views' generated columns are hidden columns.
        rows = self.conn.execute("SELECT name FROM pragma_table_xinfo(?)", (table,)).fetchall()
        return {str(r[0]) for r in rows}


class StoreSqlReader:
    """Reads through an open event store (committed data)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.dialect = store.backend

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        return self.store.query(sql, params)

    def columns(self, table: str) -> set[str]:
        if self.dialect == "postgresql":
            rows = self.store.query(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ?",
                (table,),
            )
        else:
            rows = self.store.query("SELECT name FROM pragma_table_xinfo(?)", (table,))
        return {str(r[0]) for r in rows}


def has_event_store(reader: SqlReader) -> bool:
    return {"aggregate_type", "aggregate_id", "sequence", "payload"} <= reader.columns("events")


@dataclass(frozen=True)
class ExistingStream:
    event_type: str
    payload: str
    last_sequence: int


def existing_streams(
    reader: SqlReader, aggregate_types: Iterable[str]
) -> dict[tuple[str, str], ExistingStream]:
    """First event and length of every stream of ``aggregate_types``."""
    types = sorted(set(aggregate_types))
    if not types or not has_event_store(reader):
        return {}
    marks = ", ".join("?" * len(types))  # placeholders only; the values are parameters
    first_sql = (
        "SELECT aggregate_type, aggregate_id, event_type, CAST(payload AS TEXT) "  # noqa: S608
        f"FROM events WHERE sequence = 1 AND aggregate_type IN ({marks})"
    )
    # Streams longer than one event are rare right after an import: one grouped query
    # over the events after the first, not a lookup per stream.
    longer_sql = (
        "SELECT aggregate_type, aggregate_id, max(sequence) FROM events "  # noqa: S608
        f"WHERE sequence > 1 AND aggregate_type IN ({marks}) GROUP BY aggregate_type, aggregate_id"
    )
    lengths = {(str(r[0]), str(r[1])): int(r[2]) for r in reader.query(longer_sql, types)}  # type: ignore[call-overload]
    return {
        (kind, aggregate_id): ExistingStream(
            str(r[2]), str(r[3]), lengths.get((kind, aggregate_id), 1)
        )
        for r in reader.query(first_sql, types)
        for kind, aggregate_id in ((str(r[0]), str(r[1])),)
    }


def event_counts(reader: SqlReader, aggregate_types: Iterable[str]) -> dict[str, int]:
    types = sorted(set(aggregate_types))
    if not types or not has_event_store(reader):
        return {}
    marks = ", ".join("?" * len(types))
    sql = (
        "SELECT aggregate_type, count(*) FROM events "  # noqa: S608
        f"WHERE aggregate_type IN ({marks}) GROUP BY aggregate_type"
    )
    rows = reader.query(sql, types)
    return {str(r[0]): int(r[1]) for r in rows if int(r[1])}  # type: ignore[call-overload]


def _comparable(payload: str) -> Any:
    """The payload as JSON data, without the variant's ``migrated_at``."""
    data = json.loads(payload)
    if isinstance(data, dict) and len(data) == 1:
        ((variant, fields),) = data.items()
        if isinstance(fields, dict):
            return {variant: {k: v for k, v in fields.items() if k != MIGRATED_AT}}
    return data


@dataclass
class Classification:
    to_write: list[PlannedAggregate] = field(default_factory=list)
    imported: list[PlannedAggregate] = field(default_factory=list)
    conflicts: list[tuple[PlannedAggregate, ExistingStream]] = field(default_factory=list)
    #: legacy tokens not imported because the store holds other (newer) tokens
    superseded: list[PlannedAggregate] = field(default_factory=list)
    #: imported aggregates that have more events than the import wrote (the bot ran)
    advanced: set[tuple[str, str]] = field(default_factory=set)


def classify(
    planned: Sequence[PlannedAggregate], existing: dict[tuple[str, str], ExistingStream]
) -> Classification:
    result = Classification()
    for item in planned:
        key = (item.aggregate_type, item.aggregate_id)
        stream = existing.get(key)
        if stream is None:
            result.to_write.append(item)
            continue
        first = item.rows[0]
        if stream.event_type == first.event_type and (
            stream.payload == first.payload  # written by this very run
            or _comparable(stream.payload) == _comparable(first.payload)
        ):
            result.imported.append(item)
            if stream.last_sequence > len(item.events):
                result.advanced.add(key)
        elif item.aggregate_type == TOKENS_AGGREGATE:
            # Tokens from a later login are fresher than the legacy ones: keep them.
            result.superseded.append(item)
        else:
            result.conflicts.append((item, stream))
    return result
