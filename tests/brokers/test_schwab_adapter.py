"""Schwab adapter against the fake: tokens, faults, idempotent placement, wire format."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.brokers.errors import (
    AuthExpired,
    BrokerProtocolError,
    BrokerUnavailable,
    OrderRejected,
)
from hedgebot.brokers.fakes import FakeSchwab, FillPlan
from hedgebot.brokers.hours import UsEquitySessions
from hedgebot.brokers.protocol import OrderState
from hedgebot.brokers.schwab.journal import StorePlacementJournal
from hedgebot.brokers.schwab.wire import (
    order_body,
    order_id_from_location,
    parse_market_hours,
    parse_order,
)
from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from hedgebot.eventstore.sqlite import SqliteEventStore
from tests.brokers.harness import schwab_broker
from tests.brokers.sleeps import RecordedSleeps, fast_policy

pytestmark = pytest.mark.anyio


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeSchwab]:
    async with FakeSchwab(clock=clock) as server:
        yield server


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


# -- tokens ---------------------------------------------------------------------------


async def test_an_expired_access_token_is_refreshed_once_for_concurrent_calls(
    fake: FakeSchwab, clock: ManualClock
) -> None:
    async with schwab_broker(fake, clock) as broker:
        clock.advance(timedelta(minutes=31))
        clocks = await asyncio.gather(*(broker.market_clock() for _ in range(8)))
    assert all(c.is_open for c in clocks)
    assert fake.refreshes == 1


async def test_a_token_rejected_by_schwab_is_refreshed_once_for_concurrent_calls(
    fake: FakeSchwab, clock: ManualClock
) -> None:
    async with schwab_broker(fake, clock) as broker:
        await broker.market_clock()  # account hash and hours cached, token in use
        fake.expire_access_tokens()
        order_ids = await asyncio.gather(
            *(
                broker.place_market_order("AAPL", Decimal(1), Direction.BUY, f"hb-{n}")
                for n in range(5)
            )
        )
    assert len(set(order_ids)) == 5
    assert fake.refreshes == 1
    assert fake.orders_created() == 5


async def test_a_refresh_token_past_seven_days_is_auth_expired_without_asking_schwab(
    fake: FakeSchwab, clock: ManualClock
) -> None:
    async with schwab_broker(fake, clock) as broker:
        clock.advance(timedelta(days=7, minutes=1))
        with pytest.raises(AuthExpired) as caught:
            await broker.market_clock()
    message = str(caught.value)
    assert "7-day" in message
    assert "hedgebot auth schwab" in message
    assert fake.refreshes == 0


async def test_a_refresh_token_refused_by_schwab_is_auth_expired(
    fake: FakeSchwab, clock: ManualClock, sleeps: RecordedSleeps
) -> None:
    async with schwab_broker(fake, clock, retry=fast_policy(sleeps)) as broker:
        fake.revoke_refresh_tokens()
        clock.advance(timedelta(minutes=26))
        with pytest.raises(AuthExpired, match="hedgebot auth schwab"):
            await broker.get_order_status("1000")
    assert fake.refreshes == 1
    assert sleeps.waits == []


async def test_no_stored_tokens_is_auth_expired(fake: FakeSchwab, clock: ManualClock) -> None:
    async with schwab_broker(fake, clock, logged_in=False) as broker:
        with pytest.raises(AuthExpired, match="no Schwab tokens are stored"):
            await broker.market_clock()


async def test_the_access_token_is_refreshed_five_minutes_before_it_expires(
    fake: FakeSchwab, clock: ManualClock
) -> None:
    async with schwab_broker(fake, clock) as broker:
        clock.advance(timedelta(minutes=24))
        await broker.tokens.ensure_fresh()
        assert fake.refreshes == 0
        clock.advance(timedelta(minutes=2))
        status = await broker.tokens.ensure_fresh()
        assert fake.refreshes == 1
        assert status.access_expires_at == clock.now() + timedelta(minutes=30)
        # the 7-day clock still runs from the login
        assert status.refresh_expires_at == clock.now() - timedelta(minutes=26) + timedelta(days=7)


# -- the account and the wire format -----------------------------------------------------


async def test_the_account_hash_is_fetched_once(fake: FakeSchwab, clock: ManualClock) -> None:
    async with schwab_broker(fake, clock) as broker:
        order_id = await broker.place_market_order("AAPL", Decimal(2), Direction.BUY, "hb-1")
        await broker.get_order_status(order_id)
        await broker.get_order_status(order_id)
    assert fake.account_number_calls == 1


async def test_the_order_body_is_what_schwab_py_builds() -> None:
    with warnings.catch_warnings(record=True):  # authlib/websockets deprecation notices
        from schwab.orders.equities import equity_buy_market, equity_sell_market

    assert order_body("AAPL", 3, Direction.BUY) == equity_buy_market("AAPL", 3).build()
    assert order_body("MSFT", 1, Direction.SELL) == equity_sell_market("MSFT", 1).build()


async def test_orders_are_posted_with_bearer_token_and_json(
    fake: FakeSchwab, clock: ManualClock
) -> None:
    async with schwab_broker(fake, clock) as broker:
        order_id = await broker.place_market_order("AAPL", Decimal(3), Direction.SELL, "hb-1")
    post = next(r for r in fake.requests if r.method == "POST" and "/orders" in r.path)
    assert post.path == f"/trader/v1/accounts/{fake.account_hash}/orders"
    assert post.headers["Authorization"].startswith("Bearer AT-")
    assert json.loads(post.body) == order_body("AAPL", 3, Direction.SELL)
    assert order_id == "1000"


async def test_fractional_shares_are_refused_before_any_request(
    fake: FakeSchwab, clock: ManualClock
) -> None:
    async with schwab_broker(fake, clock) as broker:
        with pytest.raises(OrderRejected, match="whole shares"):
            await broker.place_market_order("AAPL", Decimal("1.5"), Direction.BUY, "hb-1")
    assert fake.requests == []


# -- faults and idempotent placement -------------------------------------------------------


async def test_server_errors_and_timeouts_are_retried_then_succeed(
    fake: FakeSchwab, clock: ManualClock, sleeps: RecordedSleeps
) -> None:
    fake.faults.fail(502, times=1, path="/trader/v1/accounts/accountNumbers")
    fake.faults.hang(times=1, path="/marketdata/v1/markets")
    async with schwab_broker(fake, clock, retry=fast_policy(sleeps), timeout=0.3) as broker:
        order_id = await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "hb-1")
        status = await broker.get_order_status(order_id)
    assert status.state is OrderState.FILLED
    assert fake.orders_created() == 1
    assert sleeps.waits == [0.5, 1.0]  # one placement, two failed attempts


async def test_rate_limit_waits_what_retry_after_says(
    fake: FakeSchwab, clock: ManualClock, sleeps: RecordedSleeps
) -> None:
    async with schwab_broker(fake, clock, retry=fast_policy(sleeps)) as broker:
        order_id = await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "hb-1")
        fake.faults.rate_limit(retry_after=4, times=1, method="GET", path="/trader/v1/accounts/")
        await broker.get_order_status(order_id)
    assert sleeps.waits == [4.0]


async def test_repeated_failures_surface_broker_unavailable(
    fake: FakeSchwab, clock: ManualClock, sleeps: RecordedSleeps
) -> None:
    fake.faults.fail(503, times=100, path="/marketdata/")
    async with schwab_broker(fake, clock, retry=fast_policy(sleeps, attempts=3)) as broker:
        with pytest.raises(BrokerUnavailable, match="HTTP 503"):
            await broker.market_clock()
    assert fake.count("GET", "/marketdata/") == 3


async def test_a_response_lost_after_placement_finds_the_order_instead_of_duplicating(
    fake: FakeSchwab, clock: ManualClock
) -> None:
    fake.faults.hang(times=1, method="POST", path="/trader/v1/accounts/", after_handling=True)
    async with schwab_broker(fake, clock, timeout=0.3) as broker:
        order_id = await broker.place_market_order("AAPL", Decimal(2), Direction.SELL, "hb-1")
    assert order_id == "1000"
    assert fake.post_attempts == 1
    assert fake.orders_created() == 1


async def test_a_restart_after_a_lost_response_finds_the_order_through_the_journal(
    fake: FakeSchwab, clock: ManualClock, sqlite_path: Path, sleeps: RecordedSleeps
) -> None:
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    try:
        fake.faults.hang(times=1, method="POST", path="/trader/v1/accounts/", after_handling=True)
        async with schwab_broker(
            fake,
            clock,
            store=store,
            retry=fast_policy(sleeps, attempts=1),
            timeout=0.3,
            journal=StorePlacementJournal(store),
        ) as crashed:
            with pytest.raises(BrokerUnavailable):
                await crashed.place_market_order("AAPL", Decimal(2), Direction.SELL, "hb-9")
        assert fake.orders_created() == 1  # the order exists; the bot never learnt its id
        clock.advance(timedelta(minutes=3))
        restarted_store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
        try:
            async with schwab_broker(
                fake, clock, store=restarted_store, journal=StorePlacementJournal(restarted_store)
            ) as restarted:
                order_id = await restarted.place_market_order(
                    "AAPL", Decimal(2), Direction.SELL, "hb-9"
                )
                again = await restarted.place_market_order(
                    "AAPL", Decimal(2), Direction.SELL, "hb-9"
                )
        finally:
            restarted_store.close()
    finally:
        store.close()
    assert order_id == again == "1000"
    assert fake.orders_created() == 1


async def test_a_new_key_never_takes_an_earlier_order_of_the_same_shape(
    fake: FakeSchwab, clock: ManualClock
) -> None:
    async with schwab_broker(fake, clock) as broker:
        first = await broker.place_market_order("AAPL", Decimal(1), Direction.SELL, "hb-1")
        second = await broker.place_market_order("AAPL", Decimal(1), Direction.SELL, "hb-2")
    assert first != second
    assert fake.orders_created("AAPL", "SELL", Decimal(1)) == 2


async def test_a_retry_never_claims_an_order_owned_by_another_key(
    fake: FakeSchwab, clock: ManualClock
) -> None:
    async with schwab_broker(fake, clock, timeout=0.3) as broker:
        owned = await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "hb-1")
        # hb-2's first POST fails before Schwab creates anything; its retry searches the
        # recent orders, sees hb-1's order of the same shape, and must not take it.
        fake.faults.fail(503, times=1, method="POST", path="/trader/v1/accounts/")
        mine = await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "hb-2")
    assert mine != owned
    assert fake.orders_created() == 2


# -- parsing ----------------------------------------------------------------------------


def _order(status: str, legs: list[tuple[float, float]], **extra: object) -> dict[str, object]:
    return {
        "orderId": 1234,
        "status": status,
        "filledQuantity": float(sum(q for q, _ in legs)),
        "orderActivityCollection": [
            {
                "activityType": "EXECUTION",
                "executionLegs": [
                    {"legId": 1, "quantity": q, "price": p, "time": "2025-01-06T15:00:00+0000"}
                ],
            }
            for q, p in legs
        ],
        **extra,
    }


def test_the_fill_price_is_the_volume_weighted_average_of_the_legs_in_cents() -> None:
    data = json.loads(
        json.dumps(
            _order("FILLED", [(1, 100.01), (2, 100.02)], closeTime="2025-01-06T15:00:05+0000")
        ),
        parse_float=Decimal,
    )
    status = parse_order(data)
    assert status.state is OrderState.FILLED
    assert status.filled_quantity == 3
    assert status.average_fill_price == (Decimal("100.01") + 2 * Decimal("100.02")) / 3
    assert status.average_fill_price_cents == 10002
    assert status.broker_timestamp == datetime(2025, 1, 6, 15, 0, 5, tzinfo=UTC)


def test_a_working_order_with_fills_is_partially_filled() -> None:
    status = parse_order(_order("WORKING", [(1, 10.5)]))
    assert status.state is OrderState.PARTIALLY_FILLED
    assert status.average_fill_price == Decimal("10.5")


def test_schwab_statuses_map_to_order_states() -> None:
    assert parse_order(_order("QUEUED", [])).state is OrderState.SUBMITTED
    assert parse_order(_order("AWAITING_MANUAL_REVIEW", [])).state is OrderState.PENDING
    assert parse_order(_order("CANCELED", [])).state is OrderState.CANCELLED
    assert parse_order(_order("EXPIRED", [])).state is OrderState.CANCELLED
    rejected = parse_order(_order("REJECTED", [], statusDescription="Insufficient funds"))
    assert rejected.state is OrderState.FAILED
    assert rejected.error_reason == "Insufficient funds"


def test_unknown_statuses_and_filled_orders_without_legs_are_protocol_errors() -> None:
    with pytest.raises(BrokerProtocolError, match="unknown status"):
        parse_order(_order("LEVITATING", []))
    with pytest.raises(BrokerProtocolError, match="without execution legs"):
        parse_order({"orderId": 1, "status": "FILLED", "filledQuantity": 1})


def test_the_order_id_comes_from_the_location_header() -> None:
    location = "https://api.schwabapi.com/trader/v1/accounts/ABC123/orders/1000456"
    assert order_id_from_location(location) == "1000456"
    assert order_id_from_location("https://api.schwabapi.com/elsewhere/1") is None
    assert order_id_from_location(None) is None


def test_market_hours_accept_local_times_and_closed_days() -> None:
    day = date(2025, 1, 6)
    open_day = {
        "equity": {
            "EQ": {
                "isOpen": True,
                "sessionHours": {"regularMarket": [{"start": "09:30:00", "end": "16:00:00"}]},
            }
        }
    }
    start, end = parse_market_hours(open_day, day) or (None, None)
    assert start == datetime(2025, 1, 6, 14, 30, tzinfo=UTC)
    assert end == datetime(2025, 1, 6, 21, 0, tzinfo=UTC)
    closed = {"equity": {"equity": {"date": "2025-01-04", "isOpen": False}}}
    assert parse_market_hours(closed, date(2025, 1, 4)) is None
    with pytest.raises(BrokerProtocolError):
        parse_market_hours({"option": {}}, day)


async def test_a_holiday_moves_the_next_open_to_the_next_trading_day(clock: ManualClock) -> None:
    clock.set(datetime(2025, 1, 3, 22, 0, tzinfo=UTC))  # Friday after the close
    monday = date(2025, 1, 6)
    sessions = UsEquitySessions(holidays={monday})
    async with FakeSchwab(clock=clock, sessions=sessions) as fake, schwab_broker(fake, clock) as b:
        market = await b.market_clock()
    assert market.is_open is False
    assert market.next_open == datetime(2025, 1, 7, 14, 30, tzinfo=UTC)


async def test_partial_fills_accumulate_legs_at_the_fake(
    fake: FakeSchwab, clock: ManualClock
) -> None:
    fake.set_fill(
        "AMD", FillPlan(price=Decimal("120.10"), partial_fills=((Decimal(2), Decimal("120")),))
    )
    async with schwab_broker(fake, clock) as broker:
        order_id = await broker.place_market_order("AMD", Decimal(5), Direction.BUY, "hb-1")
        partial = await broker.get_order_status(order_id)
        filled = await broker.get_order_status(order_id)
    assert (partial.state, partial.filled_quantity) == (OrderState.PARTIALLY_FILLED, Decimal(2))
    assert (filled.state, filled.filled_quantity) == (OrderState.FILLED, Decimal(5))
    assert filled.average_fill_price_cents == 12006  # (2 × 120 + 3 × 120.10) / 5 = 120.06
