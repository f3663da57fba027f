"""The OffchainOrder aggregate: one broker order; id = the execution id (decimal string).

Lifecycle: (no order) → Pending → Submitted ⇄ PartiallyFilled → Filled, and any open
state → Failed. Filled and Failed are terminal. Unlike the reference, a migrated order
never gets an invented broker order id (``"unknown"``) or price (0): `decide` rejects
such rows, and events written elsewhere without them leave the field empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from hedgebot.domain import Broker, Direction, validate_symbol
from hedgebot.eventstore.aggregate import Aggregate, DecideContext
from hedgebot.eventstore.codec import Tagged
from hedgebot.offchain_order.commands import (
    CompleteFill,
    ConfirmSubmission,
    MarkFailed,
    Migrate,
    OffchainOrderCommand,
    Place,
    UpdatePartialFill,
)
from hedgebot.offchain_order.errors import (
    AlreadyCompleted,
    AlreadyPlaced,
    AlreadySubmitted,
    InvalidBrokerOrderId,
    InvalidFailureReason,
    InvalidFill,
    InvalidOrderInput,
    InvalidPrice,
    InvalidShares,
    InvalidSymbol,
    InvalidTimestamp,
    MissingBrokerOrderId,
    MissingPrice,
    NotPlaced,
    NotSubmitted,
    OffchainOrderError,
)
from hedgebot.offchain_order.events import (
    AGGREGATE_TYPE,
    OFFCHAIN_ORDER_EVENTS,
    Failed,
    Filled,
    Migrated,
    MigratedFailed,
    MigratedFilled,
    MigratedOrderStatus,
    MigratedPending,
    MigratedSubmitted,
    PartiallyFilled,
    Placed,
    Submitted,
)

# ---------------------------------------------------------------------------
# state


class OffchainOrderState(Tagged, root=True):
    """The order's lifecycle state (a tagged enum, so snapshots use the one codec)."""


@dataclass(frozen=True)
class NoOrder(OffchainOrderState, variant="Uninitialized"):
    pass


@dataclass(frozen=True)
class PendingOrder(OffchainOrderState, variant="Pending"):
    symbol: str
    shares: Decimal
    direction: Direction
    broker: Broker
    placed_at: datetime


@dataclass(frozen=True)
class SubmittedOrder(OffchainOrderState, variant="Submitted"):
    symbol: str
    shares: Decimal
    direction: Direction
    broker: Broker
    broker_order_id: str | None  # None only for a foreign Migrated event without one
    placed_at: datetime
    submitted_at: datetime


@dataclass(frozen=True)
class PartiallyFilledOrder(OffchainOrderState, variant="PartiallyFilled"):
    symbol: str
    shares: Decimal
    shares_filled: Decimal
    direction: Direction
    broker: Broker
    broker_order_id: str | None
    avg_price_cents: int
    placed_at: datetime
    submitted_at: datetime
    partially_filled_at: datetime


@dataclass(frozen=True)
class FilledOrder(OffchainOrderState, variant="Filled"):
    symbol: str
    shares: Decimal
    direction: Direction
    broker: Broker
    broker_order_id: str | None
    price_cents: int | None
    placed_at: datetime
    submitted_at: datetime
    filled_at: datetime
    shares_filled: Decimal


@dataclass(frozen=True)
class FailedOrder(OffchainOrderState, variant="Failed"):
    symbol: str
    shares: Decimal
    direction: Direction
    broker: Broker
    error: str
    placed_at: datetime
    failed_at: datetime


OpenOrder = PendingOrder | SubmittedOrder | PartiallyFilledOrder
WorkingOrder = SubmittedOrder | PartiallyFilledOrder


# ---------------------------------------------------------------------------
# validation


def _check_symbol(symbol: str) -> None:
    try:
        validate_symbol(symbol)
    except (ValueError, TypeError) as exc:
        raise InvalidSymbol(str(exc)) from None


def _check_shares(shares: Decimal) -> None:
    if not isinstance(shares, Decimal) or not shares.is_finite() or shares <= 0:
        raise InvalidShares(f"shares must be a positive decimal, got {shares!r}")


def _check_cents(name: str, cents: int, *, allow_zero: bool) -> None:
    low = 0 if allow_zero else 1
    if isinstance(cents, bool) or not isinstance(cents, int) or cents < low:
        bound = "non-negative" if allow_zero else "positive"
        raise InvalidPrice(f"{name} must be a {bound} integer number of cents, got {cents!r}")


def _check_broker_order_id(broker_order_id: str) -> None:
    if (
        not isinstance(broker_order_id, str)
        or not broker_order_id
        or broker_order_id != broker_order_id.strip()
    ):
        raise InvalidBrokerOrderId(
            f"broker order id must be non-empty without surrounding space, got {broker_order_id!r}"
        )


def _check_enums(direction: Direction, broker: Broker) -> None:
    if not isinstance(direction, Direction):
        raise InvalidOrderInput(f"direction must be a Direction, got {direction!r}")
    if not isinstance(broker, Broker):
        raise InvalidOrderInput(f"broker must be a Broker, got {broker!r}")


def _check_filled(filled: Decimal, shares: Decimal, previous: Decimal) -> None:
    if not isinstance(filled, Decimal) or not filled.is_finite() or filled <= 0:
        raise InvalidFill(f"shares filled must be a positive decimal, got {filled!r}")
    if filled > shares:
        raise InvalidFill(f"shares filled {filled} exceed the order's {shares} shares")
    if filled < previous:
        raise InvalidFill(f"shares filled {filled} is below the {previous} already reported")


def _previous_fill(state: WorkingOrder) -> Decimal:
    return state.shares_filled if isinstance(state, PartiallyFilledOrder) else Decimal(0)


# ---------------------------------------------------------------------------
# decide


def _not_open(state: OffchainOrderState, action: str) -> OffchainOrderError:
    if isinstance(state, NoOrder):
        return NotPlaced(f"cannot {action}: no order has been placed for this execution")
    if isinstance(state, FilledOrder | FailedOrder):
        kind = "filled" if isinstance(state, FilledOrder) else "failed"
        return AlreadyCompleted(f"cannot {action}: the order has already {kind}")
    raise AssertionError(f"unexpected state {state!r}")


def _working(state: OffchainOrderState, action: str) -> WorkingOrder:
    """The state of an order the broker has acknowledged, or the right rejection."""
    if isinstance(state, SubmittedOrder | PartiallyFilledOrder):
        return state
    if isinstance(state, PendingOrder):
        raise NotSubmitted(f"cannot {action}: the order has not been submitted to the broker")
    raise _not_open(state, action)


def _place(state: OffchainOrderState, command: Place, ctx: DecideContext) -> list[Tagged]:
    if not isinstance(state, NoOrder):
        raise AlreadyPlaced("cannot place the order: it has already been placed")
    _check_symbol(command.symbol)
    _check_shares(command.shares)
    _check_enums(command.direction, command.broker)
    return [Placed(command.symbol, command.shares, command.direction, command.broker, ctx.now)]


def _confirm(
    state: OffchainOrderState, command: ConfirmSubmission, ctx: DecideContext
) -> list[Tagged]:
    _check_broker_order_id(command.broker_order_id)
    if isinstance(state, PendingOrder) or (
        isinstance(state, SubmittedOrder) and state.broker_order_id is None
    ):
        return [Submitted(command.broker_order_id, ctx.now)]
    if isinstance(state, SubmittedOrder | PartiallyFilledOrder):
        raise AlreadySubmitted(
            f"cannot submit the order: it was already submitted as {state.broker_order_id!r}"
        )
    raise _not_open(state, "confirm the submission")


def _partial_fill(
    state: OffchainOrderState, command: UpdatePartialFill, ctx: DecideContext
) -> list[Tagged]:
    working = _working(state, "record a partial fill")
    _check_filled(command.shares_filled, working.shares, _previous_fill(working))
    _check_cents("avg_price_cents", command.avg_price_cents, allow_zero=False)
    return [PartiallyFilled(command.shares_filled, command.avg_price_cents, ctx.now)]


def _complete(state: OffchainOrderState, command: CompleteFill, ctx: DecideContext) -> list[Tagged]:
    working = _working(state, "complete the fill")
    _check_cents("price_cents", command.price_cents, allow_zero=False)
    if command.shares_filled is not None:
        _check_filled(command.shares_filled, working.shares, _previous_fill(working))
    return [Filled(command.price_cents, ctx.now, command.shares_filled)]


def _fail(state: OffchainOrderState, command: MarkFailed, ctx: DecideContext) -> list[Tagged]:
    if not isinstance(state, PendingOrder | SubmittedOrder | PartiallyFilledOrder):
        raise _not_open(state, "mark the order failed")
    if not isinstance(command.error, str) or not command.error.strip():
        raise InvalidFailureReason("a failed order needs a non-empty reason")
    return [Failed(command.error, ctx.now)]


def _migrate(state: OffchainOrderState, command: Migrate, ctx: DecideContext) -> list[Tagged]:
    if not isinstance(state, NoOrder):
        raise AlreadyPlaced("cannot migrate the order: it already exists")
    _check_symbol(command.symbol)
    _check_shares(command.shares)
    _check_enums(command.direction, command.broker)
    status = command.status
    if not isinstance(status, MigratedOrderStatus) or status.is_root():
        raise InvalidOrderInput(f"status must be a MigratedOrderStatus variant, got {status!r}")
    if command.broker_order_id is not None:
        _check_broker_order_id(command.broker_order_id)
    elif isinstance(status, MigratedSubmitted | MigratedFilled):
        raise MissingBrokerOrderId(
            f"a migrated {status.__variant_name__.upper()} order needs its broker order id"
        )
    if command.price_cents is not None:
        _check_cents("price_cents", command.price_cents, allow_zero=True)
    elif isinstance(status, MigratedFilled):
        raise MissingPrice("a migrated FILLED order needs its price_cents")
    if isinstance(status, MigratedFailed) and not status.error.strip():
        raise InvalidFailureReason("a migrated FAILED order needs a non-empty reason")
    if command.executed_at is not None and command.executed_at.utcoffset() is None:
        raise InvalidTimestamp(f"executed_at must be timezone-aware, got {command.executed_at!r}")
    return [
        Migrated(
            symbol=command.symbol,
            shares=command.shares,
            direction=command.direction,
            broker=command.broker,
            status=status,
            broker_order_id=command.broker_order_id,
            price_cents=command.price_cents,
            executed_at=command.executed_at,
            migrated_at=ctx.now,
        )
    ]


def decide(
    state: OffchainOrderState, command: OffchainOrderCommand, ctx: DecideContext
) -> Sequence[Tagged]:
    if isinstance(command, Place):
        return _place(state, command, ctx)
    if isinstance(command, ConfirmSubmission):
        return _confirm(state, command, ctx)
    if isinstance(command, UpdatePartialFill):
        return _partial_fill(state, command, ctx)
    if isinstance(command, CompleteFill):
        return _complete(state, command, ctx)
    if isinstance(command, MarkFailed):
        return _fail(state, command, ctx)
    if isinstance(command, Migrate):
        return _migrate(state, command, ctx)
    raise TypeError(f"not an OffchainOrder command: {command!r}")


# ---------------------------------------------------------------------------
# evolve


def _from_migrated(event: Migrated) -> OffchainOrderState:
    when = event.executed_at or event.migrated_at
    common = (event.symbol, event.shares, event.direction, event.broker)
    status = event.status
    if isinstance(status, MigratedPending):
        return PendingOrder(*common, placed_at=when)
    if isinstance(status, MigratedSubmitted):
        return SubmittedOrder(*common, event.broker_order_id, event.migrated_at, when)
    if isinstance(status, MigratedFilled):
        return FilledOrder(
            *common,
            broker_order_id=event.broker_order_id,
            price_cents=event.price_cents,
            placed_at=event.migrated_at,
            submitted_at=event.migrated_at,
            filled_at=when,
            shares_filled=event.shares,
        )
    if isinstance(status, MigratedFailed):
        return FailedOrder(*common, status.error, event.migrated_at, when)
    return NoOrder()


def evolve(state: OffchainOrderState, event: Any) -> OffchainOrderState:
    """Fold one event. Never raises: an event that cannot apply leaves the state as is."""
    if isinstance(event, Placed):
        if isinstance(state, NoOrder):
            return PendingOrder(
                event.symbol, event.shares, event.direction, event.broker, event.placed_at
            )
        return state
    if isinstance(event, Migrated):
        return _from_migrated(event) if isinstance(state, NoOrder) else state
    if isinstance(event, Submitted):
        if isinstance(state, PendingOrder):
            return SubmittedOrder(
                state.symbol,
                state.shares,
                state.direction,
                state.broker,
                event.broker_order_id,
                state.placed_at,
                event.submitted_at,
            )
        if isinstance(state, SubmittedOrder) and state.broker_order_id is None:
            return replace(state, broker_order_id=event.broker_order_id)
        return state
    if isinstance(event, PartiallyFilled):
        if isinstance(state, SubmittedOrder | PartiallyFilledOrder):
            return PartiallyFilledOrder(
                symbol=state.symbol,
                shares=state.shares,
                shares_filled=event.shares_filled,
                direction=state.direction,
                broker=state.broker,
                broker_order_id=state.broker_order_id,
                avg_price_cents=event.avg_price_cents,
                placed_at=state.placed_at,
                submitted_at=state.submitted_at,
                partially_filled_at=event.partially_filled_at,
            )
        return state
    if isinstance(event, Filled):
        if isinstance(state, SubmittedOrder | PartiallyFilledOrder):
            return FilledOrder(
                symbol=state.symbol,
                shares=state.shares,
                direction=state.direction,
                broker=state.broker,
                broker_order_id=state.broker_order_id,
                price_cents=event.price_cents,
                placed_at=state.placed_at,
                submitted_at=state.submitted_at,
                filled_at=event.filled_at,
                shares_filled=(
                    state.shares if event.shares_filled is None else event.shares_filled
                ),
            )
        return state
    if isinstance(event, Failed):
        if isinstance(state, PendingOrder | SubmittedOrder | PartiallyFilledOrder):
            return FailedOrder(
                state.symbol,
                state.shares,
                state.direction,
                state.broker,
                event.error,
                state.placed_at,
                event.failed_at,
            )
        return state
    return state


def _initial_state() -> OffchainOrderState:
    return NoOrder()


OFFCHAIN_ORDER = Aggregate[OffchainOrderState, OffchainOrderCommand](
    aggregate_type=AGGREGATE_TYPE,
    events=OFFCHAIN_ORDER_EVENTS,
    state_type=OffchainOrderState,
    initial_state=_initial_state,
    decide=decide,
    evolve=evolve,
)

__all__ = [
    "OFFCHAIN_ORDER",
    "AlreadyCompleted",
    "AlreadyPlaced",
    "AlreadySubmitted",
    "FailedOrder",
    "FilledOrder",
    "NoOrder",
    "NotPlaced",
    "NotSubmitted",
    "OffchainOrderState",
    "OpenOrder",
    "PartiallyFilledOrder",
    "PendingOrder",
    "SubmittedOrder",
    "decide",
    "evolve",
]
