"""A seeded desk for the operator-surface tests: real command handlers, real managers,
the paper broker, on a copy of the migrated SQLite template.

After `seed` (one minute between fills, the paper market always open):

* AAPL — onchain BUY 0.6 @ 100, BUY 0.7 @ 102; hedge 1 SELL 1 filled at 103.00;
  onchain SELL 1.5 @ 101; hedge 2 BUY 1 filled at 101.50: net -0.2, realised PnL
  2.2 - 0.3 - 0.5 = 1.4;
* TSLA — onchain SELL 2.5 @ 250; hedges 3, 4, 5 (BUY 2) rejected by the broker:
  net -2.5, automatic hedging suspended after three failures;
* NVDA — onchain BUY 1.5 @ 140; hedge 6 SELL 1 still working at the broker
  (SUBMITTED): net 1.5, pending execution 6.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hedgebot.bootstrap import Core, build_core
from hedgebot.brokers.paper import PaperBroker
from hedgebot.clock import ManualClock
from hedgebot.config import load_settings
from hedgebot.domain import Direction
from hedgebot.eventstore import EventStore
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.offchain_order.order_manager import OrderManager
from hedgebot.onchain_trade.commands import Witness
from hedgebot.position.checker import PositionChecker
from hedgebot.position.trade_manager import TradeManager

#: Tuesday 2025-01-07 15:00 UTC = 10:00 in New York (the paper market is always open)
START = datetime(2025, 1, 7, 15, 0, tzinfo=UTC)
AAPL_FIRST_TX = "0x" + "00" * 31 + "01"


@dataclass
class Desk:
    """The pipeline of `hedgebot run` minus the chain: fills go in as `Witness`."""

    core: Core
    clock: ManualClock
    broker: PaperBroker
    block: int = 100

    @classmethod
    def open(cls, path: Path, start: datetime = START) -> Desk:
        return cls.over(SqliteEventStore(str(path), synchronous="NORMAL"), start)

    @classmethod
    def over(cls, store: EventStore, start: datetime = START) -> Desk:
        """A desk over any store backend (closed with the desk)."""
        clock = ManualClock(start)
        core = build_core(load_settings(None, environ={}), clock=clock, store=store)
        broker = PaperBroker(clock=clock)
        return cls(core, clock, broker)

    def close(self) -> None:
        self.core.close()

    def fill(self, symbol: str, amount: str, direction: Direction, price: str) -> str:
        """Witness one onchain fill of ours, a minute after the previous event."""
        self.clock.advance(timedelta(minutes=1))
        self.block += 1
        last = self.core.store.last_position()
        trade_id = f"0x{last + 1:064x}:0"
        self.core.onchain_trades.execute(
            trade_id,
            Witness(
                symbol=symbol,
                amount=Decimal(amount),
                direction=direction,
                price_usdc=Decimal(price),
                block_number=self.block,
                block_timestamp=self.clock.now(),
            ),
        )
        return trade_id

    def acknowledge(self) -> int:
        """Let the TradeManager acknowledge every recorded fill (no broker involved)."""
        return TradeManager(self.core.store, self.core.positions, self.core.policy).drain()

    def settle(self, rounds: int = 4) -> None:
        """Acknowledge fills and drive broker orders until nothing moves (bounded)."""
        trades = TradeManager(self.core.store, self.core.positions, self.core.policy)
        orders = OrderManager(
            self.core.store,
            self.core.orders,
            self.core.positions,
            self.broker,
            self.clock,
            poll_interval=0,
        )

        async def run() -> None:
            for _ in range(rounds):
                trades.drain()
                await orders.step()
                self.clock.advance(timedelta(seconds=30))

        asyncio.run(run())

    def check_positions(self) -> list[str]:
        return PositionChecker(self.core.store, self.core.positions, self.core.policy).check()


def seed(path: Path) -> None:
    seed_desk(Desk.open(path))


def seed_desk(desk: Desk) -> None:
    """Write the story of the module docstring through ``desk`` (and close it)."""
    try:
        desk.broker.set_price("AAPL", Decimal("103"))
        desk.fill("tAAPL", "0.6", Direction.BUY, "100")
        desk.fill("tAAPL", "0.7", Direction.BUY, "102")
        desk.settle()
        desk.broker.set_price("AAPL", Decimal("101.5"))
        desk.fill("tAAPL", "1.5", Direction.SELL, "101")
        desk.settle()

        desk.broker.reject_symbols.add("TSLA")
        desk.fill("TSLA0x", "2.5", Direction.SELL, "250")
        desk.settle()
        for _ in range(2):
            assert desk.check_positions() == ["TSLA"]
            desk.settle()

        desk.broker.fill_after_polls = 1_000_000
        desk.broker.set_price("NVDA", Decimal("141"))
        desk.fill("tNVDA", "1.5", Direction.BUY, "140")
        desk.settle()
    finally:
        desk.close()


def seeded_copy(template: Path, target: Path) -> Path:
    shutil.copyfile(template, target)
    return target
