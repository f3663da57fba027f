"""The import's Migrated trade rows are the codec's rows, byte for byte."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from hedgebot.domain import Direction
from hedgebot.eventstore import encode_events
from hedgebot.migration.event_text import TradeEventRows
from hedgebot.onchain_trade.events import (
    LEGACY_NULL_BLOCK_TIMESTAMP,
    LEGACY_NULL_CREATED_AT,
    Enriched,
    LegacyPyth,
    Migrated,
    PythPrice,
)
from hedgebot.onchain_trade.state import ONCHAIN_TRADE
from tests.migration.trade_events import T0, T1, migrated

T2 = datetime(2025, 10, 1, 14, 0, 1, 123, tzinfo=timezone(timedelta(hours=2)))
AGGREGATE_ID = "0x" + "ab" * 32 + ":4"


EVENTS = [
    migrated(),
    migrated(symbol="AAPL", legacy_id=3, created_at=T1, gas_used=21000, direction=Direction.SELL),
    migrated(legacy_nulls=(LEGACY_NULL_BLOCK_TIMESTAMP,), created_at=T2, effective_gas_price=5),
    migrated(legacy_nulls=(LEGACY_NULL_BLOCK_TIMESTAMP, LEGACY_NULL_CREATED_AT)),
    migrated(
        pyth_price=PythPrice(value=Decimal("12345"), expo=-2, conf=Decimal("7"), publish_time=T1),
        legacy_pyth=LegacyPyth(
            price=Decimal("123.45"), confidence=Decimal("0.07"), exponent=-2, publish_time=T1
        ),
    ),
    migrated(
        amount=Decimal("0.30000000000000004"),
        price_usdc=Decimal("1E+20"),
        legacy_pyth=LegacyPyth(
            price=Decimal("-0"), confidence=None, exponent=-8, publish_time=None
        ),
    ),
    migrated(symbol='we"ird\\sym\u00e9\n', amount=Decimal("1.000"), block_number=0),
]


@pytest.mark.parametrize("event", EVENTS)
def test_rows_are_the_codecs(event: Migrated) -> None:
    rows = TradeEventRows()
    assert rows.rows(AGGREGATE_ID, [event]) == encode_events(ONCHAIN_TRADE, AGGREGATE_ID, [event])
    assert rows.mismatches == 0  # written by the module, not by the codec's fallback


def test_other_events_and_refused_values_go_to_the_codec() -> None:
    rows = TradeEventRows()
    enriched = Enriched(
        gas_used=1,
        pyth_price=PythPrice(value=Decimal(1), expo=0, conf=Decimal(0), publish_time=T0),
        enriched_at=T1,
    )
    events: list[Any] = [migrated(), enriched]
    assert rows.rows(AGGREGATE_ID, events) == encode_events(ONCHAIN_TRADE, AGGREGATE_ID, events)
    with pytest.raises(ValueError, match="finite"):
        rows.rows(AGGREGATE_ID, [migrated(amount=Decimal("NaN"))])


class _Outdated(TradeEventRows):
    """As if the event type had gained a field this module does not write."""

    def payload(self, event: Migrated) -> str:
        return super().payload(event).replace('"gas_used"', '"gas"')


def test_a_shape_that_differs_from_the_codec_is_left_to_the_codec() -> None:
    rows = _Outdated()
    first, second = migrated(legacy_id=1), migrated(legacy_id=2, amount=Decimal(2))
    for event in (first, second):
        assert rows.rows(AGGREGATE_ID, [event]) == encode_events(
            ONCHAIN_TRADE, AGGREGATE_ID, [event]
        )
    assert rows.mismatches == 1
