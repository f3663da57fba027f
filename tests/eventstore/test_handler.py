"""Command handler specifics: the state cache and wiring-time checks (memory store)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from hedgebot.eventstore import Aggregate, CommandHandler, DecideContext, NewEvent, Tagged
from hedgebot.eventstore.memory import MemoryEventStore
from hedgebot.eventstore.sqlite import SqliteEventStore
from tests.eventstore.example_ledger import LEDGER, LEDGER_EVENTS, Move, Open

NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


class CountingStore(MemoryEventStore):
    """A memory store that counts the stream rows it hands out."""

    def __init__(self) -> None:
        super().__init__()
        self.rows_read = 0

    def load_stream(self, aggregate_type: str, aggregate_id: str, after_sequence: int = 0) -> Any:
        rows = super().load_stream(aggregate_type, aggregate_id, after_sequence)
        self.rows_read += len(rows)
        return rows


def test_a_cached_state_spares_reading_the_whole_stream() -> None:
    store = CountingStore()
    handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW), snapshot_every=0)
    handler.execute("a", Open("alice"))
    for _ in range(50):
        handler.execute("a", Move(Decimal(1), Direction.BUY))
    # each command re-reads only the event at its cached version: no replay of 1..n
    assert store.rows_read == 50
    uncached = CommandHandler(store, LEDGER, clock=ManualClock(NOW), snapshot_every=0, cache_size=0)
    store.rows_read = 0
    uncached.execute("a", Move(Decimal(1), Direction.BUY))
    assert store.rows_read == 51


def test_a_cache_describing_another_history_is_dropped_not_trusted() -> None:
    first, second = MemoryEventStore(), MemoryEventStore()
    handler = CommandHandler(first, LEDGER, clock=ManualClock(NOW))
    handler.execute("a", Open("alice"))
    handler.execute("a", Move(Decimal(1), Direction.BUY))
    # the same stream versions in another database, at other positions
    other = CommandHandler(second, LEDGER, clock=ManualClock(NOW))
    other.execute("padding", Open("padding"))
    other.execute("a", Open("bob"))
    other.execute("a", Move(Decimal(50), Direction.SELL))
    handler.store = second

    result = handler.execute("a", Move(Decimal(7), Direction.BUY))

    assert result.version == 3
    assert result.state.name == "bob"
    assert result.state.balance == Decimal(-43)


def test_the_cache_keeps_at_most_cache_size_aggregates() -> None:
    store = MemoryEventStore()
    handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW), cache_size=3)
    for n in range(10):
        handler.execute(f"a{n}", Open(f"a{n}"))
    assert list(handler._cache) == ["a7", "a8", "a9"]
    assert handler.execute("a0", Move(Decimal(1), Direction.BUY)).version == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"snapshot_every": -1}, "snapshot_every"),
        ({"max_retries": -1}, "max_retries"),
        ({"cache_size": -1}, "cache_size"),
    ],
)
def test_invalid_settings_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CommandHandler(MemoryEventStore(), LEDGER, clock=ManualClock(NOW), **kwargs)


@dataclass(frozen=True)
class SetState:
    seen: frozenset[str] = field(default_factory=frozenset)


def _decide(state: SetState, command: Any, ctx: DecideContext) -> Sequence[Tagged]:
    return []


SET_AGGREGATE = Aggregate[SetState, Any](
    "Ledger", LEDGER_EVENTS, SetState, SetState, _decide, lambda s, e: s
)


def test_a_state_snapshots_cannot_hold_fails_at_wiring_not_on_the_hundredth_command() -> None:
    with pytest.raises(TypeError, match="cannot be snapshotted"):
        CommandHandler(MemoryEventStore(), SET_AGGREGATE, clock=ManualClock(NOW))
    # without snapshots it is fine
    CommandHandler(MemoryEventStore(), SET_AGGREGATE, clock=ManualClock(NOW), snapshot_every=0)


def test_encode_events_numbers_rows_for_bulk_appends() -> None:
    from hedgebot.eventstore import encode_events
    from tests.eventstore.example_ledger import Opened, Unlimited

    rows = encode_events(LEDGER, "a", [Opened("a", Unlimited(), NOW)] * 2, first_sequence=5)
    assert [(r.sequence, r.event_type, r.event_version, r.metadata) for r in rows] == [
        (5, "LedgerEvent::Opened", "1.0", "{}"),
        (6, "LedgerEvent::Opened", "1.0", "{}"),
    ]
    assert isinstance(rows[0], NewEvent)


def _stream_reads(store: Any) -> list[str]:
    """Record the SQL that reads an aggregate's stream on a SQLite store's connection."""
    seen: list[str] = []
    store._conn.set_trace_callback(
        lambda sql: seen.append(sql) if "FROM events WHERE aggregate_type" in sql else None
    )
    return seen


def test_inside_one_transaction_an_aggregate_is_read_once(sqlite_store: SqliteEventStore) -> None:
    store = sqlite_store
    handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW), snapshot_every=0)
    handler.execute("a", Open("alice"))
    reads = _stream_reads(store)
    with store.transaction() as tx:
        handler.load_in(tx, "a")
        for _ in range(5):
            handler.execute_in(tx, "a", Move(Decimal(1), Direction.BUY))
    assert len(reads) == 1  # validated once in the transaction, then trusted
    reads.clear()
    with store.transaction() as tx:  # a new transaction checks the cache again
        handler.execute_in(tx, "a", Move(Decimal(1), Direction.BUY))
    assert len(reads) == 1
    assert handler.replay("a").state.balance == Decimal(6)


def test_a_state_from_a_rolled_back_transaction_is_not_trusted_in_the_next(
    sqlite_store: SqliteEventStore,
) -> None:
    store = sqlite_store
    handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW), snapshot_every=0)
    handler.execute("a", Open("alice"))

    def failing_unit_of_work() -> None:
        with store.transaction() as tx:
            handler.execute_in(tx, "a", Move(Decimal(100), Direction.BUY))
            raise RuntimeError("the unit of work fails after the command")

    with pytest.raises(RuntimeError):
        failing_unit_of_work()
    with store.transaction() as tx:
        result = handler.execute_in(tx, "a", Move(Decimal(1), Direction.BUY))
    assert (result.version, result.state.balance) == (2, Decimal(1))
