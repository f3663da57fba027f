"""The broker contract: one suite, run against the paper broker, Alpaca against its fake
and Schwab against its fake (SPEC §8, DESIGN "contract suites")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hedgebot.brokers.errors import CannotCancel, MarketClosed, OrderNotFound, OrderRejected
from hedgebot.brokers.fakes import FillPlan
from hedgebot.brokers.protocol import BrokerPort, OrderState, OrderStatus
from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from tests.brokers.conftest import MONDAY_OPEN, SATURDAY
from tests.brokers.harness import HARNESSES, Harness

pytestmark = pytest.mark.anyio


@pytest.fixture(params=sorted(HARNESSES))
async def harness(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[Harness]:
    async with HARNESSES[request.param](clock) as built:
        yield built


async def poll_until_final(
    broker: BrokerPort, order_id: str, max_polls: int = 10
) -> list[OrderStatus]:
    seen = []
    for _ in range(max_polls):
        status = await broker.get_order_status(order_id)
        seen.append(status)
        if status.state.is_final:
            return seen
    raise AssertionError(f"order {order_id} not final after {max_polls} polls: {seen}")


async def test_a_market_order_is_placed_then_fills_at_the_fill_price(harness: Harness) -> None:
    harness.set_fill("AAPL", FillPlan(price=Decimal("187.25"), polls_before_fill=1))
    order_id = await harness.broker.place_market_order(
        "AAPL", Decimal(3), Direction.BUY, "hedgebot-1"
    )
    seen = await poll_until_final(harness.broker, order_id)
    assert [s.state for s in seen[:-1]] and all(
        s.state in (OrderState.PENDING, OrderState.SUBMITTED) for s in seen[:-1]
    )
    final = seen[-1]
    assert final.order_id == order_id
    assert final.state is OrderState.FILLED
    assert final.filled_quantity == 3
    assert final.average_fill_price == Decimal("187.25")
    assert final.average_fill_price_cents == 18725
    assert final.broker_timestamp is not None
    assert final.error_reason is None


async def test_a_partial_fill_is_reported_before_the_full_fill(harness: Harness) -> None:
    plan = FillPlan(price=Decimal("100.30"), partial_fills=((Decimal(1), Decimal("100.00")),))
    harness.set_fill("MSFT", plan)
    order_id = await harness.broker.place_market_order(
        "MSFT", Decimal(3), Direction.SELL, "hedgebot-2"
    )
    first = await harness.broker.get_order_status(order_id)
    assert first.state is OrderState.PARTIALLY_FILLED
    assert first.filled_quantity == 1
    assert first.average_fill_price == Decimal("100.00")
    final = (await poll_until_final(harness.broker, order_id))[-1]
    assert final.state is OrderState.FILLED
    assert final.filled_quantity == 3
    assert final.average_fill_price == Decimal("100.2")  # (1 × 100.00 + 2 × 100.30) / 3
    assert final.average_fill_price_cents == 10020


async def test_a_rejected_order_raises_order_rejected_and_creates_nothing(
    harness: Harness,
) -> None:
    harness.reject("GME")
    with pytest.raises(OrderRejected) as caught:
        await harness.broker.place_market_order("GME", Decimal(1), Direction.BUY, "hedgebot-3")
    assert caught.value.reason
    assert harness.orders_created() == 0


async def test_placing_again_with_the_same_key_returns_the_same_order(harness: Harness) -> None:
    first = await harness.broker.place_market_order(
        "TSLA", Decimal(2), Direction.SELL, "hedgebot-4"
    )
    again = await harness.broker.place_market_order(
        "TSLA", Decimal(2), Direction.SELL, "hedgebot-4"
    )
    assert again == first
    assert harness.orders_created() == 1
    other = await harness.broker.place_market_order(
        "TSLA", Decimal(2), Direction.SELL, "hedgebot-5"
    )
    assert other != first
    assert harness.orders_created() == 2


async def test_a_closed_market_refuses_to_place_and_reports_the_next_open(
    harness: Harness,
) -> None:
    harness.clock.set(SATURDAY)
    clock = await harness.broker.market_clock()
    assert clock.is_open is False
    assert clock.next_open == MONDAY_OPEN
    with pytest.raises(MarketClosed) as caught:
        await harness.broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "hedgebot-6")
    assert caught.value.next_open == MONDAY_OPEN
    assert harness.orders_created() == 0


async def test_an_open_market_reports_its_close(harness: Harness) -> None:
    clock = await harness.broker.market_clock()
    assert clock.is_open is True
    assert clock.next_close == datetime(2025, 1, 6, 21, 0, tzinfo=UTC)  # 16:00 New York


async def test_a_working_order_can_be_cancelled_once(harness: Harness) -> None:
    harness.set_fill("NVDA", FillPlan(polls_before_fill=5))
    order_id = await harness.broker.place_market_order(
        "NVDA", Decimal(1), Direction.BUY, "hedgebot-7"
    )
    await harness.broker.cancel_order(order_id)
    status = await harness.broker.get_order_status(order_id)
    assert status.state is OrderState.CANCELLED
    assert status.filled_quantity == 0
    assert status.average_fill_price is None
    with pytest.raises(CannotCancel):
        await harness.broker.cancel_order(order_id)


async def test_an_unknown_order_id_is_order_not_found(harness: Harness) -> None:
    with pytest.raises(OrderNotFound):
        await harness.broker.get_order_status(harness.unknown_order_id)


async def test_a_non_positive_quantity_is_rejected_before_reaching_the_broker(
    harness: Harness,
) -> None:
    with pytest.raises(OrderRejected, match="positive"):
        await harness.broker.place_market_order("AAPL", Decimal(0), Direction.BUY, "hedgebot-8")
    assert harness.orders_created() == 0
