"""SQLite event store: the embedded default (WAL mode).

One connection per store object, used under a lock. Writers take the database write
lock up front (``BEGIN IMMEDIATE``), so concurrent processes queue on
``busy_timeout`` instead of failing half-way through a unit of work. The global order
of events is SQLite's rowid: rowids grow with commit order because writers are
serialised.
"""

from __future__ import annotations

import logging
import operator
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hedgebot.eventstore.envelope import NewEvent, Snapshot, StoredEvent
from hedgebot.eventstore.errors import ConcurrencyError, EventStoreError, TransientStoreError
from hedgebot.eventstore.store import LockedReads, ViewRow, check_identifier, check_read_all

_EVENT_COLUMNS = (
    "rowid, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata"
)
_DUPLICATE = "UNIQUE constraint failed: events.aggregate_type, events.aggregate_id, events.sequence"
_TRANSIENT_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
_TRANSIENT_MARKERS = ("database is locked", "database table is locked", "database is busy")
_SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

log = logging.getLogger(__name__)


def is_transient(exc: sqlite3.Error) -> bool:
    """Busy/locked: another connection holds the lock longer than ``busy_timeout``."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _TRANSIENT_CODES
    return any(marker in str(exc).lower() for marker in _TRANSIENT_MARKERS)


def _translate(exc: sqlite3.Error, what: str) -> EventStoreError:
    """hedgebot's error for a `sqlite3` one (the caller chains the original)."""
    if is_transient(exc):
        return TransientStoreError(f"SQLite store busy during {what}: {exc}")
    return EventStoreError(f"SQLite store failed during {what}: {exc}")


def connect(
    path: str,
    *,
    synchronous: str = "FULL",
    busy_timeout_ms: int = 10_000,
    must_exist: bool = False,
) -> sqlite3.Connection:
    """Open a connection in autocommit mode with the pragmas hedgebot relies on.

    ``must_exist`` refuses to create a missing file (a typo in a path must not give
    an empty database).
    """
    if synchronous.upper() not in _SYNCHRONOUS_MODES:
        raise ValueError(
            f"invalid synchronous mode {synchronous!r} (one of {', '.join(_SYNCHRONOUS_MODES)})"
        )
    try:
        if must_exist and path != ":memory:":
            uri = Path(path).absolute().as_uri() + "?mode=rw"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise EventStoreError(f"cannot open SQLite database {path}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if path != ":memory:" and str(mode).lower() != "wal":
            raise EventStoreError(f"could not put {path} in WAL mode (got {mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        conn.close()
        raise _translate(exc, f"opening {path}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _row_to_event(row: tuple[Any, ...]) -> StoredEvent:
    # rowid and sequence are integers and the TEXT-affinity columns come back as str;
    # the JSON columns (NUMERIC affinity) are converted, a bare number being valid JSON
    return StoredEvent(row[0], row[1], row[2], row[3], row[4], row[5], str(row[6]), str(row[7]))


_LOAD_STREAM = (
    f"SELECT {_EVENT_COLUMNS} FROM events "  # noqa: S608 - constant column list
    "WHERE aggregate_type = ? AND aggregate_id = ? AND sequence > ? ORDER BY sequence"
)
_READ_ALL = (
    f"SELECT {_EVENT_COLUMNS} FROM events "  # noqa: S608 - constant column list
    "WHERE rowid > ? ORDER BY rowid LIMIT ?"
)
#: a NewEvent's values in `_INSERT_EVENT` order (one C call per row)
_event_columns = operator.attrgetter(
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "event_type",
    "event_version",
    "payload",
    "metadata",
)
_INSERT_EVENT = (
    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, "
    "event_version, payload, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class _SqliteReader:
    """Reads over one connection; every `sqlite3` error leaves as a hedgebot error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _all(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, "read") from exc

    def _one(self, sql: str, params: Sequence[object] = ()) -> Any:
        try:
            return self._conn.execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise _translate(exc, "read") from exc

    def load_snapshot(self, aggregate_type: str, aggregate_id: str) -> Snapshot | None:
        row = self._one(
            "SELECT last_sequence, payload, timestamp FROM snapshots "
            "WHERE aggregate_type = ? AND aggregate_id = ?",
            (aggregate_type, aggregate_id),
        )
        if row is None:
            return None
        return Snapshot(aggregate_type, aggregate_id, int(row[0]), str(row[1]), str(row[2]))

    def load_stream(
        self, aggregate_type: str, aggregate_id: str, after_sequence: int = 0
    ) -> list[StoredEvent]:
        rows = self._all(_LOAD_STREAM, (aggregate_type, aggregate_id, after_sequence))
        return [_row_to_event(r) for r in rows]

    def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        aggregate_types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        check_read_all(after_position, limit)
        if aggregate_types is None:
            rows = self._all(_READ_ALL, (after_position, limit))
        else:
            types = list(aggregate_types)
            if not types:
                return []
            marks = ",".join("?" * len(types))
            rows = self._all(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE rowid > ? "  # noqa: S608
                f"AND aggregate_type IN ({marks}) ORDER BY rowid LIMIT ?",
                (after_position, *types, limit),
            )
        return [_row_to_event(r) for r in rows]

    def last_position(self) -> int:
        row = self._one("SELECT max(rowid) FROM events")
        return int(row[0] or 0)

    def view_get(self, table: str, view_id: str) -> ViewRow | None:
        row = self._one(
            f"SELECT version, payload FROM {check_identifier(table)} "  # noqa: S608
            "WHERE view_id = ?",
            (view_id,),
        )
        return None if row is None else ViewRow(view_id, int(row[0]), str(row[1]))

    def view_is_empty(self, table: str) -> bool:
        """True when the view table has no row (one index probe)."""
        row = self._one(f"SELECT 1 FROM {check_identifier(table)} LIMIT 1")  # noqa: S608
        return row is None

    def view_find(self, table: str, field: str, value: str) -> list[ViewRow]:
        path = "$." + check_identifier(field)
        rows = self._all(
            f"SELECT view_id, version, payload FROM {check_identifier(table)} "  # noqa: S608
            "WHERE json_extract(payload, ?) = ? ORDER BY view_id",
            (path, value),
        )
        return [ViewRow(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def view_all(self, table: str) -> list[ViewRow]:
        rows = self._all(
            f"SELECT view_id, version, payload FROM {check_identifier(table)} "  # noqa: S608
            "ORDER BY view_id"
        )
        return [ViewRow(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def get_checkpoint(self, name: str) -> int:
        row = self._one("SELECT position FROM hedgebot_checkpoints WHERE name = ?", (name,))
        return 0 if row is None else int(row[0])


class _SqliteTransaction(_SqliteReader):
    def _run(self, sql: str, params: Sequence[object] = ()) -> Any:
        try:
            return self._conn.execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise _translate(exc, "write") from exc

    def _run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise _translate(exc, "write") from exc

    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Insert all rows or none; a duplicate key is a `ConcurrencyError`."""
        if not events:
            return []
        # The transaction holds the write lock (BEGIN IMMEDIATE) and the table has no
        # AUTOINCREMENT, so new rowids are max(rowid)+1, +2, …: the positions are known
        # without reading the rows back.
        if len(events) == 1:
            return [self._append_one(events[0])]
        base = self.last_position()
        try:
            self._conn.executemany(_INSERT_EVENT, map(_event_columns, events))
        except sqlite3.Error as exc:
            inserted = self._undo_partial_append(base)
            if isinstance(exc, sqlite3.IntegrityError) and _DUPLICATE in str(exc):
                # executemany stops at the failing row: it is the one after those inserted
                clash = events[inserted] if inserted is not None else events[0]
                raise ConcurrencyError(
                    clash.aggregate_type, clash.aggregate_id, clash.sequence
                ) from None
            raise _translate(exc, "append") from exc
        return [StoredEvent.from_new(e, base + i + 1) for i, e in enumerate(events)]

    def _append_one(self, e: NewEvent) -> StoredEvent:
        """One row (the usual command): its position is the cursor's ``lastrowid``."""
        try:
            cursor = self._conn.execute(_INSERT_EVENT, _event_columns(e))
        except sqlite3.Error as exc:
            if isinstance(exc, sqlite3.IntegrityError) and _DUPLICATE in str(exc):
                raise ConcurrencyError(e.aggregate_type, e.aggregate_id, e.sequence) from None
            raise _translate(exc, "append") from exc
        position = cursor.lastrowid
        assert position is not None
        return StoredEvent.from_new(e, position)

    def _undo_partial_append(self, base: int) -> int | None:
        """Remove the rows a failed ``executemany`` inserted before it stopped.

        Returns how many there were, or None when SQLite has already rolled the whole
        transaction back (then the rows are gone, and deleting "rows above ``base``"
        outside our transaction could hit another writer's events).
        """
        if not self._conn.in_transaction:
            return None
        inserted = self.last_position() - base
        if inserted:
            self._run("DELETE FROM events WHERE rowid > ?", (base,))
        return inserted

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self._run(
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
        self._run_many(
            f"INSERT INTO {check_identifier(table)} (view_id, version, payload) "  # noqa: S608
            "VALUES (?, ?, ?) ON CONFLICT (view_id) DO UPDATE SET version = excluded.version, "
            "payload = excluded.payload",
            [(r.view_id, r.version, r.payload) for r in rows],
        )

    def view_delete(self, table: str, view_ids: Sequence[str]) -> None:
        self._run_many(
            f"DELETE FROM {check_identifier(table)} WHERE view_id = ?",  # noqa: S608
            [(v,) for v in view_ids],
        )

    def view_clear(self, table: str) -> None:
        self._run(f"DELETE FROM {check_identifier(table)}")  # noqa: S608

    def next_id(self, counter: str) -> int:
        row = self._run(
            "INSERT INTO hedgebot_counters (name, next_value) VALUES (?, 2) "
            "ON CONFLICT (name) DO UPDATE SET next_value = next_value + 1 "
            "RETURNING next_value - 1",
            (counter,),
        )
        return int(row[0])

    def ensure_counter_above(self, counter: str, value: int) -> None:
        self._run(
            "INSERT INTO hedgebot_counters (name, next_value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET next_value = max(next_value, excluded.next_value)",
            (counter, value + 1),
        )

    def set_checkpoint(self, name: str, position: int) -> None:
        self._run(
            "INSERT INTO hedgebot_checkpoints (name, position) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (name, position),
        )


class SqliteEventStore(LockedReads):
    """Event store in one SQLite file (schema from `hedgebot db upgrade`).

    One connection, used under a lock: threads of one process take turns, and reads
    outside a transaction take the same lock, so a thread never sees another thread's
    uncommitted work through the shared connection. Other processes (or other store
    objects) have their own connections; SQLite's file locks order them, and
    ``BEGIN IMMEDIATE`` makes a writer wait (up to ``busy_timeout_ms``) for the write
    lock before it reads anything, so a unit of work never fails half-way on a lock.
    A wait that runs out is a `TransientStoreError` (the command handler retries).
    """

    backend = "sqlite"

    def __init__(
        self, path: str, *, synchronous: str = "FULL", busy_timeout_ms: int = 10_000
    ) -> None:
        self.path = path
        self._conn = connect(
            path, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms, must_exist=True
        )
        self._reader: _SqliteReader = _SqliteReader(self._conn)
        self._lock = threading.RLock()
        found = self._reader._one(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
            "AND name IN ('events', 'snapshots', 'hedgebot_counters', 'hedgebot_checkpoints')"
        )[0]
        if found != 4:
            self._conn.close()
            raise EventStoreError(
                f"{path} has no hedgebot event store schema: run `hedgebot db upgrade` first"
            )

    def __repr__(self) -> str:
        return f"SqliteEventStore({self.path!r})"

    @contextmanager
    def transaction(self) -> Iterator[_SqliteTransaction]:
        with self._lock:
            if self._conn.in_transaction:
                raise EventStoreError(
                    "a transaction is already open on this store in this thread "
                    "(transactions do not nest)"
                )
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc, "BEGIN") from exc
            tx = _SqliteTransaction(self._conn)
            try:
                yield tx
            except BaseException:
                self._rollback()
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise _translate(exc, "COMMIT") from exc

    def _rollback(self) -> None:
        # Some errors (disk full, I/O) make SQLite roll back by itself; a second
        # ROLLBACK would then fail and hide the original error.
        if not self._conn.in_transaction:
            return
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("sqlite_rollback_failed path=%s error=%s", self.path, exc)

    @contextmanager
    def rollback_journal(self) -> Iterator[bool]:
        """For one very large transaction (the legacy import): rollback-journal mode.

        In WAL mode a transaction of hundreds of MB is written twice (into the WAL, then
        by the checkpoint into the database file); with a rollback journal the new pages
        go straight into the file and only the few pages that existed before are
        journaled. Both modes are atomic: a crash before the commit leaves a hot
        journal that the next connection rolls back.

        Switching needs the file to itself: when any other connection has it open (a
        running bot), SQLite refuses at once and the block runs in WAL mode as usual.
        Yields whether the switch happened. WAL is restored on leaving; if that fails
        the next `connect` (every hedgebot connection) puts the file back in WAL mode.
        """
        switched = False
        with self._lock:
            if self.path != ":memory:" and not self._conn.in_transaction:
                switched = self._set_journal_mode("DELETE")
        try:
            yield switched
        finally:
            if switched:
                with self._lock:
                    if not self._set_journal_mode("WAL"):
                        log.warning(
                            "sqlite_wal_not_restored path=%s: the next connection restores it",
                            self.path,
                        )

    def _set_journal_mode(self, mode: str) -> bool:
        """Try once, without waiting for other connections; True when it took."""
        timeout = self._conn.execute("PRAGMA busy_timeout").fetchone()[0]
        try:
            self._conn.execute("PRAGMA busy_timeout = 0")
            got = self._conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0]
        except sqlite3.Error as exc:
            log.info("sqlite_journal_mode_kept path=%s wanted=%s reason=%s", self.path, mode, exc)
            return False
        finally:
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        return str(got).lower() == mode.lower()

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Run a parameterised read-only query (view query functions use this)."""
        with self._lock:
            return list(self._reader._all(sql, tuple(params)))

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
