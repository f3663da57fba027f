"""SQLite event store: the embedded default (WAL mode).

One connection per store object, used under a lock. Writers take the database write
lock up front (``BEGIN IMMEDIATE``), so concurrent processes queue on
``busy_timeout`` instead of failing half-way through a unit of work. The global order
of events is SQLite's rowid: rowids grow with commit order because writers are
serialised.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from hedgebot.eventstore.envelope import NewEvent, Snapshot, StoredEvent
from hedgebot.eventstore.errors import ConcurrencyError, EventStoreError, TransientStoreError
from hedgebot.eventstore.store import ViewRow, check_identifier

_EVENT_COLUMNS = (
    "rowid, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata"
)
_DUPLICATE = "UNIQUE constraint failed: events.aggregate_type, events.aggregate_id, events.sequence"
_TRANSIENT_MARKERS = ("database is locked", "database table is locked", "database is busy")


def is_transient(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and any(
        marker in str(exc).lower() for marker in _TRANSIENT_MARKERS
    )


def connect(path: str, *, synchronous: str = "FULL", busy_timeout_ms: int = 10_000) -> sqlite3.Connection:
    """Open a connection in autocommit mode with the pragmas hedgebot relies on."""
    if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"invalid synchronous mode {synchronous!r}")
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if path != ":memory:" and str(mode).lower() != "wal":
        conn.close()
        raise EventStoreError(f"could not put {path} in WAL mode (got {mode})")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _row_to_event(row: tuple[object, ...]) -> StoredEvent:
    return StoredEvent(
        position=int(row[0]),  # type: ignore[call-overload]
        aggregate_type=str(row[1]),
        aggregate_id=str(row[2]),
        sequence=int(row[3]),  # type: ignore[call-overload]
        event_type=str(row[4]),
        event_version=str(row[5]),
        payload=str(row[6]),
        metadata=str(row[7]),
    )


class _SqliteReader:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def load_snapshot(self, aggregate_type: str, aggregate_id: str) -> Snapshot | None:
        row = self._conn.execute(
            "SELECT last_sequence, payload, timestamp FROM snapshots "
            "WHERE aggregate_type = ? AND aggregate_id = ?",
            (aggregate_type, aggregate_id),
        ).fetchone()
        if row is None:
            return None
        return Snapshot(aggregate_type, aggregate_id, int(row[0]), str(row[1]), str(row[2]))

    def load_stream(
        self, aggregate_type: str, aggregate_id: str, after_sequence: int = 0
    ) -> list[StoredEvent]:
        rows = self._conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events "
            "WHERE aggregate_type = ? AND aggregate_id = ? AND sequence > ? ORDER BY sequence",
            (aggregate_type, aggregate_id, after_sequence),
        ).fetchall()
        return [_row_to_event(r) for r in rows]

    def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        aggregate_types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        if aggregate_types is None:
            rows = self._conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (after_position, limit),
            ).fetchall()
        else:
            types = list(aggregate_types)
            if not types:
                return []
            marks = ",".join("?" * len(types))
            rows = self._conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE rowid > ? "
                f"AND aggregate_type IN ({marks}) ORDER BY rowid LIMIT ?",
                (after_position, *types, limit),
            ).fetchall()
        return [_row_to_event(r) for r in rows]

    def last_position(self) -> int:
        row = self._conn.execute("SELECT max(rowid) FROM events").fetchone()
        return int(row[0] or 0)

    def view_get(self, table: str, view_id: str) -> ViewRow | None:
        row = self._conn.execute(
            f"SELECT version, payload FROM {check_identifier(table)} WHERE view_id = ?",
            (view_id,),
        ).fetchone()
        return None if row is None else ViewRow(view_id, int(row[0]), str(row[1]))

    def view_find(self, table: str, field: str, value: str) -> list[ViewRow]:
        path = "$." + check_identifier(field)
        rows = self._conn.execute(
            f"SELECT view_id, version, payload FROM {check_identifier(table)} "
            "WHERE json_extract(payload, ?) = ?",
            (path, value),
        ).fetchall()
        return [ViewRow(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def view_all(self, table: str) -> list[ViewRow]:
        rows = self._conn.execute(
            f"SELECT view_id, version, payload FROM {check_identifier(table)} ORDER BY view_id"
        ).fetchall()
        return [ViewRow(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def get_checkpoint(self, name: str) -> int:
        row = self._conn.execute(
            "SELECT position FROM hedgebot_checkpoints WHERE name = ?", (name,)
        ).fetchone()
        return 0 if row is None else int(row[0])


class _SqliteTransaction(_SqliteReader):
    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        if not events:
            return []
        # Writers are serialised by BEGIN IMMEDIATE and the table has no AUTOINCREMENT,
        # so new rowids are max(rowid)+1, +2, …: positions are known without RETURNING.
        base = self.last_position()
        try:
            self._conn.executemany(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, "
                "event_version, payload, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e.aggregate_type,
                        e.aggregate_id,
                        e.sequence,
                        e.event_type,
                        e.event_version,
                        e.payload,
                        e.metadata,
                    )
                    for e in events
                ],
            )
        except sqlite3.IntegrityError as exc:
            if _DUPLICATE in str(exc):
                clash = self._first_duplicate(events)
                raise ConcurrencyError(
                    clash.aggregate_type, clash.aggregate_id, clash.sequence
                ) from None
            raise
        return [StoredEvent.from_new(e, base + i + 1) for i, e in enumerate(events)]

    def _first_duplicate(self, events: Sequence[NewEvent]) -> NewEvent:
        for event in events:
            row = self._conn.execute(
                "SELECT 1 FROM events WHERE aggregate_type = ? AND aggregate_id = ? "
                "AND sequence = ?",
                (event.aggregate_type, event.aggregate_id, event.sequence),
            ).fetchone()
            if row is not None:
                return event
        return events[0]

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self._conn.execute(
            "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, payload, "
            "timestamp) VALUES (?, ?, ?, ?, ?) ON CONFLICT (aggregate_type, aggregate_id) "
            "DO UPDATE SET last_sequence = excluded.last_sequence, payload = excluded.payload, "
            "timestamp = excluded.timestamp",
            (
                snapshot.aggregate_type,
                snapshot.aggregate_id,
                snapshot.last_sequence,
                snapshot.payload,
                snapshot.timestamp,
            ),
        )

    def view_put_many(self, table: str, rows: Sequence[ViewRow]) -> None:
        self._conn.executemany(
            f"INSERT INTO {check_identifier(table)} (view_id, version, payload) VALUES (?, ?, ?) "
            "ON CONFLICT (view_id) DO UPDATE SET version = excluded.version, "
            "payload = excluded.payload",
            [(r.view_id, r.version, r.payload) for r in rows],
        )

    def view_delete(self, table: str, view_ids: Sequence[str]) -> None:
        self._conn.executemany(
            f"DELETE FROM {check_identifier(table)} WHERE view_id = ?",
            [(v,) for v in view_ids],
        )

    def view_clear(self, table: str) -> None:
        self._conn.execute(f"DELETE FROM {check_identifier(table)}")

    def next_id(self, counter: str) -> int:
        row = self._conn.execute(
            "INSERT INTO hedgebot_counters (name, next_value) VALUES (?, 2) "
            "ON CONFLICT (name) DO UPDATE SET next_value = next_value + 1 "
            "RETURNING next_value - 1",
            (counter,),
        ).fetchone()
        return int(row[0])

    def ensure_counter_above(self, counter: str, value: int) -> None:
        self._conn.execute(
            "INSERT INTO hedgebot_counters (name, next_value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET next_value = max(next_value, excluded.next_value)",
            (counter, value + 1),
        )

    def set_checkpoint(self, name: str, position: int) -> None:
        self._conn.execute(
            "INSERT INTO hedgebot_checkpoints (name, position) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (name, position),
        )


class SqliteEventStore:
    """Event store in one SQLite file (schema from `hedgebot db upgrade`).

    Reads outside a transaction take the same lock as transactions, so a thread never
    sees another thread's uncommitted work through the shared connection.
    """

    backend = "sqlite"

    def __init__(
        self, path: str, *, synchronous: str = "FULL", busy_timeout_ms: int = 10_000
    ) -> None:
        self.path = path
        self._conn = connect(path, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms)
        self._reader = _SqliteReader(self._conn)
        self._lock = threading.RLock()
        found = self._conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
            "AND name IN ('events', 'snapshots', 'hedgebot_counters', 'hedgebot_checkpoints')"
        ).fetchone()[0]
        if found != 4:
            self._conn.close()
            raise EventStoreError(
                f"{path} has no hedgebot event store schema: run `hedgebot db upgrade` first"
            )

    @contextmanager
    def transaction(self) -> Iterator[_SqliteTransaction]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if is_transient(exc):
                    raise TransientStoreError(f"SQLite store is busy: {exc}") from exc
                raise
            tx = _SqliteTransaction(self._conn)
            try:
                yield tx
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._conn.execute("ROLLBACK")
                if is_transient(exc):
                    raise TransientStoreError(f"SQLite commit failed: {exc}") from exc
                raise

    def load_snapshot(self, aggregate_type: str, aggregate_id: str) -> Snapshot | None:
        with self._lock:
            return self._reader.load_snapshot(aggregate_type, aggregate_id)

    def load_stream(
        self, aggregate_type: str, aggregate_id: str, after_sequence: int = 0
    ) -> list[StoredEvent]:
        with self._lock:
            return self._reader.load_stream(aggregate_type, aggregate_id, after_sequence)

    def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        aggregate_types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        with self._lock:
            return self._reader.read_all(after_position, limit, aggregate_types)

    def last_position(self) -> int:
        with self._lock:
            return self._reader.last_position()

    def view_get(self, table: str, view_id: str) -> ViewRow | None:
        with self._lock:
            return self._reader.view_get(table, view_id)

    def view_find(self, table: str, field: str, value: str) -> list[ViewRow]:
        with self._lock:
            return self._reader.view_find(table, field, value)

    def view_all(self, table: str) -> list[ViewRow]:
        with self._lock:
            return self._reader.view_all(table)

    def get_checkpoint(self, name: str) -> int:
        with self._lock:
            return self._reader.get_checkpoint(name)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Run a parameterised read-only query (view query functions use this)."""
        with self._lock:
            return list(self._conn.execute(sql, tuple(params)).fetchall())

    def iter_all(self, after_position: int = 0, batch_size: int = 1000) -> Iterator[StoredEvent]:
        while True:
            batch = self.read_all(after_position, batch_size)
            if not batch:
                return
            yield from batch
            after_position = batch[-1].position

    def close(self) -> None:
        with self._lock:
            self._conn.close()
