"""A broker wrapper for the demo and the end-to-end tests: reject one symbol's first order.

It makes the failure path visible without configuration: the first hedge of the
symbol fails (`OrderRejected` → `OffChainOrderFailed`, net unchanged), and the
position checker (or the symbol's next fill) places it again, which then fills.
"""

from __future__ import annotations

from decimal import Decimal

from hedgebot.brokers.errors import MarketClosed, OrderRejected
from hedgebot.brokers.protocol import BrokerPort, MarketClock, OrderStatus
from hedgebot.domain import Broker, Direction


class RejectFirstOrder:
    """`BrokerPort` that rejects the first order of ``symbol``, then delegates everything.

    A retry of the rejected order with the same idempotency key is rejected again, as
    a real broker would answer the same request the same way.
    """

    def __init__(self, inner: BrokerPort, symbol: str) -> None:
        self.inner = inner
        self.symbol = symbol
        self.rejected_key: str | None = None

    @property
    def kind(self) -> Broker:
        return self.inner.kind

    @property
    def quantity_increment(self) -> Decimal:
        return self.inner.quantity_increment

    async def place_market_order(
        self, symbol: str, quantity: Decimal, side: Direction, idempotency_key: str
    ) -> str:
        if symbol == self.symbol and self.rejected_key in (None, idempotency_key):
            clock = await self.inner.market_clock()
            if not clock.is_open:
                raise MarketClosed("the market is closed", clock.next_open)
            self.rejected_key = idempotency_key
            raise OrderRejected(f"the demo rejects the first {symbol} order (once)")
        return await self.inner.place_market_order(symbol, quantity, side, idempotency_key)

    async def get_order_status(self, order_id: str) -> OrderStatus:
        return await self.inner.get_order_status(order_id)

    async def market_clock(self) -> MarketClock:
        return await self.inner.market_clock()

    async def cancel_order(self, order_id: str) -> None:
        await self.inner.cancel_order(order_id)

    async def aclose(self) -> None:
        await self.inner.aclose()
