"""The operator's writes, shared by ``hedgebot`` commands and the REST API.

Every write goes through an aggregate's command handler, so it is validated by
``decide``, recorded as an event (the audit trail) and projected into the views in
the same transaction. Nothing here writes SQL.

Manual broker orders (``hedgebot order buy|sell``, ``POST /orders``) are recorded as
an `OffchainOrder` with an execution id from the store counter, then sent **by the
caller itself** with the configured broker and followed to a final state:

* the order is recorded (``Placed``) *before* the broker sees it, under the same
  idempotency key scheme as the OrderManager (``hedgebot-<execution id>``), so a
  retry — ours or the OrderManager's — can never place it twice;
* the command does not hand the order to a running bot's OrderManager, because the
  OrderManager completes every order on its Position's pending execution, which a
  manual order is not (the Position would reject the completion and the order would
  stay open); instead it polls the broker itself for up to ``wait_seconds`` and, if
  the order is still working then, cancels it and records whatever filled;
* a manual order changes no Position: the net exposure that automatic hedging sees is
  unchanged, and the fill is not in the PnL view (which counts hedge fills through
  their Position). It is an audited broker order, not a hedge.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import structlog

from hedgebot.bootstrap import Core
from hedgebot.brokers.errors import (
    BrokerProtocolError,
    CannotCancel,
    MarketClosed,
    OrderRejected,
)
from hedgebot.brokers.protocol import BrokerPort, OrderState, OrderStatus
from hedgebot.domain import Direction, NotTokenizedEquity, base_symbol
from hedgebot.eventstore import EventStore, Projector
from hedgebot.offchain_order.commands import (
    CompleteFill,
    ConfirmSubmission,
    MarkFailed,
    OffchainOrderCommand,
    Place,
    UpdatePartialFill,
)
from hedgebot.offchain_order.errors import AlreadyCompleted, AlreadySubmitted
from hedgebot.offchain_order.order_manager import idempotency_key
from hedgebot.offchain_order.view import OffchainOrderRecord, order
from hedgebot.position.commands import ResumeHedging, UpdateThreshold
from hedgebot.position.events import EXECUTION_ID_COUNTER, ExecutionThreshold
from hedgebot.position.state import PositionState
from hedgebot.position.view import position_by_symbol

log = structlog.get_logger(__name__)

KEY_PREFIX = "hedgebot"  # the OrderManager's default prefix: one key space per execution
_TICKER = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


class OperatorError(Exception):
    """An operator request that cannot be carried out; the message says why."""


class PositionNotFound(OperatorError, LookupError):
    def __init__(self, symbol: str) -> None:
        super().__init__(f"no position for {symbol!r} (positions exist once a fill was seen)")
        self.symbol = symbol


class ManualOrderRefused(OperatorError):
    """Refused before anything was recorded or sent."""


class OrderNotFound(OperatorError, LookupError):
    def __init__(self, execution_id: int) -> None:
        super().__init__(f"no order with execution id {execution_id}")


# ---------------------------------------------------------------------------
# thresholds and suspension


def _require_position(store: EventStore, symbol: str) -> None:
    if position_by_symbol(store, symbol) is None:
        raise PositionNotFound(symbol)


def set_threshold(core: Core, symbol: str, threshold: ExecutionThreshold) -> PositionState:
    """``UpdateThreshold``: audited as ``ThresholdUpdated``; also lifts a hedging suspension."""
    _require_position(core.store, symbol)
    result = core.positions.execute(symbol, UpdateThreshold(threshold))
    log.info(
        "operator_threshold_updated",
        symbol=symbol,
        kind=type(threshold).__name__,
        value=str(threshold.value),
    )
    return result.state


def resume_hedging(core: Core, symbol: str) -> PositionState:
    """``ResumeHedging`` after repeated failed hedges (`HedgingNotSuspended` otherwise)."""
    _require_position(core.store, symbol)
    result = core.positions.execute(symbol, ResumeHedging())
    log.info("operator_hedging_resumed", symbol=symbol)
    return result.state


# ---------------------------------------------------------------------------
# views


@dataclass(frozen=True)
class RebuildResult:
    table: str
    events: int
    rows: int


def view_tables(projector: Projector) -> list[str]:
    return [view.table for view in projector.views]


def rebuild_views(
    store: EventStore, projector: Projector, table: str | None
) -> list[RebuildResult]:
    """Recompute one view (or all) from the events, each in one transaction."""
    known = view_tables(projector)
    if table is not None and table not in known:
        raise ValueError(f"unknown view {table!r} (one of {', '.join(known)})")
    results = []
    for name in [table] if table is not None else known:
        events = projector.rebuild(store, name)
        rows = store.query(f"SELECT count(*) FROM {name}")  # noqa: S608 (a known view name)
        results.append(RebuildResult(name, events, int(str(rows[0][0]))))
        log.info("operator_view_rebuilt", view=name, events=events, rows=results[-1].rows)
    return results


# ---------------------------------------------------------------------------
# manual broker orders


@dataclass(frozen=True)
class ManualOrder:
    symbol: str
    quantity: Decimal
    direction: Direction


def check_manual_order(symbol: str, quantity: Decimal, direction: Direction) -> ManualOrder:
    """A broker ticker (``AAPL``, not ``tAAPL``) and a positive, finite quantity."""
    text = symbol.strip()
    try:
        base = base_symbol(text)
    except NotTokenizedEquity:
        base = None
    if base is not None and base.upper() == base and base != text:
        raise ValueError(f"{text!r} is a tokenized symbol; give the broker ticker {base!r}")
    ticker = text.upper()
    if not _TICKER.match(ticker):
        raise ValueError(
            f"invalid ticker {symbol!r}: letters, digits, '.' or '-', starting with a letter"
        )
    if not quantity.is_finite() or quantity <= 0:
        raise ValueError(f"the quantity must be a positive number, got {quantity}")
    return ManualOrder(ticker, quantity, direction)


def record_manual_order(core: Core, request: ManualOrder, broker: BrokerPort) -> int:
    """Allocate an execution id and record ``Placed``, in one transaction."""
    with core.store.transaction() as tx:
        execution_id = tx.next_id(EXECUTION_ID_COUNTER)
        core.orders.execute_in(
            tx,
            str(execution_id),
            Place(request.symbol, request.quantity, request.direction, broker.kind),
        )
    log.info(
        "operator_manual_order_recorded",
        execution_id=execution_id,
        symbol=request.symbol,
        quantity=str(request.quantity),
        direction=request.direction.legacy,
    )
    return execution_id


@dataclass(frozen=True)
class ManualOrderOutcome:
    record: OffchainOrderRecord
    note: str | None = None

    @property
    def execution_id(self) -> int:
        return self.record.execution_id


class _Follower:
    """Sends one recorded order and follows it to a final state (OffchainOrder only)."""

    def __init__(
        self,
        core: Core,
        broker: BrokerPort,
        execution_id: int,
        monotonic: Callable[[], float],
    ) -> None:
        self.core = core
        self.broker = broker
        self.execution_id = execution_id
        self.monotonic = monotonic

    async def _execute(self, command: OffchainOrderCommand) -> None:
        await asyncio.to_thread(self.core.orders.execute, str(self.execution_id), command)

    async def current(self) -> OffchainOrderRecord:
        found = await asyncio.to_thread(order, self.core.store, self.execution_id)
        if found is None:
            raise OrderNotFound(self.execution_id)
        return found

    async def submit(self, record: OffchainOrderRecord) -> str | None:
        """The broker order id, or None when the broker refused (recorded as failed)."""
        key = idempotency_key(KEY_PREFIX, self.execution_id, record.placed_at)
        try:
            broker_order_id = await self.broker.place_market_order(
                record.symbol, record.shares, record.direction, key
            )
        except (OrderRejected, MarketClosed) as exc:
            await self._fail(f"rejected by broker: {exc}")
            return None
        with contextlib.suppress(AlreadySubmitted):
            await self._execute(ConfirmSubmission(broker_order_id=broker_order_id))
        return broker_order_id

    async def _fail(self, error: str) -> None:
        with contextlib.suppress(AlreadyCompleted):
            await self._execute(MarkFailed(error=error))

    async def record_status(self, record: OffchainOrderRecord, status: OrderStatus) -> bool:
        """Record what the broker reports; True once the order is final in the store."""
        filled = status.filled_quantity
        cents = status.average_fill_price_cents
        if filled > 0 and cents is None:
            raise BrokerProtocolError(
                f"broker reported execution {self.execution_id} filled without a price"
            )
        if status.state.is_final and filled > 0 and cents is not None:
            partial = None if filled == record.shares else filled
            with contextlib.suppress(AlreadyCompleted):
                await self._execute(CompleteFill(price_cents=cents, shares_filled=partial))
            return True
        if status.state in (OrderState.FAILED, OrderState.CANCELLED):
            await self._fail(status.error_reason or f"order {status.state.value} at broker")
            return True
        if (
            status.state is OrderState.PARTIALLY_FILLED
            and filled > record.shares_filled
            and cents is not None
        ):
            await self._execute(UpdatePartialFill(shares_filled=filled, avg_price_cents=cents))
        return False

    async def follow(self, wait_seconds: float, poll_interval: float) -> str | None:
        """Poll until final; past the deadline cancel and record what filled."""
        deadline = self.monotonic() + wait_seconds
        while True:
            record = await self.current()
            if not record.is_open:
                return None
            assert record.broker_order_id is not None
            status = await self.broker.get_order_status(record.broker_order_id)
            if await self.record_status(record, status):
                return None
            if self.monotonic() >= deadline:
                return await self.cancel(record, wait_seconds)
            await asyncio.sleep(poll_interval)

    async def cancel(self, record: OffchainOrderRecord, wait_seconds: float) -> str | None:
        assert record.broker_order_id is not None
        with contextlib.suppress(CannotCancel):
            await self.broker.cancel_order(record.broker_order_id)
        status = await self.broker.get_order_status(record.broker_order_id)
        if not status.state.is_final:
            return (
                f"the order was still working after {wait_seconds:g} s and its cancellation "
                "is not confirmed yet: check it at the broker"
            )
        if status.state is OrderState.CANCELLED and status.filled_quantity == 0:
            await self._fail(f"cancelled after {wait_seconds:g} s without a fill")
            return f"not filled within {wait_seconds:g} s: cancelled at the broker"
        await self.record_status(await self.current(), status)
        return None


async def send_manual_order(
    core: Core,
    broker: BrokerPort,
    execution_id: int,
    *,
    wait_seconds: float = 30.0,
    poll_interval: float = 1.0,
    monotonic: Callable[[], float] = time.monotonic,
) -> ManualOrderOutcome:
    """Send a recorded manual order (idempotently) and follow it to a final state.

    A broker error other than a rejection (unreachable, authentication) propagates
    and leaves the order as recorded (PENDING or SUBMITTED): it may or may not have
    reached the broker, so it is not marked failed.
    """
    follower = _Follower(core, broker, execution_id, monotonic)
    record = await follower.current()
    if record.status == "PENDING" and await follower.submit(record) is None:
        return ManualOrderOutcome(await follower.current(), "rejected by the broker")
    note = await follower.follow(wait_seconds, poll_interval)
    return ManualOrderOutcome(await follower.current(), note)


async def place_manual_order(
    core: Core,
    broker: BrokerPort,
    request: ManualOrder,
    *,
    wait_seconds: float = 30.0,
    poll_interval: float = 1.0,
    monotonic: Callable[[], float] = time.monotonic,
) -> ManualOrderOutcome:
    """Check, record, send and follow one manual market order."""
    increment = broker.quantity_increment
    if request.quantity % increment != 0:
        raise ManualOrderRefused(
            f"the {broker.kind.legacy} broker takes quantities in steps of "
            f"{format(increment.normalize(), 'f')}, not {request.quantity}"
        )
    clock = await broker.market_clock()
    if not clock.is_open:
        when = (
            "" if clock.next_open is None else f" (next open {clock.next_open:%Y-%m-%d %H:%M} UTC)"
        )
        raise ManualOrderRefused(f"the market is closed{when}; nothing was recorded or sent")
    execution_id = await asyncio.to_thread(record_manual_order, core, request, broker)
    return await send_manual_order(
        core,
        broker,
        execution_id,
        wait_seconds=wait_seconds,
        poll_interval=poll_interval,
        monotonic=monotonic,
    )
