"""In-memory event store for unit tests: same semantics as the SQL backends.

Transactions are serialised by a lock and keep an undo log, so a failure anywhere
in the unit of work leaves nothing behind. Reads outside a transaction take the same
lock, so another thread never sees uncommitted work (as with the SQL backends);
reads made by the thread that holds the transaction see its own writes.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hedgebot.eventstore import codec
from hedgebot.eventstore.envelope import NewEvent, Snapshot, StoredEvent
from hedgebot.eventstore.errors import ConcurrencyError, EventStoreError
from hedgebot.eventstore.store import LockedReads, ViewRow, check_identifier, check_read_all

StreamKey = tuple[str, str]

_ABSENT = object()


class _MemoryState:
    def __init__(self) -> None:
        self.events: list[StoredEvent] = []  # position p is at index p - 1
        self.streams: dict[StreamKey, list[StoredEvent]] = {}  # sorted by sequence
        self.sequences: dict[StreamKey, set[int]] = {}
        self.snapshots: dict[StreamKey, Snapshot] = {}
        self.views: dict[str, dict[str, ViewRow]] = {}
        self.counters: dict[str, int] = {}
        self.checkpoints: dict[str, int] = {}


class _MemoryReader:
    def __init__(self, state: _MemoryState) -> None:
        self._state = state

    def load_snapshot(self, aggregate_type: str, aggregate_id: str) -> Snapshot | None:
        return self._state.snapshots.get((aggregate_type, aggregate_id))

    def load_stream(
        self, aggregate_type: str, aggregate_id: str, after_sequence: int = 0
    ) -> list[StoredEvent]:
        stream = self._state.streams.get((aggregate_type, aggregate_id), [])
        start = bisect.bisect_right(stream, after_sequence, key=_sequence)
        return stream[start:]

    def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        aggregate_types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        check_read_all(after_position, limit)
        events = self._state.events
        if aggregate_types is None:
            return events[after_position : after_position + limit]
        wanted = set(aggregate_types)
        result: list[StoredEvent] = []
        for index in range(after_position, len(events)):
            event = events[index]
            if event.aggregate_type in wanted:
                result.append(event)
                if len(result) >= limit:
                    break
        return result

    def last_position(self) -> int:
        return len(self._state.events)

    def view_get(self, table: str, view_id: str) -> ViewRow | None:
        return self._state.views.get(check_identifier(table), {}).get(view_id)

    def view_find(self, table: str, field: str, value: str) -> list[ViewRow]:
        rows = self._state.views.get(check_identifier(table), {})
        check_identifier(field)
        found = []
        for view_id in sorted(rows):
            row = rows[view_id]
            payload = codec.loads(row.payload)
            if isinstance(payload, dict) and payload.get(field) == value:
                found.append(row)
        return found

    def view_all(self, table: str) -> list[ViewRow]:
        rows = self._state.views.get(check_identifier(table), {})
        return [rows[k] for k in sorted(rows)]

    def get_checkpoint(self, name: str) -> int:
        return self._state.checkpoints.get(name, 0)


def _sequence(event: StoredEvent) -> int:
    return event.sequence


class _MemoryTransaction(_MemoryReader):
    def __init__(self, state: _MemoryState) -> None:
        super().__init__(state)
        self.undo: list[Callable[[], None]] = []

    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Append all rows or none; only a duplicate (type, id, sequence) conflicts."""
        batch: set[tuple[str, str, int]] = set()
        for event in events:
            key = (event.aggregate_type, event.aggregate_id)
            full_key = (*key, event.sequence)
            if event.sequence in self._state.sequences.get(key, ()) or full_key in batch:
                raise ConcurrencyError(event.aggregate_type, event.aggregate_id, event.sequence)
            batch.add(full_key)
        stored: list[StoredEvent] = []
        for event in events:
            key = (event.aggregate_type, event.aggregate_id)
            row = StoredEvent.from_new(event, len(self._state.events) + 1)
            bisect.insort_right(self._state.streams.setdefault(key, []), row, key=_sequence)
            self._state.sequences.setdefault(key, set()).add(event.sequence)
            self._state.events.append(row)
            stored.append(row)
            self.undo.append(self._unappend_closure(key, row))
        return stored

    def _unappend_closure(self, key: StreamKey, row: StoredEvent) -> Callable[[], None]:
        state = self._state

        def unappend() -> None:
            state.events.pop()
            state.streams[key].remove(row)
            state.sequences[key].discard(row.sequence)

        return unappend

    def save_snapshot(self, snapshot: Snapshot) -> None:
        key = (snapshot.aggregate_type, snapshot.aggregate_id)
        self._remember(self._state.snapshots, key)
        self._state.snapshots[key] = snapshot

    def view_put_many(self, table: str, rows: Sequence[ViewRow]) -> None:
        target = self._state.views.setdefault(check_identifier(table), {})
        for row in rows:
            self._remember(target, row.view_id)
            target[row.view_id] = row

    def view_delete(self, table: str, view_ids: Sequence[str]) -> None:
        target = self._state.views.setdefault(check_identifier(table), {})
        for view_id in view_ids:
            self._remember(target, view_id)
            target.pop(view_id, None)

    def view_clear(self, table: str) -> None:
        target = self._state.views.setdefault(check_identifier(table), {})
        previous = dict(target)

        def restore() -> None:
            target.clear()
            target.update(previous)

        target.clear()
        self.undo.append(restore)

    def next_id(self, counter: str) -> int:
        self._remember(self._state.counters, counter)
        value = self._state.counters.get(counter, 1)
        self._state.counters[counter] = value + 1
        return value

    def ensure_counter_above(self, counter: str, value: int) -> None:
        if self._state.counters.get(counter, 1) <= value:
            self._remember(self._state.counters, counter)
            self._state.counters[counter] = value + 1

    def set_checkpoint(self, name: str, position: int) -> None:
        self._remember(self._state.checkpoints, name)
        self._state.checkpoints[name] = position

    def _remember(self, target: dict[Any, Any], key: Any) -> None:
        """Record how to put ``target[key]`` back as it is now (present or absent)."""
        previous = target.get(key, _ABSENT)

        def restore() -> None:
            if previous is _ABSENT:
                target.pop(key, None)
            else:
                target[key] = previous

        self.undo.append(restore)


class MemoryEventStore(LockedReads):
    """Event store kept in process memory."""

    backend = "memory"

    def __init__(self) -> None:
        self._state = _MemoryState()
        self._reader = _MemoryReader(self._state)
        self._lock = threading.RLock()
        self._active: threading.local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        with self._lock:
            if getattr(self._active, "tx", False):
                raise EventStoreError(
                    "a transaction is already open on this store in this thread "
                    "(transactions do not nest)"
                )
            self._active.tx = True
            tx = _MemoryTransaction(self._state)
            try:
                yield tx
            except BaseException:
                for undo in reversed(tx.undo):
                    undo()
                raise
            finally:
                self._active.tx = False

    def iter_all(self, after_position: int = 0, batch_size: int = 1000) -> Iterator[StoredEvent]:
        while True:
            batch = self.read_all(after_position, batch_size)
            if not batch:
                return
            yield from batch
            after_position = batch[-1].position

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        raise NotImplementedError("the memory store has no SQL; use a SQLite or PostgreSQL store")

    def close(self) -> None:
        pass
