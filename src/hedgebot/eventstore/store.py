"""The event store port: what every backend (memory, SQLite, PostgreSQL) provides.

Reads outside a transaction see committed data. Everything that changes the store
happens inside `transaction()`: events, snapshots, view rows, id counters and
manager checkpoints commit or roll back together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from hedgebot.eventstore.envelope import NewEvent, Snapshot, StoredEvent, fast_frozen_init

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def check_identifier(name: str) -> str:
    """Table names cannot be SQL parameters; only plain lowercase identifiers pass."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"invalid table name {name!r}")
    return name


def check_read_all(after_position: int, limit: int) -> None:
    """Arguments of `read_all` every backend rejects the same way."""
    if after_position < 0:
        raise ValueError(f"after_position must be >= 0, got {after_position}")
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class ViewRow:
    view_id: str
    version: int
    payload: str


class StoreReader(Protocol):
    """Read access, both inside and outside a transaction."""

    def load_snapshot(self, aggregate_type: str, aggregate_id: str) -> Snapshot | None: ...

    def load_stream(
        self, aggregate_type: str, aggregate_id: str, after_sequence: int = 0
    ) -> list[StoredEvent]:
        """The aggregate's events with ``sequence > after_sequence``, in sequence order."""
        ...

    def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        aggregate_types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        """Up to ``limit`` events with ``position > after_position``, in position order.

        Positions grow with commit order and a committed position is never followed by
        a smaller one, so a reader that resumes from the last position it processed
        sees every event exactly once. ``aggregate_types`` filters (an empty list
        matches nothing). ``after_position < 0`` or ``limit < 1`` is a `ValueError`.
        """
        ...

    def last_position(self) -> int:
        """Position of the newest committed event (0 when the store is empty)."""
        ...

    def view_get(self, table: str, view_id: str) -> ViewRow | None: ...

    def view_find(self, table: str, field: str, value: str) -> list[ViewRow]:
        """Rows whose top-level payload ``field`` equals the string ``value``."""
        ...

    def view_all(self, table: str) -> list[ViewRow]:
        """Every row of ``table`` ordered by ``view_id``."""
        ...

    def get_checkpoint(self, name: str) -> int:
        """A manager's stored position (0 when never set)."""
        ...


class StoreTransaction(StoreReader, Protocol):
    """One atomic unit of work.

    Everything written through it commits together when the ``with`` block ends
    normally and is rolled back when it raises. Reads through it see its own writes.
    """

    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Append rows; a duplicate (type, id, sequence) raises `ConcurrencyError`."""
        ...

    def save_snapshot(self, snapshot: Snapshot) -> None: ...

    def view_put_many(self, table: str, rows: Sequence[ViewRow]) -> None: ...

    def view_delete(self, table: str, view_ids: Sequence[str]) -> None: ...

    def view_clear(self, table: str) -> None: ...

    def next_id(self, counter: str) -> int:
        """Allocate the next value of a named counter (1, 2, 3 …)."""
        ...

    def ensure_counter_above(self, counter: str, value: int) -> None:
        """Make every later `next_id(counter)` return more than ``value``."""
        ...

    def set_checkpoint(self, name: str, position: int) -> None: ...


class EventStore(StoreReader, Protocol):
    backend: str

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """Open a unit of work; transactions do not nest (`EventStoreError`)."""
        ...

    def iter_all(
        self, after_position: int = 0, batch_size: int = 1000
    ) -> Iterator[StoredEvent]: ...

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Parameterised read-only SQL over view tables (``?`` placeholders)."""
        ...

    def close(self) -> None: ...


class LockedReads:
    """The store-level reads of a single-connection backend: each one delegates to
    ``self._reader`` under ``self._lock``, the lock transactions hold, so a read from
    another thread never sees a transaction's uncommitted work."""

    _reader: StoreReader
    _lock: AbstractContextManager[Any]

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
