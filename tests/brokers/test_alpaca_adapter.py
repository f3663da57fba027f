"""Alpaca adapter against the fake: faults, retries, wire format, status mapping."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from pydantic import SecretStr

from hedgebot.brokers.alpaca import AlpacaBroker, parse_order
from hedgebot.brokers.errors import AuthExpired, BrokerProtocolError, BrokerUnavailable, RateLimited
from hedgebot.brokers.fakes import FakeAlpaca
from hedgebot.brokers.protocol import OrderState
from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from tests.brokers.sleeps import RecordedSleeps, fast_policy

pytestmark = pytest.mark.anyio


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeAlpaca]:
    async with FakeAlpaca(clock=clock) as server:
        yield server


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
async def broker(
    fake: FakeAlpaca, clock: ManualClock, sleeps: RecordedSleeps
) -> AsyncIterator[AlpacaBroker]:
    adapter = AlpacaBroker(
        api_key=SecretStr(fake.api_key),
        api_secret=SecretStr(fake.api_secret),
        base_url=fake.base_url,
        timeout=0.3,
        retry=fast_policy(sleeps, attempts=4),
        clock=clock,
    )
    yield adapter
    await adapter.aclose()


async def test_server_errors_are_retried_until_the_order_is_placed(
    fake: FakeAlpaca, broker: AlpacaBroker, sleeps: RecordedSleeps
) -> None:
    fake.faults.fail(503, times=2, method="POST", path="/v2/orders")
    order_id = await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "hb-1")
    assert fake.orders[order_id].client_order_id == "hb-1"
    assert fake.orders_created() == 1
    assert sleeps.waits == [0.5, 1.0]


async def test_a_timeout_is_retried_then_succeeds(
    fake: FakeAlpaca, broker: AlpacaBroker, sleeps: RecordedSleeps
) -> None:
    fake.faults.hang(times=1, method="GET", path="/v2/clock")
    clock = await broker.market_clock()
    assert clock.is_open
    assert fake.count("GET", "/v2/clock") == 2
    assert sleeps.waits == [0.5]


async def test_a_response_lost_after_the_order_was_created_does_not_duplicate_it(
    fake: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake.faults.hang(times=1, method="POST", path="/v2/orders", after_handling=True)
    order_id = await broker.place_market_order("AAPL", Decimal(2), Direction.SELL, "hb-2")
    assert fake.orders_created("hb-2") == 1
    assert fake.orders_created() == 1
    assert fake.orders[order_id].client_order_id == "hb-2"


async def test_a_duplicate_client_order_id_resolves_to_the_existing_order(
    fake: FakeAlpaca, broker: AlpacaBroker
) -> None:
    # The lookup misses (404, as if racing the order's creation); the POST then meets
    # Alpaca's uniqueness rule and the adapter takes the existing order.
    first = await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "hb-3")
    fake.faults.fail(404, times=1, method="GET", path="/v2/orders:by_client_order_id")
    again = await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "hb-3")
    assert again == first
    assert fake.post_attempts == 2
    assert fake.orders_created("hb-3") == 1


async def test_rate_limit_waits_what_retry_after_says(
    fake: FakeAlpaca, broker: AlpacaBroker, sleeps: RecordedSleeps
) -> None:
    order_id = await broker.place_market_order("AAPL", Decimal(1), Direction.BUY, "hb-4")
    fake.faults.rate_limit(retry_after=3, times=1, method="GET", path="/v2/orders/")
    status = await broker.get_order_status(order_id)
    assert status.state is OrderState.FILLED
    assert sleeps.waits == [3.0]


async def test_repeated_failures_surface_broker_unavailable(
    fake: FakeAlpaca, broker: AlpacaBroker, sleeps: RecordedSleeps
) -> None:
    fake.faults.fail(502, times=100, method="GET", path="/v2/clock")
    with pytest.raises(BrokerUnavailable, match="HTTP 502"):
        await broker.market_clock()
    assert fake.count("GET", "/v2/clock") == 4
    assert len(sleeps.waits) == 3


async def test_endless_rate_limiting_surfaces_as_rate_limited(
    fake: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake.faults.rate_limit(retry_after=1, times=100, path="/v2/clock")
    with pytest.raises(RateLimited) as caught:
        await broker.market_clock()
    assert caught.value.retry_after == 1.0
    assert isinstance(caught.value, BrokerUnavailable)


async def test_orders_carry_the_key_headers_and_quantities_as_strings(
    fake: FakeAlpaca, broker: AlpacaBroker
) -> None:
    await broker.place_market_order("AAPL", Decimal("0.1234567899"), Direction.BUY, "hb-5")
    post = next(r for r in fake.requests if r.method == "POST")
    assert post.headers["APCA-API-KEY-ID"] == fake.api_key
    assert post.headers["APCA-API-SECRET-KEY"] == fake.api_secret
    assert json.loads(post.body) == {
        "symbol": "AAPL",
        "qty": "0.123456789",
        "side": "buy",
        "type": "market",
        "time_in_force": "day",
        "client_order_id": "hb-5",
    }


async def test_whole_quantities_are_sent_without_exponent(
    fake: FakeAlpaca, broker: AlpacaBroker
) -> None:
    await broker.place_market_order("AAPL", Decimal("100.000"), Direction.SELL, "hb-6")
    post = next(r for r in fake.requests if r.method == "POST")
    assert json.loads(post.body)["qty"] == "100"


async def test_a_quantity_below_alpacas_precision_is_rejected(broker: AlpacaBroker) -> None:
    from hedgebot.brokers.errors import OrderRejected

    with pytest.raises(OrderRejected, match="rounds to zero"):
        await broker.place_market_order("AAPL", Decimal("0.0000000001"), Direction.BUY, "hb-7")


async def test_wrong_keys_are_auth_expired_with_instructions_and_no_secret(
    fake: FakeAlpaca, clock: ManualClock, sleeps: RecordedSleeps
) -> None:
    adapter = AlpacaBroker(
        api_key=SecretStr(fake.api_key),
        api_secret=SecretStr("not-the-secret-XYZ"),
        base_url=fake.base_url,
        retry=fast_policy(sleeps),
        clock=clock,
    )
    try:
        with pytest.raises(AuthExpired) as caught:
            await adapter.market_clock()
    finally:
        await adapter.aclose()
    assert "HEDGEBOT_BROKER__ALPACA__API_SECRET" in str(caught.value)
    assert "not-the-secret-XYZ" not in str(caught.value)
    assert "not-the-secret-XYZ" not in repr(adapter)
    assert sleeps.waits == []


def test_the_status_vocabulary_maps_to_order_states() -> None:
    def state(status: str, filled: str = "0", price: str | None = None) -> OrderState:
        order = {"id": "x", "status": status, "filled_qty": filled, "filled_avg_price": price}
        return parse_order(order).state

    assert state("new") is OrderState.SUBMITTED
    assert state("accepted") is OrderState.SUBMITTED
    assert state("pending_new") is OrderState.PENDING
    assert state("done_for_day") is OrderState.SUBMITTED
    assert state("partially_filled", "1", "10.5") is OrderState.PARTIALLY_FILLED
    assert state("filled", "2", "10.5") is OrderState.FILLED
    assert state("canceled") is OrderState.CANCELLED
    assert state("expired") is OrderState.CANCELLED
    assert state("rejected") is OrderState.FAILED
    assert state("suspended") is OrderState.FAILED


def test_an_unknown_status_is_a_protocol_error_not_a_failure() -> None:
    with pytest.raises(BrokerProtocolError, match="unknown status 'teleported'"):
        parse_order({"id": "x", "status": "teleported"})


def test_a_filled_order_without_a_price_is_a_protocol_error() -> None:
    with pytest.raises(BrokerProtocolError, match="without a fill price"):
        parse_order({"id": "x", "status": "filled", "filled_qty": "1", "filled_avg_price": None})


def test_fill_prices_are_parsed_exactly_and_rounded_to_cents_half_up() -> None:
    status = parse_order(
        {
            "id": "x",
            "status": "filled",
            "filled_qty": "0.5",
            "filled_avg_price": "187.125",
            "filled_at": "2025-01-06T15:00:01.123456789Z",
        }
    )
    assert status.average_fill_price == Decimal("187.125")
    assert status.average_fill_price_cents == 18713
    assert status.broker_timestamp is not None
    assert status.broker_timestamp.microsecond == 123456
