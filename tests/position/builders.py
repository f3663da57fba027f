"""Small builders for Position tests: trade ids, fill commands and events at fixed times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hedgebot.domain import Broker, Direction, TradeId
from hedgebot.eventstore.testing import DEFAULT_NOW
from hedgebot.position.commands import AcknowledgeOnChainFill
from hedgebot.position.events import (
    DollarValue,
    ExecutionThreshold,
    Initialized,
    OnChainOrderFilled,
    Shares,
)

NOW = DEFAULT_NOW
EARLIER = datetime(2025, 1, 2, 15, 0, tzinfo=UTC)
BLOCK_TIME = datetime(2025, 1, 2, 14, 59, 48, tzinfo=UTC)
ONE_SHARE = Shares(Decimal(1))
ONE_DOLLAR = DollarValue(Decimal("1"))
BUY = Direction.BUY
SELL = Direction.SELL


def d(text: str) -> Decimal:
    return Decimal(text)


def trade_id(n: int, log_index: int = 0) -> TradeId:
    return TradeId(f"0x{n:064x}", log_index)


def ack(
    n: int,
    amount: str,
    direction: Direction,
    price: str = "150",
    *,
    symbol: str = "AAPL",
    broker: Broker = Broker.SCHWAB,
    default_threshold: ExecutionThreshold = ONE_SHARE,
    fractional_decimals: int | None = None,
    hedging_allowed: bool = True,
) -> AcknowledgeOnChainFill:
    return AcknowledgeOnChainFill(
        symbol=symbol,
        trade_id=trade_id(n),
        amount=Decimal(amount),
        direction=direction,
        price_usdc=Decimal(price),
        block_timestamp=BLOCK_TIME,
        broker=broker,
        default_threshold=default_threshold,
        fractional_decimals=fractional_decimals,
        hedging_allowed=hedging_allowed,
    )


def filled(
    n: int, amount: str, direction: Direction, price: str = "150", seen_at: datetime = NOW
) -> OnChainOrderFilled:
    return OnChainOrderFilled(
        trade_id=trade_id(n),
        amount=Decimal(amount),
        direction=direction,
        price_usdc=Decimal(price),
        block_timestamp=BLOCK_TIME,
        seen_at=seen_at,
    )


def initialized(
    symbol: str = "AAPL", threshold: ExecutionThreshold = ONE_SHARE, at: datetime = EARLIER
) -> Initialized:
    return Initialized(symbol, threshold, at)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
