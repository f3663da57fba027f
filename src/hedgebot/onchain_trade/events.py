"""OnChainTrade events: the wire format of the reference (SPEC §3.3, §4.1).

Field order is JSON order. The reference's fields come first and are never renamed or
retyped; hedgebot's additions follow them and are left out of the payload while they
are ``None`` (`codec.EXTENSION`), so an event carrying only reference data is
byte-equal to the reference's payload and the reference ignores the extra keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from hedgebot.domain import Direction
from hedgebot.eventstore.codec import EXTENSION, Tagged
from hedgebot.eventstore.registry import EventRegistry

AGGREGATE_TYPE = "OnChainTrade"


@dataclass(frozen=True)
class PythPrice:
    """The Pyth oracle answer read from the transaction trace.

    ``value`` and ``conf`` are the raw integers of the oracle (scaled by
    ``10**expo``), carried as decimal strings as the reference does.
    """

    value: Decimal
    expo: int
    conf: Decimal
    publish_time: datetime

    @property
    def price(self) -> Decimal:
        """``value × 10^expo``: the price in dollars (the legacy ``pyth_price``)."""
        return self.value.scaleb(self.expo)

    @property
    def confidence(self) -> Decimal:
        """``conf × 10^expo`` (the legacy ``pyth_confidence``)."""
        return self.conf.scaleb(self.expo)


@dataclass(frozen=True)
class LegacyPyth:
    """The four Pyth columns of a legacy ``onchain_trades`` row, exactly as stored.

    The legacy bot stored ``price × 10^expo`` and ``conf × 10^expo`` as REALs; the
    import carries them as the REAL's shortest decimal form. Any subset may be NULL
    (a failed trace, or a row written by an older bot), so each is optional.
    """

    price: Decimal | None
    confidence: Decimal | None
    exponent: int | None
    publish_time: datetime | None

    def to_pyth_price(self) -> PythPrice | None:
        """The reference's `PythPrice`, when all four columns are present."""
        if (
            self.price is None
            or self.confidence is None
            or self.exponent is None
            or self.publish_time is None
        ):
            return None
        return PythPrice(
            value=self.price.scaleb(-self.exponent),
            expo=self.exponent,
            conf=self.confidence.scaleb(-self.exponent),
            publish_time=self.publish_time,
        )


class OnChainTradeEvent(Tagged, root=True):
    pass


@dataclass(frozen=True)
class Filled(OnChainTradeEvent):
    """The chain follower saw an owner's order filled in a confirmed block."""

    symbol: str
    amount: Decimal
    direction: Direction
    price_usdc: Decimal
    block_number: int
    block_timestamp: datetime
    filled_at: datetime


@dataclass(frozen=True)
class Enriched(OnChainTradeEvent):
    """Receipt and trace data added after the fill (never blocks hedging)."""

    gas_used: int
    pyth_price: PythPrice
    enriched_at: datetime
    # hedgebot: the receipt's effectiveGasPrice (wei)
    effective_gas_price: int | None = field(default=None, metadata=EXTENSION)


# Legacy columns that were NULL although the reference field needs a value (it then
# holds a stand-in); the view shows NULL for them, as the legacy table did.
LEGACY_NULL_BLOCK_TIMESTAMP = "block_timestamp"
LEGACY_NULL_CREATED_AT = "created_at"


@dataclass(frozen=True)
class Migrated(OnChainTradeEvent):
    """A trade imported from the legacy ``onchain_trades`` table (history, not news)."""

    symbol: str
    amount: Decimal
    direction: Direction
    price_usdc: Decimal
    block_number: int
    block_timestamp: datetime
    gas_used: int | None
    pyth_price: PythPrice | None
    migrated_at: datetime
    # hedgebot additions: what the view needs to reproduce the legacy row exactly
    legacy_id: int | None = field(default=None, metadata=EXTENSION)
    created_at: datetime | None = field(default=None, metadata=EXTENSION)
    effective_gas_price: int | None = field(default=None, metadata=EXTENSION)
    legacy_pyth: LegacyPyth | None = field(default=None, metadata=EXTENSION)
    legacy_nulls: tuple[str, ...] | None = field(default=None, metadata=EXTENSION)


ONCHAIN_TRADE_EVENTS = EventRegistry(AGGREGATE_TYPE, OnChainTradeEvent, prefix="OnChainTradeEvent")

__all__ = [
    "AGGREGATE_TYPE",
    "LEGACY_NULL_BLOCK_TIMESTAMP",
    "LEGACY_NULL_CREATED_AT",
    "ONCHAIN_TRADE_EVENTS",
    "Enriched",
    "Filled",
    "LegacyPyth",
    "Migrated",
    "OnChainTradeEvent",
    "PythPrice",
]
