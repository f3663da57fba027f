"""Position payloads are byte-equal to the reference's (es-and-migration.md §2.3), and the
reference's payloads decode (nanosecond timestamps, numbers for decimals, extra keys)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hedgebot.domain import Broker, TradeId
from hedgebot.eventstore import StoredEvent, UnknownEventError
from hedgebot.position.events import (
    POSITION_EVENTS,
    DollarThreshold,
    DollarValue,
    Initialized,
    Migrated,
    OffChainOrderFailed,
    OffChainOrderFilled,
    OffChainOrderPlaced,
    OnChainOrderFilled,
    PositionEvent,
    Shares,
    SharesThreshold,
    ThresholdUpdated,
)
from tests.position.builders import BUY, SELL, d

AT = datetime(2025, 12, 5, 13, 20, 1, 123456, tzinfo=UTC)
AT_TEXT = "2025-12-05T13:20:01.123456Z"
BLOCK = datetime(2025, 12, 5, 13, 20, tzinfo=UTC)
BLOCK_TEXT = "2025-12-05T13:20:00Z"
TX = "0x" + "ab" * 32

GOLDEN: list[tuple[str, PositionEvent, str]] = [
    (
        "PositionEvent::Migrated",
        Migrated("AAPL", d("5.5"), d("10"), d("4.5"), Shares(d("1")), AT),
        '{"Migrated":{"symbol":"AAPL","net_position":"5.5","accumulated_long":"10",'
        '"accumulated_short":"4.5","threshold":{"Shares":"1"},"migrated_at":"' + AT_TEXT + '"}}',
    ),
    (
        "PositionEvent::Migrated",
        Migrated("TSLA", d("-5"), d("0"), d("5"), Shares(d("1")), AT),
        '{"Migrated":{"symbol":"TSLA","net_position":"-5","accumulated_long":"0",'
        '"accumulated_short":"5","threshold":{"Shares":"1"},"migrated_at":"' + AT_TEXT + '"}}',
    ),
    (
        "PositionEvent::Initialized",
        Initialized("AAPL", Shares(d("1")), AT),
        '{"Initialized":{"symbol":"AAPL","threshold":{"Shares":"1"},'
        '"initialized_at":"' + AT_TEXT + '"}}',
    ),
    (
        "PositionEvent::OnChainOrderFilled",
        OnChainOrderFilled(TradeId(TX, 1), d("0.5"), BUY, d("150.0"), BLOCK, AT),
        '{"OnChainOrderFilled":{"trade_id":{"tx_hash":"' + TX + '","log_index":1},'
        '"amount":"0.5","direction":"Buy","price_usdc":"150.0",'
        '"block_timestamp":"' + BLOCK_TEXT + '","seen_at":"' + AT_TEXT + '"}}',
    ),
    (
        "PositionEvent::OffChainOrderPlaced",
        OffChainOrderPlaced(
            1, d("1.5"), SELL, Broker.SCHWAB, SharesThreshold(d("2.0"), d("1.0")), AT
        ),
        '{"OffChainOrderPlaced":{"execution_id":1,"shares":"1.5","direction":"Sell",'
        '"broker":"Schwab","trigger_reason":{"SharesThreshold":{"net_position_shares":"2.0",'
        '"threshold_shares":"1.0"}},"placed_at":"' + AT_TEXT + '"}}',
    ),
    (
        "PositionEvent::OffChainOrderPlaced",
        OffChainOrderPlaced(
            2,
            d("0.02"),
            BUY,
            Broker.ALPACA,
            DollarThreshold(d("0.02"), d("2.00"), d("100"), d("1.00")),
            AT,
        ),
        '{"OffChainOrderPlaced":{"execution_id":2,"shares":"0.02","direction":"Buy",'
        '"broker":"Alpaca","trigger_reason":{"DollarThreshold":{"net_position_shares":"0.02",'
        '"dollar_value":"2.00","price_usdc":"100","threshold_dollars":"1.00"}},'
        '"placed_at":"' + AT_TEXT + '"}}',
    ),
    (
        "PositionEvent::OffChainOrderFilled",
        OffChainOrderFilled(1, d("1.5"), SELL, "ORDER123", 15050, AT),
        '{"OffChainOrderFilled":{"execution_id":1,"shares_filled":"1.5","direction":"Sell",'
        '"broker_order_id":"ORDER123","price_cents":15050,"broker_timestamp":"' + AT_TEXT + '"}}',
    ),
    (
        "PositionEvent::OffChainOrderFailed",
        OffChainOrderFailed(1, "Order rejected: insufficient buying power", AT),
        '{"OffChainOrderFailed":{"execution_id":1,'
        '"error":"Order rejected: insufficient buying power","failed_at":"' + AT_TEXT + '"}}',
    ),
    (
        "PositionEvent::ThresholdUpdated",
        ThresholdUpdated(Shares(d("1")), Shares(d("5.0")), AT),
        '{"ThresholdUpdated":{"old_threshold":{"Shares":"1"},"new_threshold":{"Shares":"5.0"},'
        '"updated_at":"' + AT_TEXT + '"}}',
    ),
    (
        "PositionEvent::ThresholdUpdated",
        ThresholdUpdated(Shares(d("1")), DollarValue(d("1.00")), AT),
        '{"ThresholdUpdated":{"old_threshold":{"Shares":"1"},'
        '"new_threshold":{"DollarValue":"1.00"},"updated_at":"' + AT_TEXT + '"}}',
    ),
]


def row(event_type: str, payload: str, sequence: int = 1) -> StoredEvent:
    return StoredEvent(1, "Position", "AAPL", sequence, event_type, "1.0", payload, "{}")


@pytest.mark.parametrize(("event_type", "event", "payload"), GOLDEN)
def test_position_event_payload_is_byte_equal_to_the_reference(
    event_type: str, event: PositionEvent, payload: str
) -> None:
    assert POSITION_EVENTS.event_type(event) == event_type
    assert POSITION_EVENTS.encode(event) == payload
    assert POSITION_EVENTS.decode(row(event_type, payload)) == event


def test_migrated_additions_follow_the_reference_fields_and_are_ignored_by_it() -> None:
    event = Migrated("AAPL", d("5.5"), d("10"), d("4.5"), Shares(d("1")), AT, 7, BLOCK)
    reference_part = (
        '{"Migrated":{"symbol":"AAPL","net_position":"5.5","accumulated_long":"10",'
        '"accumulated_short":"4.5","threshold":{"Shares":"1"},"migrated_at":"' + AT_TEXT + '"'
    )
    assert POSITION_EVENTS.encode(event) == (
        reference_part + ',"pending_execution_id":7,"last_updated":"' + BLOCK_TEXT + '"}}'
    )


def test_reference_payloads_with_nanoseconds_and_numeric_decimals_decode() -> None:
    payload = (
        '{"OnChainOrderFilled":{"trade_id":{"tx_hash":"' + TX + '","log_index":3},'
        '"amount":0.25,"direction":"Sell","price_usdc":"150.25",'
        '"block_timestamp":"2025-12-05T13:20:00.123456789Z","seen_at":"2025-12-05T13:20:01Z",'
        '"some_future_field":true}}'
    )
    event = POSITION_EVENTS.decode(row("PositionEvent::OnChainOrderFilled", payload))
    assert event == OnChainOrderFilled(
        TradeId(TX, 3),
        d("0.25"),
        SELL,
        d("150.25"),
        datetime(2025, 12, 5, 13, 20, 0, 123456, tzinfo=UTC),
        datetime(2025, 12, 5, 13, 20, 1, tzinfo=UTC),
    )


def test_reference_migrated_payload_decodes_without_hedgebot_additions() -> None:
    payload = (
        '{"Migrated":{"symbol":"TSLA","net_position":"-5","accumulated_long":"0",'
        '"accumulated_short":"5","threshold":{"Shares":"1"},'
        '"migrated_at":"2025-12-05T13:20:01.123456789Z"}}'
    )
    event = POSITION_EVENTS.decode(row("PositionEvent::Migrated", payload))
    assert isinstance(event, Migrated)
    assert (event.pending_execution_id, event.last_updated) == (None, None)
    assert event.migrated_at == AT


def test_an_unknown_position_event_names_the_aggregate_id_and_sequence() -> None:
    with pytest.raises(UnknownEventError, match=r"Position 'AAPL' sequence 4") as info:
        POSITION_EVENTS.decode(row("PositionEvent::Exploded", '{"Exploded":{}}', sequence=4))
    assert "Exploded" in str(info.value)
