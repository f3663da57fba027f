"""The adapters never block the event loop while a broker is slow.

The fake runs on its own thread and holds its answer until a ticker task on the
test's event loop has ticked three times. An adapter that blocked the loop during
its request would starve the ticker: the fake would give up after 5 s with a 500
and the call would fail.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import pytest
from pydantic import SecretStr

from hedgebot.brokers.alpaca import AlpacaBroker
from hedgebot.brokers.fakes import FakeAlpaca, FakeSchwab, run_in_thread
from hedgebot.brokers.protocol import MarketClock
from hedgebot.clock import ManualClock
from tests.brokers.harness import schwab_broker
from tests.brokers.sleeps import RecordedSleeps, fast_policy

pytestmark = pytest.mark.anyio


async def _tick_until(gate: threading.Event, ticks: list[int]) -> None:
    while True:
        await asyncio.sleep(0.005)
        ticks.append(len(ticks))
        if len(ticks) >= 3:
            gate.set()


async def call_while_ticking(
    call: Callable[[], Awaitable[MarketClock]], gate: threading.Event
) -> tuple[MarketClock, int]:
    ticks: list[int] = []
    ticker = asyncio.create_task(_tick_until(gate, ticks))
    try:
        result = await call()
    finally:
        ticker.cancel()
    return result, len(ticks)


async def test_alpaca_requests_leave_the_event_loop_running(clock: ManualClock) -> None:
    gate = threading.Event()
    with run_in_thread(FakeAlpaca(clock=clock)) as fake:
        fake.faults.gate(gate, timeout=5, method="GET", path="/v2/clock")
        broker = AlpacaBroker(
            api_key=SecretStr(fake.api_key),
            api_secret=SecretStr(fake.api_secret),
            base_url=fake.base_url,
            retry=fast_policy(RecordedSleeps(), attempts=1),
            clock=clock,
        )
        try:
            market, ticks = await call_while_ticking(broker.market_clock, gate)
        finally:
            await broker.aclose()
    assert market.is_open
    assert ticks >= 3


async def test_schwab_requests_leave_the_event_loop_running(clock: ManualClock) -> None:
    gate = threading.Event()
    with run_in_thread(FakeSchwab(clock=clock)) as fake:
        fake.faults.gate(gate, timeout=5, method="GET", path="/marketdata/")
        async with schwab_broker(fake, clock, retry=fast_policy(RecordedSleeps(), attempts=1)) as b:
            market, ticks = await call_while_ticking(b.market_clock, gate)
    assert market.is_open
    assert ticks >= 3
