"""Request and response models of the REST API (they make the OpenAPI document).

Decimals travel as strings (``"12.5"``), times as RFC 3339 UTC strings with ``Z``:
a client never has to parse money into a binary float.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

#: a positive decimal in plain notation (at least one non-zero digit)
DECIMAL_PATTERN = (
    r"^([0-9]{0,14}[1-9][0-9]{0,14}(\.[0-9]{1,18})?|[0-9]{1,15}\.[0-9]{0,17}[1-9][0-9]{0,17})$"
)
SYMBOL_PATTERN = r"^[A-Za-z][A-Za-z0-9.\-]{0,15}$"
#: a broker ticker, any case (see `hedgebot.operator.actions.check_manual_order`)
TICKER_PATTERN = r"^[A-Za-z][A-Za-z0-9.\-]{0,9}$"

_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def _rfc3339_text(value: object) -> object:
    """Only RFC 3339 text with an offset: no Unix numbers, no naive local times."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2025-01-07T15:00:00Z")
    return value


#: a request's time: RFC 3339 with an offset (``Z`` or ``+hh:mm``)
RequestTime = Annotated[datetime, BeforeValidator(_rfc3339_text)]

Dec = str  # a decimal number in plain notation
Time = str  # RFC 3339, UTC, ``Z``


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(_Model):
    """An error: what went wrong, in one sentence."""

    detail: str


class Trade(_Model):
    trade_id: str = Field(description="tx_hash:log_index, the OnChainTrade id")
    tx_hash: str
    log_index: int
    symbol: str = Field(description="as seen onchain (tAAPL)")
    base_symbol: str
    direction: Literal["BUY", "SELL"]
    amount: Dec
    price_usdc: Dec
    block_number: int
    block_timestamp: Time | None
    created_at: Time | None
    gas_used: int | None
    effective_gas_price: int | None
    pyth_price: Dec | None
    pyth_confidence: Dec | None
    pyth_exponent: int | None
    pyth_publish_time: Time | None
    enriched_at: Time | None
    migrated: bool
    legacy_id: int | None


class Page(_Model):
    total: int = Field(description="rows matching the filters")
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last")


class TradePage(Page):
    items: list[Trade]


class Threshold(_Model):
    kind: Literal["shares", "dollars"]
    value: Dec


class Position(_Model):
    symbol: str | None
    net: Dec
    accumulated_long: Dec
    accumulated_short: Dec
    last_price_usdc: Dec | None
    exposure_usdc: Dec | None = Field(description="net x last onchain price")
    threshold: Threshold | None
    pending_execution_id: int | None
    pending_shares: Dec | None
    pending_direction: Literal["BUY", "SELL"] | None
    hedging_suspended: bool
    consecutive_failures: int
    last_error: str | None
    last_updated: Time | None


class PositionList(_Model):
    items: list[Position]


class Order(_Model):
    execution_id: int
    symbol: str
    direction: Literal["BUY", "SELL"]
    shares: Dec
    shares_filled: Dec
    broker: Literal["schwab", "alpaca", "dry_run"]
    broker_order_id: str | None
    status: Literal["PENDING", "SUBMITTED", "FILLED", "FAILED"]
    state: str = Field(description="exact lifecycle state (PartiallyFilled included)")
    price_cents: int | None
    avg_price_cents: int | None
    placed_at: Time | None
    submitted_at: Time | None
    executed_at: Time | None
    error: str | None
    migrated: bool


class OrderPage(Page):
    items: list[Order]


class OrderCounts(_Model):
    PENDING: int
    SUBMITTED: int
    FILLED: int
    FAILED: int


class PlacedOrder(Order):
    note: str | None = Field(description="what the caller should know (cancelled, unconfirmed)")


class PnlRow(_Model):
    symbol: str
    timestamp: str = Field(description="YYYY-MM-DD HH:MM:SS UTC (legacy format)")
    traded_at: Time
    trade_type: Literal["ONCHAIN", "OFFCHAIN"]
    trade_id: str
    trade_direction: Literal["BUY", "SELL"]
    quantity: Dec
    price_per_share: Dec
    realized_pnl: Dec | None
    cumulative_pnl: Dec
    net_position_after: Dec


class PnlSymbol(_Model):
    symbol: str
    trades: int
    realized_pnl: Dec
    cumulative_pnl: Dec
    net_position: Dec
    last_trade_at: Time


class PnlSummary(_Model):
    since: Time | None
    total_realized_pnl: Dec
    symbols: list[PnlSymbol]


class PnlPage(Page):
    items: list[PnlRow]
    summary: PnlSummary


class Check(_Model):
    status: Literal["ok", "failing", "lagging", "unknown", "not_configured"]
    detail: str | None = None


class StoreCheck(Check):
    last_position: int | None = None


class ChainCheck(Check):
    checkpoint_block: int | None = None
    head_block: int | None = None
    lag_blocks: int | None = None
    max_lag_blocks: int


class BrokerCheck(Check):
    kind: str
    market_open: bool | None = None


class HealthChecks(_Model):
    store: StoreCheck
    chain: ChainCheck
    broker: BrokerCheck


class Health(_Model):
    status: Literal["ok", "degraded"]
    live: bool
    ready: bool
    timestamp: Time
    checks: HealthChecks


# -- requests ---------------------------------------------------------------------


class SharesThreshold(_Model):
    """Hedge once |net| reaches this many shares."""

    shares: str = Field(pattern=DECIMAL_PATTERN, examples=["5"])


class DollarsThreshold(_Model):
    """Hedge once |net| x the last onchain price reaches this many dollars."""

    dollars: str = Field(pattern=DECIMAL_PATTERN, examples=["1000.00"])


#: exactly one of ``{"shares": "5"}`` or ``{"dollars": "1000.00"}``
ThresholdRequest = SharesThreshold | DollarsThreshold


class OrderRequest(_Model):
    symbol: str = Field(
        pattern=TICKER_PATTERN,
        examples=["AAPL"],
        description="broker ticker (AAPL, not the tokenized tAAPL)",
    )
    quantity: str = Field(pattern=DECIMAL_PATTERN, examples=["1"])
    direction: Literal["BUY", "SELL"]
    wait_seconds: float = Field(
        default=10.0, ge=0, le=60, description="how long to follow the order before cancelling"
    )

    @model_validator(mode="after")
    def _positive(self) -> OrderRequest:
        if Decimal(self.quantity) <= 0:
            raise ValueError("the quantity must be positive")
        return self


class SchwabLoginRequest(_Model):
    redirect_url: str = Field(
        min_length=1,
        max_length=4096,
        description="the whole URL Schwab redirected the browser to (contains ?code=)",
    )


class SchwabLogin(_Model):
    status: Literal["authenticated"]
    access_expires_at: Time
    refresh_expires_at: Time
