"""OffchainOrder commands (SPEC §4.3). Time comes from the handler's clock (``ctx.now``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from hedgebot.domain import Broker, Direction
from hedgebot.offchain_order.events import MigratedOrderStatus


class OffchainOrderCommand:
    """Base of the commands accepted by the OffchainOrder aggregate."""


@dataclass(frozen=True)
class Place(OffchainOrderCommand):
    """Create the order for a hedge decided by its Position (``symbol`` = base symbol)."""

    symbol: str
    shares: Decimal
    direction: Direction
    broker: Broker


@dataclass(frozen=True)
class ConfirmSubmission(OffchainOrderCommand):
    broker_order_id: str


@dataclass(frozen=True)
class UpdatePartialFill(OffchainOrderCommand):
    shares_filled: Decimal
    avg_price_cents: int


@dataclass(frozen=True)
class CompleteFill(OffchainOrderCommand):
    """The order is done. ``shares_filled`` is given when the broker filled less than asked."""

    price_cents: int
    shares_filled: Decimal | None = None


@dataclass(frozen=True)
class MarkFailed(OffchainOrderCommand):
    error: str


@dataclass(frozen=True)
class Migrate(OffchainOrderCommand):
    """Import one legacy ``offchain_trades`` row (id = the aggregate id)."""

    symbol: str
    shares: Decimal
    direction: Direction
    broker: Broker
    status: MigratedOrderStatus
    broker_order_id: str | None
    price_cents: int | None
    executed_at: datetime | None


__all__ = [
    "CompleteFill",
    "ConfirmSubmission",
    "MarkFailed",
    "Migrate",
    "OffchainOrderCommand",
    "Place",
    "UpdatePartialFill",
]
