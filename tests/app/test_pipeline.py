"""The manager pipeline on a real SQLite store with the paper broker (no chain):
fill → Position → OffchainOrder → broker → fill/failure → Position."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.bootstrap import Core, build_core
from hedgebot.brokers.errors import BrokerUnavailable
from hedgebot.brokers.hours import UsEquitySessions
from hedgebot.brokers.paper import PaperBroker
from hedgebot.brokers.protocol import OrderStatus
from hedgebot.clock import ManualClock
from hedgebot.conductor import Stop
from hedgebot.config import load_settings
from hedgebot.domain import Direction
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.offchain_order.order_manager import OrderManager
from hedgebot.offchain_order.view import order as order_record
from hedgebot.onchain_trade.commands import Witness
from hedgebot.position.checker import PositionChecker
from hedgebot.position.trade_manager import TradeManager
from hedgebot.position.view import position_by_symbol

# Tuesday 2025-01-07 15:00 UTC = 10:00 New York: the regular session is open.
OPEN = datetime(2025, 1, 7, 15, 0, tzinfo=UTC)
# Saturday: closed.
WEEKEND = datetime(2025, 1, 4, 15, 0, tzinfo=UTC)


class Bot:
    def __init__(self, core: Core, broker: PaperBroker) -> None:
        self.core = core
        self.broker = broker
        self.trades = TradeManager(core.store, core.positions, core.policy)
        self.orders = OrderManager(
            core.store, core.orders, core.positions, broker, core.clock, poll_interval=0
        )
        self.checker = PositionChecker(core.store, core.positions, core.policy)
        self.block = 100
        self.tx = 0

    def fill(self, symbol: str, amount: str, direction: Direction, price: str = "100") -> str:
        self.tx += 1
        self.block += 1
        trade_id = f"0x{self.tx:064x}:0"
        self.core.onchain_trades.execute(
            trade_id,
            Witness(
                symbol=symbol,
                amount=Decimal(amount),
                direction=direction,
                price_usdc=Decimal(price),
                block_number=self.block,
                block_timestamp=self.core.clock.now(),
            ),
        )
        return trade_id

    def settle(self, rounds: int = 4) -> None:
        """Let every manager run until nothing moves (bounded)."""

        async def run() -> None:
            for _ in range(rounds):
                self.trades.drain()
                await self.orders.step()

        asyncio.run(run())

    def position_events(self, symbol: str) -> list[str]:
        return [e.event_type for e in self.core.store.load_stream("Position", symbol)]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(OPEN)


@pytest.fixture
def core(sqlite_path: Path, clock: ManualClock) -> Iterator[Core]:
    settings = load_settings(None, environ={"HEDGEBOT_DATABASE__URL": f"sqlite://{sqlite_path}"})
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    built = build_core(settings, clock=clock, store=store)
    yield built
    built.close()


def test_three_sells_place_one_buy_of_one_share_and_leave_the_remainder(core: Core) -> None:
    broker = PaperBroker(clock=core.clock, fill_price=Decimal("101.25"))
    bot = Bot(core, broker)
    for amount in ("0.3", "0.5", "0.4"):
        bot.fill("tAAPL", amount, Direction.SELL)
    bot.settle()

    assert bot.position_events("AAPL") == [
        "PositionEvent::Initialized",
        "PositionEvent::OnChainOrderFilled",
        "PositionEvent::OnChainOrderFilled",
        "PositionEvent::OnChainOrderFilled",
        "PositionEvent::OffChainOrderPlaced",
        "PositionEvent::OffChainOrderFilled",
    ]
    assert broker.orders_placed == 1
    position = position_by_symbol(core.store, "AAPL")
    assert position is not None
    assert position.net == Decimal("-0.2")
    assert position.pending_execution_id is None
    record = order_record(core.store, 1)
    assert record is not None
    assert record.status == "FILLED"
    assert record.direction is Direction.BUY
    assert record.shares == Decimal(1)
    assert record.price_cents == 10125


def test_a_rejected_hedge_is_placed_again_by_the_position_checker(core: Core) -> None:
    broker = PaperBroker(clock=core.clock, fill_price=Decimal("50"), reject_symbols=["TSLA"])
    bot = Bot(core, broker)
    bot.fill("TSLA0x", "2.5", Direction.BUY)
    bot.settle()

    first = order_record(core.store, 1)
    assert first is not None
    assert first.status == "FAILED"
    position = position_by_symbol(core.store, "TSLA")
    assert position is not None
    assert position.net == Decimal("2.5")  # a failed hedge leaves the exposure visible
    assert position.pending_execution_id is None

    broker.reject_symbols.clear()
    assert bot.checker.check() == ["TSLA"]
    bot.settle()

    second = order_record(core.store, 2)
    assert second is not None
    assert second.status == "FILLED"
    assert second.direction is Direction.SELL
    assert second.shares == Decimal(2)
    position = position_by_symbol(core.store, "TSLA")
    assert position is not None
    assert position.net == Decimal("0.5")
    assert broker.orders_placed == 1  # the rejected placement never became an order


def test_fills_while_the_market_is_closed_are_hedged_at_the_open(
    core: Core, clock: ManualClock
) -> None:
    clock.set(WEEKEND)
    broker = PaperBroker(clock=clock, fill_price=Decimal("200"), sessions=UsEquitySessions())
    bot = Bot(core, broker)
    bot.fill("tNVDA", "1.5", Direction.BUY)
    bot.fill("tNVDA", "1.0", Direction.BUY)
    bot.settle()
    assert broker.orders_placed == 0
    pending = order_record(core.store, 1)
    assert pending is not None
    assert pending.status == "PENDING"  # decided, but not sent while closed

    clock.set(OPEN + timedelta(days=0))
    bot.settle()
    assert broker.orders_placed == 1
    done = order_record(core.store, 1)
    assert done is not None
    assert done.status == "FILLED"
    position = position_by_symbol(core.store, "NVDA")
    assert position is not None
    # the first fill crossed the threshold (1 share); the second arrived while it was pending
    assert position.net == Decimal("1.5")
    assert bot.checker.check() == ["NVDA"]
    bot.settle()
    position = position_by_symbol(core.store, "NVDA")
    assert position is not None
    assert position.net == Decimal("0.5")


def test_a_partial_fill_moves_net_by_the_filled_quantity_only(core: Core) -> None:
    broker = PaperBroker(
        clock=core.clock, fill_price=Decimal("10"), partial_fill_ratio=Decimal("0.5")
    )
    bot = Bot(core, broker)
    bot.fill("tAMD", "4", Direction.SELL)
    bot.settle(rounds=6)
    record = order_record(core.store, 1)
    assert record is not None
    assert record.status == "FILLED"
    position = position_by_symbol(core.store, "AMD")
    assert position is not None
    assert position.net == Decimal("0")


def test_restarted_managers_do_not_acknowledge_or_place_twice(core: Core) -> None:
    broker = PaperBroker(clock=core.clock, fill_price=Decimal("100"))
    bot = Bot(core, broker)
    bot.fill("tAAPL", "1", Direction.BUY)
    bot.settle()
    # a "restart": fresh manager objects over the same store and broker
    again = Bot(core, broker)
    again.settle()
    assert broker.orders_placed == 1
    assert bot.position_events("AAPL").count("PositionEvent::OnChainOrderFilled") == 1


class StatusFailsOnce(PaperBroker):
    """A paper broker whose first status request after a placement fails."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.status_failures = 1

    async def get_order_status(self, order_id: str) -> OrderStatus:
        if self.status_failures:
            self.status_failures -= 1
            raise BrokerUnavailable("status endpoint timed out")
        return await super().get_order_status(order_id)


def _order_events(core: Core, execution_id: int) -> list[str]:
    stream = core.store.load_stream("OffchainOrder", str(execution_id))
    return [e.event_type for e in stream]


def test_an_order_filled_at_once_is_recorded_with_its_submission_in_one_step(
    core: Core,
) -> None:
    broker = PaperBroker(clock=core.clock, fill_price=Decimal("100"))
    bot = Bot(core, broker)
    bot.fill("tAAPL", "1", Direction.SELL)
    bot.trades.drain()
    asyncio.run(bot.orders.step())  # one drive: placed, asked at once, filled

    assert _order_events(core, 1) == [
        "OffchainOrderEvent::Placed",
        "OffchainOrderEvent::Submitted",
        "OffchainOrderEvent::Filled",
    ]
    submitted, filled = core.store.load_stream("OffchainOrder", "1")[1:]
    position_filled = core.store.load_stream("Position", "AAPL")[-1]
    assert position_filled.event_type == "PositionEvent::OffChainOrderFilled"
    # one transaction wrote them: consecutive global positions
    assert [submitted.position + 1, submitted.position + 2] == sorted(
        [filled.position, position_filled.position]
    )
    position = position_by_symbol(core.store, "AAPL")
    assert position is not None and position.net == Decimal("0")
    assert broker.orders_placed == 1


def test_a_status_error_right_after_placement_keeps_the_submission_and_polls_later(
    core: Core,
) -> None:
    broker = StatusFailsOnce(clock=core.clock, fill_price=Decimal("100"))
    bot = Bot(core, broker)
    bot.fill("tAAPL", "1", Direction.BUY)
    bot.trades.drain()
    asyncio.run(bot.orders.step())
    record = order_record(core.store, 1)
    assert record is not None
    assert (record.status, record.broker_order_id) == ("SUBMITTED", "PAPER-1")

    asyncio.run(bot.orders.step())
    record = order_record(core.store, 1)
    assert record is not None and record.status == "FILLED"
    assert broker.orders_placed == 1


def test_an_order_still_working_after_placement_is_left_submitted(core: Core) -> None:
    broker = PaperBroker(clock=core.clock, fill_price=Decimal("100"), fill_after_polls=2)
    bot = Bot(core, broker)
    bot.fill("tAAPL", "1", Direction.BUY)
    bot.trades.drain()
    asyncio.run(bot.orders.step())
    assert _order_events(core, 1) == [
        "OffchainOrderEvent::Placed",
        "OffchainOrderEvent::Submitted",
    ]
    bot.settle(rounds=4)
    record = order_record(core.store, 1)
    assert record is not None and record.status == "FILLED"
    assert broker.orders_placed == 1


def test_a_long_catch_up_lets_other_services_run_and_stops_between_batches(core: Core) -> None:
    """`TradeManager.run` yields after each batch: hedges decided early are placed
    while it catches up, and a stop lands between batches instead of after the backlog."""
    broker = PaperBroker(clock=core.clock, fill_price=Decimal("100"))
    bot = Bot(core, broker)
    bot.trades = TradeManager(core.store, core.positions, core.policy, batch_size=5)
    for n in range(60):
        bot.fill(f"t{'ABCDEF'[n % 6]}X", "1", Direction.BUY)
    stop = Stop()
    seen: list[int] = []

    async def probe() -> None:
        while not stop.is_set:
            seen.append(bot.trades.reactor.position())
            if len(seen) == 3:
                stop.set()
            await asyncio.sleep(0)

    async def run() -> None:
        await asyncio.gather(bot.trades.run(stop, idle=0.01), probe())

    asyncio.run(run())
    acknowledged = [
        e
        for e in core.store.read_all(0, 10_000)
        if e.event_type == "PositionEvent::OnChainOrderFilled"
    ]
    # the probe ran between batches (it saw the manager part-way) and stopped it early
    assert len(set(seen)) > 1
    assert 0 < len(acknowledged) < 60
