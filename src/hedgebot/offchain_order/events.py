"""OffchainOrder events: the wire format of the reference (SPEC §3.3, §4.3).

Field order is JSON order. hedgebot's one addition (`Filled.shares_filled`, the filled
quantity when the broker filled less than asked) follows the reference's fields and is
left out of the payload while it is ``None``, so reference-shaped events are
byte-equal to the reference's payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from hedgebot.domain import Broker, Direction
from hedgebot.eventstore.codec import EXTENSION, Tagged
from hedgebot.eventstore.registry import EventRegistry

AGGREGATE_TYPE = "OffchainOrder"


class MigratedOrderStatus(Tagged, root=True):
    """The legacy ``offchain_trades.status`` of an imported order."""


@dataclass(frozen=True)
class MigratedPending(MigratedOrderStatus, variant="Pending"):
    pass


@dataclass(frozen=True)
class MigratedSubmitted(MigratedOrderStatus, variant="Submitted"):
    pass


@dataclass(frozen=True)
class MigratedFilled(MigratedOrderStatus, variant="Filled"):
    pass


@dataclass(frozen=True)
class MigratedFailed(MigratedOrderStatus, variant="Failed"):
    error: str


class OffchainOrderEvent(Tagged, root=True):
    pass


@dataclass(frozen=True)
class Placed(OffchainOrderEvent):
    """A hedge order exists for this execution id; nothing has been sent yet."""

    symbol: str
    shares: Decimal
    direction: Direction
    broker: Broker
    placed_at: datetime


@dataclass(frozen=True)
class Submitted(OffchainOrderEvent):
    """The broker accepted the order under ``broker_order_id``."""

    broker_order_id: str
    submitted_at: datetime


@dataclass(frozen=True)
class PartiallyFilled(OffchainOrderEvent):
    shares_filled: Decimal
    avg_price_cents: int
    partially_filled_at: datetime


@dataclass(frozen=True)
class Filled(OffchainOrderEvent):
    price_cents: int
    filled_at: datetime
    # hedgebot: the filled quantity when the broker filled less than the order's shares
    shares_filled: Decimal | None = field(default=None, metadata=EXTENSION)


@dataclass(frozen=True)
class Failed(OffchainOrderEvent):
    error: str
    failed_at: datetime


@dataclass(frozen=True)
class Migrated(OffchainOrderEvent):
    """An order imported from the legacy ``offchain_trades`` table (history, not news)."""

    symbol: str
    shares: Decimal
    direction: Direction
    broker: Broker
    status: MigratedOrderStatus
    broker_order_id: str | None
    price_cents: int | None
    executed_at: datetime | None
    migrated_at: datetime


OFFCHAIN_ORDER_EVENTS = EventRegistry(
    AGGREGATE_TYPE, OffchainOrderEvent, prefix="OffchainOrderEvent"
)

__all__ = [
    "AGGREGATE_TYPE",
    "OFFCHAIN_ORDER_EVENTS",
    "Failed",
    "Filled",
    "Migrated",
    "MigratedFailed",
    "MigratedFilled",
    "MigratedOrderStatus",
    "MigratedPending",
    "MigratedSubmitted",
    "OffchainOrderEvent",
    "PartiallyFilled",
    "Placed",
    "Submitted",
]
