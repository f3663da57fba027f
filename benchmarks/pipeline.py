"""Fill → placed broker order pipeline throughput and latency (issue 6).

Feeds N fills straight into the managers (no chain): each fill is an
`OnChainTrade.Witness`, then the TradeManager acknowledges it (the Position decides
the hedge), the OrderManager creates the OffchainOrder, places it at the paper broker
(which fills instantly) and records the fill on the order and the position. Every
fill is one share, so every fill produces exactly one hedge.

Latency is measured per fill from just before its Witness to the moment the paper
broker receives the order. Three feeding modes:

* ``sequential``: one fill at a time through the whole pipeline (latency floor);
* ``burst``: fills arrive in bursts of ``--burst``, witnessed in one transaction as
  the chain follower records a block range, and the managers catch up (throughput
  under load; latency includes queueing behind the burst);
* ``paced``: fills arrive one by one at a steady ``--rate`` (open loop: they keep
  coming whether or not the pipeline keeps up); each round witnesses what has arrived
  in one transaction and lets each manager take one batch; latency counts from the
  scheduled arrival, so queueing is included. This is "≥ rate fills/s *and* p99"
  at once. Over 676 symbols; a run whose backlog passes 600 fills is reported as not
  keeping up.

Prints fills/s, p50 and p99 latency (median of ``--runs`` runs, p99 range) per mode,
and the virtual machine's CPU steal and I/O stall share during each mode (see
``machine.py``): on a shared VM those, not the code, often decide a p99.

    .venv/bin/python benchmarks/pipeline.py --fills 10000 --runs 3 2>/dev/null
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from machine import Noise

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
# The paced mode cycles through every two-letter symbol, so a symbol comes back only
# after 676 fills; a backlog that large means the pipeline cannot keep up (a fill of a
# symbol whose hedge is still pending is netted into a later hedge, not hedged alone).
PACED_SYMBOLS = 676
PACED_MAX_BACKLOG = 600


class Overloaded(Exception):
    """The paced mode's backlog grew past what the benchmark can attribute."""


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


def run_once(fills: int, burst: int, synchronous: str, rate: float | None = None) -> Result:
    symbols = SYMBOLS if rate is None else PACED_SYMBOLS
    with tempfile.TemporaryDirectory(prefix="hedgebot-bench-") as tmp:
        core, clock, broker, trades, orders = build(Path(tmp), synchronous)
        starts: list[float] = []

        async def feed() -> float:
            await orders.refresh_market()
            began = time.perf_counter()
            for first in range(0, fills, burst):
                # A burst is witnessed in one transaction, as the chain follower records
                # a block range; a single fill is its own transaction.
                witness(range(first, min(fills, first + burst)))
                while trades.process_batch() or await orders.step():
                    pass
            return time.perf_counter() - began

        def witness(numbers: range, arrivals: list[float] | None = None) -> None:
            with core.store.transaction() as tx, core.onchain_trades.batch(tx):
                for i in numbers:
                    symbol = f"t{chr(65 + i % symbols // 26)}{chr(65 + i % 26)}X"
                    direction = Direction.BUY if (i // symbols) % 2 == 0 else Direction.SELL
                    starts.append(time.perf_counter() if arrivals is None else arrivals[i])
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

        async def feed_paced() -> float:
            # Open loop: fill i arrives at began + i / rate whether or not the pipeline
            # has caught up. Each round witnesses every fill that has arrived since the
            # last round in one transaction (as the chain follower records what a poll
            # returned), then lets the managers take one batch each. Latency counts
            # from the fill's scheduled arrival, so time spent queued is included.
            await orders.refresh_market()
            began = time.perf_counter()
            arrivals = [began + i / rate for i in range(fills)]
            next_fill = 0
            while next_fill < fills or len(broker.arrivals) < fills:
                now = time.perf_counter()
                arrived = next_fill
                while arrived < fills and arrivals[arrived] <= now:
                    arrived += 1
                if arrived > next_fill:
                    witness(range(next_fill, arrived), arrivals)
                    next_fill = arrived
                if next_fill - len(broker.arrivals) > PACED_MAX_BACKLOG:
                    raise Overloaded(
                        f"more than {PACED_MAX_BACKLOG} fills waiting for their hedge "
                        f"after {next_fill} fills"
                    )
                busy = trades.process_batch()
                busy += await orders.step()
                if busy:
                    continue
                if next_fill == fills:
                    break  # every fill is in and the managers are idle
                await asyncio.sleep(max(0.0, arrivals[next_fill] - time.perf_counter()))
            return broker.arrivals[-1] - began

        try:
            seconds = asyncio.run(feed() if rate is None else feed_paced())
        finally:
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
    parser.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="arrival rate of the paced mode in fills/s (0 leaves the paced mode out)",
    )
    args = parser.parse_args()
    # Production logging (JSON lines on stderr, INFO): the hedge log lines are part of
    # the real cost. Send stderr elsewhere to keep the figures readable.
    configure_logging("INFO", json_output=True)
    tune_garbage_collector()  # as `hedgebot run` does
    print(
        f"pipeline: {args.fills} fills, paper broker filling instantly, SQLite "
        f"synchronous={args.synchronous}, median of {args.runs} runs"
    )
    modes: list[tuple[str, int, float | None]] = [
        ("sequential", 1, None),
        (f"burst of {args.burst}", args.burst, None),
    ]
    if args.rate > 0:
        modes.append((f"paced {args.rate:.0f}/s", 1, args.rate))
    for mode, burst, rate in modes:
        with Noise() as noise:
            try:
                results = [
                    run_once(args.fills, burst, args.synchronous, rate) for _ in range(args.runs)
                ]
            except Overloaded as exc:
                print(f"  {mode:>14}: cannot keep up ({exc})")
                continue
        throughput = statistics.median(r.rate for r in results)
        p50 = statistics.median(r.percentile(0.50) for r in results)
        p99s = [r.percentile(0.99) for r in results]
        steal = "n/a" if noise.steal is None else f"{noise.steal:.1%}"
        io = "n/a" if noise.io_stall is None else f"{noise.io_stall:.1%}"
        print(
            f"  {mode:>14}: {throughput:8.0f} fills/s   witness→broker p50 {p50:7.2f} ms   "
            f"p99 {statistics.median(p99s):7.2f} ms [{min(p99s):.1f} – {max(p99s):.1f}]   "
            f"CPU steal {steal}, I/O stall {io}"
        )
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
