"""Position commands (SPEC §4.2), frozen dataclasses. Time and ids never travel here:
``now`` and execution ids come from the handler's `DecideContext`.

`AcknowledgeOnChainFill` and `PlaceOffChainOrder` carry what `decide` needs to place
a hedge in the same decision: the broker, how finely it sizes orders and (for the
fill) the default threshold used when the symbol has no position yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from hedgebot.domain import Broker, Direction, TradeId
from hedgebot.position.events import ExecutionThreshold, Shares

#: The reference's default threshold (``ExecutionThreshold::whole_share()``).
WHOLE_SHARE: ExecutionThreshold = Shares(Decimal(1))


class PositionCommand:
    """Base of every command the Position aggregate accepts."""


@dataclass(frozen=True)
class Initialize(PositionCommand):
    symbol: str
    threshold: ExecutionThreshold


@dataclass(frozen=True)
class AcknowledgeOnChainFill(PositionCommand):
    """An onchain fill of ours for this base symbol (sent by the TradeManager).

    ``fractional_decimals``: ``None`` when the broker takes whole shares only
    (Schwab), else the decimal places of its fractional orders (Alpaca: 9).
    ``hedging_allowed``: ``False`` while the broker's market is closed; the fill is
    then recorded without a placement and the position checker hedges the whole
    accumulated exposure at the open (SPEC §6), instead of freezing an order for
    whatever crossed first while later fills wait behind it. ``True`` (the default)
    is safe too: the OrderManager only sends while the market is open.
    """

    symbol: str
    trade_id: TradeId
    amount: Decimal
    direction: Direction
    price_usdc: Decimal
    block_timestamp: datetime
    broker: Broker
    default_threshold: ExecutionThreshold = WHOLE_SHARE
    fractional_decimals: int | None = None
    hedging_allowed: bool = True


@dataclass(frozen=True)
class PlaceOffChainOrder(PositionCommand):
    """The position checker's command: hedge now if the threshold is met.

    Size and direction are decided from the position, and the execution id is
    allocated by `decide` from the store counter.
    """

    broker: Broker
    fractional_decimals: int | None = None


@dataclass(frozen=True)
class CompleteOffChainOrder(PositionCommand):
    """The pending hedge finished at the broker; ``shares_filled`` is what actually filled
    (less than placed for a partial fill), and net moves by exactly that."""

    execution_id: int
    shares_filled: Decimal
    direction: Direction
    broker_order_id: str
    price_cents: int
    broker_timestamp: datetime


@dataclass(frozen=True)
class FailOffChainOrder(PositionCommand):
    execution_id: int
    error: str


@dataclass(frozen=True)
class UpdateThreshold(PositionCommand):
    """Operator change of the threshold; also lifts a hedging suspension."""

    threshold: ExecutionThreshold


@dataclass(frozen=True)
class ResumeHedging(PositionCommand):
    """Operator acknowledgement after repeated hedge failures: hedge automatically again.

    Recorded as a `ThresholdUpdated` with the unchanged threshold, so the history
    stays readable by the reference (which has no event for it).
    """


@dataclass(frozen=True)
class Migrate(PositionCommand):
    """Genesis from a legacy ``trade_accumulators`` row (see `events.Migrated`)."""

    symbol: str
    net_position: Decimal
    accumulated_long: Decimal
    accumulated_short: Decimal
    threshold: ExecutionThreshold
    pending_execution_id: int | None = None
    last_updated: datetime | None = None
    legacy_net_position: Decimal | None = None


__all__ = [
    "WHOLE_SHARE",
    "AcknowledgeOnChainFill",
    "CompleteOffChainOrder",
    "FailOffChainOrder",
    "Initialize",
    "Migrate",
    "PlaceOffChainOrder",
    "PositionCommand",
    "ResumeHedging",
    "UpdateThreshold",
]
