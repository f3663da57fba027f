"""The broker port: one small async protocol every broker adapter implements (SPEC §8).

Placement is idempotent on a caller-chosen key (derived from the execution id), so
the order manager can re-place after a crash or a timeout without risking a second
order: the adapter returns the existing order for a key it has seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Protocol

from hedgebot.brokers.errors import OrderRejected
from hedgebot.domain import Broker, Direction


class OrderState(Enum):
    PENDING = "pending"  # known to the broker, not yet working (awaiting review, …)
    SUBMITTED = "submitted"  # working at the broker, nothing filled yet
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    FAILED = "failed"  # rejected or otherwise dead without a fill decision of ours
    CANCELLED = "cancelled"  # cancelled or expired; may carry a partial fill

    @property
    def is_final(self) -> bool:
        return self in (OrderState.FILLED, OrderState.FAILED, OrderState.CANCELLED)


def price_to_cents(price: Decimal) -> int:
    """Dollars to whole cents, half away from zero (the reference's ``round``)."""
    return int((price * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class OrderStatus:
    """One reading of an order at the broker.

    ``average_fill_price`` is the volume-weighted average over the fills so far
    (None before the first fill); ``broker_timestamp`` is the broker's time of the
    last change it reported (fill or close time), or None when it gave none.
    """

    order_id: str
    state: OrderState
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    error_reason: str | None = None
    broker_timestamp: datetime | None = None

    @property
    def average_fill_price_cents(self) -> int | None:
        if self.average_fill_price is None:
            return None
        return price_to_cents(self.average_fill_price)


@dataclass(frozen=True)
class MarketClock:
    """Whether the broker's regular session is open at ``as_of``, and the next edges."""

    as_of: datetime
    is_open: bool
    next_open: datetime | None
    next_close: datetime | None


class BrokerPort(Protocol):
    """What the order manager needs from a broker. All I/O is async and non-blocking."""

    @property
    def kind(self) -> Broker: ...

    @property
    def quantity_increment(self) -> Decimal:
        """Smallest order quantity step: 1 for whole-share brokers."""
        ...

    async def place_market_order(
        self, symbol: str, quantity: Decimal, side: Direction, idempotency_key: str
    ) -> str:
        """Place (or find the already placed) market order for ``idempotency_key``.

        Returns the broker's order id. Raises `MarketClosed` without sending anything
        when the market is closed, `OrderRejected` when the order is refused,
        `BrokerUnavailable` when the broker stays unreachable after retries,
        `AuthExpired` when an operator must re-authenticate.
        """
        ...

    async def get_order_status(self, order_id: str) -> OrderStatus: ...

    async def market_clock(self) -> MarketClock: ...

    async def cancel_order(self, order_id: str) -> None: ...

    async def aclose(self) -> None: ...


def check_order_request(symbol: str, quantity: Decimal, idempotency_key: str) -> None:
    """Input checks every adapter shares; a bad request never reaches a broker."""
    if not symbol or symbol != symbol.strip() or not symbol.isascii():
        raise OrderRejected(f"invalid symbol {symbol!r}")
    if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
        raise OrderRejected(f"order quantity must be a positive Decimal, got {quantity!r}")
    if not idempotency_key or len(idempotency_key) > 128:
        raise OrderRejected("idempotency key must be 1 to 128 characters")
