"""Idempotent placement at Schwab, which has no client order id.

Before each order POST the adapter writes a durable *attempt* for the idempotency
key (the time it was first tried); after the POST it records the broker's order id.
A placement for a key that has an attempt but no order id — the previous POST timed
out, or the process died between POST and record — first looks at the account's
orders entered since that attempt: an order with the same symbol, instruction and
quantity that no other key has claimed is taken as ours. A key without an attempt
was never sent, so it is placed without looking.

Residual risk (documented in docs/ARCHITECTURE.md): if an order of exactly the same
shape was entered in the same account by someone else (an operator by hand) between
our attempt and the recovery, and our own POST never reached Schwab, we would take
theirs for ours and hedge once instead of twice. hedgebot itself cannot produce such
an order: it keeps one pending execution per symbol.

The durable journal lives in the event store database, in the bookkeeping table
``schwab_order_journal`` (created by migration 0005, rows shaped like view rows so
every store backend can hold it). It is not a view: no event feeds it, rebuilds leave
it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hedgebot.eventstore import EventStore, ViewRow, codec

JOURNAL_TABLE = "schwab_order_journal"


@dataclass(frozen=True)
class PlacementAttempt:
    key: str
    first_attempt_at: datetime
    order_id: str | None


class PlacementJournal(Protocol):
    async def get(self, key: str) -> PlacementAttempt | None: ...

    async def begin(self, key: str, at: datetime) -> PlacementAttempt:
        """Record an attempt (keeping the first time if one exists) before sending."""
        ...

    async def record(self, key: str, order_id: str, at: datetime) -> None:
        """The key's broker order (``at`` is the attempt time if none was recorded)."""
        ...

    async def is_claimed(self, order_id: str) -> bool:
        """Whether some key already owns this broker order."""
        ...


class MemoryPlacementJournal:
    """For tests and one-process runs: forgets everything on restart."""

    def __init__(self) -> None:
        self.attempts: dict[str, PlacementAttempt] = {}

    async def get(self, key: str) -> PlacementAttempt | None:
        return self.attempts.get(key)

    async def begin(self, key: str, at: datetime) -> PlacementAttempt:
        existing = self.attempts.get(key)
        if existing is None:
            existing = PlacementAttempt(key, at, None)
            self.attempts[key] = existing
        return existing

    async def record(self, key: str, order_id: str, at: datetime) -> None:
        first = self.attempts.get(key)
        since = first.first_attempt_at if first is not None else at
        self.attempts[key] = PlacementAttempt(key, since, order_id)

    async def is_claimed(self, order_id: str) -> bool:
        return any(a.order_id == order_id for a in self.attempts.values())


@dataclass(frozen=True)
class _Entry:
    first_attempt_at: datetime
    order_id: str | None


class StorePlacementJournal:
    """The durable journal, one row per idempotency key, each write its own transaction."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def get(self, key: str) -> PlacementAttempt | None:
        row = self._store.view_get(JOURNAL_TABLE, key)
        if row is None:
            return None
        entry = codec.from_json(_Entry, row.payload)
        return PlacementAttempt(key, entry.first_attempt_at, entry.order_id)

    async def begin(self, key: str, at: datetime) -> PlacementAttempt:
        with self._store.transaction() as tx:
            row = tx.view_get(JOURNAL_TABLE, key)
            if row is not None:
                entry = codec.from_json(_Entry, row.payload)
                return PlacementAttempt(key, entry.first_attempt_at, entry.order_id)
            tx.view_put_many(
                JOURNAL_TABLE, [ViewRow(key, 1, codec.to_json(_Entry, _Entry(at, None)))]
            )
        return PlacementAttempt(key, at, None)

    async def record(self, key: str, order_id: str, at: datetime) -> None:
        with self._store.transaction() as tx:
            row = tx.view_get(JOURNAL_TABLE, key)
            if row is None:
                entry, version = _Entry(at, order_id), 1
            else:
                previous = codec.from_json(_Entry, row.payload)
                entry, version = _Entry(previous.first_attempt_at, order_id), row.version + 1
            tx.view_put_many(JOURNAL_TABLE, [ViewRow(key, version, codec.to_json(_Entry, entry))])

    async def is_claimed(self, order_id: str) -> bool:
        return bool(self._store.view_find(JOURNAL_TABLE, "order_id", order_id))
