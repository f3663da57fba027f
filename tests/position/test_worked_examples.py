"""The worked examples of SPEC §4.2 / bot-behaviour.md §3, through a real CommandHandler
on every store backend (with the reference's bugs fixed: no lost shares on failure,
working dollar thresholds, no double counting)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hedgebot.clock import ManualClock
from hedgebot.domain import Broker, Direction
from hedgebot.eventstore import CommandHandler
from hedgebot.eventstore.store import EventStore
from hedgebot.position.commands import (
    CompleteOffChainOrder,
    FailOffChainOrder,
    PlaceOffChainOrder,
    PositionCommand,
    ResumeHedging,
)
from hedgebot.position.errors import HedgingSuspended, ThresholdNotMet
from hedgebot.position.events import (
    POSITION_EVENTS,
    DollarThreshold,
    OffChainOrderPlaced,
    OnChainOrderFilled,
    SharesThreshold,
)
from hedgebot.position.state import FAILURES_BEFORE_SUSPENSION, POSITION, PositionState
from tests.position.builders import BUY, ONE_DOLLAR, SELL, ack, d, minutes

START = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def positions(
    store: EventStore, clock: ManualClock
) -> CommandHandler[PositionState, PositionCommand]:
    return CommandHandler(store, POSITION, clock=clock, snapshot_every=3)


def placements(store: EventStore, symbol: str = "AAPL") -> list[OffChainOrderPlaced]:
    events = [POSITION_EVENTS.decode(row) for row in store.load_stream("Position", symbol)]
    return [e for e in events if isinstance(e, OffChainOrderPlaced)]


def done(
    execution_id: int, shares: str, direction: Direction, at: datetime
) -> CompleteOffChainOrder:
    return CompleteOffChainOrder(execution_id, d(shares), direction, "ORD", 18912, at)


def test_three_small_sells_place_exactly_one_buy_of_one_share_on_the_third_fill(
    positions: CommandHandler[PositionState, PositionCommand], store: EventStore, clock: ManualClock
) -> None:
    first = positions.execute("AAPL", ack(1, "0.3", SELL))
    clock.advance(minutes(1))
    second = positions.execute("AAPL", ack(2, "0.5", SELL))
    clock.advance(minutes(1))
    third = positions.execute("AAPL", ack(3, "0.4", SELL))

    assert not any(isinstance(e, OffChainOrderPlaced) for e in first.events + second.events)
    assert [type(e) for e in third.events] == [OnChainOrderFilled, OffChainOrderPlaced]
    hedge = third.events[1]
    assert isinstance(hedge, OffChainOrderPlaced)
    assert (hedge.shares, hedge.direction, hedge.execution_id) == (d("1"), BUY, 1)
    assert hedge.trigger_reason == SharesThreshold(d("1.2"), d("1"))
    assert third.state.net == d("-1.2")  # placing does not move net

    clock.advance(minutes(1))
    filled = positions.execute("AAPL", done(1, "1", BUY, clock.now()))
    assert (filled.state.net, filled.state.pending_execution_id) == (d("-0.2"), None)

    with pytest.raises(ThresholdNotMet):
        positions.execute("AAPL", PlaceOffChainOrder(Broker.SCHWAB))
    assert positions.load("AAPL").state.net == d("-0.2")
    assert len(placements(store)) == 1


def test_a_failed_hedge_is_placed_again_by_the_position_checker(
    positions: CommandHandler[PositionState, PositionCommand], store: EventStore
) -> None:
    positions.execute("AAPL", ack(1, "1.2", SELL))
    failed = positions.execute("AAPL", FailOffChainOrder(1, "rejected: market closed"))
    assert (failed.state.net, failed.state.pending_execution_id) == (d("-1.2"), None)

    again = positions.execute("AAPL", PlaceOffChainOrder(Broker.SCHWAB))
    hedge = again.events[0]
    assert isinstance(hedge, OffChainOrderPlaced)
    assert (hedge.execution_id, hedge.shares, hedge.direction) == (2, d("1"), BUY)
    assert [p.execution_id for p in placements(store)] == [1, 2]


def test_a_dollar_threshold_of_one_dollar_hedges_two_hundredths_of_a_share_at_100(
    positions: CommandHandler[PositionState, PositionCommand],
) -> None:
    result = positions.execute(
        "AAPL",
        ack(
            1,
            "0.02",
            BUY,
            "100",
            broker=Broker.ALPACA,
            default_threshold=ONE_DOLLAR,
            fractional_decimals=9,
        ),
    )
    hedge = result.events[-1]
    assert isinstance(hedge, OffChainOrderPlaced)
    assert (hedge.shares, hedge.direction, hedge.broker) == (d("0.02"), SELL, Broker.ALPACA)
    assert hedge.trigger_reason == DollarThreshold(d("0.02"), d("2.00"), d("100"), d("1"))


def test_buy_fills_place_sell_hedges(
    positions: CommandHandler[PositionState, PositionCommand],
) -> None:
    positions.execute("MSFT", ack(1, "0.3", BUY, symbol="MSFT"))
    positions.execute("MSFT", ack(2, "0.4", BUY, symbol="MSFT"))
    result = positions.execute("MSFT", ack(3, "0.5", BUY, symbol="MSFT"))
    hedge = result.events[-1]
    assert isinstance(hedge, OffChainOrderPlaced)
    assert (hedge.shares, hedge.direction) == (d("1"), SELL)


def test_a_repeated_acknowledgement_stores_nothing(
    positions: CommandHandler[PositionState, PositionCommand], store: EventStore
) -> None:
    positions.execute("AAPL", ack(1, "0.7", SELL))
    again = positions.execute("AAPL", ack(1, "0.7", SELL))
    assert again.events == [] and again.state.net == d("-0.7")
    assert len(store.load_stream("Position", "AAPL")) == 2  # Initialized + one fill


def test_execution_ids_are_unique_across_symbols(
    positions: CommandHandler[PositionState, PositionCommand], store: EventStore
) -> None:
    positions.execute("AAPL", ack(1, "1", SELL))
    positions.execute("TSLA", ack(2, "2", BUY, symbol="TSLA"))
    ids = [p.execution_id for p in placements(store, "AAPL") + placements(store, "TSLA")]
    assert ids == [1, 2]


def test_repeated_failures_suspend_automatic_hedging_until_the_operator_resumes_it(
    positions: CommandHandler[PositionState, PositionCommand],
) -> None:
    positions.execute("AAPL", ack(1, "2.5", SELL))
    for execution_id in range(1, FAILURES_BEFORE_SUSPENSION):
        positions.execute("AAPL", FailOffChainOrder(execution_id, "rejected"))
        positions.execute("AAPL", PlaceOffChainOrder(Broker.SCHWAB))
    last = positions.execute("AAPL", FailOffChainOrder(FAILURES_BEFORE_SUSPENSION, "rejected"))
    assert last.state.hedging_suspended

    with pytest.raises(HedgingSuspended):
        positions.execute("AAPL", PlaceOffChainOrder(Broker.SCHWAB))
    quiet = positions.execute("AAPL", ack(2, "1", SELL))
    assert [type(e) for e in quiet.events] == [OnChainOrderFilled]
    assert quiet.state.net == d("-3.5")  # fills keep counting while suspended

    positions.execute("AAPL", ResumeHedging())
    resumed = positions.execute("AAPL", PlaceOffChainOrder(Broker.SCHWAB))
    hedge = resumed.events[0]
    assert isinstance(hedge, OffChainOrderPlaced)
    assert (hedge.shares, hedge.direction) == (Decimal(3), BUY)
