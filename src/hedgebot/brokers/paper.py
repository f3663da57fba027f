"""The paper broker (``dry_run``): fills in-process, used by ``hedgebot demo`` and tests.

Deterministic: order ids are ``PAPER-1``, ``PAPER-2`` …; the only randomness (an
optional price jitter) comes from a seeded generator. Time comes from the injected
clock and delays are counted in status polls or clock time, so nothing sleeps.

Fill price, in order of preference: a price set with `set_price`, the configured
``fill_price``, or ``price_source(symbol)`` (the desk wires the symbol's last onchain
price there). Without any, placement is rejected.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import structlog

from hedgebot.brokers.errors import CannotCancel, MarketClosed, OrderNotFound, OrderRejected
from hedgebot.brokers.hours import UsEquitySessions
from hedgebot.brokers.protocol import MarketClock, OrderState, OrderStatus, check_order_request
from hedgebot.clock import Clock
from hedgebot.config import PaperBrokerSettings
from hedgebot.domain import Broker, Direction

log = structlog.get_logger(__name__)

CENT = Decimal("0.01")
FRACTIONAL_INCREMENT = Decimal("0.000000001")


@dataclass
class _PaperOrder:
    order_id: str
    symbol: str
    quantity: Decimal
    side: Direction
    placed_at: datetime
    polls: int = 0
    fill_steps: int = 0
    state: OrderState = OrderState.SUBMITTED
    filled: Decimal = Decimal(0)
    price: Decimal | None = None
    updated_at: datetime | None = None


class PaperBroker:
    """An in-process broker with configurable fills, delays, partial fills and rejections.

    * ``fill_after_polls``: status polls that report SUBMITTED before the first fill;
      ``fill_delay``: clock time after placement before the first fill (both may apply).
    * ``partial_fill_ratio`` r in (0, 1): the first fill is ``quantity × r`` (rounded
      down to the increment), the next poll fills the rest.
    * ``reject_symbols``: placements for these are rejected (`OrderRejected`).
    * ``sessions``: market hours; None means always open.
    * ``price_jitter_bps``: each fill price moves by up to ± that many basis points,
      drawn from ``random.Random(seed)``.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        price_source: Callable[[str], Decimal | None] | None = None,
        fill_price: Decimal | None = None,
        fill_after_polls: int = 0,
        fill_delay: timedelta = timedelta(0),
        partial_fill_ratio: Decimal | None = None,
        reject_symbols: Iterable[str] = (),
        sessions: UsEquitySessions | None = None,
        fractional: bool = False,
        seed: int = 0,
        price_jitter_bps: Decimal = Decimal(0),
    ) -> None:
        if partial_fill_ratio is not None and not Decimal(0) < partial_fill_ratio < Decimal(1):
            raise ValueError("partial_fill_ratio must be strictly between 0 and 1")
        if fill_after_polls < 0:
            raise ValueError("fill_after_polls must be >= 0")
        self._clock = clock
        self._price_source = price_source
        self._fill_price = fill_price
        self._prices: dict[str, Decimal] = {}
        self.fill_after_polls = fill_after_polls
        self.fill_delay = fill_delay
        self.partial_fill_ratio = partial_fill_ratio
        self.reject_symbols: set[str] = set(reject_symbols)
        self.sessions = sessions
        self._fractional = fractional
        self._random = random.Random(seed)
        self._jitter_bps = price_jitter_bps
        self._scripts: dict[str, tuple[tuple[Decimal, Decimal], ...]] = {}
        self._orders: dict[str, _PaperOrder] = {}
        self._by_key: dict[str, str] = {}
        self._next_id = 1

    @classmethod
    def from_settings(
        cls,
        settings: PaperBrokerSettings,
        *,
        clock: Clock,
        price_source: Callable[[str], Decimal | None] | None = None,
    ) -> PaperBroker:
        """Build from ``[broker.paper]`` settings (``market_hours = "nyse"`` → US sessions)."""
        return cls(
            clock=clock,
            price_source=price_source,
            fill_price=settings.fill_price,
            fill_after_polls=settings.fill_after_polls,
            partial_fill_ratio=settings.partial_fill_ratio,
            reject_symbols=settings.reject_symbols,
            sessions=UsEquitySessions() if settings.market_hours == "nyse" else None,
            fractional=settings.fractional,
            seed=settings.seed,
        )

    # -- BrokerPort -------------------------------------------------------------

    @property
    def kind(self) -> Broker:
        return Broker.DRY_RUN

    @property
    def quantity_increment(self) -> Decimal:
        return FRACTIONAL_INCREMENT if self._fractional else Decimal(1)

    async def place_market_order(
        self, symbol: str, quantity: Decimal, side: Direction, idempotency_key: str
    ) -> str:
        check_order_request(symbol, quantity, idempotency_key)
        existing = self._by_key.get(idempotency_key)
        if existing is not None:
            return existing
        clock = await self.market_clock()
        if not clock.is_open:
            raise MarketClosed("paper market is closed", clock.next_open)
        if quantity % self.quantity_increment != 0:
            raise OrderRejected(
                f"quantity {quantity} is not a multiple of {self.quantity_increment}"
            )
        if symbol in self.reject_symbols:
            raise OrderRejected(f"paper broker rejects {symbol} (configured)")
        if self._reference_price(symbol) is None:
            raise OrderRejected(f"no price for {symbol}: set one or wire a price source")
        order_id = f"PAPER-{self._next_id}"
        self._next_id += 1
        now = self._clock.now()
        self._orders[order_id] = _PaperOrder(order_id, symbol, quantity, side, now, updated_at=now)
        self._by_key[idempotency_key] = order_id
        # debug: the OrderManager logs every placement (hedge_submitted) with this id
        log.debug(
            "paper_order_placed",
            order_id=order_id,
            symbol=symbol,
            quantity=str(quantity),
            side=side.legacy,
        )
        return order_id

    async def get_order_status(self, order_id: str) -> OrderStatus:
        order = self._order(order_id)
        if not order.state.is_final:
            order.polls += 1
            self._advance(order)
        return self._status(order)

    async def market_clock(self) -> MarketClock:
        now = self._clock.now()
        if self.sessions is None:
            return MarketClock(as_of=now, is_open=True, next_open=None, next_close=None)
        return self.sessions.clock_at(now)

    async def cancel_order(self, order_id: str) -> None:
        order = self._order(order_id)
        if order.state.is_final:
            raise CannotCancel(f"order {order_id} is already {order.state.value}")
        order.state = OrderState.CANCELLED
        order.updated_at = self._clock.now()

    async def aclose(self) -> None:
        return None

    # -- configuration and inspection ------------------------------------------

    def set_price(self, symbol: str, price: Decimal) -> None:
        if not price.is_finite() or price <= 0:
            raise ValueError(f"price must be positive, got {price}")
        self._prices[symbol] = price

    def script_partial_fills(self, symbol: str, fills: Iterable[tuple[Decimal, Decimal]]) -> None:
        """Fill orders for ``symbol`` first in these (quantity, price) steps, one per poll,
        then the remainder at the reference price."""
        self._scripts[symbol] = tuple(fills)

    def orders_for_key(self, idempotency_key: str) -> int:
        """How many orders exist for a key (0 or 1 by construction)."""
        return 1 if idempotency_key in self._by_key else 0

    @property
    def orders_placed(self) -> int:
        return len(self._orders)

    # -- internals --------------------------------------------------------------

    def _order(self, order_id: str) -> _PaperOrder:
        order = self._orders.get(order_id)
        if order is None:
            raise OrderNotFound(f"paper broker has no order {order_id!r}")
        return order

    def _reference_price(self, symbol: str) -> Decimal | None:
        if symbol in self._prices:
            return self._prices[symbol]
        if self._fill_price is not None:
            return self._fill_price
        if self._price_source is not None:
            return self._price_source(symbol)
        return None

    def _fill_price_now(self, symbol: str) -> Decimal | None:
        price = self._reference_price(symbol)
        if price is None:
            return None
        if self._jitter_bps:
            move = Decimal(str(self._random.uniform(-1, 1))) * self._jitter_bps / 10_000
            price = price * (1 + move)
        return price.quantize(CENT, rounding=ROUND_HALF_UP)

    def _advance(self, order: _PaperOrder) -> None:
        now = self._clock.now()
        if order.polls <= self.fill_after_polls or now < order.placed_at + self.fill_delay:
            return
        price = self._fill_price_now(order.symbol)
        if price is None:
            order.state = OrderState.FAILED
            order.updated_at = now
            return
        remaining = order.quantity - order.filled
        step = remaining
        script = self._scripts.get(order.symbol, ())
        if order.fill_steps < len(script):
            scripted_quantity, scripted_price = script[order.fill_steps]
            step, price = min(scripted_quantity, remaining), scripted_price
        elif order.filled == 0 and self.partial_fill_ratio is not None:
            partial = (order.quantity * self.partial_fill_ratio).quantize(
                self.quantity_increment, rounding=ROUND_DOWN
            )
            if partial > 0:
                step = partial
        previous_value = (order.price or Decimal(0)) * order.filled
        order.fill_steps += 1
        order.filled += step
        order.price = (previous_value + price * step) / order.filled
        order.state = (
            OrderState.FILLED if order.filled == order.quantity else OrderState.PARTIALLY_FILLED
        )
        order.updated_at = now

    def _status(self, order: _PaperOrder) -> OrderStatus:
        reason = None
        if order.state is OrderState.FAILED:
            reason = f"no price for {order.symbol} at fill time"
        return OrderStatus(
            order_id=order.order_id,
            state=order.state,
            filled_quantity=order.filled,
            average_fill_price=order.price,
            error_reason=reason,
            broker_timestamp=order.updated_at,
        )
