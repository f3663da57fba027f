"""Every broker implementation behind one test interface, for the contract suite.

A harness owns the broker under test and the knobs of whatever stands behind it:
the paper broker's own settings, or a fake server the real adapter talks to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pydantic import SecretStr

from hedgebot.brokers.alpaca import AlpacaBroker
from hedgebot.brokers.fakes import FakeAlpaca, FakeSchwab, FillPlan
from hedgebot.brokers.hours import UsEquitySessions
from hedgebot.brokers.paper import PaperBroker
from hedgebot.brokers.protocol import BrokerPort
from hedgebot.brokers.retry import RetryPolicy
from hedgebot.brokers.schwab.auth import StoreTokens
from hedgebot.brokers.schwab.client import SchwabBroker
from hedgebot.brokers.schwab.crypto import TokenCipher
from hedgebot.brokers.schwab.journal import MemoryPlacementJournal, PlacementJournal
from hedgebot.brokers.schwab.tokens import EventStoreSchwabAuth, schwab_auth_handler
from hedgebot.clock import ManualClock
from hedgebot.config import SchwabSettings
from hedgebot.eventstore.memory import MemoryEventStore
from hedgebot.eventstore.store import EventStore
from tests.brokers.sleeps import RecordedSleeps, fast_policy

ENCRYPTION_KEY = bytes(range(32))


@dataclass
class Harness:
    name: str
    broker: BrokerPort
    clock: ManualClock
    set_fill: Callable[[str, FillPlan], None]
    reject: Callable[[str], None]
    orders_created: Callable[[], int]
    unknown_order_id: str


@asynccontextmanager
async def paper_harness(clock: ManualClock) -> AsyncIterator[Harness]:
    broker = PaperBroker(clock=clock, sessions=UsEquitySessions(), fill_price=FillPlan().price)

    def set_fill(symbol: str, plan: FillPlan) -> None:
        broker.set_price(symbol, plan.price)
        broker.fill_after_polls = plan.polls_before_fill
        broker.script_partial_fills(symbol, plan.partial_fills)

    yield Harness(
        "paper",
        broker,
        clock,
        set_fill,
        broker.reject_symbols.add,
        lambda: broker.orders_placed,
        "PAPER-999",
    )


@asynccontextmanager
async def alpaca_harness(
    clock: ManualClock, retry: RetryPolicy | None = None, timeout: float = 5.0
) -> AsyncIterator[Harness]:
    async with FakeAlpaca(clock=clock) as fake:
        broker = AlpacaBroker(
            api_key=SecretStr(fake.api_key),
            api_secret=SecretStr(fake.api_secret),
            base_url=fake.base_url,
            timeout=timeout,
            retry=retry or fast_policy(RecordedSleeps()),
            clock=clock,
        )
        try:
            yield Harness(
                "alpaca",
                broker,
                clock,
                fake.set_fill,
                fake.reject,
                fake.orders_created,
                "5b1c3d43-5a0e-4cf5-9e58-b7f1e0bb0a11",
            )
        finally:
            await broker.aclose()


def schwab_settings(fake: FakeSchwab, timeout: float = 5.0) -> SchwabSettings:
    return SchwabSettings(
        app_key=SecretStr(fake.app_key),
        app_secret=SecretStr(fake.app_secret),
        encryption_key=SecretStr(ENCRYPTION_KEY.hex()),
        redirect_uri=fake.redirect_uri,
        base_url=fake.base_url,
        timeout_seconds=timeout,
    )


def log_in(fake: FakeSchwab, store: EventStore, clock: ManualClock) -> EventStoreSchwabAuth:
    """Tokens as if `hedgebot auth schwab` had run now: minted by the fake, stored encrypted."""
    auth = EventStoreSchwabAuth(schwab_auth_handler(store, clock))
    access, refresh = fake.issue_tokens(clock.now())
    cipher = TokenCipher(ENCRYPTION_KEY)
    auth.execute(
        StoreTokens(
            cipher.encrypt(SecretStr(access)), cipher.encrypt(SecretStr(refresh)), clock.now()
        )
    )
    return auth


@asynccontextmanager
async def schwab_broker(
    fake: FakeSchwab,
    clock: ManualClock,
    *,
    store: EventStore | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 5.0,
    journal: PlacementJournal | None = None,
    logged_in: bool = True,
) -> AsyncIterator[SchwabBroker]:
    store = store if store is not None else MemoryEventStore()
    if logged_in:
        auth = log_in(fake, store, clock)
    else:
        auth = EventStoreSchwabAuth(schwab_auth_handler(store, clock))
    broker = SchwabBroker.create(
        schwab_settings(fake, timeout),
        auth=auth,
        clock=clock,
        retry=retry or fast_policy(RecordedSleeps()),
        journal=journal if journal is not None else MemoryPlacementJournal(),
    )
    try:
        yield broker
    finally:
        await broker.aclose()


@asynccontextmanager
async def schwab_harness(clock: ManualClock) -> AsyncIterator[Harness]:
    async with FakeSchwab(clock=clock) as fake, schwab_broker(fake, clock) as broker:
        yield Harness(
            "schwab",
            broker,
            clock,
            fake.set_fill,
            fake.reject,
            fake.orders_created,
            "999999",
        )


HARNESSES = {"paper": paper_harness, "alpaca": alpaca_harness, "schwab": schwab_harness}
