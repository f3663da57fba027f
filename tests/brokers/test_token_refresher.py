"""The Schwab token refresher of `hedgebot run`, on simulated time (no sleeping)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from hedgebot.brokers.fakes import FakeSchwab
from hedgebot.brokers.schwab.client import SchwabBroker
from hedgebot.brokers.schwab.tokens import TokenRefresher
from hedgebot.clock import ManualClock
from tests.brokers.harness import schwab_broker

pytestmark = pytest.mark.anyio


class SimulatedStop:
    """A stop token whose waits move the manual clock instead of sleeping."""

    def __init__(self, clock: ManualClock, ticks: int) -> None:
        self.clock = clock
        self.remaining = ticks

    @property
    def is_set(self) -> bool:
        return self.remaining <= 0

    async def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.clock.advance(timedelta(seconds=timeout))
        self.remaining -= 1
        return self.is_set


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeSchwab]:
    async with FakeSchwab(clock=clock) as server:
        yield server


@pytest.fixture
async def broker(fake: FakeSchwab, clock: ManualClock) -> AsyncIterator[SchwabBroker]:
    async with schwab_broker(fake, clock) as adapter:
        yield adapter


async def test_the_access_token_is_refreshed_before_every_thirty_minutes(
    fake: FakeSchwab, broker: SchwabBroker, clock: ManualClock
) -> None:
    refresher = TokenRefresher(broker.tokens, clock, check_every=60)
    expiries = []
    stop = SimulatedStop(clock, ticks=120)  # two hours, one check a minute
    while not stop.is_set:
        await refresher.tick()
        expiries.append(broker.tokens.status().access_expires_at - clock.now())
        await stop.wait(60)
    assert fake.refreshes == 4  # at 25, 50, 75 and 100 minutes
    assert min(expiries) > timedelta(minutes=4)  # never close to expiry, never expired
    assert list(refresher.alerts) == []


async def test_run_stops_when_told(broker: SchwabBroker, clock: ManualClock) -> None:
    refresher = TokenRefresher(broker.tokens, clock, check_every=60)
    start = clock.now()
    await refresher.run(SimulatedStop(clock, ticks=3))
    assert clock.now() == start + timedelta(minutes=3)  # three checks, then it returned


async def test_an_ending_login_is_announced_once_an_hour(
    broker: SchwabBroker, clock: ManualClock
) -> None:
    refresher = TokenRefresher(broker.tokens, clock, check_every=600)
    clock.advance(timedelta(days=6, hours=1))  # 23 hours left
    await refresher.run(SimulatedStop(clock, ticks=12))  # two hours of checks
    kinds = [a.kind for a in refresher.alerts]
    assert kinds == ["expiring", "expiring"]
    assert "hedgebot auth schwab" in refresher.alerts[0].message


async def test_an_ended_login_is_reported_without_stopping_the_refresher(
    fake: FakeSchwab, broker: SchwabBroker, clock: ManualClock
) -> None:
    refresher = TokenRefresher(broker.tokens, clock, check_every=600)
    clock.advance(timedelta(days=7, minutes=1))
    await refresher.run(SimulatedStop(clock, ticks=3))
    assert [a.kind for a in refresher.alerts] == ["expired"]
    assert "hedgebot auth schwab" in refresher.alerts[0].message
    assert fake.refreshes == 0


async def test_an_unreachable_schwab_is_reported_and_retried_next_time(
    fake: FakeSchwab, broker: SchwabBroker, clock: ManualClock
) -> None:
    refresher = TokenRefresher(broker.tokens, clock, check_every=60)
    clock.advance(timedelta(minutes=26))
    fake.faults.fail(503, times=100, path="/v1/oauth/token")
    await refresher.tick()
    assert [a.kind for a in refresher.alerts] == ["refresh_failed"]
    fake.faults.clear()
    await refresher.tick()
    assert broker.tokens.status().access_expires_at == clock.now() + timedelta(minutes=30)
