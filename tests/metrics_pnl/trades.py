"""Small builders of PnL engine trades for the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hedgebot.domain import Direction
from hedgebot.metrics_pnl.fifo import Trade

T0 = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
BUY = Direction.BUY
SELL = Direction.SELL


def tx_hash(n: int) -> str:
    return "0x" + f"{n:064x}"


def onchain(
    n: int,
    direction: Direction,
    quantity: str,
    price: str,
    *,
    seconds: float | None = None,
    symbol: str = "AAPL",
    log_index: int = 0,
) -> Trade:
    """Onchain trade number ``n`` at T0 + ``seconds`` (default: n seconds)."""
    return Trade.onchain(
        symbol=symbol,
        tx_hash=tx_hash(n),
        log_index=log_index,
        block_number=1000 + n,
        direction=direction,
        quantity=Decimal(quantity),
        price=Decimal(price),
        traded_at=T0 + timedelta(seconds=n if seconds is None else seconds),
    )


def offchain(
    execution_id: int,
    direction: Direction,
    quantity: str,
    price_cents: int,
    *,
    seconds: float,
    symbol: str = "AAPL",
) -> Trade:
    return Trade.offchain(
        symbol=symbol,
        execution_id=execution_id,
        direction=direction,
        quantity=Decimal(quantity),
        price_cents=price_cents,
        traded_at=T0 + timedelta(seconds=seconds),
    )
