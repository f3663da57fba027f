"""The manual-order action itself: market hours, partial fills, idempotent re-sends, and
what the OrderManager does with a manual order left open (it completes the order only)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.bootstrap import Core
from hedgebot.brokers.hours import UsEquitySessions
from hedgebot.brokers.paper import PaperBroker
from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.offchain_order.commands import ConfirmSubmission
from hedgebot.offchain_order.order_manager import OrderManager, idempotency_key
from hedgebot.offchain_order.view import order
from hedgebot.operator.actions import (
    ManualOrder,
    ManualOrderRefused,
    check_manual_order,
    place_manual_order,
    record_manual_order,
    send_manual_order,
)

SATURDAY = datetime(2025, 1, 11, 15, 0, tzinfo=UTC)


def event_types(path: Path, execution_id: int) -> list[str]:
    store = SqliteEventStore(str(path))
    try:
        return [e.event_type for e in store.load_stream("OffchainOrder", str(execution_id))]
    finally:
        store.close()


def test_a_closed_market_refuses_the_order_before_anything_is_recorded(
    core: Core, clock: ManualClock, desk_path: Path
) -> None:
    clock.set(SATURDAY)
    broker = PaperBroker(clock=clock, fill_price=Decimal(1), sessions=UsEquitySessions())
    request = check_manual_order("MSFT", Decimal(1), Direction.BUY)
    with pytest.raises(ManualOrderRefused, match=r"the market is closed \(next open 2025-01-13"):
        asyncio.run(place_manual_order(core, broker, request))
    assert event_types(desk_path, 7) == []
    assert broker.orders_placed == 0


def test_a_partial_fill_then_the_deadline_cancels_and_records_what_filled(
    core: Core, clock: ManualClock, desk_path: Path
) -> None:
    broker = PaperBroker(clock=clock, fill_price=Decimal("20"), partial_fill_ratio=Decimal("0.5"))
    request = ManualOrder("MSFT", Decimal(4), Direction.SELL)
    outcome = asyncio.run(place_manual_order(core, broker, request, wait_seconds=0))
    record = outcome.record
    assert (record.status, record.shares, record.shares_filled) == ("FILLED", 4, 2)
    assert record.price_cents == 2000
    assert event_types(desk_path, 7) == [
        "OffchainOrderEvent::Placed",
        "OffchainOrderEvent::Submitted",
        "OffchainOrderEvent::PartiallyFilled",
        "OffchainOrderEvent::Filled",
    ]


def test_sending_again_after_a_crash_never_places_a_second_broker_order(
    core: Core, clock: ManualClock
) -> None:
    broker = PaperBroker(clock=clock, fill_price=Decimal("5"))
    request = ManualOrder("MSFT", Decimal(3), Direction.BUY)
    execution_id = record_manual_order(core, request, broker)
    placed = order(core.store, execution_id)
    assert placed is not None and placed.status == "PENDING"
    # the process died after the broker accepted the order, before it was confirmed
    key = idempotency_key("hedgebot", execution_id, placed.placed_at)
    asyncio.run(broker.place_market_order("MSFT", Decimal(3), Direction.BUY, key))

    first = asyncio.run(send_manual_order(core, broker, execution_id, poll_interval=0))
    again = asyncio.run(send_manual_order(core, broker, execution_id, poll_interval=0))
    assert (first.record.status, again.record.status) == ("FILLED", "FILLED")
    assert broker.orders_placed == 1


def test_an_order_still_working_when_the_wait_ends_is_cancelled_and_failed(
    core: Core, clock: ManualClock
) -> None:
    broker = PaperBroker(clock=clock, fill_price=Decimal("5"), fill_after_polls=100)
    outcome = asyncio.run(
        place_manual_order(
            core, broker, ManualOrder("MSFT", Decimal(1), Direction.BUY), wait_seconds=0
        )
    )
    assert outcome.record.status == "FAILED"
    assert outcome.record.error == "cancelled after 0 s without a fill"
    assert outcome.note == "not filled within 0 s: cancelled at the broker"


def test_the_order_manager_completes_a_manual_order_left_open(
    core: Core, clock: ManualClock
) -> None:
    broker = PaperBroker(clock=clock, fill_price=Decimal("5"), fill_after_polls=1)
    request = ManualOrder("MSFT", Decimal(1), Direction.BUY)
    execution_id = record_manual_order(core, request, broker)
    # the command sent the order and died before following it to its fill
    placed = order(core.store, execution_id)
    assert placed is not None
    key = idempotency_key("hedgebot", execution_id, placed.placed_at)
    broker_order_id = asyncio.run(broker.place_market_order("MSFT", Decimal(1), Direction.BUY, key))
    core.orders.execute(str(execution_id), ConfirmSubmission(broker_order_id=broker_order_id))
    manager = OrderManager(core.store, core.orders, core.positions, broker, clock, poll_interval=0)

    async def drive() -> None:
        for _ in range(3):
            await manager.step()

    asyncio.run(drive())
    done = order(core.store, execution_id)
    assert done is not None
    assert done.status == "FILLED"
