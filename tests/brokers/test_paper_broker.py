"""The paper broker's own knobs (the shared behaviour is in the contract suite)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from hedgebot.brokers.errors import MarketClosed, OrderRejected
from hedgebot.brokers.paper import PaperBroker
from hedgebot.brokers.protocol import OrderState
from hedgebot.clock import ManualClock
from hedgebot.config import PaperBrokerSettings
from hedgebot.domain import Direction
from tests.brokers.conftest import SATURDAY

pytestmark = pytest.mark.anyio


async def test_the_fill_price_defaults_to_the_last_onchain_price_from_the_callback(
    clock: ManualClock,
) -> None:
    onchain = {"AAPL": Decimal("187.4321")}
    broker = PaperBroker(clock=clock, price_source=onchain.get)
    order_id = await broker.place_market_order("AAPL", Decimal(2), Direction.BUY, "k1")
    onchain["AAPL"] = Decimal("190.005")  # the price at fill time is what counts
    status = await broker.get_order_status(order_id)
    assert status.state is OrderState.FILLED
    assert status.average_fill_price == Decimal("190.01")
    assert status.average_fill_price_cents == 19001


async def test_an_explicit_price_wins_over_the_callback(clock: ManualClock) -> None:
    broker = PaperBroker(clock=clock, price_source=lambda s: Decimal("1"))
    broker.set_price("AAPL", Decimal("150"))
    order_id = await broker.place_market_order("AAPL", Decimal(1), Direction.SELL, "k1")
    assert (await broker.get_order_status(order_id)).average_fill_price == Decimal("150.00")


async def test_without_any_price_placement_is_rejected(clock: ManualClock) -> None:
    broker = PaperBroker(clock=clock)
    with pytest.raises(OrderRejected, match="no price for AAPL"):
        await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "k1")
    assert broker.orders_placed == 0


async def test_a_delay_in_clock_time_holds_the_fill_without_sleeping(clock: ManualClock) -> None:
    broker = PaperBroker(clock=clock, fill_price=Decimal(10), fill_delay=timedelta(seconds=30))
    order_id = await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "k1")
    assert (await broker.get_order_status(order_id)).state is OrderState.SUBMITTED
    clock.advance(timedelta(seconds=30))
    filled = await broker.get_order_status(order_id)
    assert filled.state is OrderState.FILLED
    assert filled.broker_timestamp == clock.now()


async def test_a_partial_fill_ratio_fills_part_then_the_rest(clock: ManualClock) -> None:
    broker = PaperBroker(clock=clock, fill_price=Decimal(10), partial_fill_ratio=Decimal("0.5"))
    order_id = await broker.place_market_order("AAPL", Decimal(5), Direction.BUY, "k1")
    first = await broker.get_order_status(order_id)
    assert (first.state, first.filled_quantity) == (OrderState.PARTIALLY_FILLED, Decimal(2))
    second = await broker.get_order_status(order_id)
    assert (second.state, second.filled_quantity) == (OrderState.FILLED, Decimal(5))


async def test_whole_share_mode_refuses_fractions_and_fractional_mode_takes_them(
    clock: ManualClock,
) -> None:
    whole = PaperBroker(clock=clock, fill_price=Decimal(10))
    with pytest.raises(OrderRejected, match="multiple of 1"):
        await whole.place_market_order("AAPL", Decimal("0.5"), Direction.BUY, "k1")
    fractional = PaperBroker(clock=clock, fill_price=Decimal(10), fractional=True)
    order_id = await fractional.place_market_order("AAPL", Decimal("0.5"), Direction.BUY, "k1")
    assert (await fractional.get_order_status(order_id)).filled_quantity == Decimal("0.5")


async def test_price_jitter_is_deterministic_for_a_seed(clock: ManualClock) -> None:
    async def prices(seed: int) -> list[Decimal | None]:
        broker = PaperBroker(
            clock=clock, fill_price=Decimal(100), seed=seed, price_jitter_bps=Decimal(50)
        )
        result = []
        for n in range(5):
            order_id = await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, f"k{n}")
            result.append((await broker.get_order_status(order_id)).average_fill_price)
        return result

    first, again, other = await prices(7), await prices(7), await prices(8)
    assert first == again
    assert first != other
    assert all(p is not None and Decimal("99.5") <= p <= Decimal("100.5") for p in first)


async def test_settings_build_a_broker_with_nyse_hours(clock: ManualClock) -> None:
    settings = PaperBrokerSettings(
        fill_price=Decimal(50), market_hours="nyse", reject_symbols=("GME",)
    )
    broker = PaperBroker.from_settings(settings, clock=clock)
    clock.set(SATURDAY)
    with pytest.raises(MarketClosed):
        await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "k1")
    assert broker.reject_symbols == {"GME"}


async def test_order_ids_are_sequential_and_deterministic(clock: ManualClock) -> None:
    broker = PaperBroker(clock=clock, fill_price=Decimal(1))
    ids = [
        await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, f"k{n}")
        for n in range(3)
    ]
    assert ids == ["PAPER-1", "PAPER-2", "PAPER-3"]
