"""Benchmark: REST API read latency over a desk with many fills (prints figures).

Builds a SQLite store through the real pipeline (Witness → TradeManager → OrderManager
with the paper broker), then times each read endpoint in-process (FastAPI TestClient:
routing, validation, JSON encoding and the store queries, no network). Reports the
median and the slowest of the runs, in milliseconds.

Usage: .venv/bin/python benchmarks/api_reads.py [--fills 20000] [--symbols 50] [--runs 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hedgebot.api import create_app
from hedgebot.bootstrap import build_core
from hedgebot.brokers.paper import PaperBroker
from hedgebot.clock import ManualClock
from hedgebot.config import load_settings
from hedgebot.domain import Direction
from hedgebot.eventstore.schema import upgrade
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.logs import configure_logging
from hedgebot.offchain_order.order_manager import OrderManager
from hedgebot.onchain_trade.commands import Witness
from hedgebot.position.trade_manager import TradeManager

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

START = datetime(2025, 1, 7, 15, 0, tzinfo=UTC)


def seed(path: Path, fills: int, symbols: int) -> float:
    clock = ManualClock(START)
    settings = load_settings(None, environ={"HEDGEBOT_DATABASE__URL": f"sqlite://{path}"})
    core = build_core(settings, clock=clock, store=SqliteEventStore(str(path), synchronous="OFF"))
    broker = PaperBroker(clock=clock, fill_price=Decimal("100"))
    trades = TradeManager(core.store, core.positions, core.policy)
    orders = OrderManager(core.store, core.orders, core.positions, broker, clock, poll_interval=0)
    began = time.perf_counter()
    for index in range(fills):
        clock.advance(timedelta(seconds=1))
        direction = Direction.BUY if index % 3 else Direction.SELL
        core.onchain_trades.execute(
            f"0x{index + 1:064x}:0",
            Witness(
                symbol=f"tS{index % symbols:03d}",
                amount=Decimal("0.37"),
                direction=direction,
                price_usdc=Decimal(100 + index % 7),
                block_number=index + 1,
                block_timestamp=clock.now(),
            ),
        )
        if index % 500 == 499:
            trades.drain()
            asyncio.run(orders.step())
            asyncio.run(orders.step())
    trades.drain()
    asyncio.run(orders.step())
    asyncio.run(orders.step())
    core.close()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fills", type=int, default=20_000)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    configure_logging("WARNING", json_output=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "desk.db"
        upgrade(f"sqlite://{path}")
        seconds = seed(path, args.fills, args.symbols)
        print(f"seeded {args.fills} fills over {args.symbols} symbols in {seconds:.1f} s")
        settings = load_settings(None, environ={"HEDGEBOT_DATABASE__URL": f"sqlite://{path}"})
        core = build_core(settings, store=SqliteEventStore(str(path)))
        offset = max(0, args.fills - 100)
        paths = [
            "/trades?limit=100",
            f"/trades?limit=100&offset={offset}",
            "/trades?symbol=S007&limit=100",
            "/trades?since=2025-01-07T18:00:00Z&limit=100",
            "/positions",
            "/positions/S007",
            "/orders?limit=100",
            "/orders?status=FILLED&limit=100",
            "/orders/counts",
            "/pnl?order=desc&limit=1000",
            "/pnl?symbol=S007&limit=100",
            "/metrics",
            "/health",
        ]
        with TestClient(create_app(core, settings)) as client:
            print(f"{'endpoint':48} {'median ms':>10} {'max ms':>8}")
            for endpoint in paths:
                assert client.get(endpoint).status_code == 200, endpoint
                timings = []
                for _ in range(args.runs):
                    began = time.perf_counter()
                    response = client.get(endpoint)
                    timings.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200
                print(f"{endpoint:48} {statistics.median(timings):10.2f} {max(timings):8.2f}")
        core.close()


if __name__ == "__main__":
    main()
