"""position_view on real databases: legacy-formatted generated columns, the typed queries,
and a rebuilt view equal to the live one."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.clock import ManualClock
from hedgebot.domain import Broker
from hedgebot.eventstore import CommandHandler, Projector
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import EventStore
from hedgebot.position.commands import (
    CompleteOffChainOrder,
    FailOffChainOrder,
    Migrate,
    PlaceOffChainOrder,
    PositionCommand,
    UpdateThreshold,
)
from hedgebot.position.events import POSITION_EVENTS, DollarValue, Shares
from hedgebot.position.state import FAILURES_BEFORE_SUSPENSION, POSITION, PositionState
from hedgebot.position.view import (
    POSITION_VIEW_TABLE,
    PositionView,
    all_positions,
    position_by_symbol,
    positions_ready_to_hedge,
    positions_with_pending_execution,
    suspended_positions,
)
from tests.position.builders import BUY, ONE_DOLLAR, SELL, ack, d

START = datetime(2025, 3, 3, 15, 0, 0, 500000, tzinfo=UTC)
LEGACY_LAST_UPDATED = datetime(2025, 2, 1, 9, 30, 15, tzinfo=UTC)

COLUMNS = (
    "symbol, net_position, accumulated_long, accumulated_short, pending_execution_id, "
    "last_updated, threshold_type, threshold_value"
)


def script(store: EventStore) -> Projector:
    """AAPL hedge pending, TSLA migrated and over its threshold, NVDA hedged to zero with a
    dollar threshold, MSFT suspended after repeated failures."""
    clock = ManualClock(START)
    projector = Projector([PositionView()], [POSITION_EVENTS])
    handler: CommandHandler[PositionState, PositionCommand] = CommandHandler(
        store, POSITION, clock=clock, projector=projector, snapshot_every=4
    )
    for n, amount in enumerate(["0.3", "0.5", "0.4"], start=1):
        handler.execute("AAPL", ack(n, amount, SELL))
    handler.execute(
        "TSLA",
        Migrate("TSLA", d("-5"), d("0"), d("5"), Shares(d("1")), None, LEGACY_LAST_UPDATED),
    )
    handler.execute(
        "NVDA",
        ack(
            10,
            "0.02",
            BUY,
            "100",
            symbol="NVDA",
            broker=Broker.ALPACA,
            default_threshold=ONE_DOLLAR,
            fractional_decimals=9,
        ),
    )
    filled_at = datetime(2025, 3, 3, 15, 1, 2, 123000, tzinfo=UTC)
    handler.execute("NVDA", CompleteOffChainOrder(2, d("0.02"), SELL, "A-1", 10012, filled_at))
    handler.execute("MSFT", ack(20, "1.5", BUY, symbol="MSFT"))
    handler.execute("MSFT", UpdateThreshold(Shares(d("1.0"))))
    for attempt in range(FAILURES_BEFORE_SUSPENSION):
        execution_id = 3 + attempt
        handler.execute("MSFT", FailOffChainOrder(execution_id, "rejected"))
        if attempt + 1 < FAILURES_BEFORE_SUSPENSION:
            handler.execute("MSFT", PlaceOffChainOrder(Broker.SCHWAB))
    return projector


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> EventStore:
    """A SQL store (the memory store has no SQL): a SQLite file, and PostgreSQL."""
    if request.param == "sqlite":
        store: EventStore = request.getfixturevalue("sqlite_store")
        return store
    try:
        store = request.getfixturevalue("postgres_store")
    except pytest.FixtureLookupError:
        pytest.skip("no PostgreSQL store fixture in this checkout")
    return store


def test_generated_columns_return_legacy_formatted_values(database: EventStore) -> None:
    script(database)
    rows = database.query(f"SELECT {COLUMNS} FROM position_view ORDER BY symbol")
    assert rows == [
        ("AAPL", -1.2, 0.0, 1.2, 1, "2025-03-03 15:00:00", "Shares", 1.0),
        ("MSFT", 1.5, 1.5, 0.0, None, "2025-03-03 15:00:00", "Shares", 1.0),
        ("NVDA", 0.0, 0.02, 0.0, None, "2025-03-03 15:01:02", "DollarValue", 1.0),
        ("TSLA", -5.0, 0.0, 5.0, None, "2025-02-01 09:30:15", "Shares", 1.0),
    ]


def test_legacy_style_queries_work_on_the_generated_columns(database: EventStore) -> None:
    script(database)
    over = database.query(
        "SELECT symbol FROM position_view "
        "WHERE pending_execution_id IS NULL AND ABS(net_position) >= ? ORDER BY symbol",
        (1.0,),
    )
    assert over == [("MSFT",), ("TSLA",)]
    recent = database.query(
        "SELECT symbol FROM position_view WHERE last_updated > ? ORDER BY symbol",
        ("2025-03-01 00:00:00",),
    )
    assert recent == [("AAPL",), ("MSFT",), ("NVDA",)]


def test_typed_queries_read_exact_decimals(database: EventStore) -> None:
    script(database)
    assert [p.symbol for p in all_positions(database)] == ["AAPL", "MSFT", "NVDA", "TSLA"]
    tsla = position_by_symbol(database, "TSLA")
    assert tsla is not None
    assert (tsla.net, tsla.accumulated_short, tsla.last_updated) == (
        Decimal("-5"),
        Decimal("5"),
        LEGACY_LAST_UPDATED,
    )
    assert position_by_symbol(database, "GOOG") is None
    nvda = position_by_symbol(database, "NVDA")
    assert nvda is not None and nvda.net == Decimal("0.00")
    assert nvda.threshold == DollarValue(Decimal("1"))
    pending = positions_with_pending_execution(database)
    assert [(p.symbol, p.pending_execution_id, p.pending_shares) for p in pending] == [
        ("AAPL", 1, Decimal("1"))
    ]
    assert [p.symbol for p in positions_ready_to_hedge(database)] == ["TSLA"]
    suspended = suspended_positions(database)
    assert [(p.symbol, p.consecutive_failures) for p in suspended] == [
        ("MSFT", FAILURES_BEFORE_SUSPENSION)
    ]


def test_rebuilt_view_equals_the_live_view(database: EventStore) -> None:
    projector = script(database)
    live = database.view_all(POSITION_VIEW_TABLE)
    assert len(live) == 4
    projector.rebuild(database, POSITION_VIEW_TABLE)
    assert database.view_all(POSITION_VIEW_TABLE) == live


def test_view_survives_a_reopened_sqlite_file(sqlite_path: Path) -> None:
    store = SqliteEventStore(str(sqlite_path))
    try:
        script(store)
    finally:
        store.close()
    reopened = SqliteEventStore(str(sqlite_path))
    try:
        aapl = position_by_symbol(reopened, "AAPL")
        assert aapl is not None and aapl.net == Decimal("-1.2")
    finally:
        reopened.close()
