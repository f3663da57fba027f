from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from hedgebot.eventstore import CommandHandler
from hedgebot.eventstore.store import EventStore
from tests.eventstore.example_ledger import LEDGER, Move, Open


def test_commands_append_numbered_events_and_fold_state(store: EventStore) -> None:
    handler = CommandHandler(store, LEDGER, clock=ManualClock(datetime(2025, 1, 1, tzinfo=UTC)))
    handler.execute("a", Open("alice"))
    result = handler.execute("a", Move(Decimal("2.5"), Direction.SELL))
    assert [e.sequence for e in store.load_stream("Ledger", "a")] == [1, 2]
    assert result.state.balance == Decimal("-2.5")
