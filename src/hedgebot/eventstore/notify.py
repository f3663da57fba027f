"""Wake-ups after commits, so managers react at once instead of polling on a timer.

`NotifyingStore` wraps any store and signals `CommitSignal` after every successful
transaction. Managers still re-read the store from their checkpoints (the signal
carries no data), and still poll on a timeout, so a lost wake-up or a commit by
another process only delays a reaction, never loses it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from hedgebot.eventstore.envelope import Snapshot, StoredEvent
from hedgebot.eventstore.store import EventStore, StoreTransaction, ViewRow


class CommitSignal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def subscribe(self) -> asyncio.Event:
        """An event set after each commit; call from the loop that will wait on it."""
        event = asyncio.Event()
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), event))
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        with self._lock:
            self._subscribers = [(lp, ev) for lp, ev in self._subscribers if ev is not event]

    def notify(self) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, event in subscribers:
            if loop.is_closed():
                continue
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                event.set()
            else:
                loop.call_soon_threadsafe(event.set)


async def wait_for_signal(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` passes; clears it. True if signalled."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    event.clear()
    return True


class NotifyingStore:
    """An `EventStore` that signals after each committed transaction."""

    def __init__(self, inner: EventStore, signal: CommitSignal) -> None:
        self.inner = inner
        self.signal = signal
        self.backend = inner.backend

    @contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        with self.inner.transaction() as tx:
            yield tx
        self.signal.notify()

    def load_snapshot(self, aggregate_type: str, aggregate_id: str) -> Snapshot | None:
        return self.inner.load_snapshot(aggregate_type, aggregate_id)

    def load_stream(
        self, aggregate_type: str, aggregate_id: str, after_sequence: int = 0
    ) -> list[StoredEvent]:
        return self.inner.load_stream(aggregate_type, aggregate_id, after_sequence)

    def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        aggregate_types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        return self.inner.read_all(after_position, limit, aggregate_types)

    def last_position(self) -> int:
        return self.inner.last_position()

    def view_get(self, table: str, view_id: str) -> ViewRow | None:
        return self.inner.view_get(table, view_id)

    def view_find(self, table: str, field: str, value: str) -> list[ViewRow]:
        return self.inner.view_find(table, field, value)

    def view_all(self, table: str) -> list[ViewRow]:
        return self.inner.view_all(table)

    def get_checkpoint(self, name: str) -> int:
        return self.inner.get_checkpoint(name)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        return self.inner.query(sql, params)

    def iter_all(self, after_position: int = 0, batch_size: int = 1000) -> Iterator[StoredEvent]:
        return self.inner.iter_all(after_position, batch_size)

    def close(self) -> None:
        self.inner.close()
