"""Tracked reactions (`Reactor`) on every backend: exactly once across crashes.

The reaction under test: every `Moved` of a ledger is copied, in the same transaction
as the reactor's checkpoint, as a `Move` of the ledger ``audit``. So the audit balance
and move count say exactly how many times each event was reacted to.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from hedgebot.eventstore import (
    CommandHandler,
    StoredEvent,
    StoreTransaction,
    TransientStoreError,
)
from hedgebot.eventstore.reactor import ReactionFailed, Reactor
from hedgebot.eventstore.store import EventStore
from tests.eventstore.example_ledger import LEDGER, LEDGER_EVENTS, Freeze, Move, Moved, Open

NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


class Crash(BaseException):
    """A process dying in the middle of a reaction (not an Exception: nothing catches it)."""


class Auditor:
    def __init__(self, store: EventStore) -> None:
        self.handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW))
        self.crash_at: int | None = None
        self.fail_on: Decimal | None = None
        self.transient_left = 0

    def wants(self, event: StoredEvent, decoded: Any) -> bool:
        return isinstance(decoded, Moved) and event.aggregate_id != "audit"

    def handle(self, tx: StoreTransaction, event: StoredEvent, decoded: Any) -> int:
        self.handler.execute_in(tx, "audit", Move(decoded.amount, decoded.direction))
        if self.crash_at is not None and event.position >= self.crash_at:
            raise Crash
        if self.fail_on is not None and decoded.amount == self.fail_on:
            raise RuntimeError("this event cannot be handled")
        if self.transient_left > 0:
            self.transient_left -= 1
            raise TransientStoreError("database is locked")
        return 1

    def reactor(self, store: EventStore, **kwargs: Any) -> Reactor:
        return Reactor(store, "auditor", [LEDGER_EVENTS], self.wants, self.handle, **kwargs)


def write_history(store: EventStore, moves: int) -> Decimal:
    """Two ledgers with ``moves`` moves each (plus ignored events); returns the net."""
    handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW))
    handler.execute("audit", Open("audit"))
    net = Decimal(0)
    for name in ("a", "b"):
        handler.execute(name, Open(name))
    for n in range(1, moves + 1):
        for name in ("a", "b"):
            direction = Direction.BUY if n % 3 else Direction.SELL
            handler.execute(name, Move(Decimal(n), direction))
            net += direction.sign * Decimal(n)
    handler.execute("b", Freeze())
    return net


def audit(store: EventStore) -> tuple[Decimal, int]:
    state = CommandHandler(store, LEDGER, clock=ManualClock(NOW)).replay("audit").state
    return state.balance, state.moves


def test_each_event_is_reacted_to_once_and_the_checkpoint_moves_with_it(
    ledger_store: EventStore,
) -> None:
    net = write_history(ledger_store, 10)
    last_move = [e for e in ledger_store.read_all(limit=10_000) if e.event_type.endswith("Moved")]
    auditor = Auditor(ledger_store)
    reactor = auditor.reactor(ledger_store, batch_size=7)
    assert reactor.drain() == ledger_store.last_position()
    assert audit(ledger_store) == (net, 20)
    # stored with the last reaction; the ignored events after it only move a mark
    assert ledger_store.get_checkpoint("auditor") >= last_move[-1].position
    assert reactor.position() == ledger_store.last_position()
    # a second pass (or a restarted reactor) finds nothing new to do
    assert auditor.reactor(ledger_store).drain() >= 0
    assert audit(ledger_store) == (net, 20)


def test_a_crash_mid_batch_is_resumed_from_the_checkpoint_without_loss_or_repeat(
    ledger_store: EventStore,
) -> None:
    net = write_history(ledger_store, 12)
    crashing = Auditor(ledger_store)
    crashing.crash_at = ledger_store.read_all(limit=10_000)[15].position
    with pytest.raises(Crash):
        crashing.reactor(ledger_store, batch_size=5).drain()
    partial = audit(ledger_store)
    assert 0 < partial[1] < 24

    restarted = Auditor(ledger_store)
    restarted.reactor(ledger_store, batch_size=5).drain()
    assert audit(ledger_store) == (net, 24)


def test_a_failing_event_stops_the_reactor_loudly_after_the_events_before_it(
    ledger_store: EventStore,
) -> None:
    write_history(ledger_store, 6)
    auditor = Auditor(ledger_store)
    auditor.fail_on = Decimal(4)
    with pytest.raises(ReactionFailed, match=r"auditor: cannot react to LedgerEvent::Moved of"):
        auditor.reactor(ledger_store, batch_size=100).drain()
    # the moves 1-3 of both ledgers were reacted to one by one; nothing after
    _, moves = audit(ledger_store)
    assert moves == 6
    failing = next(
        e
        for e in ledger_store.read_all(limit=10_000)
        if e.event_type == "LedgerEvent::Moved" and LEDGER_EVENTS.decode(e).amount == 4
    )
    assert ledger_store.get_checkpoint("auditor") < failing.position
    # once the cause is gone, a restart carries on from there
    auditor.fail_on = None
    auditor.reactor(ledger_store).drain()
    assert audit(ledger_store)[1] == 12


def test_a_transient_store_error_is_retried_not_fatal(ledger_store: EventStore) -> None:
    net = write_history(ledger_store, 4)
    auditor = Auditor(ledger_store)
    auditor.transient_left = 3  # the batch, then twice for the first event alone
    auditor.reactor(ledger_store, max_attempts=5).drain()
    assert audit(ledger_store) == (net, 8)


def test_a_transient_error_that_persists_stops_the_reactor(ledger_store: EventStore) -> None:
    write_history(ledger_store, 2)
    auditor = Auditor(ledger_store)
    auditor.transient_left = 100
    with pytest.raises(ReactionFailed, match="database is locked"):
        auditor.reactor(ledger_store, max_attempts=3).drain()
    assert audit(ledger_store)[1] == 0


class CountingTransactions:
    """An `EventStore` that counts the transactions opened through it."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.backend = inner.backend
        self.opened = 0

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        self.opened += 1
        return self.inner.transaction()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_ignored_events_open_no_transaction_until_the_checkpoint_is_due(
    ledger_store: EventStore,
) -> None:
    handler = CommandHandler(ledger_store, LEDGER, clock=ManualClock(NOW))
    for n in range(30):
        handler.execute(f"quiet-{n}", Open("q"))  # nothing the auditor wants
    counting = CountingTransactions(ledger_store)
    reactor = Auditor(ledger_store).reactor(counting, batch_size=10, checkpoint_every=25)  # type: ignore[arg-type]
    reactor.drain()
    assert counting.opened == 1  # the checkpoint, once 25 events had gone by
    assert reactor.position() == ledger_store.last_position()
    assert 25 <= ledger_store.get_checkpoint("auditor") <= 30


def test_event_types_limit_what_is_decoded_and_reacted_to(ledger_store: EventStore) -> None:
    net = write_history(ledger_store, 5)
    auditor = Auditor(ledger_store)
    decoded: list[str] = []
    registry = LEDGER_EVENTS

    def counting_wants(event: StoredEvent, typed: Any) -> bool:
        decoded.append(event.event_type)
        return auditor.wants(event, typed)

    moved = registry.type_of(Moved)
    reactor = Reactor(
        ledger_store,
        "auditor",
        [registry],
        counting_wants,
        auditor.handle,
        event_types=[moved],
    )
    reactor.drain()
    assert audit(ledger_store) == (net, 10)
    # the Opened/Frozen events were never decoded for it; every Moved was (the ten
    # moves of a and b, and the auditor's own ten, which `wants` turns down)
    others = [e for e in ledger_store.read_all(limit=10_000) if e.event_type != moved]
    assert len(others) == 4
    assert decoded == [moved] * 20
    assert reactor.position() == ledger_store.last_position()
