"""Fill → placed broker order pipeline throughput and latency (issue 6).

Feeds N fills straight into the managers (no chain): each fill is an
`OnChainTrade.Witness`, then the TradeManager acknowledges it (the Position decides
the hedge), the OrderManager creates the OffchainOrder, places it at the paper broker
(which fills instantly) and records the fill on the order and the position. Every
fill is one share, so every fill produces exactly one hedge.

Latency is measured per fill from just before its Witness to the moment the paper
broker receives the order. Two feeding modes:

* ``sequential``: one fill at a time through the whole pipeline (latency floor);
* ``burst``: fills arrive in bursts of ``--burst``, witnessed in one transaction as
  the chain follower records a block range, and the managers catch up (throughput
  under load; latency includes queueing behind the burst).

Prints fills/s and p50/p99 latency per mode, median of ``--runs`` runs.

    .venv/bin/python benchmarks/pipeline.py --fills 10000 --runs 3 2>/dev/null
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hedgebot.bootstrap import Core, build_core
from hedgebot.brokers.paper import PaperBroker
from hedgebot.clock import ManualClock
from hedgebot.config import load_settings
from hedgebot.domain import Direction
from hedgebot.eventstore import schema
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.logs import configure_logging
from hedgebot.offchain_order.order_manager import OrderManager
from hedgebot.onchain_trade.commands import Witness
from hedgebot.position.trade_manager import TradeManager
from hedgebot.runtime import tune_garbage_collector

SYMBOLS = 200


class TimedPaperBroker(PaperBroker):
    """The paper broker, noting when each order arrives (benchmark only)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.arrivals: list[float] = []

    async def place_market_order(
        self, symbol: str, quantity: Decimal, side: Direction, idempotency_key: str
    ) -> str:
        self.arrivals.append(time.perf_counter())
        return await super().place_market_order(symbol, quantity, side, idempotency_key)


@dataclass
class Result:
    fills: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.fills / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build(
    tmp: Path, synchronous: str
) -> tuple[Core, ManualClock, TimedPaperBroker, TradeManager, OrderManager]:
    path = tmp / "pipeline.db"
    schema.upgrade(f"sqlite://{path}")
    settings = load_settings(None, environ={"HEDGEBOT_DATABASE__URL": f"sqlite://{path}"})
    clock = ManualClock(datetime(2025, 1, 7, 15, tzinfo=UTC))
    store = SqliteEventStore(str(path), synchronous=synchronous)
    core = build_core(settings, clock=clock, store=store, upgrade=False)
    broker = TimedPaperBroker(clock=clock, fill_price=Decimal("100"))
    trades = TradeManager(core.store, core.positions, core.policy)
    orders = OrderManager(core.store, core.orders, core.positions, broker, clock, poll_interval=0)
    return core, clock, broker, trades, orders


def run_once(fills: int, burst: int, synchronous: str) -> Result:
    with tempfile.TemporaryDirectory(prefix="hedgebot-bench-") as tmp:
        core, clock, broker, trades, orders = build(Path(tmp), synchronous)
        starts: list[float] = []

        async def feed() -> float:
            await orders.refresh_market()
            began = time.perf_counter()
            for first in range(0, fills, burst):
                # A burst is witnessed in one transaction, as the chain follower records
                # a block range; a single fill is its own transaction.
                with core.store.transaction() as tx, core.onchain_trades.batch(tx):
                    for i in range(first, min(fills, first + burst)):
                        symbol = f"t{chr(65 + i % SYMBOLS // 26)}{chr(65 + i % 26)}X"
                        direction = Direction.BUY if (i // SYMBOLS) % 2 == 0 else Direction.SELL
                        starts.append(time.perf_counter())
                        # Time moves on as in production: a fill's block time never ties
                        # the broker fill times of earlier hedges (a frozen clock would
                        # make every fill re-book its symbol's PnL rows from the start).
                        clock.advance(timedelta(milliseconds=1))
                        core.onchain_trades.execute_in(
                            tx,
                            f"0x{i + 1:064x}:0",
                            Witness(
                                symbol=symbol,
                                amount=Decimal(1),
                                direction=direction,
                                price_usdc=Decimal("100"),
                                block_number=i + 1,
                                block_timestamp=core.clock.now(),
                            ),
                        )
                while trades.process_batch() or await orders.step():
                    pass
            return time.perf_counter() - began

        seconds = asyncio.run(feed())
        core.close()
        if len(broker.arrivals) != fills:
            raise SystemExit(f"expected {fills} broker orders, got {len(broker.arrivals)}")
        latencies = [(a - s) * 1000 for s, a in zip(starts, broker.arrivals, strict=True)]
        return Result(fills, seconds, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fills", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--synchronous", default="FULL", choices=["NORMAL", "FULL"])
    args = parser.parse_args()
    # Production logging (JSON lines on stderr, INFO): the hedge log lines are part of
    # the real cost. Send stderr elsewhere to keep the figures readable.
    configure_logging("INFO", json_output=True)
    tune_garbage_collector()  # as `hedgebot run` does
    print(
        f"pipeline: {args.fills} fills, paper broker filling instantly, SQLite "
        f"synchronous={args.synchronous}, median of {args.runs} runs"
    )
    for mode, burst in (("sequential", 1), (f"burst of {args.burst}", args.burst)):
        results = [run_once(args.fills, burst, args.synchronous) for _ in range(args.runs)]
        rate = statistics.median(r.rate for r in results)
        p50 = statistics.median(r.percentile(0.50) for r in results)
        p99 = statistics.median(r.percentile(0.99) for r in results)
        print(
            f"  {mode:>14}: {rate:8.0f} fills/s   witness→broker p50 {p50:7.2f} ms   "
            f"p99 {p99:7.2f} ms"
        )


if __name__ == "__main__":
    main()
