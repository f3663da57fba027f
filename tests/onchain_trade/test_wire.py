"""OnChainTrade payloads are the reference's, byte for byte (es-and-migration §2.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hedgebot.domain import Direction
from hedgebot.eventstore import StoredEvent, UnknownEventError
from hedgebot.onchain_trade.events import (
    ONCHAIN_TRADE_EVENTS,
    Enriched,
    Filled,
    LegacyPyth,
    Migrated,
    PythPrice,
)

TRADE = "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef:0"


def stored(payload: str, event_type: str = "OnChainTradeEvent::Filled") -> StoredEvent:
    return StoredEvent(1, "OnChainTrade", TRADE, 3, event_type, "1.0", payload, "{}")


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_migrated_payload_equals_the_reference_example_byte_for_byte() -> None:
    event = Migrated(
        symbol="AAPL",
        amount=Decimal("10"),
        direction=Direction.BUY,
        price_usdc=Decimal("150.5"),
        block_number=0,
        block_timestamp=dt("2025-12-05T13:20:00"),
        gas_used=None,
        pyth_price=None,
        migrated_at=dt("2025-12-05T13:20:01.123456"),
    )
    assert ONCHAIN_TRADE_EVENTS.event_type(event) == "OnChainTradeEvent::Migrated"
    assert ONCHAIN_TRADE_EVENTS.encode(event) == (
        '{"Migrated":{"symbol":"AAPL","amount":"10","direction":"Buy","price_usdc":"150.5",'
        '"block_number":0,"block_timestamp":"2025-12-05T13:20:00Z","gas_used":null,'
        '"pyth_price":null,"migrated_at":"2025-12-05T13:20:01.123456Z"}}'
    )


def test_filled_payload_equals_the_reference_example_byte_for_byte() -> None:
    event = Filled(
        symbol="AAPL",
        amount=Decimal("10.5"),
        direction=Direction.BUY,
        price_usdc=Decimal("150.25"),
        block_number=12345,
        block_timestamp=dt("2025-11-05T12:34:56"),
        filled_at=dt("2025-11-05T12:35:10.123"),
    )
    assert ONCHAIN_TRADE_EVENTS.event_type(event) == "OnChainTradeEvent::Filled"
    assert ONCHAIN_TRADE_EVENTS.encode(event) == (
        '{"Filled":{"symbol":"AAPL","amount":"10.5","direction":"Buy","price_usdc":"150.25",'
        '"block_number":12345,"block_timestamp":"2025-11-05T12:34:56Z",'
        '"filled_at":"2025-11-05T12:35:10.123Z"}}'
    )


def test_enriched_payload_equals_the_reference_example_byte_for_byte() -> None:
    event = Enriched(
        gas_used=50000,
        pyth_price=PythPrice(Decimal("150250000"), -6, Decimal("50000"), dt("2025-11-05T12:34:50")),
        enriched_at=dt("2025-11-05T12:36:00"),
    )
    assert ONCHAIN_TRADE_EVENTS.event_type(event) == "OnChainTradeEvent::Enriched"
    assert ONCHAIN_TRADE_EVENTS.encode(event) == (
        '{"Enriched":{"gas_used":50000,"pyth_price":{"value":"150250000","expo":-6,'
        '"conf":"50000","publish_time":"2025-11-05T12:34:50Z"},'
        '"enriched_at":"2025-11-05T12:36:00Z"}}'
    )


def test_hedgebot_additions_follow_the_reference_fields() -> None:
    enriched = Enriched(
        1,
        PythPrice(Decimal(1), 0, Decimal(0), dt("2025-01-01T00:00:00")),
        dt("2025-01-01T00:00:01"),
        effective_gas_price=2_000_000_000,
    )
    assert ONCHAIN_TRADE_EVENTS.encode(enriched).endswith(
        '"enriched_at":"2025-01-01T00:00:01Z","effective_gas_price":2000000000}}'
    )
    migrated = Migrated(
        "tAAPL",
        Decimal("1"),
        Direction.SELL,
        Decimal("2"),
        7,
        dt("2025-01-01T00:00:00"),
        None,
        None,
        dt("2025-01-02T00:00:00"),
        legacy_id=42,
        created_at=dt("2025-01-01T00:00:05"),
        effective_gas_price=3,
        legacy_pyth=LegacyPyth(Decimal("182.5"), None, None, None),
        legacy_nulls=("block_timestamp",),
    )
    assert ONCHAIN_TRADE_EVENTS.encode(migrated).endswith(
        '"migrated_at":"2025-01-02T00:00:00Z","legacy_id":42,'
        '"created_at":"2025-01-01T00:00:05Z","effective_gas_price":3,'
        '"legacy_pyth":{"price":"182.5","confidence":null,"exponent":null,"publish_time":null},'
        '"legacy_nulls":["block_timestamp"]}}'
    )
    assert ONCHAIN_TRADE_EVENTS.decode(stored(ONCHAIN_TRADE_EVENTS.encode(migrated))) == migrated


def test_reference_payloads_with_unknown_keys_decode() -> None:
    payload = (
        '{"Filled":{"symbol":"AAPL0x","amount":"0.000000000000000001","direction":"Sell",'
        '"price_usdc":"150","block_number":1,"block_timestamp":"2025-11-05T12:34:56.123456789Z",'
        '"filled_at":"2025-11-05T12:35:00+02:00","future_field":{"x":1}}}'
    )
    event = ONCHAIN_TRADE_EVENTS.decode(stored(payload))
    assert event == Filled(
        "AAPL0x",
        Decimal("0.000000000000000001"),
        Direction.SELL,
        Decimal("150"),
        1,
        dt("2025-11-05T12:34:56.123456"),
        dt("2025-11-05T10:35:00"),
    )


def test_reference_payloads_without_hedgebot_fields_decode_them_as_none() -> None:
    migrated = ONCHAIN_TRADE_EVENTS.decode(
        stored(
            '{"Migrated":{"symbol":"AAPL","amount":"10","direction":"Buy","price_usdc":"150.5",'
            '"block_number":0,"block_timestamp":"2025-12-05T13:20:00Z","gas_used":null,'
            '"pyth_price":null,"migrated_at":"2025-12-05T13:20:01.123456789Z"}}',
            "OnChainTradeEvent::Migrated",
        )
    )
    assert isinstance(migrated, Migrated)
    assert migrated.legacy_id is None
    assert migrated.created_at is None
    assert migrated.effective_gas_price is None
    assert migrated.legacy_pyth is None
    assert migrated.legacy_nulls is None
    enriched = ONCHAIN_TRADE_EVENTS.decode(
        stored(
            '{"Enriched":{"gas_used":50000,"pyth_price":{"value":"150250000","expo":-6,'
            '"conf":"50000","publish_time":"2025-11-05T12:34:50Z"},'
            '"enriched_at":"2025-11-05T12:36:00Z"}}',
            "OnChainTradeEvent::Enriched",
        )
    )
    assert isinstance(enriched, Enriched)
    assert enriched.effective_gas_price is None


def test_an_unknown_variant_is_an_error_naming_aggregate_id_and_sequence() -> None:
    with pytest.raises(UnknownEventError) as info:
        ONCHAIN_TRADE_EVENTS.decode(stored('{"Reorged":{"block":1}}', "OnChainTradeEvent::Reorged"))
    message = str(info.value)
    assert "OnChainTrade" in message
    assert TRADE in message
    assert "sequence 3" in message
    assert "Reorged" in message


def test_a_payload_with_a_missing_reference_field_is_an_error() -> None:
    with pytest.raises(UnknownEventError, match="price_usdc"):
        ONCHAIN_TRADE_EVENTS.decode(
            stored(
                '{"Filled":{"symbol":"tAAPL","amount":"1","direction":"Buy","block_number":1,'
                '"block_timestamp":"2025-11-05T12:34:56Z","filled_at":"2025-11-05T12:34:56Z"}}'
            )
        )
