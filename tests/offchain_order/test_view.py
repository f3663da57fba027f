"""``offchain_trade_view`` on a real SQLite file: legacy column formats, queries, rebuild."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from hedgebot.clock import ManualClock
from hedgebot.domain import Broker, Direction
from hedgebot.eventstore import CommandHandler, NewEvent, Projector
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.offchain_order.commands import (
    CompleteFill,
    ConfirmSubmission,
    MarkFailed,
    Migrate,
    OffchainOrderCommand,
    Place,
    UpdatePartialFill,
)
from hedgebot.offchain_order.events import (
    OFFCHAIN_ORDER_EVENTS,
    MigratedFailed,
    MigratedFilled,
    MigratedPending,
    MigratedSubmitted,
)
from hedgebot.offchain_order.state import OFFCHAIN_ORDER, OffchainOrderState
from hedgebot.offchain_order.view import (
    OffchainTradeView,
    open_orders,
    order,
    orders_by_broker,
    orders_by_status,
    orders_by_symbol,
)

T0 = datetime(2025, 11, 5, 14, 30, 0, 750000, tzinfo=UTC)
LEGACY_FILL = datetime(2025, 10, 1, 15, 0, 42, tzinfo=UTC)
LEGACY_FAIL = datetime(2025, 10, 2, 9, 1, 2, tzinfo=UTC)

COLUMNS = (
    "id, symbol, shares, direction, broker, broker_order_id, order_id, price_cents, status, "
    "executed_at"
)

Handler = CommandHandler[OffchainOrderState, OffchainOrderCommand]


@pytest.fixture
def projector() -> Projector:
    return Projector([OffchainTradeView()], [OFFCHAIN_ORDER_EVENTS])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def handler(sqlite_store: SqliteEventStore, projector: Projector, clock: ManualClock) -> Handler:
    return CommandHandler(sqlite_store, OFFCHAIN_ORDER, clock=clock, projector=projector)


def legacy(
    status: MigratedPending | MigratedSubmitted | MigratedFilled | MigratedFailed,
    broker_order_id: str | None = None,
    price_cents: int | None = None,
    executed_at: datetime | None = None,
    symbol: str = "MSFT",
) -> Migrate:
    return Migrate(
        symbol,
        Decimal(3),
        Direction.SELL,
        Broker.SCHWAB,
        status,
        broker_order_id,
        price_cents,
        executed_at,
    )


def scripted_history(handler: Handler, clock: ManualClock) -> None:
    handler.execute("1", legacy(MigratedFilled(), "ORDER123", 15050, LEGACY_FILL))
    handler.execute("2", legacy(MigratedFailed("Unknown failure"), executed_at=LEGACY_FAIL))
    handler.execute("3", legacy(MigratedSubmitted(), "ORDER777", symbol="NVDA"))
    handler.execute("4", legacy(MigratedPending(), symbol="TSLA"))
    # new orders, execution ids above the migrated ones
    handler.execute("10", Place("AAPL", Decimal(100), Direction.BUY, Broker.SCHWAB))
    clock.advance(timedelta(seconds=1))
    handler.execute("10", ConfirmSubmission("SCH-10"))
    clock.advance(timedelta(seconds=4))
    handler.execute("10", UpdatePartialFill(Decimal(40), 15010))
    clock.advance(timedelta(seconds=4))
    handler.execute("10", CompleteFill(15020, shares_filled=Decimal(90)))
    handler.execute("11", Place("AAPL", Decimal("0.5"), Direction.SELL, Broker.ALPACA))
    handler.execute("11", ConfirmSubmission("alp-11"))
    handler.execute("11", UpdatePartialFill(Decimal("0.25"), 15100))
    handler.execute("12", Place("GOOG", Decimal(2), Direction.BUY, Broker.DRY_RUN))
    clock.advance(timedelta(minutes=1))
    handler.execute("12", MarkFailed("rejected by broker: market closed"))
    handler.execute("13", Place("GOOG", Decimal(1), Direction.SELL, Broker.ALPACA))


def select(store: SqliteEventStore, execution_id: int) -> tuple[object, ...]:
    rows = store.query(
        f"SELECT {COLUMNS} FROM offchain_trade_view WHERE view_id = ?", (str(execution_id),)
    )
    assert len(rows) == 1
    return rows[0]


def test_rows_show_the_legacy_column_formats(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock
) -> None:
    scripted_history(handler, clock)
    assert select(sqlite_store, 1) == (
        1,
        "MSFT",
        3,
        "SELL",
        "schwab",
        "ORDER123",
        "ORDER123",
        15050,
        "FILLED",
        "2025-10-01 15:00:42",
    )
    assert select(sqlite_store, 2)[5:] == (None, None, None, "FAILED", "2025-10-02 09:01:02")
    assert select(sqlite_store, 3)[5:] == ("ORDER777", "ORDER777", None, "SUBMITTED", None)
    assert select(sqlite_store, 4)[5:] == (None, None, None, "PENDING", None)
    filled = select(sqlite_store, 10)
    assert filled == (
        10,
        "AAPL",
        90,
        "BUY",
        "schwab",
        "SCH-10",
        "SCH-10",
        15020,
        "FILLED",
        "2025-11-05 14:30:09",
    )
    assert isinstance(filled[2], int)
    partial = select(sqlite_store, 11)
    assert partial == (
        11,
        "AAPL",
        0.5,
        "SELL",
        "alpaca",
        "alp-11",
        "alp-11",
        None,
        "SUBMITTED",
        None,
    )
    assert select(sqlite_store, 12)[3:] == (
        "BUY",
        "dry_run",
        None,
        None,
        None,
        "FAILED",
        "2025-11-05 14:31:09",
    )
    assert select(sqlite_store, 13)[8:] == ("PENDING", None)


def test_legacy_style_sql_keeps_working(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock
) -> None:
    scripted_history(handler, clock)
    rows = sqlite_store.query(
        "SELECT id FROM offchain_trade_view WHERE status = 'FILLED' "
        "AND executed_at > datetime(?, '-7 days') ORDER BY id",
        ("2025-11-06 00:00:00",),
    )
    assert rows == [(10,)]
    total = sqlite_store.query(
        "SELECT sum(shares * price_cents) FROM offchain_trade_view WHERE status = 'FILLED'"
    )
    assert total == [(3 * 15050 + 90 * 15020,)]


def test_rebuilt_view_equals_the_live_view(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock, projector: Projector
) -> None:
    scripted_history(handler, clock)
    everything = f"SELECT view_id, version, payload, {COLUMNS} FROM offchain_trade_view"
    live = sorted(sqlite_store.query(everything), key=lambda r: str(r[0]))
    assert len(live) == 8
    assert projector.rebuild(sqlite_store, "offchain_trade_view") == 14
    assert sorted(sqlite_store.query(everything), key=lambda r: str(r[0])) == live


def test_generated_columns_are_indexed(sqlite_store: SqliteEventStore) -> None:
    rows = sqlite_store.query(
        "SELECT name FROM sqlite_master WHERE type = 'index' "
        "AND tbl_name = 'offchain_trade_view' AND name LIKE 'idx_%'"
    )
    names = {str(r[0]) for r in rows}
    for column in ("id", "symbol", "broker", "status"):
        assert f"idx_offchain_trade_view_{column}" in names


def test_open_orders_are_pending_and_submitted_including_partial_fills(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock
) -> None:
    scripted_history(handler, clock)
    opened = open_orders(sqlite_store)
    assert [(o.execution_id, o.status, o.state) for o in opened] == [
        (3, "SUBMITTED", "Submitted"),
        (4, "PENDING", "Pending"),
        (11, "SUBMITTED", "PartiallyFilled"),
        (13, "PENDING", "Pending"),
    ]
    assert all(o.is_open for o in opened)
    partial = opened[2]
    assert partial.shares == Decimal("0.5")
    assert partial.shares_filled == Decimal("0.25")
    assert partial.avg_price_cents == 15100
    assert opened[1].shares_filled == Decimal(0)
    assert [o.execution_id for o in open_orders(sqlite_store, Broker.ALPACA)] == [11, 13]


def test_typed_queries_by_id_status_symbol_and_broker(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock
) -> None:
    scripted_history(handler, clock)
    hedge = order(sqlite_store, 10)
    assert hedge is not None
    assert (hedge.shares, hedge.shares_filled, hedge.price_cents) == (
        Decimal(100),
        Decimal(90),
        15020,
    )
    assert hedge.direction is Direction.BUY
    assert hedge.broker is Broker.SCHWAB
    assert hedge.placed_at == T0
    assert hedge.submitted_at == T0 + timedelta(seconds=1)
    assert hedge.executed_at == T0 + timedelta(seconds=9)
    assert not hedge.migrated
    migrated = order(sqlite_store, 1)
    assert migrated is not None
    assert migrated.migrated
    assert migrated.executed_at == LEGACY_FILL
    failed = order(sqlite_store, 2)
    assert failed is not None
    assert failed.error == "Unknown failure"
    assert order(sqlite_store, 99) is None

    assert [o.execution_id for o in orders_by_status(sqlite_store, "FILLED")] == [1, 10]
    assert [o.execution_id for o in orders_by_status(sqlite_store, "FAILED")] == [2, 12]
    with pytest.raises(ValueError, match="invalid order status"):
        orders_by_status(sqlite_store, "DONE")  # type: ignore[arg-type]
    assert [o.execution_id for o in orders_by_symbol(sqlite_store, "GOOG")] == [12, 13]
    assert [o.execution_id for o in orders_by_broker(sqlite_store, Broker.DRY_RUN)] == [12]
    assert [o.execution_id for o in orders_by_broker(sqlite_store, Broker.SCHWAB)] == [
        1,
        2,
        3,
        4,
        10,
    ]


def test_a_migrated_event_written_by_the_reference_tool_projects(
    sqlite_store: SqliteEventStore, projector: Projector
) -> None:
    payload = (
        '{"Migrated":{"symbol":"AAPL","shares":"10","direction":"Buy","broker":"Schwab",'
        '"status":{"Failed":{"error":"Unknown failure"}},"broker_order_id":null,'
        '"price_cents":null,"executed_at":null,"migrated_at":"2025-12-05T13:20:01.123456789Z"}}'
    )
    with sqlite_store.transaction() as tx:
        tx.append(
            [NewEvent("OffchainOrder", "5", 1, "OffchainOrderEvent::Migrated", "1.0", payload)]
        )
    projector.rebuild(sqlite_store, "offchain_trade_view")
    assert select(sqlite_store, 5) == (
        5,
        "AAPL",
        10,
        "BUY",
        "schwab",
        None,
        None,
        None,
        "FAILED",
        None,
    )


def test_a_rejected_command_leaves_the_view_unchanged(
    sqlite_store: SqliteEventStore, handler: Handler
) -> None:
    handler.execute("1", Place("AAPL", Decimal(1), Direction.BUY, Broker.SCHWAB))
    before = sqlite_store.query("SELECT view_id, version, payload FROM offchain_trade_view")
    with pytest.raises(Exception, match="not been submitted"):
        handler.execute("1", CompleteFill(100))
    assert sqlite_store.query("SELECT view_id, version, payload FROM offchain_trade_view") == before
