"""In-memory event store for unit tests: same semantics as the SQL backends.

Transactions are serialised by a lock and keep an undo log, so a failure anywhere
in the unit of work leaves nothing behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from hedgebot.eventstore import codec
from hedgebot.eventstore.envelope import NewEvent, Snapshot, StoredEvent
from hedgebot.eventstore.errors import ConcurrencyError
from hedgebot.eventstore.store import ViewRow, check_identifier

StreamKey = tuple[str, str]


class _MemoryState:
    def __init__(self) -> None:
        self.events: list[StoredEvent] = []
        self.streams: dict[StreamKey, list[StoredEvent]] = {}
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
        return [e for e in stream if e.sequence > after_sequence]

    def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        aggregate_types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        wanted = set(aggregate_types) if aggregate_types is not None else None
        result: list[StoredEvent] = []
        # positions are 1-based and dense in memory
        for event in self._state.events[after_position:]:
            if wanted is None or event.aggregate_type in wanted:
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
        found = []
        for row in rows.values():
            payload = codec.loads(row.payload)
            if isinstance(payload, dict) and payload.get(field) == value:
                found.append(row)
        return found

    def view_all(self, table: str) -> list[ViewRow]:
        rows = self._state.views.get(check_identifier(table), {})
        return [rows[k] for k in sorted(rows)]

    def get_checkpoint(self, name: str) -> int:
        return self._state.checkpoints.get(name, 0)


class _MemoryTransaction(_MemoryReader):
    def __init__(self, state: _MemoryState) -> None:
        super().__init__(state)
        self.undo: list[Callable[[], None]] = []

    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        stored: list[StoredEvent] = []
        for event in events:
            key = (event.aggregate_type, event.aggregate_id)
            stream = self._state.streams.setdefault(key, [])
            if stream and event.sequence <= stream[-1].sequence:
                raise ConcurrencyError(event.aggregate_type, event.aggregate_id, event.sequence)
            row = StoredEvent.from_new(event, len(self._state.events) + 1)
            self._state.events.append(row)
            stream.append(row)
            stored.append(row)
            self.undo.append(self._state.events.pop)
            self.undo.append(stream.pop)
        return stored

    def save_snapshot(self, snapshot: Snapshot) -> None:
        key = (snapshot.aggregate_type, snapshot.aggregate_id)
        previous = self._state.snapshots.get(key)
        self._state.snapshots[key] = snapshot
        self.undo.append(partial(self._restore, self._state.snapshots, key, previous))

    def view_put_many(self, table: str, rows: Sequence[ViewRow]) -> None:
        target = self._state.views.setdefault(check_identifier(table), {})
        for row in rows:
            previous = target.get(row.view_id)
            target[row.view_id] = row
            self.undo.append(partial(self._restore, target, row.view_id, previous))

    def view_delete(self, table: str, view_ids: Sequence[str]) -> None:
        target = self._state.views.setdefault(check_identifier(table), {})
        for view_id in view_ids:
            previous = target.pop(view_id, None)
            self.undo.append(partial(self._restore, target, view_id, previous))

    def view_clear(self, table: str) -> None:
        name = check_identifier(table)
        previous = dict(self._state.views.get(name, {}))
        self._state.views[name] = {}
        self.undo.append(lambda: self._state.views.__setitem__(name, previous))

    def next_id(self, counter: str) -> int:
        value = self._state.counters.get(counter, 1)
        self._state.counters[counter] = value + 1
        self.undo.append(lambda: self._state.counters.__setitem__(counter, value))
        return value

    def ensure_counter_above(self, counter: str, value: int) -> None:
        current = self._state.counters.get(counter, 1)
        if current <= value:
            self._state.counters[counter] = value + 1
            self.undo.append(lambda: self._state.counters.__setitem__(counter, current))

    def set_checkpoint(self, name: str, position: int) -> None:
        previous = self._state.checkpoints.get(name)
        self._state.checkpoints[name] = position
        self.undo.append(partial(self._restore, self._state.checkpoints, name, previous))

    @staticmethod
    def _restore(target: dict[Any, Any], key: Any, previous: Any) -> None:
        if previous is None:
            target.pop(key, None)
        else:
            target[key] = previous


class MemoryEventStore(_MemoryReader):
    """Event store kept in process memory."""

    backend = "memory"

    def __init__(self) -> None:
        super().__init__(_MemoryState())
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        with self._lock:
            tx = _MemoryTransaction(self._state)
            try:
                yield tx
            except BaseException:
                for undo in reversed(tx.undo):
                    undo()
                raise

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
