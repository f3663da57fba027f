"""Broker adapters: one hedge's broker round trip (place + status polls to the fill).

For the paper broker, Alpaca against its fake and Schwab against its fake (local
aiohttp servers, same process), times N sequential hedges each made of
``place_market_order`` and ``get_order_status`` until filled, and N concurrent ones.
This is adapter + HTTP overhead on localhost, not broker latency.

Prints medians of several runs. Usage, from the repository root (it reuses the test
harness): ``.venv/bin/python -m benchmarks.broker_roundtrip [orders]``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from decimal import Decimal

from tests.brokers.harness import HARNESSES, Harness

from hedgebot.brokers.protocol import BrokerPort
from hedgebot.clock import ManualClock
from hedgebot.domain import Direction

RUNS = 5
SESSION_OPEN = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)


async def hedge(broker: BrokerPort, key: str) -> None:
    order_id = await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, key)
    while not (await broker.get_order_status(order_id)).state.is_final:
        pass


async def measure(
    make: Callable[[ManualClock], AbstractAsyncContextManager[Harness]], orders: int, run: int
) -> tuple[float, float]:
    async with make(ManualClock(SESSION_OPEN)) as harness:
        await hedge(harness.broker, f"warm-{run}")
        start = time.perf_counter()
        for n in range(orders):
            await hedge(harness.broker, f"seq-{run}-{n}")
        sequential = (time.perf_counter() - start) / orders
        start = time.perf_counter()
        await asyncio.gather(*(hedge(harness.broker, f"par-{run}-{n}") for n in range(orders)))
        concurrent = orders / (time.perf_counter() - start)
    return sequential, concurrent


async def main(orders: int) -> None:
    print(f"{orders} hedges per run, median of {RUNS} runs")
    for name, make in sorted(HARNESSES.items()):
        results = [await measure(make, orders, run) for run in range(RUNS)]
        per_hedge_ms = statistics.median(r[0] for r in results) * 1000
        throughput = statistics.median(r[1] for r in results)
        print(
            f"{name:7s} sequential {per_hedge_ms:7.2f} ms/hedge   "
            f"concurrent {throughput:8.0f} hedges/s"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
