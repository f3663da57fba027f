"""Position events and value types, on the reference's wire format (SPEC §3.3, §4.2).

Field order is JSON order and must not change: the payloads are byte-equal to what
the Rust reference writes (`reference/es-and-migration.md` §2.3). hedgebot-only
fields go after the reference's fields and are left out of the JSON while they are
``None``, so an event that carries nothing extra stays byte-equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from hedgebot.domain import Broker, Direction, TradeId
from hedgebot.eventstore import EventRegistry, Tagged
from hedgebot.eventstore.codec import EXTENSION

#: The store counter execution ids are allocated from (shared with the OffchainOrder
#: aggregate, whose id is the execution id; the legacy import raises it above every
#: migrated id).
EXECUTION_ID_COUNTER = "execution_id"


class ExecutionThreshold(Tagged, root=True):
    """When a position is big enough to hedge: ``{"Shares":"1"}`` or ``{"DollarValue":"1.00"}``."""

    value: Decimal


@dataclass(frozen=True)
class Shares(ExecutionThreshold, newtype=True):
    """Hedge once |net| reaches this many shares (whole-share brokers)."""

    value: Decimal


@dataclass(frozen=True)
class DollarValue(ExecutionThreshold, newtype=True):
    """Hedge once |net| x last onchain price reaches this many dollars (fractional brokers)."""

    value: Decimal


class TriggerReason(Tagged, root=True):
    """Why a hedge was placed, recorded in `OffChainOrderPlaced`."""


@dataclass(frozen=True)
class SharesThreshold(TriggerReason):
    net_position_shares: Decimal
    threshold_shares: Decimal


@dataclass(frozen=True)
class DollarThreshold(TriggerReason):
    net_position_shares: Decimal
    dollar_value: Decimal
    price_usdc: Decimal
    threshold_dollars: Decimal


class PositionEvent(Tagged, root=True):
    pass


@dataclass(frozen=True)
class Migrated(PositionEvent):
    """Genesis from a legacy ``trade_accumulators`` row (history, never news).

    ``pending_execution_id`` and ``last_updated`` are hedgebot additions (the
    reference drops both): the legacy order still open is reconciled at startup and
    completes against this position, and the view keeps the legacy timestamp.
    """

    symbol: str
    net_position: Decimal
    accumulated_long: Decimal
    accumulated_short: Decimal
    threshold: ExecutionThreshold
    migrated_at: datetime
    pending_execution_id: int | None = field(default=None, metadata=EXTENSION)
    last_updated: datetime | None = field(default=None, metadata=EXTENSION)
    # hedgebot (legacy import): the legacy ``net_position`` column as stored, kept for
    # audit only; it went stale in the legacy bot, ``net_position`` is recomputed
    legacy_net_position: Decimal | None = field(default=None, metadata=EXTENSION)


@dataclass(frozen=True)
class Initialized(PositionEvent):
    symbol: str
    threshold: ExecutionThreshold
    initialized_at: datetime


@dataclass(frozen=True)
class OnChainOrderFilled(PositionEvent):
    trade_id: TradeId
    amount: Decimal
    direction: Direction
    price_usdc: Decimal
    block_timestamp: datetime
    seen_at: datetime


@dataclass(frozen=True)
class OffChainOrderPlaced(PositionEvent):
    execution_id: int
    shares: Decimal
    direction: Direction
    broker: Broker
    trigger_reason: TriggerReason
    placed_at: datetime


@dataclass(frozen=True)
class OffChainOrderFilled(PositionEvent):
    execution_id: int
    shares_filled: Decimal
    direction: Direction
    broker_order_id: str
    price_cents: int
    broker_timestamp: datetime


@dataclass(frozen=True)
class OffChainOrderFailed(PositionEvent):
    execution_id: int
    error: str
    failed_at: datetime


@dataclass(frozen=True)
class ThresholdUpdated(PositionEvent):
    old_threshold: ExecutionThreshold
    new_threshold: ExecutionThreshold
    updated_at: datetime


POSITION_EVENTS = EventRegistry("Position", PositionEvent, prefix="PositionEvent")

__all__ = [
    "EXECUTION_ID_COUNTER",
    "POSITION_EVENTS",
    "DollarThreshold",
    "DollarValue",
    "ExecutionThreshold",
    "Initialized",
    "Migrated",
    "OffChainOrderFailed",
    "OffChainOrderFilled",
    "OffChainOrderPlaced",
    "OnChainOrderFilled",
    "PositionEvent",
    "Shares",
    "SharesThreshold",
    "ThresholdUpdated",
    "TradeId",
    "TriggerReason",
]
