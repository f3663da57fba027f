"""Validated legacy rows: every cell checked, converted to hedgebot's types.

These are plain values (no event-store types) so that validation, the dry-run report
and verification do not depend on the aggregates. `mapping` turns them into events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from hedgebot.domain import Broker, Direction


@dataclass(frozen=True, slots=True)
class LegacyTrade:
    """One ``onchain_trades`` row."""

    legacy_id: int
    tx_hash: str  # 0x + 64 lowercase hex
    log_index: int
    symbol: str  # tokenized, as onchain (e.g. AAPL0x)
    base_symbol: str
    amount: Decimal
    direction: Direction
    price_usdc: Decimal
    created_at: datetime | None
    block_timestamp: datetime | None
    block_number: int | None  # from the legacy event_queue, when it still has the log
    gas_used: int | None
    effective_gas_price: int | None
    pyth_price: Decimal | None
    pyth_confidence: Decimal | None
    pyth_exponent: int | None
    pyth_publish_time: datetime | None

    @property
    def aggregate_id(self) -> str:
        return f"{self.tx_hash}:{self.log_index}"

    @property
    def occurred_at(self) -> datetime:
        """When the fill happened: the block time, else the legacy row's creation time."""
        moment = self.block_timestamp or self.created_at
        assert moment is not None  # validation guarantees one of them
        return moment


class OrderStatus:
    PENDING = "PENDING"
    SUBMITTED = "SUBMITTED"
    FILLED = "FILLED"
    FAILED = "FAILED"
    ALL = (PENDING, SUBMITTED, FILLED, FAILED)


@dataclass(frozen=True, slots=True)
class LegacyOrder:
    """One ``offchain_trades`` (or older ``schwab_executions``) row."""

    legacy_id: int
    symbol: str  # base symbol
    shares: int
    direction: Direction
    broker: Broker
    broker_order_id: str | None  # broker_order_id, else the legacy order_id column
    price_cents: int | None
    status: str  # one of OrderStatus.ALL
    executed_at: datetime | None

    @property
    def aggregate_id(self) -> str:
        return str(self.legacy_id)


@dataclass(frozen=True, slots=True)
class LegacyPosition:
    """One ``trade_accumulators`` row."""

    symbol: str
    net_position: Decimal | None  # the legacy column as stored (None when the layout lacks it)
    accumulated_long: Decimal
    accumulated_short: Decimal
    pending_execution_id: int | None
    last_updated: datetime

    @property
    def aggregate_id(self) -> str:
        return self.symbol


@dataclass(frozen=True, slots=True)
class LegacyAuth:
    """The ``schwab_auth`` singleton: tokens as stored (AES-256-GCM, hex, no ``0x``)."""

    access_token: bytes
    access_token_fetched_at: datetime
    refresh_token: bytes
    refresh_token_fetched_at: datetime

    def __repr__(self) -> str:  # never print token bytes
        return (
            f"LegacyAuth(access_token=<{len(self.access_token)} bytes>, "
            f"access_token_fetched_at={self.access_token_fetched_at.isoformat()}, "
            f"refresh_token=<{len(self.refresh_token)} bytes>, "
            f"refresh_token_fetched_at={self.refresh_token_fetched_at.isoformat()})"
        )


@dataclass
class LegacyData:
    """Everything read from the legacy database, validated."""

    trades: list[LegacyTrade]
    positions: list[LegacyPosition]
    orders: list[LegacyOrder]
    auth: LegacyAuth | None
    offchain_table: str
    max_execution_id: int
    #: notes for the report (skipped plaintext tokens, truncated digits, …)
    notes: list[str]
    #: the raw legacy rows by key (trade id, order id, position symbol), for verification
    raw_trades: dict[int, tuple[object, ...]] = field(default_factory=dict)
    raw_orders: dict[int, tuple[object, ...]] = field(default_factory=dict)
    raw_positions: dict[str, tuple[object, ...]] = field(default_factory=dict)

    def status_breakdown(self) -> dict[str, int]:
        counts = dict.fromkeys(OrderStatus.ALL, 0)
        for order in self.orders:
            counts[order.status] += 1
        return counts
