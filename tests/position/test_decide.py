"""Given / when / then for every Position command: each success path and each typed error."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from hedgebot.domain import Broker, Direction, TradeId
from hedgebot.eventstore.testing import scenario
from hedgebot.position.commands import (
    CompleteOffChainOrder,
    FailOffChainOrder,
    Initialize,
    Migrate,
    PlaceOffChainOrder,
    ResumeHedging,
    UpdateThreshold,
)
from hedgebot.position.errors import (
    AlreadyInitialized,
    DirectionMismatch,
    ExecutionIdMismatch,
    HedgingNotSuspended,
    HedgingSuspended,
    InvalidFill,
    InvalidMigration,
    InvalidOrderFill,
    InvalidOrderSizing,
    InvalidSymbol,
    InvalidThreshold,
    NoPendingExecution,
    NotInitialized,
    PendingExecution,
    SymbolMismatch,
    ThresholdNotMet,
)
from hedgebot.position.events import (
    DollarThreshold,
    DollarValue,
    Initialized,
    Migrated,
    OffChainOrderFailed,
    OffChainOrderFilled,
    OffChainOrderPlaced,
    PositionEvent,
    Shares,
    SharesThreshold,
    ThresholdUpdated,
)
from hedgebot.position.state import FAILURES_BEFORE_SUSPENSION, POSITION
from tests.position.builders import (
    BUY,
    EARLIER,
    NOW,
    ONE_DOLLAR,
    ONE_SHARE,
    SELL,
    ack,
    d,
    filled,
    initialized,
)


def placed(execution_id: int, shares: str, direction: Direction, net: str) -> OffChainOrderPlaced:
    return OffChainOrderPlaced(
        execution_id=execution_id,
        shares=d(shares),
        direction=direction,
        broker=Broker.SCHWAB,
        trigger_reason=SharesThreshold(d(net), d("1")),
        placed_at=NOW,
    )


def broker_fill(execution_id: int, shares: str, direction: Direction) -> OffChainOrderFilled:
    return OffChainOrderFilled(
        execution_id=execution_id,
        shares_filled=d(shares),
        direction=direction,
        broker_order_id="ORD1",
        price_cents=15050,
        broker_timestamp=NOW,
    )


def complete(execution_id: int, shares: str, direction: Direction) -> CompleteOffChainOrder:
    return CompleteOffChainOrder(
        execution_id=execution_id,
        shares_filled=d(shares),
        direction=direction,
        broker_order_id="ORD1",
        price_cents=15050,
        broker_timestamp=NOW,
    )


def failures(n: int) -> list[PositionEvent]:
    """History: n hedges placed and failed in a row (net stays -1.2)."""
    events: list[PositionEvent] = [initialized(), filled(1, "1.2", SELL)]
    for i in range(1, n + 1):
        events += [placed(i, "1", BUY, "1.2"), OffChainOrderFailed(i, "rejected", NOW)]
    return events


# -- Initialize ----------------------------------------------------------------


def test_initialize_creates_the_position_with_its_threshold() -> None:
    scenario(POSITION).when(Initialize("AAPL", ONE_SHARE)).then(Initialized("AAPL", ONE_SHARE, NOW))


def test_initialize_twice_is_rejected_as_already_initialized() -> None:
    scenario(POSITION).given(initialized()).when(Initialize("AAPL", ONE_SHARE)).then_raises(
        AlreadyInitialized
    )


@pytest.mark.parametrize("value", ["0", "-1", "NaN"])
def test_initialize_with_a_non_positive_threshold_is_rejected(value: str) -> None:
    scenario(POSITION).when(Initialize("AAPL", Shares(Decimal(value)))).then_raises(
        InvalidThreshold
    )


def test_initialize_with_an_empty_symbol_is_rejected() -> None:
    scenario(POSITION).when(Initialize("", ONE_SHARE)).then_raises(InvalidSymbol)


# -- Migrate -------------------------------------------------------------------


def test_migrate_imports_a_legacy_position_as_its_genesis() -> None:
    scenario(POSITION).when(Migrate("AAPL", d("5.5"), d("10"), d("4.5"), ONE_SHARE)).then(
        Migrated("AAPL", d("5.5"), d("10"), d("4.5"), ONE_SHARE, NOW)
    )


def test_migrate_carries_the_pending_execution_and_the_legacy_last_updated() -> None:
    state = (
        scenario(POSITION)
        .when(Migrate("TSLA", d("-5"), d("0"), d("5"), ONE_SHARE, 7, EARLIER))
        .then_state()
    )
    assert (state.net, state.pending_execution_id, state.last_updated) == (d("-5"), 7, EARLIER)


def test_migrate_onto_an_existing_position_is_rejected() -> None:
    scenario(POSITION).given(initialized()).when(
        Migrate("AAPL", d("1"), d("1"), d("0"), ONE_SHARE)
    ).then_raises(AlreadyInitialized)


def test_migrate_with_a_negative_accumulated_short_is_rejected() -> None:
    scenario(POSITION).when(Migrate("AAPL", d("1"), d("1"), d("-1"), ONE_SHARE)).then_raises(
        InvalidMigration
    )


def test_migrate_with_a_non_positive_pending_execution_id_is_rejected() -> None:
    scenario(POSITION).when(
        Migrate("AAPL", d("1"), d("1"), d("0"), ONE_SHARE, pending_execution_id=0)
    ).then_raises(InvalidMigration)


def test_migrate_with_a_zero_threshold_is_rejected() -> None:
    scenario(POSITION).when(Migrate("AAPL", d("1"), d("1"), d("0"), Shares(d("0")))).then_raises(
        InvalidThreshold
    )


# -- AcknowledgeOnChainFill ----------------------------------------------------


def test_first_fill_of_an_unknown_symbol_initializes_it_with_the_default_threshold() -> None:
    scenario(POSITION).when(ack(1, "0.3", SELL)).then(
        Initialized("AAPL", ONE_SHARE, NOW), filled(1, "0.3", SELL)
    )


def test_first_fill_big_enough_initializes_records_and_hedges_in_one_decision() -> None:
    scenario(POSITION).when(ack(1, "2.5", BUY)).then(
        Initialized("AAPL", ONE_SHARE, NOW),
        filled(1, "2.5", BUY),
        placed(1, "2", SELL, "2.5"),
    )


def test_fill_below_the_threshold_is_recorded_without_a_hedge() -> None:
    state = scenario(POSITION).given(initialized()).when(ack(1, "0.5", BUY)).then_state()
    assert (state.net, state.accumulated_long, state.pending_execution_id) == (
        d("0.5"),
        d("0.5"),
        None,
    )


def test_sell_fill_that_crosses_the_threshold_places_a_buy_hedge() -> None:
    scenario(POSITION).given(initialized(), filled(1, "0.7", SELL)).when(ack(2, "0.5", SELL)).then(
        filled(2, "0.5", SELL), placed(1, "1", BUY, "1.2")
    )


def test_buy_fill_that_crosses_the_threshold_places_a_sell_hedge() -> None:
    scenario(POSITION).given(initialized(), filled(1, "3", BUY)).when(ack(2, "0.7", BUY)).then(
        filled(2, "0.7", BUY), placed(1, "3", SELL, "3.7")
    )


def test_repeated_acknowledgement_of_the_same_fill_is_a_no_op() -> None:
    scenario(POSITION).given(initialized(), filled(1, "0.3", SELL)).when(ack(1, "0.3", SELL)).then()


def test_fill_while_a_hedge_is_pending_is_recorded_without_another_hedge() -> None:
    scenario(POSITION).given(
        initialized(), filled(1, "1.2", SELL), placed(1, "1", BUY, "1.2")
    ).when(ack(2, "1", SELL)).then(filled(2, "1", SELL))


def test_fill_while_the_market_is_closed_is_recorded_without_a_hedge() -> None:
    scenario(POSITION).given(initialized()).when(ack(1, "5", BUY, hedging_allowed=False)).then(
        filled(1, "5", BUY)
    )


def test_fill_while_hedging_is_suspended_is_recorded_without_a_hedge() -> None:
    scenario(POSITION).given(*failures(FAILURES_BEFORE_SUSPENSION)).when(ack(9, "1", SELL)).then(
        filled(9, "1", SELL)
    )


def test_fill_for_another_symbol_is_rejected() -> None:
    scenario(POSITION).given(initialized("AAPL")).when(ack(1, "1", BUY, symbol="TSLA")).then_raises(
        SymbolMismatch
    )


@pytest.mark.parametrize("amount", ["0", "-0.5"])
def test_fill_with_a_non_positive_amount_is_rejected(amount: str) -> None:
    scenario(POSITION).given(initialized()).when(ack(1, amount, BUY)).then_raises(InvalidFill)


@pytest.mark.parametrize("tx_hash", ["0xABC", "0x" + "AB" * 32, "ab" * 32])
def test_fill_with_a_malformed_or_non_canonical_transaction_hash_is_rejected(tx_hash: str) -> None:
    command = replace(ack(1, "1", BUY), trade_id=TradeId(tx_hash, 0))
    scenario(POSITION).given(initialized()).when(command).then_raises(InvalidFill)


def test_fill_with_a_negative_price_is_rejected() -> None:
    scenario(POSITION).given(initialized()).when(ack(1, "1", BUY, "-1")).then_raises(InvalidFill)


def test_fill_with_impossible_broker_precision_is_rejected() -> None:
    scenario(POSITION).given(initialized()).when(
        ack(1, "1", BUY, fractional_decimals=-1)
    ).then_raises(InvalidOrderSizing)


def test_first_fill_with_an_invalid_default_threshold_is_rejected() -> None:
    scenario(POSITION).when(ack(1, "1", BUY, default_threshold=Shares(d("0")))).then_raises(
        InvalidThreshold
    )


def test_first_fill_with_an_empty_symbol_is_rejected() -> None:
    scenario(POSITION).when(ack(1, "1", BUY, symbol="")).then_raises(InvalidSymbol)


def test_dollar_threshold_hedges_the_fractional_net_to_the_broker_precision() -> None:
    scenario(POSITION).given(initialized(threshold=ONE_DOLLAR)).when(
        ack(1, "0.0123456789", BUY, "100", broker=Broker.ALPACA, fractional_decimals=9)
    ).then(
        filled(1, "0.0123456789", BUY, "100"),
        OffChainOrderPlaced(
            execution_id=1,
            shares=d("0.012345678"),
            direction=SELL,
            broker=Broker.ALPACA,
            trigger_reason=DollarThreshold(d("0.0123456789"), d("1.23456789"), d("100"), d("1")),
            placed_at=NOW,
        ),
    )


def test_dollar_threshold_below_its_value_does_not_hedge() -> None:
    scenario(POSITION).given(initialized(threshold=ONE_DOLLAR)).when(
        ack(1, "0.009", BUY, "100", broker=Broker.ALPACA, fractional_decimals=9)
    ).then(filled(1, "0.009", BUY, "100"))


# -- PlaceOffChainOrder (position checker) --------------------------------------


def test_position_checker_places_a_hedge_when_the_threshold_is_met() -> None:
    scenario(POSITION).given(
        initialized(),
        filled(1, "1.2", SELL),
        placed(1, "1", BUY, "1.2"),
        OffChainOrderFailed(1, "rejected", NOW),
    ).with_ids(2).when(PlaceOffChainOrder(Broker.SCHWAB)).then(placed(2, "1", BUY, "1.2"))


def test_place_with_a_pending_execution_is_rejected() -> None:
    error = (
        scenario(POSITION)
        .given(initialized(), filled(1, "1.2", SELL), placed(4, "1", BUY, "1.2"))
        .when(PlaceOffChainOrder(Broker.SCHWAB))
        .then_raises(PendingExecution)
    )
    assert isinstance(error, PendingExecution) and error.execution_id == 4


def test_place_below_the_threshold_is_rejected() -> None:
    scenario(POSITION).given(initialized(), filled(1, "0.9", SELL)).when(
        PlaceOffChainOrder(Broker.SCHWAB)
    ).then_raises(ThresholdNotMet)


def test_place_on_a_position_that_does_not_exist_is_rejected() -> None:
    scenario(POSITION).when(PlaceOffChainOrder(Broker.SCHWAB)).then_raises(NotInitialized)


def test_place_while_hedging_is_suspended_is_rejected() -> None:
    scenario(POSITION).given(*failures(FAILURES_BEFORE_SUSPENSION)).when(
        PlaceOffChainOrder(Broker.SCHWAB)
    ).then_raises(HedgingSuspended)


def test_dollar_threshold_without_a_known_price_is_not_met() -> None:
    scenario(POSITION).given(
        Migrated("AAPL", d("5"), d("5"), d("0"), DollarValue(d("1")), EARLIER)
    ).when(PlaceOffChainOrder(Broker.ALPACA, 9)).then_raises(ThresholdNotMet)


def test_migrated_position_over_a_shares_threshold_is_hedged_by_the_checker() -> None:
    scenario(POSITION).given(Migrated("TSLA", d("-5"), d("0"), d("5"), ONE_SHARE, EARLIER)).when(
        PlaceOffChainOrder(Broker.SCHWAB)
    ).then(placed(1, "5", BUY, "5"))


def test_place_with_impossible_broker_precision_is_rejected() -> None:
    scenario(POSITION).given(initialized(), filled(1, "2", SELL)).when(
        PlaceOffChainOrder(Broker.ALPACA, 19)
    ).then_raises(InvalidOrderSizing)


# -- CompleteOffChainOrder -------------------------------------------------------

PENDING = (initialized(), filled(1, "1.2", SELL), placed(1, "1", BUY, "1.2"))


def test_completing_the_pending_hedge_moves_net_by_the_filled_shares() -> None:
    s = scenario(POSITION).given(*PENDING).when(complete(1, "1", BUY))
    s.then(broker_fill(1, "1", BUY))
    state = s.then_state()
    assert (state.net, state.pending_execution_id, state.accumulated_short) == (
        d("-0.2"),
        None,
        d("1.2"),
    )


def test_partial_fill_moves_net_by_exactly_the_filled_quantity() -> None:
    state = (
        scenario(POSITION)
        .given(initialized(), filled(1, "3.5", BUY), placed(1, "3", SELL, "3.5"))
        .when(complete(1, "1.25", SELL))
        .then_state()
    )
    assert (state.net, state.pending_execution_id) == (d("2.25"), None)


def test_complete_without_a_pending_execution_is_rejected() -> None:
    scenario(POSITION).given(initialized(), filled(1, "0.5", BUY)).when(
        complete(1, "1", BUY)
    ).then_raises(NoPendingExecution)


def test_complete_naming_another_execution_is_rejected() -> None:
    error = (
        scenario(POSITION)
        .given(*PENDING)
        .when(complete(2, "1", BUY))
        .then_raises(ExecutionIdMismatch)
    )
    assert isinstance(error, ExecutionIdMismatch) and (error.expected, error.actual) == (1, 2)


def test_complete_in_the_other_direction_is_rejected() -> None:
    scenario(POSITION).given(*PENDING).when(complete(1, "1", SELL)).then_raises(DirectionMismatch)


@pytest.mark.parametrize("shares", ["0", "-1"])
def test_complete_with_no_filled_shares_is_rejected(shares: str) -> None:
    scenario(POSITION).given(*PENDING).when(complete(1, shares, BUY)).then_raises(InvalidOrderFill)


def test_complete_with_a_negative_price_is_rejected() -> None:
    command = CompleteOffChainOrder(1, d("1"), BUY, "ORD1", -1, NOW)
    scenario(POSITION).given(*PENDING).when(command).then_raises(InvalidOrderFill)


def test_complete_on_a_position_that_does_not_exist_is_rejected() -> None:
    scenario(POSITION).when(complete(1, "1", BUY)).then_raises(NotInitialized)


def test_complete_of_a_migrated_pending_order_is_accepted_in_either_direction() -> None:
    scenario(POSITION).given(
        Migrated("AAPL", d("-1.2"), d("0"), d("1.2"), ONE_SHARE, EARLIER, 7)
    ).when(complete(7, "1", BUY)).then(broker_fill(7, "1", BUY))


# -- FailOffChainOrder -----------------------------------------------------------


def test_failing_the_pending_hedge_clears_it_and_leaves_net_unchanged() -> None:
    s = scenario(POSITION).given(*PENDING).when(FailOffChainOrder(1, "rejected"))
    s.then(OffChainOrderFailed(1, "rejected", NOW))
    state = s.then_state()
    assert (state.net, state.pending_execution_id, state.consecutive_failures) == (
        d("-1.2"),
        None,
        1,
    )
    assert not state.hedging_suspended


def test_fail_without_a_pending_execution_is_rejected() -> None:
    scenario(POSITION).given(initialized()).when(FailOffChainOrder(1, "x")).then_raises(
        NoPendingExecution
    )


def test_fail_naming_another_execution_is_rejected() -> None:
    scenario(POSITION).given(*PENDING).when(FailOffChainOrder(3, "x")).then_raises(
        ExecutionIdMismatch
    )


def test_fail_on_a_position_that_does_not_exist_is_rejected() -> None:
    scenario(POSITION).when(FailOffChainOrder(1, "x")).then_raises(NotInitialized)


def test_repeated_failures_suspend_automatic_hedging() -> None:
    history = failures(FAILURES_BEFORE_SUSPENSION - 1)
    state = (
        scenario(POSITION)
        .given(*history, placed(9, "1", BUY, "1.2"))
        .when(FailOffChainOrder(9, "rejected again"))
        .then_state()
    )
    assert state.hedging_suspended
    assert (state.consecutive_failures, state.last_error) == (
        FAILURES_BEFORE_SUSPENSION,
        "rejected again",
    )


def test_a_broker_fill_resets_the_failure_count() -> None:
    history = failures(FAILURES_BEFORE_SUSPENSION - 1)
    state = (
        scenario(POSITION)
        .given(*history, placed(9, "1", BUY, "1.2"))
        .when(complete(9, "1", BUY))
        .then_state()
    )
    assert (state.consecutive_failures, state.hedging_suspended) == (0, False)


# -- UpdateThreshold / ResumeHedging ---------------------------------------------


def test_update_threshold_is_audited_with_the_old_and_new_values() -> None:
    scenario(POSITION).given(initialized()).when(UpdateThreshold(Shares(d("5.0")))).then(
        ThresholdUpdated(ONE_SHARE, Shares(d("5.0")), NOW)
    )


def test_update_threshold_may_switch_to_a_dollar_threshold() -> None:
    state = scenario(POSITION).given(initialized()).when(UpdateThreshold(ONE_DOLLAR)).then_state()
    assert state.threshold == ONE_DOLLAR


@pytest.mark.parametrize("value", ["0", "-5"])
def test_update_threshold_to_a_non_positive_value_is_rejected(value: str) -> None:
    scenario(POSITION).given(initialized()).when(UpdateThreshold(Shares(d(value)))).then_raises(
        InvalidThreshold
    )


def test_update_threshold_on_a_position_that_does_not_exist_is_rejected() -> None:
    scenario(POSITION).when(UpdateThreshold(ONE_SHARE)).then_raises(NotInitialized)


def test_update_threshold_lifts_a_hedging_suspension() -> None:
    state = (
        scenario(POSITION)
        .given(*failures(FAILURES_BEFORE_SUSPENSION))
        .when(UpdateThreshold(Shares(d("2"))))
        .then_state()
    )
    assert (state.hedging_suspended, state.consecutive_failures) == (False, 0)


def test_resume_hedging_after_a_suspension_is_recorded_as_an_unchanged_threshold() -> None:
    s = scenario(POSITION).given(*failures(FAILURES_BEFORE_SUSPENSION)).when(ResumeHedging())
    s.then(ThresholdUpdated(ONE_SHARE, ONE_SHARE, NOW))
    assert not s.then_state().hedging_suspended


def test_resume_hedging_when_not_suspended_is_rejected() -> None:
    scenario(POSITION).given(initialized()).when(ResumeHedging()).then_raises(HedgingNotSuspended)


def test_resume_hedging_on_a_position_that_does_not_exist_is_rejected() -> None:
    scenario(POSITION).when(ResumeHedging()).then_raises(NotInitialized)
