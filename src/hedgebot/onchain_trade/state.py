"""The OnChainTrade aggregate: one owner fill on chain; id ``0x<64 hex>:<log_index>``.

A trade is witnessed (or migrated) once, then enriched at most once. A second
`Witness` is the distinct `AlreadyFilled` error, which the chain follower treats as
"already recorded": replaying a block range never records a fill twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from hedgebot.domain import (
    Direction,
    DomainError,
    NotTokenizedEquity,
    base_symbol,
    validate_symbol,
)
from hedgebot.eventstore.aggregate import Aggregate, DecideContext
from hedgebot.eventstore.codec import Tagged
from hedgebot.onchain_trade.commands import Enrich, Migrate, OnChainTradeCommand, Witness
from hedgebot.onchain_trade.events import (
    AGGREGATE_TYPE,
    LEGACY_NULL_BLOCK_TIMESTAMP,
    LEGACY_NULL_CREATED_AT,
    ONCHAIN_TRADE_EVENTS,
    Enriched,
    Filled,
    LegacyPyth,
    Migrated,
    PythPrice,
)

# ---------------------------------------------------------------------------
# errors


class OnChainTradeError(DomainError):
    """Base of the OnChainTrade aggregate's rejections."""


class AlreadyFilled(OnChainTradeError):
    """The trade is already recorded (witnessed or migrated): callers treat it as done."""


class NotFilled(OnChainTradeError):
    """Enrichment of a trade that has not been witnessed."""


class AlreadyEnriched(OnChainTradeError):
    """The trade already carries gas and Pyth data."""


class InvalidTradeInput(OnChainTradeError):
    """Base of the input validation errors (nothing is recorded)."""


class InvalidSymbol(InvalidTradeInput):
    pass


class InvalidAmount(InvalidTradeInput):
    pass


class InvalidPrice(InvalidTradeInput):
    pass


class InvalidBlock(InvalidTradeInput):
    pass


class InvalidTimestamp(InvalidTradeInput):
    pass


class InvalidEnrichment(InvalidTradeInput):
    pass


class InvalidLegacyRow(InvalidTradeInput):
    pass


# ---------------------------------------------------------------------------
# state


@dataclass(frozen=True)
class Enrichment:
    gas_used: int
    pyth_price: PythPrice
    enriched_at: datetime
    effective_gas_price: int | None = None


@dataclass(frozen=True)
class Trade:
    symbol: str
    amount: Decimal
    direction: Direction
    price_usdc: Decimal
    block_number: int
    block_timestamp: datetime
    filled_at: datetime
    migrated: bool
    enrichment: Enrichment | None = None


@dataclass(frozen=True)
class OnChainTradeState:
    """``trade`` is None until the trade is witnessed or migrated."""

    trade: Trade | None = None


# ---------------------------------------------------------------------------
# validation


def _check_aware(name: str, value: datetime | None) -> None:
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise InvalidTimestamp(f"{name} must be a timezone-aware datetime, got {value!r}")


def _check_positive(name: str, value: Decimal, error: type[InvalidTradeInput]) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise error(f"{name} must be a positive decimal, got {value!r}")


# Gas figures share the legacy columns' range (a signed 64-bit INTEGER).
MAX_INT64 = 2**63 - 1


def _check_non_negative_int(name: str, value: int | None, error: type[InvalidTradeInput]) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT64:
        raise error(f"{name} must be an integer in 0..2^63-1, got {value!r}")


def _check_symbol(symbol: str, *, tokenized: bool) -> None:
    try:
        validate_symbol(symbol)
        if tokenized:
            base_symbol(symbol)
    except NotTokenizedEquity as exc:
        raise InvalidSymbol(f"{exc}: a witnessed trade needs the tokenized symbol") from None
    except (ValueError, TypeError) as exc:
        raise InvalidSymbol(str(exc)) from None


def _check_trade_fields(
    symbol: str, amount: Decimal, price_usdc: Decimal, block_number: int, *, tokenized: bool
) -> None:
    _check_symbol(symbol, tokenized=tokenized)
    _check_positive("amount", amount, InvalidAmount)
    _check_positive("price_usdc", price_usdc, InvalidPrice)
    _check_non_negative_int("block_number", block_number, InvalidBlock)


def _check_pyth(pyth: PythPrice) -> None:
    if not isinstance(pyth, PythPrice):
        raise InvalidEnrichment(f"pyth_price must be a PythPrice, got {pyth!r}")
    if not pyth.value.is_finite() or not pyth.conf.is_finite() or pyth.conf < 0:
        raise InvalidEnrichment(
            f"Pyth value must be finite and confidence non-negative, got {pyth.value} ± {pyth.conf}"
        )
    if isinstance(pyth.expo, bool) or not isinstance(pyth.expo, int):
        raise InvalidEnrichment(f"Pyth exponent must be an integer, got {pyth.expo!r}")
    try:
        _check_aware("pyth publish_time", pyth.publish_time)
    except InvalidTimestamp as exc:
        raise InvalidEnrichment(str(exc)) from None


def _check_legacy_pyth(pyth: LegacyPyth) -> None:
    for name, value in (("pyth_price", pyth.price), ("pyth_confidence", pyth.confidence)):
        if value is not None and not value.is_finite():
            raise InvalidLegacyRow(f"{name} must be finite, got {value!r}")
    if pyth.confidence is not None and pyth.confidence < 0:
        raise InvalidLegacyRow(f"pyth_confidence must be >= 0, got {pyth.confidence}")
    if pyth.exponent is not None and (
        isinstance(pyth.exponent, bool) or not isinstance(pyth.exponent, int)
    ):
        raise InvalidLegacyRow(f"pyth_exponent must be an integer, got {pyth.exponent!r}")
    _check_aware("pyth_publish_time", pyth.publish_time)


# ---------------------------------------------------------------------------
# decide


def _already_filled(trade: Trade) -> AlreadyFilled:
    origin = "migrated" if trade.migrated else "witnessed"
    return AlreadyFilled(
        f"trade already {origin}: {trade.direction.legacy} {trade.amount} {trade.symbol} "
        f"@ {trade.price_usdc} in block {trade.block_number}"
    )


def _witness(state: OnChainTradeState, command: Witness, ctx: DecideContext) -> list[Tagged]:
    if state.trade is not None:
        raise _already_filled(state.trade)
    _check_trade_fields(
        command.symbol, command.amount, command.price_usdc, command.block_number, tokenized=True
    )
    _check_aware("block_timestamp", command.block_timestamp)
    return [
        Filled(
            symbol=command.symbol,
            amount=command.amount,
            direction=command.direction,
            price_usdc=command.price_usdc,
            block_number=command.block_number,
            block_timestamp=command.block_timestamp,
            filled_at=ctx.now,
        )
    ]


def _enrich(state: OnChainTradeState, command: Enrich, ctx: DecideContext) -> list[Tagged]:
    if state.trade is None:
        raise NotFilled("cannot enrich a trade that has not been filled yet")
    if state.trade.enrichment is not None:
        raise AlreadyEnriched(
            f"trade was already enriched at {state.trade.enrichment.enriched_at.isoformat()}"
        )
    _check_non_negative_int("gas_used", command.gas_used, InvalidEnrichment)
    _check_non_negative_int("effective_gas_price", command.effective_gas_price, InvalidEnrichment)
    _check_pyth(command.pyth_price)
    return [
        Enriched(
            gas_used=command.gas_used,
            pyth_price=command.pyth_price,
            enriched_at=ctx.now,
            effective_gas_price=command.effective_gas_price,
        )
    ]


def _migrate(state: OnChainTradeState, command: Migrate, ctx: DecideContext) -> list[Tagged]:
    if state.trade is not None:
        raise _already_filled(state.trade)
    _check_trade_fields(
        command.symbol, command.amount, command.price_usdc, command.block_number, tokenized=False
    )
    _check_aware("block_timestamp", command.block_timestamp)
    _check_aware("created_at", command.created_at)
    _check_non_negative_int("gas_used", command.gas_used, InvalidLegacyRow)
    _check_non_negative_int("effective_gas_price", command.effective_gas_price, InvalidLegacyRow)
    if command.legacy_id is not None and (
        isinstance(command.legacy_id, bool)
        or not isinstance(command.legacy_id, int)
        or command.legacy_id <= 0
    ):
        raise InvalidLegacyRow(f"legacy id must be a positive integer, got {command.legacy_id!r}")
    if command.pyth_price is not None:
        _check_pyth(command.pyth_price)
    legacy_pyth = command.legacy_pyth
    if legacy_pyth is not None:
        _check_legacy_pyth(legacy_pyth)
        if all(
            v is None
            for v in (
                legacy_pyth.price,
                legacy_pyth.confidence,
                legacy_pyth.exponent,
                legacy_pyth.publish_time,
            )
        ):
            legacy_pyth = None
    pyth_price = command.pyth_price
    if pyth_price is None and legacy_pyth is not None:
        pyth_price = legacy_pyth.to_pyth_price()

    nulls: list[str] = []
    block_timestamp = command.block_timestamp
    if block_timestamp is None:
        # The reference needs a timestamp; it used created_at for every row.
        nulls.append(LEGACY_NULL_BLOCK_TIMESTAMP)
        block_timestamp = command.created_at or ctx.now
    if command.created_at is None:
        nulls.append(LEGACY_NULL_CREATED_AT)
    return [
        Migrated(
            symbol=command.symbol,
            amount=command.amount,
            direction=command.direction,
            price_usdc=command.price_usdc,
            block_number=command.block_number,
            block_timestamp=block_timestamp,
            gas_used=command.gas_used,
            pyth_price=pyth_price,
            migrated_at=ctx.now,
            legacy_id=command.legacy_id,
            created_at=command.created_at,
            effective_gas_price=command.effective_gas_price,
            legacy_pyth=legacy_pyth,
            legacy_nulls=tuple(nulls) or None,
        )
    ]


def decide(
    state: OnChainTradeState, command: OnChainTradeCommand, ctx: DecideContext
) -> Sequence[Tagged]:
    if isinstance(command, Witness):
        return _witness(state, command, ctx)
    if isinstance(command, Enrich):
        return _enrich(state, command, ctx)
    if isinstance(command, Migrate):
        return _migrate(state, command, ctx)
    raise TypeError(f"not an OnChainTrade command: {command!r}")


# ---------------------------------------------------------------------------
# evolve


def evolve(state: OnChainTradeState, event: Any) -> OnChainTradeState:
    """Fold one event. Never raises: an event that cannot apply leaves the state as is."""
    if isinstance(event, Filled):
        if state.trade is not None:
            return state
        return OnChainTradeState(
            Trade(
                symbol=event.symbol,
                amount=event.amount,
                direction=event.direction,
                price_usdc=event.price_usdc,
                block_number=event.block_number,
                block_timestamp=event.block_timestamp,
                filled_at=event.filled_at,
                migrated=False,
            )
        )
    if isinstance(event, Migrated):
        if state.trade is not None:
            return state
        enrichment = None
        if event.gas_used is not None and event.pyth_price is not None:
            enrichment = Enrichment(
                event.gas_used, event.pyth_price, event.migrated_at, event.effective_gas_price
            )
        return OnChainTradeState(
            Trade(
                symbol=event.symbol,
                amount=event.amount,
                direction=event.direction,
                price_usdc=event.price_usdc,
                block_number=event.block_number,
                block_timestamp=event.block_timestamp,
                filled_at=event.block_timestamp,
                migrated=True,
                enrichment=enrichment,
            )
        )
    if isinstance(event, Enriched):
        if state.trade is None:
            return state
        enrichment = Enrichment(
            event.gas_used, event.pyth_price, event.enriched_at, event.effective_gas_price
        )
        return OnChainTradeState(replace(state.trade, enrichment=enrichment))
    return state


ONCHAIN_TRADE = Aggregate[OnChainTradeState, OnChainTradeCommand](
    aggregate_type=AGGREGATE_TYPE,
    events=ONCHAIN_TRADE_EVENTS,
    state_type=OnChainTradeState,
    initial_state=OnChainTradeState,
    decide=decide,
    evolve=evolve,
)
