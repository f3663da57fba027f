"""The Position aggregate: one per base symbol, id = the symbol (SPEC §4.2).

Where this deliberately differs from the reference (`reference/bot-behaviour.md` §3):

* net moves on onchain fills and on broker **fills** only, by the quantity that
  actually filled; placing a hedge only marks it pending, and a failed hedge leaves
  net untouched, so the exposure stays visible and is hedged again (the CRUD bot
  subtracted at placement and lost the shares on failure);
* the hedge is decided here, in the same decision as the fill that crosses the
  threshold (no lease table, no separate accumulator);
* dollar thresholds work (|net| x last onchain price), the reference's never fire;
* a repeated acknowledgement of the same fill is a no-op (the reference counts it
  twice), see `recent_fills`;
* repeated hedge failures suspend automatic hedging of the symbol until an operator
  resumes it or updates the threshold (SPEC §6).

`evolve` never raises: it folds whatever the store holds, including histories the
reference wrote (a duplicate fill there is counted, as the reference counted it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from hedgebot.domain import Direction, TradeId, normalize_tx_hash
from hedgebot.eventstore import Aggregate, DecideContext
from hedgebot.position.commands import (
    AcknowledgeOnChainFill,
    CompleteOffChainOrder,
    FailOffChainOrder,
    Initialize,
    Migrate,
    PlaceOffChainOrder,
    PositionCommand,
    ResumeHedging,
    UpdateThreshold,
)
from hedgebot.position.errors import (
    AlreadyInitialized,
    DirectionMismatch,
    ExecutionIdMismatch,
    HedgingNotSuspended,
    HedgingSuspended,
    InvalidFill,
    InvalidMigration,
    InvalidOrderFill,
    InvalidOrderSizing,
    InvalidSymbol,
    InvalidThreshold,
    NoPendingExecution,
    NotInitialized,
    PendingExecution,
    SymbolMismatch,
    ThresholdNotMet,
)
from hedgebot.position.events import (
    EXECUTION_ID_COUNTER,
    POSITION_EVENTS,
    ExecutionThreshold,
    Initialized,
    Migrated,
    OffChainOrderFailed,
    OffChainOrderFilled,
    OffChainOrderPlaced,
    OnChainOrderFilled,
    PositionEvent,
    ThresholdUpdated,
)
from hedgebot.position.hedge import EXACT, MAX_FRACTIONAL_DECIMALS, HedgeOrder, plan_hedge
from hedgebot.position.recent_fills import RecentFills

#: Consecutive failed hedges (no broker fill in between) after which automatic
#: hedging of the symbol stops. A constant of the domain, not configuration: the
#: suspension is derived from the events, so replaying history must give the same
#: answer whatever the configuration is today.
FAILURES_BEFORE_SUSPENSION = 3

ZERO = Decimal(0)
NO_RECENT_FILLS = RecentFills()


@dataclass(frozen=True)
class PositionState:
    """``symbol is None`` until the genesis event (`Initialized` or `Migrated`).

    ``pending_shares``/``pending_direction`` describe the pending hedge (unknown for a
    migrated legacy order). ``last_price_usdc`` is the latest onchain fill price, used
    by dollar thresholds.
    """

    symbol: str | None = None
    net: Decimal = ZERO
    accumulated_long: Decimal = ZERO
    accumulated_short: Decimal = ZERO
    pending_execution_id: int | None = None
    threshold: ExecutionThreshold | None = None
    last_updated: datetime | None = None
    last_price_usdc: Decimal | None = None
    pending_shares: Decimal | None = None
    pending_direction: Direction | None = None
    consecutive_failures: int = 0
    hedging_suspended: bool = False
    last_error: str | None = None
    recent_fills: RecentFills = NO_RECENT_FILLS

    @property
    def initialized(self) -> bool:
        return self.symbol is not None

    def hedge_plan(self, fractional_decimals: int | None) -> HedgeOrder | None:
        """The hedge the threshold calls for, ignoring pending orders and suspension."""
        return plan_hedge(self.net, self.threshold, self.last_price_usdc, fractional_decimals)


# ---------------------------------------------------------------------------
# evolve


def evolve(state: PositionState, event: PositionEvent) -> PositionState:
    if isinstance(event, OnChainOrderFilled):
        return _fill(state, event)
    if isinstance(event, OffChainOrderPlaced):
        return replace(
            state,
            pending_execution_id=event.execution_id,
            pending_shares=event.shares,
            pending_direction=event.direction,
            last_updated=event.placed_at,
        )
    if isinstance(event, OffChainOrderFilled):
        net = EXACT.add(state.net, event.direction.sign * event.shares_filled)
        return replace(
            _clear_pending(state, event.execution_id),
            net=net,
            consecutive_failures=0,
            last_error=None,
            last_updated=event.broker_timestamp,
        )
    if isinstance(event, OffChainOrderFailed):
        failures = state.consecutive_failures + 1
        return replace(
            _clear_pending(state, event.execution_id),
            consecutive_failures=failures,
            hedging_suspended=state.hedging_suspended or failures >= FAILURES_BEFORE_SUSPENSION,
            last_error=event.error,
            last_updated=event.failed_at,
        )
    if isinstance(event, ThresholdUpdated):
        return replace(
            state,
            threshold=event.new_threshold,
            consecutive_failures=0,
            hedging_suspended=False,
        )
    if isinstance(event, Initialized):
        if state.initialized:
            return state  # a second genesis cannot be decided; ignore it
        return PositionState(
            symbol=event.symbol, threshold=event.threshold, last_updated=event.initialized_at
        )
    if isinstance(event, Migrated):
        if state.initialized:
            return state
        return PositionState(
            symbol=event.symbol,
            net=event.net_position,
            accumulated_long=event.accumulated_long,
            accumulated_short=event.accumulated_short,
            pending_execution_id=event.pending_execution_id,
            threshold=event.threshold,
            last_updated=event.last_updated or event.migrated_at,
        )
    return state


def _fill(state: PositionState, event: OnChainOrderFilled) -> PositionState:
    if event.direction is Direction.BUY:
        long, short = EXACT.add(state.accumulated_long, event.amount), state.accumulated_short
    else:
        long, short = state.accumulated_long, EXACT.add(state.accumulated_short, event.amount)
    return replace(
        state,
        net=EXACT.add(state.net, event.direction.sign * event.amount),
        accumulated_long=long,
        accumulated_short=short,
        last_price_usdc=event.price_usdc if event.price_usdc > 0 else state.last_price_usdc,
        last_updated=event.seen_at,
        recent_fills=state.recent_fills.add(event.trade_id.aggregate_id),
    )


def _clear_pending(state: PositionState, execution_id: int) -> PositionState:
    if state.pending_execution_id != execution_id:
        return state
    return replace(state, pending_execution_id=None, pending_shares=None, pending_direction=None)


# ---------------------------------------------------------------------------
# decide


def decide(
    state: PositionState, command: PositionCommand, ctx: DecideContext
) -> Sequence[PositionEvent]:
    if isinstance(command, AcknowledgeOnChainFill):
        return _acknowledge(state, command, ctx)
    if isinstance(command, PlaceOffChainOrder):
        return _place(state, command, ctx)
    if isinstance(command, CompleteOffChainOrder):
        return _complete(state, command)
    if isinstance(command, FailOffChainOrder):
        _require_pending(
            _require_initialized(state, "fail an offchain order"), command.execution_id
        )
        return [OffChainOrderFailed(command.execution_id, command.error, ctx.now)]
    if isinstance(command, UpdateThreshold):
        threshold = _require_initialized(state, "update the threshold").threshold
        assert threshold is not None
        return [ThresholdUpdated(threshold, _valid_threshold(command.threshold), ctx.now)]
    if isinstance(command, ResumeHedging):
        current = _require_initialized(state, "resume hedging")
        if not current.hedging_suspended:
            raise HedgingNotSuspended(str(current.symbol))
        assert current.threshold is not None
        return [ThresholdUpdated(current.threshold, current.threshold, ctx.now)]
    if isinstance(command, Initialize):
        _require_new(state)
        _valid_symbol(command.symbol)
        return [Initialized(command.symbol, _valid_threshold(command.threshold), ctx.now)]
    if isinstance(command, Migrate):
        return [_migrate(state, command, ctx)]
    raise TypeError(f"not a Position command: {command!r}")


def _acknowledge(
    state: PositionState, command: AcknowledgeOnChainFill, ctx: DecideContext
) -> list[PositionEvent]:
    if state.initialized and state.symbol != command.symbol:
        raise SymbolMismatch(str(state.symbol), command.symbol)
    _valid_trade_id(command.trade_id)
    if command.trade_id.aggregate_id in state.recent_fills:
        return []  # already acknowledged: a repeated acknowledgement changes nothing
    if command.amount <= 0:
        raise InvalidFill(
            f"fill {command.trade_id.aggregate_id}: amount must be positive, got {command.amount}"
        )
    if command.price_usdc < 0:
        raise InvalidFill(
            f"fill {command.trade_id.aggregate_id}: price must not be negative, "
            f"got {command.price_usdc}"
        )
    _valid_decimals(command.fractional_decimals)
    events: list[PositionEvent] = []
    if not state.initialized:
        _valid_symbol(command.symbol)
        events.append(
            Initialized(command.symbol, _valid_threshold(command.default_threshold), ctx.now)
        )
    events.append(
        OnChainOrderFilled(
            trade_id=command.trade_id,
            amount=command.amount,
            direction=command.direction,
            price_usdc=command.price_usdc,
            block_timestamp=command.block_timestamp,
            seen_at=ctx.now,
        )
    )
    after = state
    for event in events:
        after = evolve(after, event)
    if (
        command.hedging_allowed
        and after.pending_execution_id is None
        and not after.hedging_suspended
    ):
        order = after.hedge_plan(command.fractional_decimals)
        if order is not None:
            events.append(_placed(order, command, ctx))
    return events


def _place(
    state: PositionState, command: PlaceOffChainOrder, ctx: DecideContext
) -> list[PositionEvent]:
    current = _require_initialized(state, "place an offchain order")
    _valid_decimals(command.fractional_decimals)
    if current.pending_execution_id is not None:
        raise PendingExecution(current.pending_execution_id)
    if current.hedging_suspended:
        raise HedgingSuspended(str(current.symbol), current.consecutive_failures)
    order = current.hedge_plan(command.fractional_decimals)
    if order is None:
        raise ThresholdNotMet(current.net, current.threshold)
    return [_placed(order, command, ctx)]


def _placed(
    order: HedgeOrder, command: AcknowledgeOnChainFill | PlaceOffChainOrder, ctx: DecideContext
) -> OffChainOrderPlaced:
    return OffChainOrderPlaced(
        execution_id=ctx.next_id(EXECUTION_ID_COUNTER),
        shares=order.shares,
        direction=order.direction,
        broker=command.broker,
        trigger_reason=order.trigger_reason,
        placed_at=ctx.now,
    )


def _complete(state: PositionState, command: CompleteOffChainOrder) -> list[PositionEvent]:
    current = _require_pending(
        _require_initialized(state, "complete an offchain order"), command.execution_id
    )
    if current.pending_direction is not None and current.pending_direction is not command.direction:
        raise DirectionMismatch(command.execution_id, current.pending_direction, command.direction)
    if command.shares_filled <= 0:
        raise InvalidOrderFill(
            f"execution {command.execution_id}: shares_filled must be positive, got "
            f"{command.shares_filled} (an order that filled nothing is a failure)"
        )
    if command.price_cents < 0:
        raise InvalidOrderFill(
            f"execution {command.execution_id}: price_cents must not be negative, got "
            f"{command.price_cents}"
        )
    return [
        OffChainOrderFilled(
            execution_id=command.execution_id,
            shares_filled=command.shares_filled,
            direction=command.direction,
            broker_order_id=command.broker_order_id,
            price_cents=command.price_cents,
            broker_timestamp=command.broker_timestamp,
        )
    ]


def _migrate(state: PositionState, command: Migrate, ctx: DecideContext) -> Migrated:
    _require_new(state)
    _valid_symbol(command.symbol)
    for name in ("accumulated_long", "accumulated_short"):
        value: Decimal = getattr(command, name)
        if value < 0:
            raise InvalidMigration(
                f"position {command.symbol}: {name} must not be negative, got {value}"
            )
    if command.pending_execution_id is not None and command.pending_execution_id <= 0:
        raise InvalidMigration(
            f"position {command.symbol}: pending_execution_id must be positive, "
            f"got {command.pending_execution_id}"
        )
    return Migrated(
        symbol=command.symbol,
        net_position=command.net_position,
        accumulated_long=command.accumulated_long,
        accumulated_short=command.accumulated_short,
        threshold=_valid_threshold(command.threshold),
        migrated_at=ctx.now,
        pending_execution_id=command.pending_execution_id,
        last_updated=command.last_updated,
        legacy_net_position=command.legacy_net_position,
    )


# ---------------------------------------------------------------------------
# guards


def _require_initialized(state: PositionState, action: str) -> PositionState:
    if not state.initialized:
        raise NotInitialized(action)
    return state


def _require_new(state: PositionState) -> None:
    if state.initialized:
        raise AlreadyInitialized(str(state.symbol))


def _require_pending(state: PositionState, execution_id: int) -> PositionState:
    if state.pending_execution_id is None:
        raise NoPendingExecution(execution_id)
    if state.pending_execution_id != execution_id:
        raise ExecutionIdMismatch(state.pending_execution_id, execution_id)
    return state


def _valid_threshold(threshold: ExecutionThreshold) -> ExecutionThreshold:
    if not threshold.value.is_finite() or threshold.value <= 0:
        raise InvalidThreshold(threshold.value)
    return threshold


def _valid_symbol(symbol: str) -> None:
    if not symbol or symbol != symbol.strip():
        raise InvalidSymbol(symbol)


def _valid_trade_id(trade_id: TradeId) -> None:
    try:
        canonical = normalize_tx_hash(trade_id.tx_hash)
    except ValueError as exc:
        raise InvalidFill(f"fill {trade_id.aggregate_id}: {exc}") from None
    if canonical != trade_id.tx_hash:
        raise InvalidFill(
            f"fill {trade_id.aggregate_id}: transaction hash must be written as {canonical}"
        )


def _valid_decimals(decimals: int | None) -> None:
    if decimals is not None and not 0 <= decimals <= MAX_FRACTIONAL_DECIMALS:
        raise InvalidOrderSizing(decimals)


POSITION = Aggregate[PositionState, PositionCommand](
    aggregate_type="Position",
    events=POSITION_EVENTS,
    state_type=PositionState,
    initial_state=PositionState,
    decide=decide,
    evolve=evolve,
)
