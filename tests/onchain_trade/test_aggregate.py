"""Given / when / then for every OnChainTrade command and rejection."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hedgebot.domain import Direction
from hedgebot.eventstore import codec
from hedgebot.eventstore.testing import scenario
from hedgebot.onchain_trade.commands import Enrich, Migrate
from hedgebot.onchain_trade.events import Enriched, LegacyPyth, Migrated, PythPrice
from hedgebot.onchain_trade.state import (
    ONCHAIN_TRADE,
    AlreadyEnriched,
    AlreadyFilled,
    InvalidAmount,
    InvalidBlock,
    InvalidEnrichment,
    InvalidLegacyRow,
    InvalidPrice,
    InvalidSymbol,
    InvalidTimestamp,
    NotFilled,
    OnChainTradeState,
)
from tests.onchain_trade.samples import BLOCK_TIME, LATER, NOW, PYTH, filled, witness

CREATED = datetime(2025, 10, 1, 9, 0, 0, tzinfo=UTC)


def migrate(**overrides: object) -> Migrate:
    base = Migrate(
        symbol="AAPL0x",
        amount=Decimal("10"),
        direction=Direction.SELL,
        price_usdc=Decimal("150.5"),
        block_number=0,
        block_timestamp=BLOCK_TIME,
        gas_used=21000,
        pyth_price=None,
        legacy_id=7,
        created_at=CREATED,
        effective_gas_price=2_000_000_000,
        legacy_pyth=None,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def migrated(**overrides: object) -> Migrated:
    base = Migrated(
        symbol="AAPL0x",
        amount=Decimal("10"),
        direction=Direction.SELL,
        price_usdc=Decimal("150.5"),
        block_number=0,
        block_timestamp=BLOCK_TIME,
        gas_used=21000,
        pyth_price=None,
        migrated_at=NOW,
        legacy_id=7,
        created_at=CREATED,
        effective_gas_price=2_000_000_000,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


# -- Witness -----------------------------------------------------------------


def test_witness_of_a_new_trade_records_the_fill_at_the_handler_time() -> None:
    scenario(ONCHAIN_TRADE).at(NOW).given().when(witness()).then(filled(at=NOW))


def test_second_witness_of_the_same_trade_is_already_filled() -> None:
    error = scenario(ONCHAIN_TRADE).given(filled()).when(witness()).then_raises(AlreadyFilled)
    assert "witnessed" in str(error)


def test_witness_of_a_migrated_trade_is_already_filled() -> None:
    error = scenario(ONCHAIN_TRADE).given(migrated()).when(witness()).then_raises(AlreadyFilled)
    assert "migrated" in str(error)


@pytest.mark.parametrize("amount", ["0", "-1", "NaN", "Infinity"])
def test_witness_with_a_non_positive_or_non_finite_amount_is_invalid_amount(amount: str) -> None:
    scenario(ONCHAIN_TRADE).when(witness(amount=amount)).then_raises(InvalidAmount)


@pytest.mark.parametrize("price", ["0", "-150.25", "NaN"])
def test_witness_with_a_non_positive_price_is_invalid_price(price: str) -> None:
    scenario(ONCHAIN_TRADE).when(witness(price=price)).then_raises(InvalidPrice)


@pytest.mark.parametrize("symbol", ["", " tAAPL", "AAPL", "USDC", "t"])
def test_witness_needs_a_non_empty_tokenized_symbol(symbol: str) -> None:
    scenario(ONCHAIN_TRADE).when(witness(symbol=symbol)).then_raises(InvalidSymbol)


def test_witness_with_a_negative_block_number_is_invalid_block() -> None:
    scenario(ONCHAIN_TRADE).when(witness(block=-1)).then_raises(InvalidBlock)


def test_witness_with_a_naive_block_timestamp_is_invalid_timestamp() -> None:
    command = replace(witness(), block_timestamp=datetime(2025, 11, 5, 12, 0))
    scenario(ONCHAIN_TRADE).when(command).then_raises(InvalidTimestamp)


# -- Enrich ------------------------------------------------------------------


def test_enrich_of_a_filled_trade_records_gas_pyth_and_effective_gas_price() -> None:
    (
        scenario(ONCHAIN_TRADE)
        .at(LATER)
        .given(filled())
        .when(Enrich(50000, PYTH, effective_gas_price=1_000_000))
        .then(Enriched(50000, PYTH, LATER, effective_gas_price=1_000_000))
    )


def test_enrich_sets_the_enrichment_of_the_state() -> None:
    state = scenario(ONCHAIN_TRADE).at(LATER).given(filled()).when(Enrich(1, PYTH)).then_state()
    assert state.trade is not None
    assert state.trade.enrichment is not None
    assert state.trade.enrichment.pyth_price == PYTH
    assert state.trade.enrichment.enriched_at == LATER


def test_enrich_before_the_fill_is_not_filled() -> None:
    scenario(ONCHAIN_TRADE).given().when(Enrich(50000, PYTH)).then_raises(NotFilled)


def test_second_enrich_is_already_enriched() -> None:
    (
        scenario(ONCHAIN_TRADE)
        .given(filled(), Enriched(50000, PYTH, LATER))
        .when(Enrich(60000, PYTH))
        .then_raises(AlreadyEnriched)
    )


@pytest.mark.parametrize(
    "command",
    [
        Enrich(-1, PYTH),
        Enrich(2**63, PYTH),
        Enrich(1, PYTH, effective_gas_price=-5),
        Enrich(1, replace(PYTH, conf=Decimal("-1"))),
        Enrich(1, replace(PYTH, value=Decimal("NaN"))),
        Enrich(1, replace(PYTH, publish_time=datetime(2025, 1, 1))),
    ],
)
def test_enrich_with_impossible_gas_or_pyth_data_is_invalid_enrichment(command: Enrich) -> None:
    scenario(ONCHAIN_TRADE).given(filled()).when(command).then_raises(InvalidEnrichment)


def test_migrated_trade_without_full_enrichment_can_be_enriched_later() -> None:
    (
        scenario(ONCHAIN_TRADE)
        .at(LATER)
        .given(migrated(pyth_price=None))
        .when(Enrich(50000, PYTH))
        .then(Enriched(50000, PYTH, LATER))
    )


def test_migrated_trade_with_gas_and_pyth_is_already_enriched() -> None:
    (
        scenario(ONCHAIN_TRADE)
        .given(migrated(pyth_price=PYTH))
        .when(Enrich(50000, PYTH))
        .then_raises(AlreadyEnriched)
    )


# -- Migrate -----------------------------------------------------------------


def test_migrate_of_a_new_trade_carries_every_legacy_field() -> None:
    scenario(ONCHAIN_TRADE).at(NOW).when(migrate()).then(migrated())


def test_migrate_accepts_a_legacy_symbol_that_is_not_tokenized() -> None:
    (scenario(ONCHAIN_TRADE).at(NOW).when(migrate(symbol="AAPL")).then(migrated(symbol="AAPL")))


def test_migrate_derives_the_reference_pyth_price_from_complete_legacy_columns() -> None:
    legacy = LegacyPyth(
        price=Decimal("150.25"),
        confidence=Decimal("0.05"),
        exponent=-6,
        publish_time=PYTH.publish_time,
    )
    [event] = (
        scenario(ONCHAIN_TRADE)
        .at(NOW)
        .when(migrate(legacy_pyth=legacy))
        .then(migrated(pyth_price=PYTH, legacy_pyth=legacy))
    )
    assert isinstance(event, Migrated)
    assert event.pyth_price is not None
    assert codec.encode_decimal(event.pyth_price.value) == "150250000"
    assert codec.encode_decimal(event.pyth_price.conf) == "50000"


def test_migrate_keeps_partial_legacy_pyth_columns_without_a_reference_pyth_price() -> None:
    legacy = LegacyPyth(price=Decimal("182.5"), confidence=None, exponent=None, publish_time=None)
    (
        scenario(ONCHAIN_TRADE)
        .at(NOW)
        .when(migrate(legacy_pyth=legacy))
        .then(migrated(pyth_price=None, legacy_pyth=legacy))
    )


def test_migrate_drops_legacy_pyth_columns_that_are_all_null() -> None:
    empty = LegacyPyth(None, None, None, None)
    scenario(ONCHAIN_TRADE).at(NOW).when(migrate(legacy_pyth=empty)).then(migrated())


def test_migrate_with_null_block_timestamp_stands_in_created_at_and_remembers_the_null() -> None:
    (
        scenario(ONCHAIN_TRADE)
        .at(NOW)
        .when(migrate(block_timestamp=None))
        .then(migrated(block_timestamp=CREATED, legacy_nulls=("block_timestamp",)))
    )


def test_migrate_with_null_created_at_and_block_timestamp_stands_in_the_migration_time() -> None:
    (
        scenario(ONCHAIN_TRADE)
        .at(NOW)
        .when(migrate(block_timestamp=None, created_at=None))
        .then(
            migrated(
                block_timestamp=NOW,
                created_at=None,
                legacy_nulls=("block_timestamp", "created_at"),
            )
        )
    )


def test_migrate_of_an_existing_trade_is_already_filled() -> None:
    scenario(ONCHAIN_TRADE).given(filled()).when(migrate()).then_raises(AlreadyFilled)
    scenario(ONCHAIN_TRADE).given(migrated()).when(migrate()).then_raises(AlreadyFilled)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"symbol": ""}, InvalidSymbol),
        ({"amount": Decimal("0")}, InvalidAmount),
        ({"price_usdc": Decimal("-1")}, InvalidPrice),
        ({"block_number": -1}, InvalidBlock),
        ({"created_at": datetime(2025, 1, 1)}, InvalidTimestamp),
        ({"gas_used": -1}, InvalidLegacyRow),
        ({"effective_gas_price": 2**63}, InvalidLegacyRow),
        ({"legacy_id": 0}, InvalidLegacyRow),
        ({"legacy_pyth": LegacyPyth(None, Decimal("-0.1"), None, None)}, InvalidLegacyRow),
    ],
)
def test_migrate_rejects_an_invalid_legacy_row_with_a_typed_error(
    overrides: dict[str, object], error: type[Exception]
) -> None:
    scenario(ONCHAIN_TRADE).when(migrate(**overrides)).then_raises(error)


# -- evolve and snapshots ----------------------------------------------------


def test_evolve_ignores_stored_events_that_cannot_apply() -> None:
    initial = OnChainTradeState()
    assert ONCHAIN_TRADE.evolve(initial, Enriched(1, PYTH, LATER)) == initial
    once = ONCHAIN_TRADE.evolve(initial, filled())
    assert ONCHAIN_TRADE.evolve(once, filled(amount="99")) == once
    assert ONCHAIN_TRADE.evolve(once, migrated()) == once


def test_migrated_state_uses_the_block_timestamp_as_fill_time() -> None:
    state = ONCHAIN_TRADE.fold(OnChainTradeState(), [migrated(pyth_price=PYTH)])
    assert state.trade is not None
    assert state.trade.filled_at == BLOCK_TIME
    assert state.trade.migrated
    assert state.trade.enrichment is not None
    assert state.trade.enrichment.effective_gas_price == 2_000_000_000


def test_state_survives_the_snapshot_codec() -> None:
    state = ONCHAIN_TRADE.fold(
        OnChainTradeState(), [filled(), Enriched(5, PYTH, LATER, effective_gas_price=9)]
    )
    text = codec.to_json(ONCHAIN_TRADE.state_type, state)
    assert codec.from_json(OnChainTradeState, text) == state


def test_pyth_price_scales_value_and_confidence_by_the_exponent() -> None:
    assert PYTH.price == Decimal("150.25")
    assert PYTH.confidence == Decimal("0.05")
    assert PythPrice(Decimal(1), 5, Decimal(0), LATER).price == Decimal(100000)
