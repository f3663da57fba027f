"""Sample values shared by the OffchainOrder tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hedgebot.domain import Broker, Direction
from hedgebot.offchain_order.commands import Migrate, Place
from hedgebot.offchain_order.events import (
    Failed,
    Filled,
    Migrated,
    MigratedOrderStatus,
    MigratedPending,
    PartiallyFilled,
    Placed,
    Submitted,
)

PLACED_AT = datetime(2025, 11, 5, 14, 30, tzinfo=UTC)
SUBMITTED_AT = datetime(2025, 11, 5, 14, 30, 1, 500000, tzinfo=UTC)
PARTIAL_AT = datetime(2025, 11, 5, 14, 30, 5, tzinfo=UTC)
FILLED_AT = datetime(2025, 11, 5, 14, 30, 9, 250000, tzinfo=UTC)
NOW = datetime(2025, 11, 5, 14, 31, tzinfo=UTC)
EXECUTED_AT = datetime(2025, 10, 1, 15, 0, 42, tzinfo=UTC)


def place(shares: str = "100", symbol: str = "AAPL") -> Place:
    return Place(symbol, Decimal(shares), Direction.BUY, Broker.SCHWAB)


def placed(shares: str = "100", symbol: str = "AAPL", at: datetime = PLACED_AT) -> Placed:
    return Placed(symbol, Decimal(shares), Direction.BUY, Broker.SCHWAB, at)


def submitted(broker_order_id: str = "ORD123", at: datetime = SUBMITTED_AT) -> Submitted:
    return Submitted(broker_order_id, at)


def partially(shares: str = "50", cents: int = 15000, at: datetime = PARTIAL_AT) -> PartiallyFilled:
    return PartiallyFilled(Decimal(shares), cents, at)


def filled(cents: int = 15050, at: datetime = FILLED_AT, shares: str | None = None) -> Filled:
    return Filled(cents, at, None if shares is None else Decimal(shares))


def failed(error: str = "Insufficient funds", at: datetime = FILLED_AT) -> Failed:
    return Failed(error, at)


def migrate(
    status: MigratedOrderStatus | None = None,
    broker_order_id: str | None = None,
    price_cents: int | None = None,
    executed_at: datetime | None = None,
    shares: str = "10",
) -> Migrate:
    return Migrate(
        "AAPL",
        Decimal(shares),
        Direction.SELL,
        Broker.ALPACA,
        status or MigratedPending(),
        broker_order_id,
        price_cents,
        executed_at,
    )


def migrated(
    status: MigratedOrderStatus | None = None,
    broker_order_id: str | None = None,
    price_cents: int | None = None,
    executed_at: datetime | None = None,
    shares: str = "10",
    at: datetime = NOW,
) -> Migrated:
    return Migrated(
        "AAPL",
        Decimal(shares),
        Direction.SELL,
        Broker.ALPACA,
        status or MigratedPending(),
        broker_order_id,
        price_cents,
        executed_at,
        at,
    )
