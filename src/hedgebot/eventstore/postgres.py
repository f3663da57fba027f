"""PostgreSQL event store: same port and behaviour as the SQLite backend (SPEC §3).

Global order. ``events.position`` is handed out from the single row of
``hedgebot_event_position`` (``UPDATE … SET last_position = last_position + n
RETURNING``). The row lock taken by that update is held until the transaction ends,
so appending transactions are serialised and positions become visible in commit
order: a reader that has seen position P can never later find a smaller position
committed behind its back (no skipped late commits), and positions are dense because
a rolled-back transaction also rolls back its increment. PostgreSQL releases row
locks only after the commit is visible to new snapshots, so the next appender's
positions are always visible after the previous ones.

Every *write* of a transaction (events, snapshots, views, counters, checkpoints) takes
that same lock first, so hedgebot's own writers always lock in the same order and
cannot deadlock one another; plain reads never wait for it. A write transaction
therefore holds the lock from its first write to its commit, like SQLite's
``BEGIN IMMEDIATE`` but without blocking readers.

Text. ``events.payload``/``metadata`` and ``snapshots.payload`` are ``JSON`` (which
keeps the input text verbatim), so a payload reads back byte-identical to what the
codec wrote. View tables use ``JSONB`` (generated columns); their payload text comes
back in PostgreSQL's normalised form, which decodes to the same JSON value.

Connections. A `psycopg_pool.ConnectionPool` of autocommit connections: a read
outside a transaction borrows one connection for one statement; ``transaction()``
borrows one connection for the whole unit of work (``BEGIN … COMMIT``, READ
COMMITTED), so the store can be shared by the threads of one process.

Errors. A duplicate ``(aggregate_type, aggregate_id, sequence)`` is a
`ConcurrencyError`; serialisation failures, deadlocks, lock/statement timeouts,
server shutdowns and lost connections are `TransientStoreError` (reads outside a
transaction are retried by the store itself; the command handler retries commands).
A connection lost *during* ``COMMIT`` is resolved, not guessed: the store waits for
the write lock on a fresh connection (so the old transaction has ended) and looks for
the transaction's first event. Found: the commit happened and ``transaction()``
returns normally. Absent: it was rolled back, `TransientStoreError`. When that
cannot be decided (no event was appended, or the check itself fails) the error is
`CommitOutcomeUnknownError`, which is deliberately *not* transient: retrying a
command whose first attempt may have committed could apply it twice.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg import sql
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool, PoolTimeout

from hedgebot.brokers.retry import RetryPolicy
from hedgebot.eventstore.envelope import NewEvent, Snapshot, StoredEvent
from hedgebot.eventstore.errors import ConcurrencyError, EventStoreError, TransientStoreError
from hedgebot.eventstore.store import ViewRow, check_identifier, check_read_all

log = logging.getLogger(__name__)

_SELECT_EVENTS = sql.SQL(
    "SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version, "
    "payload::text, metadata::text FROM events "
)
_REQUIRED_TABLES = (
    "events",
    "snapshots",
    "hedgebot_counters",
    "hedgebot_checkpoints",
    "hedgebot_event_position",
)
#: appends of at least this many events go through COPY into a staging table: psycopg
#: builds array parameters in Python, which costs more than the insert itself for bulk
#: imports (measured: 100,000 events 9.2 s as arrays, 2.9 s staged)
STAGED_APPEND_MIN = 500
_EVENT_INSERT_COLUMNS = sql.SQL(
    "aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, position"
)

# Conditions a retry can cure: serialization failure, deadlock, lock not available,
# statement/lock timeout (query canceled), too many connections, server shutting down
# or starting up. Class 08 (connection exceptions) is matched by prefix.
_TRANSIENT_SQLSTATES = frozenset(
    {"40001", "40P01", "55P03", "57014", "53300", "57P01", "57P02", "57P03"}
)
_CONNECTION_LOST_SQLSTATES = frozenset({"57P01", "57P02"})

#: reads and checkouts that fail on a dead pooled connection are simply tried again
READ_RETRY = RetryPolicy(max_attempts=3, initial_wait=0.02, max_wait=0.2)
#: how long the commit check waits for the lost transaction's write lock
COMMIT_CHECK_LOCK_TIMEOUT_MS = 10_000


class CommitOutcomeUnknownError(EventStoreError):
    """The connection died during COMMIT and the store could not tell what happened.

    Not a `TransientStoreError`: the transaction may have committed, so blindly
    retrying its command could apply it twice. Resumable work (managers, the chain
    follower) recovers by re-reading the store from its checkpoints.
    """


def redact_conninfo(conninfo: str) -> str:
    """The connection string without its password, for messages and logs."""
    try:
        params = pg_conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "<unparsable PostgreSQL connection string>"
    shown = {k: v for k, v in params.items() if k != "password" and v is not None}
    host = shown.get("host", "localhost")
    port = shown.get("port", "5432")
    user = shown.get("user", "")
    dbname = shown.get("dbname", "")
    prefix = f"{user}@" if user else ""
    return f"postgresql://{prefix}{host}:{port}/{dbname}"


def translate_placeholders(sql: str) -> str:
    """Turn a ``?``-placeholder query (the SQLite style of view query functions) into
    psycopg's ``%s`` style.

    ``?`` inside string literals, quoted identifiers, dollar-quoted strings and
    comments is left alone; every literal ``%`` is doubled, as psycopg requires once
    a query has parameters. (PostgreSQL's own ``?`` JSONB operators cannot be used
    through this path; use ``jsonb_exists`` and friends instead.)
    """
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        end = _quoted_end(sql, i)
        if end is not None:
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")


def _quoted_end(sql: str, i: int) -> int | None:
    """If a literal, quoted identifier or comment starts at ``i``, the index after it."""
    ch = sql[i]
    n = len(sql)
    if ch in ("'", '"'):
        backslash_escapes = (
            ch == "'"
            and i > 0
            and sql[i - 1] in "eE"
            and (i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] == "_"))
        )
        j = i + 1
        while j < n:
            if backslash_escapes and sql[j] == "\\":
                j += 2
                continue
            if sql[j] == ch:
                if j + 1 < n and sql[j + 1] == ch:
                    j += 2
                    continue
                return j + 1
            j += 1
        return n
    if sql.startswith("--", i):
        newline = sql.find("\n", i)
        return n if newline < 0 else newline + 1
    if sql.startswith("/*", i):
        depth, j = 0, i
        while j < n:
            if sql.startswith("/*", j):
                depth += 1
                j += 2
            elif sql.startswith("*/", j):
                depth -= 1
                j += 2
                if depth == 0:
                    return j
            else:
                j += 1
        return n
    if ch == "$" and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
        match = _DOLLAR_TAG.match(sql, i)
        if match is not None:
            close = sql.find(match.group(0), match.end())
            return n if close < 0 else close + len(match.group(0))
    return None


def _connection_lost(exc: BaseException, conn: psycopg.Connection[Any] | None) -> bool:
    if conn is not None and conn.broken:
        return True
    if not isinstance(exc, psycopg.Error):
        return False
    state = exc.sqlstate or ""
    if state.startswith("08") or state in _CONNECTION_LOST_SQLSTATES:
        return True
    return isinstance(exc, psycopg.OperationalError) and not state


def _translate(
    exc: psycopg.Error, conn: psycopg.Connection[Any] | None, doing: str
) -> EventStoreError:
    """hedgebot's error for a psycopg one (primary message only: no row values)."""
    state = exc.sqlstate or ""
    text = str(exc)
    message = exc.diag.message_primary or (text.splitlines()[0] if text else type(exc).__name__)
    if _connection_lost(exc, conn):
        return TransientStoreError(f"PostgreSQL {doing}: connection lost: {message}")
    if state in _TRANSIENT_SQLSTATES:
        return TransientStoreError(f"PostgreSQL {doing}: {message} (SQLSTATE {state})")
    suffix = f" (SQLSTATE {state})" if state else ""
    return EventStoreError(f"PostgreSQL {doing} failed: {message}{suffix}")


def _connection_setup(lock_timeout_ms: int) -> Callable[[psycopg.Connection[Any]], None]:
    def configure(conn: psycopg.Connection[Any]) -> None:
        # JSON columns come back as their text, as they do from SQLite.
        conn.adapters.register_loader("json", TextLoader)
        conn.adapters.register_loader("jsonb", TextLoader)
        # A writer waits at most this long for the write lock (or any row lock), like
        # SQLite's busy_timeout; then it is a TransientStoreError, not a hang.
        conn.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")

    return configure


def _table(name: str) -> sql.Identifier:
    """A view table name as a quoted identifier (and only a plain lowercase name)."""
    return sql.Identifier(check_identifier(name))


def _positioned(events: Sequence[NewEvent], base: int) -> list[StoredEvent]:
    return [StoredEvent.from_new(e, base + i + 1) for i, e in enumerate(events)]


def _row_to_event(row: Sequence[Any]) -> StoredEvent:
    return StoredEvent(
        position=int(row[0]),
        aggregate_type=str(row[1]),
        aggregate_id=str(row[2]),
        sequence=int(row[3]),
        event_type=str(row[4]),
        event_version=str(row[5]),
        payload=str(row[6]),
        metadata=str(row[7]),
    )


Params = Sequence[object]


def _no_position_row() -> EventStoreError:
    return EventStoreError(
        "hedgebot_event_position has no row: the schema is damaged, run `hedgebot db upgrade`"
    )


Query = str | sql.SQL | sql.Composed


class _PgReader:
    """The read half of the port, over whatever runs a statement (`_fetch`)."""

    def _fetch(self, query: Query, params: Params = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def load_snapshot(self, aggregate_type: str, aggregate_id: str) -> Snapshot | None:
        rows = self._fetch(
            "SELECT last_sequence, payload::text, timestamp FROM snapshots "
            "WHERE aggregate_type = %s AND aggregate_id = %s",
            (aggregate_type, aggregate_id),
        )
        if not rows:
            return None
        last_sequence, payload, timestamp = rows[0]
        return Snapshot(aggregate_type, aggregate_id, int(last_sequence), payload, timestamp)

    def load_stream(
        self, aggregate_type: str, aggregate_id: str, after_sequence: int = 0
    ) -> list[StoredEvent]:
        rows = self._fetch(
            _SELECT_EVENTS
            + sql.SQL(
                "WHERE aggregate_type = %s AND aggregate_id = %s AND sequence > %s "
                "ORDER BY sequence"
            ),
            (aggregate_type, aggregate_id, after_sequence),
        )
        return [_row_to_event(r) for r in rows]

    def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        aggregate_types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        check_read_all(after_position, limit)
        if aggregate_types is None:
            rows = self._fetch(
                _SELECT_EVENTS + sql.SQL("WHERE position > %s ORDER BY position LIMIT %s"),
                (after_position, limit),
            )
        else:
            types = list(aggregate_types)
            if not types:
                return []
            rows = self._fetch(
                _SELECT_EVENTS
                + sql.SQL(
                    "WHERE position > %s AND aggregate_type = ANY(%s::text[]) "
                    "ORDER BY position LIMIT %s"
                ),
                (after_position, types, limit),
            )
        return [_row_to_event(r) for r in rows]

    def last_position(self) -> int:
        rows = self._fetch("SELECT coalesce(max(position), 0) FROM events")
        return int(rows[0][0])

    def view_get(self, table: str, view_id: str) -> ViewRow | None:
        rows = self._fetch(
            sql.SQL("SELECT version, payload::text FROM {} WHERE view_id = %s").format(
                _table(table)
            ),
            (view_id,),
        )
        return None if not rows else ViewRow(view_id, int(rows[0][0]), rows[0][1])

    def view_find(self, table: str, field: str, value: str) -> list[ViewRow]:
        # Same meaning as SQLite's json_extract(payload, '$.field') = value: only a JSON
        # *string* equal to value matches (a number 5 does not match '5'). Works on
        # JSON and JSONB payload columns alike.
        name = check_identifier(field)
        rows = self._fetch(
            sql.SQL(
                "SELECT view_id, version, payload::text FROM {} "
                "WHERE payload ->> %s = %s AND left((payload -> %s)::text, 1) = '\"' "
                'ORDER BY view_id COLLATE "C"'
            ).format(_table(table)),
            (name, value, name),
        )
        return [ViewRow(str(r[0]), int(r[1]), r[2]) for r in rows]

    def view_all(self, table: str) -> list[ViewRow]:
        # COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
        rows = self._fetch(
            sql.SQL(
                'SELECT view_id, version, payload::text FROM {} ORDER BY view_id COLLATE "C"'
            ).format(_table(table))
        )
        return [ViewRow(str(r[0]), int(r[1]), r[2]) for r in rows]

    def get_checkpoint(self, name: str) -> int:
        rows = self._fetch("SELECT position FROM hedgebot_checkpoints WHERE name = %s", (name,))
        return 0 if not rows else int(rows[0][0])


class _PgTransaction(_PgReader):
    """One unit of work on one connection (inside ``BEGIN … COMMIT``)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self.holds_write_lock = False
        #: the first event appended, to find out after a lost COMMIT whether it happened
        self.first_appended: StoredEvent | None = None

    def _fetch(self, query: Query, params: Params = ()) -> list[tuple[Any, ...]]:
        try:
            cursor = self._conn.execute(query, params)
            return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as exc:
            raise _translate(exc, self._conn, "statement") from exc

    def _take_write_lock(self) -> None:
        if self.holds_write_lock:
            return
        rows = self._fetch("SELECT last_position FROM hedgebot_event_position FOR UPDATE")
        if not rows:
            raise _no_position_row()
        self.holds_write_lock = True

    # -- events ---------------------------------------------------------------

    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        if not events:
            return []
        if len(events) >= STAGED_APPEND_MIN:
            base = self._allocate(len(events))
            stored = _positioned(events, base)
            written = self._insert_staged(stored)
        else:
            base, written = self._allocate_and_insert(events)
            stored = _positioned(events, base)
        self.holds_write_lock = True
        if written != len(stored):
            # All or nothing even if the caller catches the error and commits: take back
            # the rows and positions of this call (the write lock is held, so nobody
            # else has allocated after ``base``), then name the event that clashed.
            clash = self._first_missing(stored)
            self._fetch(
                "DELETE FROM events WHERE position > %s AND position <= %s",
                (base, base + len(stored)),
            )
            self._fetch("UPDATE hedgebot_event_position SET last_position = %s", (base,))
            raise ConcurrencyError(clash.aggregate_type, clash.aggregate_id, clash.sequence)
        if self.first_appended is None:
            self.first_appended = stored[0]
        return stored

    def _allocate(self, count: int) -> int:
        """Take the write lock and ``count`` positions; returns the position before them."""
        rows = self._fetch(
            "UPDATE hedgebot_event_position SET last_position = last_position + %s "
            "RETURNING last_position - %s",
            (count, count),
        )
        if not rows:
            raise _no_position_row()
        return int(rows[0][0])

    def _allocate_and_insert(self, events: Sequence[NewEvent]) -> tuple[int, int]:
        """Positions and rows in one round trip: (position before them, rows written).

        ON CONFLICT DO NOTHING instead of an error keeps the transaction usable for
        naming the exact clashing event and taking the whole append back.
        """
        rows = self._fetch(
            sql.SQL(
                "WITH allocated AS (UPDATE hedgebot_event_position "
                "SET last_position = last_position + %s RETURNING last_position - %s AS base), "
                "inserted AS (INSERT INTO events ({}) "
                "SELECT u.aggregate_type, u.aggregate_id, u.sequence, u.event_type, "
                "u.event_version, u.payload::json, u.metadata::json, allocated.base + u.ordinal "
                "FROM allocated, unnest(%s::text[], %s::text[], %s::bigint[], %s::text[], "
                "%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS u(aggregate_type, "
                "aggregate_id, sequence, event_type, event_version, payload, metadata, ordinal) "
                "ORDER BY u.ordinal "
                "ON CONFLICT (aggregate_type, aggregate_id, sequence) DO NOTHING RETURNING 1) "
                "SELECT allocated.base, (SELECT count(*) FROM inserted) FROM allocated"
            ).format(_EVENT_INSERT_COLUMNS),
            (
                len(events),
                len(events),
                [e.aggregate_type for e in events],
                [e.aggregate_id for e in events],
                [e.sequence for e in events],
                [e.event_type for e in events],
                [e.event_version for e in events],
                [e.payload for e in events],
                [e.metadata for e in events],
            ),
        )
        if not rows:
            raise _no_position_row()
        return int(rows[0][0]), int(rows[0][1])

    def _first_missing(self, stored: Sequence[StoredEvent]) -> StoredEvent:
        """The first of ``stored`` that did not get in (positions after base are ours)."""
        rows = self._fetch(
            "SELECT position FROM events WHERE position >= %s AND position <= %s",
            (stored[0].position, stored[-1].position),
        )
        written = {int(r[0]) for r in rows}
        return next(e for e in stored if e.position not in written)

    def _insert_staged(self, chunk: Sequence[StoredEvent]) -> int:
        """COPY the rows into a temporary table, then one INSERT … SELECT into events."""
        self._fetch(
            "CREATE TEMP TABLE IF NOT EXISTS hedgebot_append_stage (LIKE events) ON COMMIT DROP"
        )
        self._fetch("TRUNCATE hedgebot_append_stage")
        try:
            with (
                self._conn.cursor() as cursor,
                cursor.copy(
                    sql.SQL("COPY hedgebot_append_stage ({}) FROM STDIN").format(
                        _EVENT_INSERT_COLUMNS
                    )
                ) as copy,
            ):
                for e in chunk:
                    copy.write_row(
                        (
                            e.aggregate_type,
                            e.aggregate_id,
                            e.sequence,
                            e.event_type,
                            e.event_version,
                            e.payload,
                            e.metadata,
                            e.position,
                        )
                    )
        except psycopg.Error as exc:
            raise _translate(exc, self._conn, "append") from exc
        inserted = self._fetch(
            sql.SQL(
                "WITH inserted AS (INSERT INTO events ({columns}) "
                "SELECT {columns} FROM hedgebot_append_stage ORDER BY position "
                "ON CONFLICT (aggregate_type, aggregate_id, sequence) DO NOTHING RETURNING 1) "
                "SELECT count(*) FROM inserted"
            ).format(columns=_EVENT_INSERT_COLUMNS)
        )
        return int(inserted[0][0])

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self._take_write_lock()
        self._fetch(
            "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, payload, "
            "timestamp) VALUES (%s, %s, %s, %s::json, %s) "
            "ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET "
            "last_sequence = excluded.last_sequence, payload = excluded.payload, "
            "timestamp = excluded.timestamp",
            (
                snapshot.aggregate_type,
                snapshot.aggregate_id,
                snapshot.last_sequence,
                snapshot.payload,
                snapshot.timestamp,
            ),
        )

    # -- views ----------------------------------------------------------------

    def view_put_many(self, table: str, rows: Sequence[ViewRow]) -> None:
        if not rows:
            return
        self._take_write_lock()
        # The payload parameter is untyped text, so PostgreSQL converts it to the
        # column's own type (JSONB for views, JSON if a view chose that).
        statement = sql.SQL(
            "INSERT INTO {} (view_id, version, payload) VALUES (%s, %s, %s) "
            "ON CONFLICT (view_id) DO UPDATE SET "
            "version = excluded.version, payload = excluded.payload"
        ).format(_table(table))
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(statement, [(r.view_id, r.version, r.payload) for r in rows])
        except psycopg.Error as exc:
            raise _translate(exc, self._conn, f"write to {table}") from exc

    def view_delete(self, table: str, view_ids: Sequence[str]) -> None:
        if not view_ids:
            return
        self._take_write_lock()
        self._fetch(
            sql.SQL("DELETE FROM {} WHERE view_id = ANY(%s::text[])").format(_table(table)),
            (list(view_ids),),
        )

    def view_clear(self, table: str) -> None:
        # DELETE, not TRUNCATE: TRUNCATE would lock out concurrent readers of the view
        # and is not MVCC-safe for them.
        self._take_write_lock()
        self._fetch(sql.SQL("DELETE FROM {}").format(_table(table)))

    # -- counters and checkpoints ---------------------------------------------

    def next_id(self, counter: str) -> int:
        self._take_write_lock()
        rows = self._fetch(
            "INSERT INTO hedgebot_counters AS c (name, next_value) VALUES (%s, 2) "
            "ON CONFLICT (name) DO UPDATE SET next_value = c.next_value + 1 "
            "RETURNING c.next_value - 1",
            (counter,),
        )
        return int(rows[0][0])

    def ensure_counter_above(self, counter: str, value: int) -> None:
        self._take_write_lock()
        self._fetch(
            "INSERT INTO hedgebot_counters AS c (name, next_value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET "
            "next_value = greatest(c.next_value, excluded.next_value)",
            (counter, value + 1),
        )

    def set_checkpoint(self, name: str, position: int) -> None:
        self._take_write_lock()
        self._fetch(
            "INSERT INTO hedgebot_checkpoints (name, position) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (name, position),
        )


class PostgresEventStore(_PgReader):
    """Event store in a PostgreSQL database (schema from `hedgebot db upgrade`).

    ``conninfo`` is a libpq URL or key/value string. The pool keeps ``min_size`` to
    ``max_size`` connections; a caller waits up to ``checkout_timeout`` seconds for
    one, and a statement up to ``lock_timeout_ms`` for a lock (the write lock held by
    another writer, typically), before getting a `TransientStoreError`.
    """

    backend = "postgresql"

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 1,
        max_size: int = 8,
        connect_timeout: float = 10.0,
        checkout_timeout: float = 30.0,
        lock_timeout_ms: int = 10_000,
    ) -> None:
        self.display_name = redact_conninfo(conninfo)
        self._checkout_timeout = checkout_timeout
        # A dead pooled connection (server restarted, idle connection cut) fails its
        # first statement; trying once per pooled connection reaches a fresh one.
        self._retry = READ_RETRY.with_(max_attempts=max(READ_RETRY.max_attempts, max_size + 1))
        self._local = threading.local()
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True},
            configure=_connection_setup(lock_timeout_ms),
            open=False,
            timeout=checkout_timeout,
            name="hedgebot-eventstore",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise EventStoreError(
                f"cannot connect to PostgreSQL at {self.display_name} within {connect_timeout:g}s"
            ) from exc
        try:
            self._check_schema()
        except BaseException:
            self._pool.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresEventStore({self.display_name})"

    def _check_schema(self) -> None:
        rows = self._fetch(
            "SELECT count(*) FROM pg_catalog.pg_tables "
            "WHERE schemaname = current_schema() AND tablename = ANY(%s::text[])",
            (list(_REQUIRED_TABLES),),
        )
        if int(rows[0][0]) != len(_REQUIRED_TABLES):
            raise EventStoreError(
                f"{self.display_name} has no hedgebot event store schema: "
                "run `hedgebot db upgrade` first"
            )

    # -- reads outside a transaction ------------------------------------------

    def _fetch(self, query: Query, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._retry.call_sync(self._fetch_once, query, params)

    def _fetch_once(self, query: Query, params: Params) -> list[tuple[Any, ...]]:
        conn = self._getconn()
        try:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as exc:
            raise _translate(exc, conn, "read") from exc
        finally:
            self._pool.putconn(conn)

    def _getconn(self) -> psycopg.Connection[Any]:
        try:
            return self._pool.getconn(timeout=self._checkout_timeout)
        except PoolTimeout as exc:
            raise TransientStoreError(
                f"PostgreSQL at {self.display_name}: no connection available "
                f"within {self._checkout_timeout:g}s"
            ) from exc

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Run a parameterised read-only query (``?`` placeholders, as on SQLite)."""
        return list(self._fetch(translate_placeholders(sql), tuple(params)))

    def iter_all(self, after_position: int = 0, batch_size: int = 1000) -> Iterator[StoredEvent]:
        while True:
            batch = self.read_all(after_position, batch_size)
            if not batch:
                return
            yield from batch
            after_position = batch[-1].position

    # -- transactions ---------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[_PgTransaction]:
        # A nested transaction would run on a second connection and wait forever for
        # the write lock held by the outer one: refuse it, like the other backends.
        if getattr(self._local, "in_transaction", False):
            raise EventStoreError(
                "a transaction is already open on this store in this thread "
                "(transactions do not nest)"
            )
        conn = self._retry.call_sync(self._begin)
        self._local.in_transaction = True
        returned = False
        try:
            tx = _PgTransaction(conn)
            try:
                yield tx
            except BaseException:
                self._rollback_quietly(conn)
                raise
            try:
                conn.execute("COMMIT")
            except psycopg.Error as exc:
                if not _connection_lost(exc, conn):
                    # PostgreSQL has rolled the transaction back (e.g. a deferred check).
                    self._rollback_quietly(conn)
                    raise _translate(exc, conn, "commit") from exc
                # Give the dead connection back first: the check needs a live one.
                self._pool.putconn(conn)
                returned = True
                self._resolve_lost_commit(tx, exc)
        finally:
            self._local.in_transaction = False
            if not returned:
                self._pool.putconn(conn)

    def _begin(self) -> psycopg.Connection[Any]:
        """A pooled connection inside a fresh READ COMMITTED transaction.

        READ COMMITTED on purpose: each statement sees the latest commits, a waiter on
        the write lock continues with the row its predecessor committed, and a
        duplicate key is reported as such rather than as a serialization failure.
        """
        conn = self._getconn()
        try:
            conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        except psycopg.Error as exc:
            self._pool.putconn(conn)
            raise _translate(exc, conn, "begin") from exc
        return conn

    @staticmethod
    def _rollback_quietly(conn: psycopg.Connection[Any]) -> None:
        if conn.broken:
            return
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error as exc:
            log.warning("rollback_failed error=%s", type(exc).__name__)

    def _resolve_lost_commit(self, tx: _PgTransaction, cause: psycopg.Error) -> None:
        if not tx.holds_write_lock:
            # Nothing was written: whatever happened to COMMIT changed nothing.
            log.warning("commit_connection_lost_read_only store=%s", self.display_name)
            return
        first = tx.first_appended
        if first is None:
            raise CommitOutcomeUnknownError(
                f"PostgreSQL at {self.display_name}: connection lost during COMMIT of a "
                "transaction without events; its outcome is unknown"
            ) from cause
        try:
            committed = self._event_committed(first)
        except (psycopg.Error, EventStoreError) as exc:
            raise CommitOutcomeUnknownError(
                f"PostgreSQL at {self.display_name}: connection lost during COMMIT and the "
                f"check failed ({type(exc).__name__}); outcome unknown for "
                f"{first.aggregate_type} {first.aggregate_id!r} sequence {first.sequence}"
            ) from cause
        if committed:
            log.warning(
                "commit_confirmed_after_connection_loss aggregate_type=%s aggregate_id=%s "
                "sequence=%d",
                first.aggregate_type,
                first.aggregate_id,
                first.sequence,
            )
            return
        raise TransientStoreError(
            f"PostgreSQL at {self.display_name}: connection lost before COMMIT completed; "
            "the transaction was rolled back"
        ) from cause

    def _event_committed(self, event: StoredEvent) -> bool:
        """Whether ``event`` (position included) is in the store, once the lost
        transaction has certainly ended: its write lock is taken here first."""
        conn = self._getconn()
        try:
            conn.execute("BEGIN")
            try:
                conn.execute(f"SET LOCAL lock_timeout = {int(COMMIT_CHECK_LOCK_TIMEOUT_MS)}")
                conn.execute("SELECT 1 FROM hedgebot_event_position FOR UPDATE")
                row = conn.execute(
                    "SELECT payload::text, metadata::text FROM events WHERE aggregate_type = %s "
                    "AND aggregate_id = %s AND sequence = %s AND position = %s",
                    (event.aggregate_type, event.aggregate_id, event.sequence, event.position),
                ).fetchone()
            finally:
                self._rollback_quietly(conn)
        finally:
            self._pool.putconn(conn)
        return row is not None and row[0] == event.payload and row[1] == event.metadata

    def close(self) -> None:
        self._pool.close()
