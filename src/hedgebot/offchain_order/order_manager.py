"""OrderManager: from a hedge decision to a filled (or failed) broker order (SPEC §6).

Two halves, both restartable from the store alone:

1. **Reactor** (tracked): every `PositionEvent::OffChainOrderPlaced` becomes an
   `OffchainOrder.Place`, written in the same transaction as the manager's checkpoint.
2. **Driver** (state-driven): every open order in `offchain_trade_view` is pushed one
   step further — a PENDING order is sent to the broker (only while its market is
   open) with the execution id as idempotency key and then `ConfirmSubmission`; a
   SUBMITTED order is polled until it fills or dies. A fill or a failure is recorded
   on the OffchainOrder *and* its Position in one transaction, so a crash can never
   leave one updated without the other.

Why placement cannot duplicate: the broker call happens between two transactions. If
the process dies after the broker accepted the order but before `ConfirmSubmission`
committed, the order is still PENDING on restart and is placed again with the same
idempotency key — the adapter returns the existing broker order instead of a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import structlog

from hedgebot.brokers.errors import (
    AuthExpired,
    BrokerError,
    BrokerProtocolError,
    MarketClosed,
    OrderRejected,
)
from hedgebot.brokers.protocol import BrokerPort, OrderState, OrderStatus
from hedgebot.clock import Clock
from hedgebot.conductor import Stop
from hedgebot.eventstore import CommandHandler, EventStore, StoredEvent, StoreTransaction
from hedgebot.eventstore.notify import CommitSignal, wait_for_signal
from hedgebot.eventstore.reactor import Reactor
from hedgebot.metrics import Metrics
from hedgebot.offchain_order.commands import (
    CompleteFill,
    ConfirmSubmission,
    MarkFailed,
    OffchainOrderCommand,
    Place,
    UpdatePartialFill,
)
from hedgebot.offchain_order.errors import AlreadyCompleted, AlreadyPlaced, AlreadySubmitted
from hedgebot.offchain_order.state import OffchainOrderState
from hedgebot.offchain_order.view import OffchainOrderRecord, open_orders
from hedgebot.position.commands import (
    CompleteOffChainOrder,
    FailOffChainOrder,
    PositionCommand,
)
from hedgebot.position.events import POSITION_EVENTS, OffChainOrderPlaced
from hedgebot.position.state import PositionState

log = structlog.get_logger(__name__)

CHECKPOINT = "order_manager"


def idempotency_key(prefix: str, execution_id: int, placed_at: datetime) -> str:
    """The broker-side key of one execution: stable across restarts and retries.

    The execution id alone would repeat if an operator restored an older copy of the
    store (the counter would hand the same ids out again for different hedges); the
    decision's own timestamp makes the key differ then, while every retry of the same
    decision still sends the same key.
    """
    millis = int(placed_at.timestamp() * 1000)
    return f"{prefix}-{execution_id}-{millis}"


@dataclass(frozen=True)
class _Outcome:
    """What one step's broker calls found out about one order, before it is recorded.

    A placement may carry what the status asked right after it said (``then``): a
    market order often fills at once, and its fill is then recorded in the same
    transaction as its submission.
    """

    order: OffchainOrderRecord
    submitted: str | None = None  # broker order id of an accepted placement
    failure: str | None = None  # rejection or death without any fill
    partial: OrderStatus | None = None  # more filled, still working
    status: OrderStatus | None = None  # final, with a fill
    then: _Outcome | None = None  # the status right after the placement, if it moved

    @property
    def labels(self) -> list[str]:
        """The `hedges` metric labels of this outcome (a placement and what followed)."""
        own = (
            "submitted"
            if self.submitted is not None
            else "failed"
            if self.failure is not None
            else "filled"
            if self.status is not None
            else None
        )
        rest = self.then.labels if self.then is not None else []
        return ([own] if own is not None else []) + rest


@dataclass
class _Tracking:
    last_poll: float = 0.0


class OrderManager:
    def __init__(
        self,
        store: EventStore,
        orders: CommandHandler[OffchainOrderState, OffchainOrderCommand],
        positions: CommandHandler[PositionState, PositionCommand],
        broker: BrokerPort,
        clock: Clock,
        *,
        key_prefix: str = "hedgebot",
        poll_interval: float = 15.0,
        max_concurrency: int = 8,
        metrics: Metrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.orders = orders
        self.positions = positions
        self.broker = broker
        self.clock = clock
        self.key_prefix = key_prefix
        self.poll_interval = poll_interval
        self.metrics = metrics
        self.monotonic = monotonic
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._in_flight: set[int] = set()
        self._tracking: dict[int, _Tracking] = {}
        self._alerted: set[int] = set()
        self.market_open = False
        self.reactor = Reactor(
            store,
            CHECKPOINT,
            [POSITION_EVENTS],
            wants=lambda event, decoded: isinstance(decoded, OffChainOrderPlaced),
            handle=self._handle_placed,
            batch=orders.batch,
            event_types=[POSITION_EVENTS.type_of(OffChainOrderPlaced)],
        )

    # -- 1. reactor -----------------------------------------------------------

    def react(self) -> int:
        """Turn new placement decisions into OffchainOrder aggregates (one batch)."""
        return self.reactor.process_batch()

    def _handle_placed(self, tx: StoreTransaction, event: StoredEvent, decoded: object) -> int:
        assert isinstance(decoded, OffChainOrderPlaced)
        self._place_aggregate(tx, event.aggregate_id, decoded)
        return 1

    def _place_aggregate(
        self, tx: StoreTransaction, symbol: str, placed: OffChainOrderPlaced
    ) -> None:
        command = Place(
            symbol=symbol, shares=placed.shares, direction=placed.direction, broker=placed.broker
        )
        try:
            self.orders.execute_in(tx, str(placed.execution_id), command)
        except AlreadyPlaced:
            return
        if self.metrics is not None:
            self.metrics.hedges.labels("placed").inc()

    # -- 2. driver ------------------------------------------------------------

    async def refresh_market(self) -> bool:
        try:
            clock = await self.broker.market_clock()
        except BrokerError as exc:
            self._broker_error(exc)
            return self.market_open
        if clock.is_open != self.market_open:
            log.info("market_state", open=clock.is_open, next_open=str(clock.next_open))
        self.market_open = clock.is_open
        return self.market_open

    async def drive(self) -> int:
        """Advance every due open order one step; returns the number of orders moved.

        The broker calls run concurrently (bounded); their outcomes are then written in
        one transaction. Each outcome is idempotent against the order's state, so a
        crash between the broker call and the commit only repeats a safe step.
        """
        orders = [o for o in open_orders(self.store) if o.execution_id not in self._in_flight]
        now = self.monotonic()
        due = [o for o in orders if self._due(o, now)]
        if not due:
            return 0
        fetched = await asyncio.gather(*(self._fetch_guarded(o) for o in due))
        outcomes = [outcome for outcome in fetched if outcome is not None]
        if not outcomes:
            return 0
        recorded = outcomes
        try:
            with self.store.transaction() as tx, self.orders.batch(tx):
                for outcome in outcomes:
                    self._record(tx, outcome)
        except Exception as exc:
            log.warning("order_outcomes_batch_failed", error=str(exc), size=len(outcomes))
            recorded = []
            for outcome in outcomes:
                try:
                    with self.store.transaction() as tx:
                        self._record(tx, outcome)
                except Exception as single:
                    if self.metrics is not None:
                        self.metrics.manager_errors.labels("order_manager").inc()
                    log.error(
                        "order_outcome_not_recorded",
                        execution_id=outcome.order.execution_id,
                        error=str(single),
                    )
                else:
                    recorded.append(outcome)
        for outcome in recorded:
            self._announce(outcome)
        return len(recorded)

    def _due(self, order: OffchainOrderRecord, now: float) -> bool:
        if order.status == "PENDING":
            if order.migrated:
                self._alert_migrated_pending(order)
                return False
            return self.market_open
        tracking = self._tracking.setdefault(order.execution_id, _Tracking())
        return now - tracking.last_poll >= self.poll_interval

    async def _fetch_guarded(self, order: OffchainOrderRecord) -> _Outcome | None:
        self._in_flight.add(order.execution_id)
        try:
            async with self._semaphore:
                return await self._fetch(order)
        except BrokerError as exc:
            self._broker_error(exc)
            return None
        finally:
            self._in_flight.discard(order.execution_id)

    async def _fetch(self, order: OffchainOrderRecord) -> _Outcome | None:
        """The broker I/O of one step, without writing anything."""
        if order.status == "PENDING":
            key = idempotency_key(self.key_prefix, order.execution_id, order.placed_at)
            try:
                broker_order_id = await self.broker.place_market_order(
                    order.symbol, order.shares, order.direction, key
                )
            except MarketClosed:
                self.market_open = False
                return None
            except OrderRejected as exc:
                return _Outcome(order, failure=f"rejected by broker: {exc}")
            submitted = dataclasses.replace(
                order, broker_order_id=broker_order_id, status="SUBMITTED", state="Submitted"
            )
            try:
                then = await self._poll(submitted)
            except BrokerError as exc:
                # the placement stands and is recorded; the order is polled again later
                self._broker_error(exc)
                then = None
            return _Outcome(order, submitted=broker_order_id, then=then)
        return await self._poll(order)

    async def _poll(self, order: OffchainOrderRecord) -> _Outcome | None:
        """Ask the broker where a submitted order stands (None: nothing new)."""
        assert order.broker_order_id is not None
        self._tracking.setdefault(order.execution_id, _Tracking()).last_poll = self.monotonic()
        status = await self.broker.get_order_status(order.broker_order_id)
        state = status.state
        if state is OrderState.FILLED or (
            state in (OrderState.CANCELLED, OrderState.FAILED) and status.filled_quantity > 0
        ):
            if status.average_fill_price_cents is None:
                raise BrokerProtocolError(
                    f"broker reported execution {order.execution_id} filled without a price"
                )
            return _Outcome(order, status=status)
        if state in (OrderState.FAILED, OrderState.CANCELLED):
            return _Outcome(order, failure=status.error_reason or f"order {state.value} at broker")
        if (
            state is OrderState.PARTIALLY_FILLED
            and status.filled_quantity > order.shares_filled
            and status.average_fill_price_cents is not None
        ):
            return _Outcome(order, partial=status)
        return None

    def _record(self, tx: StoreTransaction, outcome: _Outcome) -> None:
        order = outcome.order
        order_id = str(order.execution_id)
        if outcome.submitted is not None:
            with contextlib.suppress(AlreadySubmitted):
                self.orders.execute_in(
                    tx, order_id, ConfirmSubmission(broker_order_id=outcome.submitted)
                )
            if outcome.then is not None:
                self._record(tx, outcome.then)
        elif outcome.failure is not None:
            try:
                self.orders.execute_in(tx, order_id, MarkFailed(error=outcome.failure))
            except AlreadyCompleted:
                return
            if self._hedge_of_position(tx, order):
                self.positions.execute_in(
                    tx,
                    order.symbol,
                    FailOffChainOrder(execution_id=order.execution_id, error=outcome.failure),
                )
        elif outcome.partial is not None:
            cents = outcome.partial.average_fill_price_cents
            assert cents is not None
            self.orders.execute_in(
                tx,
                order_id,
                UpdatePartialFill(
                    shares_filled=outcome.partial.filled_quantity, avg_price_cents=cents
                ),
            )
        elif outcome.status is not None:
            self._complete(tx, order, outcome.status)

    def _complete(
        self, tx: StoreTransaction, order: OffchainOrderRecord, status: OrderStatus
    ) -> None:
        cents = status.average_fill_price_cents
        assert cents is not None
        filled = status.filled_quantity
        when = status.broker_timestamp or self.clock.now()
        assert order.broker_order_id is not None
        try:
            self.orders.execute_in(
                tx,
                str(order.execution_id),
                CompleteFill(price_cents=cents, shares_filled=_partial(filled, order.shares)),
            )
        except AlreadyCompleted:
            return
        if not self._hedge_of_position(tx, order):
            return
        self.positions.execute_in(
            tx,
            order.symbol,
            CompleteOffChainOrder(
                execution_id=order.execution_id,
                shares_filled=filled,
                direction=order.direction,
                broker_order_id=order.broker_order_id,
                price_cents=cents,
                broker_timestamp=when,
            ),
        )

    def _hedge_of_position(self, tx: StoreTransaction, order: OffchainOrderRecord) -> bool:
        """Whether this order is its Position's pending hedge.

        A manual order (`hedgebot order`) is an OffchainOrder no Position decided: its
        fill or failure is recorded on the order only, and the Position is left alone
        (completing it there would be rejected and roll the outcome back for good).
        """
        position = self.positions.load_in(tx, order.symbol).state
        if position.pending_execution_id == order.execution_id:
            return True
        log.info(
            "order_not_a_position_hedge",
            execution_id=order.execution_id,
            symbol=order.symbol,
            position_pending=position.pending_execution_id,
        )
        return False

    def _announce(self, outcome: _Outcome) -> None:
        """Logs and metrics after the commit (never for a rolled-back outcome twice)."""
        if self.metrics is not None:
            for label in outcome.labels:
                self.metrics.hedges.labels(label).inc()
        then = outcome.then
        if then is not None and (then.failure is not None or then.status is not None):
            # placed and already filled or dead: one line, with the broker's order id,
            # tells both
            self._announce_step(then, submitted=outcome.submitted)
            return
        self._announce_step(outcome)

    def _announce_step(self, outcome: _Outcome, submitted: str | None = None) -> None:
        order = outcome.order
        if outcome.failure is not None or outcome.status is not None:
            self._tracking.pop(order.execution_id, None)
        fields: dict[str, object] = {
            "execution_id": order.execution_id,
            "symbol": order.symbol,
            "shares": str(order.shares),
            "direction": order.direction.legacy,
        }
        if submitted is not None:
            fields["broker_order_id"] = submitted
        if outcome.submitted is not None:
            log.info("hedge_submitted", broker_order_id=outcome.submitted, **fields)
        elif outcome.failure is not None:
            log.warning("hedge_failed", error=outcome.failure, **fields)
        elif outcome.status is not None:
            log.info(
                "hedge_filled",
                shares_filled=str(outcome.status.filled_quantity),
                price_cents=outcome.status.average_fill_price_cents,
                **fields,
            )

    def _alert_migrated_pending(self, order: OffchainOrderRecord) -> None:
        """A legacy PENDING order is never placed automatically.

        The legacy bot placed orders without recording them (its SUBMITTED write was
        lost), and without an idempotency key: a PENDING legacy row may well be a live
        broker order. Placing it again could double the hedge, so an operator checks
        the broker and completes or fails the execution by hand.
        """
        if order.execution_id in self._alerted:
            return
        self._alerted.add(order.execution_id)
        log.error(
            "migrated_pending_order_needs_operator",
            execution_id=order.execution_id,
            symbol=order.symbol,
            shares=str(order.shares),
            direction=order.direction.legacy,
            action="check the broker for this order, then complete or fail the execution",
        )

    def _broker_error(self, exc: BrokerError) -> None:
        kind = type(exc).__name__
        if self.metrics is not None:
            self.metrics.broker_errors.labels(kind).inc()
        if isinstance(exc, AuthExpired):
            log.error("broker_auth_expired", error=str(exc))
        else:
            log.warning("broker_error", kind=kind, error=str(exc))

    # -- loop -----------------------------------------------------------------

    async def step(self) -> int:
        reacted = 0
        while consumed := self.react():
            reacted += consumed
        await self.refresh_market()
        return reacted + await self.drive()

    async def run(
        self,
        stop: Stop,
        signal: CommitSignal | None = None,
        idle: float = 1.0,
        market_check_interval: float = 30.0,
    ) -> None:
        wake = signal.subscribe() if signal is not None else None
        last_market_check = -market_check_interval
        while not stop.is_set:
            reacted = 0
            while consumed := self.react():
                reacted += consumed
                await asyncio.sleep(0)  # a long catch-up does not block the other services
            now = self.monotonic()
            if now - last_market_check >= market_check_interval or reacted:
                await self.refresh_market()
                last_market_check = now
            progressed = await self.drive()
            if reacted or progressed:
                continue
            if wake is not None:
                await wait_for_signal(wake, idle)
            else:
                await stop.wait(idle)


def _partial(filled: Decimal, ordered: Decimal) -> Decimal | None:
    """The filled quantity when it differs from the order (None = filled as ordered)."""
    return None if filled == ordered else filled
