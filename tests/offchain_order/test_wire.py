"""OffchainOrder payloads are the reference's, byte for byte (es-and-migration §2.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hedgebot.domain import Broker, Direction
from hedgebot.eventstore import StoredEvent, UnknownEventError
from hedgebot.eventstore.codec import Tagged
from hedgebot.offchain_order.events import (
    OFFCHAIN_ORDER_EVENTS,
    Failed,
    Filled,
    Migrated,
    MigratedFailed,
    MigratedFilled,
    MigratedPending,
    MigratedSubmitted,
    PartiallyFilled,
    Placed,
    Submitted,
)

T1 = datetime(2025, 12, 5, 13, 20, tzinfo=UTC)
T2 = datetime(2025, 12, 5, 13, 20, 1, 123456, tzinfo=UTC)


def stored(payload: str, event_type: str = "OffchainOrderEvent::Placed") -> StoredEvent:
    return StoredEvent(9, "OffchainOrder", "42", 2, event_type, "1.0", payload, "{}")


GOLDEN: list[tuple[Tagged, str, str]] = [
    (
        Migrated(
            "AAPL",
            Decimal("10"),
            Direction.BUY,
            Broker.SCHWAB,
            MigratedFilled(),
            "ORDER123",
            15050,
            T1,
            T2,
        ),
        "OffchainOrderEvent::Migrated",
        '{"Migrated":{"symbol":"AAPL","shares":"10","direction":"Buy","broker":"Schwab",'
        '"status":"Filled","broker_order_id":"ORDER123","price_cents":15050,'
        '"executed_at":"2025-12-05T13:20:00Z","migrated_at":"2025-12-05T13:20:01.123456Z"}}',
    ),
    (
        Migrated(
            "AAPL",
            Decimal("10"),
            Direction.BUY,
            Broker.SCHWAB,
            MigratedPending(),
            None,
            None,
            None,
            T2,
        ),
        "OffchainOrderEvent::Migrated",
        '{"Migrated":{"symbol":"AAPL","shares":"10","direction":"Buy","broker":"Schwab",'
        '"status":"Pending","broker_order_id":null,"price_cents":null,"executed_at":null,'
        '"migrated_at":"2025-12-05T13:20:01.123456Z"}}',
    ),
    (
        Migrated(
            "AAPL",
            Decimal("10"),
            Direction.BUY,
            Broker.SCHWAB,
            MigratedFailed("Unknown failure"),
            None,
            None,
            T1,
            T2,
        ),
        "OffchainOrderEvent::Migrated",
        '{"Migrated":{"symbol":"AAPL","shares":"10","direction":"Buy","broker":"Schwab",'
        '"status":{"Failed":{"error":"Unknown failure"}},"broker_order_id":null,'
        '"price_cents":null,"executed_at":"2025-12-05T13:20:00Z",'
        '"migrated_at":"2025-12-05T13:20:01.123456Z"}}',
    ),
    (
        Placed("AAPL", Decimal("100"), Direction.BUY, Broker.SCHWAB, T1),
        "OffchainOrderEvent::Placed",
        '{"Placed":{"symbol":"AAPL","shares":"100","direction":"Buy","broker":"Schwab",'
        '"placed_at":"2025-12-05T13:20:00Z"}}',
    ),
    (
        Submitted("ORD123", T2),
        "OffchainOrderEvent::Submitted",
        '{"Submitted":{"broker_order_id":"ORD123","submitted_at":"2025-12-05T13:20:01.123456Z"}}',
    ),
    (
        PartiallyFilled(Decimal("50"), 15000, T1),
        "OffchainOrderEvent::PartiallyFilled",
        '{"PartiallyFilled":{"shares_filled":"50","avg_price_cents":15000,'
        '"partially_filled_at":"2025-12-05T13:20:00Z"}}',
    ),
    (
        Filled(15050, T1),
        "OffchainOrderEvent::Filled",
        '{"Filled":{"price_cents":15050,"filled_at":"2025-12-05T13:20:00Z"}}',
    ),
    (
        Failed("Insufficient funds", T1),
        "OffchainOrderEvent::Failed",
        '{"Failed":{"error":"Insufficient funds","failed_at":"2025-12-05T13:20:00Z"}}',
    ),
]


@pytest.mark.parametrize(("event", "event_type", "payload"), GOLDEN)
def test_payload_equals_the_reference_example_byte_for_byte(
    event: Tagged, event_type: str, payload: str
) -> None:
    assert OFFCHAIN_ORDER_EVENTS.event_type(event) == event_type
    assert OFFCHAIN_ORDER_EVENTS.encode(event) == payload
    assert OFFCHAIN_ORDER_EVENTS.decode(stored(payload, event_type)) == event


def test_migrated_submitted_status_is_the_bare_string() -> None:
    event = Migrated(
        "A", Decimal(1), Direction.SELL, Broker.DRY_RUN, MigratedSubmitted(), "X", None, None, T1
    )
    payload = OFFCHAIN_ORDER_EVENTS.encode(event)
    assert '"broker":"DryRun","status":"Submitted","broker_order_id":"X"' in payload


def test_filled_quantity_follows_the_reference_fields_when_present() -> None:
    event = Filled(15050, T1, shares_filled=Decimal("7.5"))
    payload = OFFCHAIN_ORDER_EVENTS.encode(event)
    assert payload == (
        '{"Filled":{"price_cents":15050,"filled_at":"2025-12-05T13:20:00Z","shares_filled":"7.5"}}'
    )
    assert OFFCHAIN_ORDER_EVENTS.decode(stored(payload, "OffchainOrderEvent::Filled")) == event


def test_reference_payloads_with_unknown_keys_and_nanoseconds_decode() -> None:
    payload = (
        '{"Placed":{"symbol":"AAPL","shares":"100.5","direction":"Sell","broker":"Alpaca",'
        '"placed_at":"2025-12-05T13:20:01.123456789Z","client_order_id":"abc"}}'
    )
    assert OFFCHAIN_ORDER_EVENTS.decode(stored(payload)) == Placed(
        "AAPL", Decimal("100.5"), Direction.SELL, Broker.ALPACA, T2
    )


def test_a_reference_filled_payload_decodes_without_a_quantity() -> None:
    event = OFFCHAIN_ORDER_EVENTS.decode(
        stored('{"Filled":{"price_cents":1,"filled_at":"2025-12-05T13:20:00Z"}}')
    )
    assert isinstance(event, Filled)
    assert event.shares_filled is None


@pytest.mark.parametrize(
    "payload",
    [
        '{"Cancelled":{"at":"2025-12-05T13:20:00Z"}}',
        '"Expired"',
        '{"Migrated":{"symbol":"AAPL","shares":"10","direction":"Buy","broker":"Schwab",'
        '"status":"Cancelled","broker_order_id":null,"price_cents":null,"executed_at":null,'
        '"migrated_at":"2025-12-05T13:20:00Z"}}',
        '{"Placed":{"symbol":"AAPL","shares":"1","direction":"Buy","broker":"Robinhood",'
        '"placed_at":"2025-12-05T13:20:00Z"}}',
    ],
)
def test_an_unknown_variant_is_an_error_naming_aggregate_id_and_sequence(payload: str) -> None:
    with pytest.raises(UnknownEventError) as info:
        OFFCHAIN_ORDER_EVENTS.decode(stored(payload))
    message = str(info.value)
    assert "OffchainOrder '42' sequence 2" in message
