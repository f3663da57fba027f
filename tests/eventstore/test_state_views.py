"""Views with `View.state_of`: live rows written from the handler's state, rebuilt by folding.

The live path (state after each command, or the last state of a batch) and the event
path (a rebuild, or events appended without a state) must give the same rows,
versions included.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from hedgebot.eventstore import CommandHandler, Projector, StoredEvent, View, ViewRows, codec
from hedgebot.eventstore.handler import encode_events
from hedgebot.eventstore.registry import EventRegistry
from hedgebot.eventstore.store import EventStore
from tests.eventstore.example_ledger import (
    LEDGER,
    LEDGER_EVENTS,
    Freeze,
    LedgerEvent,
    LedgerState,
    Move,
    Moved,
    Open,
    evolve,
)

NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def _payload(state: LedgerState) -> dict[str, Any]:
    return {
        "name": state.name,
        "balance": str(state.balance),
        "moves": state.moves,
        "frozen": state.frozen,
    }


class LedgerStateView(View):
    """ledger_view as the ledger's state (row version = the ledger's version)."""

    table = "ledger_view"
    aggregate_types = frozenset({"Ledger"})
    state_of = "Ledger"

    def __init__(self) -> None:
        self.folded = 0
        self.from_state = 0

    def apply(self, rows: Mapping[str, ViewRows], event: StoredEvent, decoded: Any) -> None:
        self.folded += 1
        table = rows[self.table]
        current = table.get(event.aggregate_id)
        state = LedgerState() if current is None else _state(current)
        table.put(event.aggregate_id, _payload(evolve(state, decoded)), version=event.sequence)

    def state_row(self, aggregate_id: str, state: Any) -> Any:
        self.from_state += 1
        return _payload(state)


def _state(payload: Mapping[str, Any]) -> LedgerState:
    return LedgerState(
        name=payload["name"],
        balance=Decimal(payload["balance"]),
        moves=payload["moves"],
        frozen=payload["frozen"],
    )


def _setup(store: EventStore) -> tuple[CommandHandler[Any, Any], LedgerStateView, Projector]:
    view = LedgerStateView()
    projector = Projector([view], [LEDGER_EVENTS])
    handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW), projector=projector)
    return handler, view, projector


def _rebuilt_equals_live(store: EventStore, projector: Projector) -> None:
    live = store.view_all("ledger_view")
    assert live
    projector.rebuild(store, "ledger_view")
    assert store.view_all("ledger_view") == live


def test_commands_write_rows_from_their_state_and_a_rebuild_agrees(
    ledger_store: EventStore,
) -> None:
    handler, view, projector = _setup(ledger_store)
    handler.execute("a", Open("a"))
    for n in range(1, 6):
        handler.execute("a", Move(Decimal(n), Direction.BUY if n % 2 else Direction.SELL))
    handler.execute("a", Freeze())
    assert (view.folded, view.from_state) == (0, 7)
    row = ledger_store.view_get("ledger_view", "a")
    assert row is not None and row.version == 7
    _rebuilt_equals_live(ledger_store, projector)
    assert view.folded == 7  # the rebuild folded every event


def test_a_batch_writes_each_aggregate_once_from_its_last_state(ledger_store: EventStore) -> None:
    handler, view, projector = _setup(ledger_store)
    with ledger_store.transaction() as tx, handler.batch(tx):
        for name in ("a", "b"):
            handler.execute_in(tx, name, Open(name))
            for n in range(1, 4):
                handler.execute_in(tx, name, Move(Decimal(n), Direction.BUY))
    assert (view.folded, view.from_state) == (0, 2)
    _rebuilt_equals_live(ledger_store, projector)


def test_events_appended_without_a_state_are_folded(ledger_store: EventStore) -> None:
    """A state older than the aggregate's last event in the pass is not used."""
    handler, view, projector = _setup(ledger_store)
    handler.execute("a", Open("a"))
    handler.execute("b", Open("b"))
    with ledger_store.transaction() as tx, handler.batch(tx):
        handler.execute_in(tx, "a", Move(Decimal(2), Direction.BUY))
        handler.execute_in(tx, "b", Move(Decimal(3), Direction.BUY))
        # someone appends a's next event directly, with no state
        moved = Moved(Decimal(5), Direction.SELL, 99, None, NOW)
        rows = encode_events(LEDGER, "a", [moved], first_sequence=3)
        stored = tx.append(rows)
        projector.apply(tx, stored, [moved])
    # b from its state; a folded from its row (2 events in the batch)
    assert view.from_state == 2 + 1
    assert view.folded == 2
    row = ledger_store.view_get("ledger_view", "a")
    assert row is not None and row.version == 3
    assert _state(codec.loads(row.payload)).balance == Decimal(-3)
    _rebuilt_equals_live(ledger_store, projector)


#: the ledger again under another aggregate type, whose ids may equal the ledgers'
SHADOW_EVENTS = EventRegistry("ShadowLedger", LedgerEvent, prefix="ShadowLedgerEvent")
SHADOW = dataclasses.replace(LEDGER, aggregate_type="ShadowLedger", events=SHADOW_EVENTS)


class LedgerAndShadowView(LedgerStateView):
    """Ledger rows from states; shadow ledgers folded into ``shadow:<id>`` rows."""

    aggregate_types = frozenset({"Ledger", "ShadowLedger"})

    def apply(self, rows: Mapping[str, ViewRows], event: StoredEvent, decoded: Any) -> None:
        if event.aggregate_type == "Ledger":
            super().apply(rows, event, decoded)
            return
        table = rows[self.table]
        key = f"shadow:{event.aggregate_id}"
        current = table.get(key)
        state = LedgerState() if current is None else _state(current)
        table.put(key, _payload(evolve(state, decoded)), version=event.sequence)


def test_events_of_another_type_with_the_same_id_are_still_folded(
    ledger_store: EventStore,
) -> None:
    view = LedgerAndShadowView()
    projector = Projector([view], [LEDGER_EVENTS, SHADOW_EVENTS])
    clock = ManualClock(NOW)
    ledgers = CommandHandler(ledger_store, LEDGER, clock=clock, projector=projector)
    shadows = CommandHandler(ledger_store, SHADOW, clock=clock, projector=projector)
    with ledger_store.transaction() as tx, ledgers.batch(tx):
        ledgers.execute_in(tx, "a", Open("a"))
        shadows.execute_in(tx, "a", Open("shadow"))
        shadows.execute_in(tx, "a", Move(Decimal(4), Direction.BUY))
    shadow = ledger_store.view_get("ledger_view", "shadow:a")
    assert shadow is not None
    assert _state(codec.loads(shadow.payload)).balance == Decimal(4)
    _rebuilt_equals_live(ledger_store, projector)
