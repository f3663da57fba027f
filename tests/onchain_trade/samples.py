"""Sample values shared by the OnChainTrade tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hedgebot.domain import Direction, TradeId
from hedgebot.onchain_trade.commands import Witness
from hedgebot.onchain_trade.events import Filled, PythPrice

TX = "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef"
TRADE_ID = TradeId(TX, 0)
BLOCK_TIME = datetime(2025, 11, 5, 12, 34, 56, tzinfo=UTC)
NOW = datetime(2025, 11, 5, 12, 35, 10, 123456, tzinfo=UTC)
LATER = datetime(2025, 11, 5, 12, 36, tzinfo=UTC)

PYTH = PythPrice(
    value=Decimal("150250000"),
    expo=-6,
    conf=Decimal("50000"),
    publish_time=datetime(2025, 11, 5, 12, 34, 50, tzinfo=UTC),
)


def witness(
    symbol: str = "tAAPL",
    amount: str = "10.5",
    direction: Direction = Direction.BUY,
    price: str = "150.25",
    block: int = 12345,
) -> Witness:
    return Witness(symbol, Decimal(amount), direction, Decimal(price), block, BLOCK_TIME)


def filled(
    symbol: str = "tAAPL",
    amount: str = "10.5",
    direction: Direction = Direction.BUY,
    price: str = "150.25",
    block: int = 12345,
    at: datetime = NOW,
) -> Filled:
    return Filled(symbol, Decimal(amount), direction, Decimal(price), block, BLOCK_TIME, at)
