"""The Schwab adapter as `hedgebot run` builds it, on every store backend: tokens through
SchwabAuth and its view, placements through the durable journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from pydantic import SecretStr

from hedgebot.brokers.fakes import FakeSchwab
from hedgebot.brokers.schwab.auth import (
    SCHWAB_AUTH_EVENTS,
    Authenticated,
    SchwabAuthView,
    read_view_state,
)
from hedgebot.brokers.schwab.journal import JOURNAL_TABLE
from hedgebot.brokers.schwab.wiring import build_schwab_broker
from hedgebot.clock import Clock, ManualClock
from hedgebot.domain import Direction
from hedgebot.eventstore import EventStore, Projector
from tests.brokers.harness import schwab_settings
from tests.brokers.sleeps import RecordedSleeps, fast_policy

pytestmark = pytest.mark.anyio


@dataclass
class Core:
    store: EventStore
    clock: Clock
    projector: Projector


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeSchwab]:
    async with FakeSchwab(clock=clock) as server:
        server.add_login_code("CODE1@")
        yield server


async def test_login_placement_and_restart_share_the_store(
    store: EventStore, fake: FakeSchwab, clock: ManualClock
) -> None:
    core = Core(store, clock, Projector([SchwabAuthView()], [SCHWAB_AUTH_EVENTS]))
    settings = schwab_settings(fake)
    retry = fast_policy(RecordedSleeps())

    first = await build_schwab_broker(settings, core, retry=retry)  # not logged in: no raise
    try:
        await first.tokens.login(SecretStr("CODE1@"))
        order_id = await first.place_market_order("AAPL", Decimal(2), Direction.BUY, "hb-1")
    finally:
        await first.aclose()

    restarted = await build_schwab_broker(settings, core, retry=retry)
    try:
        again = await restarted.place_market_order("AAPL", Decimal(2), Direction.BUY, "hb-1")
    finally:
        await restarted.aclose()

    assert again == order_id
    assert fake.orders_created() == 1
    view = store.view_get("schwab_auth_view", "schwab")
    assert isinstance(read_view_state(view.payload if view else None), Authenticated)
    journal = store.view_get(JOURNAL_TABLE, "hb-1")
    assert journal is not None and order_id in journal.payload
