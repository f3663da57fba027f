"""Given / when / then for every OffchainOrder command, transition and rejection."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from hedgebot.domain import Broker, Direction
from hedgebot.eventstore import codec
from hedgebot.eventstore.codec import Tagged
from hedgebot.eventstore.testing import scenario
from hedgebot.offchain_order.commands import (
    CompleteFill,
    ConfirmSubmission,
    MarkFailed,
    OffchainOrderCommand,
    Place,
    UpdatePartialFill,
)
from hedgebot.offchain_order.errors import (
    AlreadyCompleted,
    AlreadyPlaced,
    AlreadySubmitted,
    InvalidBrokerOrderId,
    InvalidFailureReason,
    InvalidFill,
    InvalidPrice,
    InvalidShares,
    InvalidSymbol,
    InvalidTimestamp,
    MissingBrokerOrderId,
    MissingPrice,
    NotPlaced,
    NotSubmitted,
)
from hedgebot.offchain_order.events import (
    Failed,
    Filled,
    MigratedFailed,
    MigratedFilled,
    MigratedPending,
    MigratedSubmitted,
    PartiallyFilled,
    Placed,
    Submitted,
)
from hedgebot.offchain_order.state import (
    OFFCHAIN_ORDER,
    FailedOrder,
    FilledOrder,
    NoOrder,
    OffchainOrderState,
    PartiallyFilledOrder,
    PendingOrder,
    SubmittedOrder,
)
from tests.offchain_order.samples import (
    EXECUTED_AT,
    FILLED_AT,
    NOW,
    PLACED_AT,
    SUBMITTED_AT,
    failed,
    filled,
    migrate,
    migrated,
    partially,
    place,
    placed,
    submitted,
)

# -- Place -------------------------------------------------------------------


def test_place_of_a_new_execution_records_a_pending_order() -> None:
    scenario(OFFCHAIN_ORDER).at(PLACED_AT).when(place()).then(placed())
    state = scenario(OFFCHAIN_ORDER).at(PLACED_AT).when(place()).then_state()
    assert state == PendingOrder("AAPL", Decimal(100), Direction.BUY, Broker.SCHWAB, PLACED_AT)


@pytest.mark.parametrize("history", [[placed()], [migrated()]])
def test_place_of_an_existing_order_is_already_placed(history: list[Tagged]) -> None:
    scenario(OFFCHAIN_ORDER).given(*history).when(place()).then_raises(AlreadyPlaced)


@pytest.mark.parametrize("shares", ["0", "-1", "NaN"])
def test_place_with_non_positive_shares_is_invalid_shares(shares: str) -> None:
    scenario(OFFCHAIN_ORDER).when(place(shares=shares)).then_raises(InvalidShares)


@pytest.mark.parametrize("symbol", ["", " AAPL"])
def test_place_with_an_empty_symbol_is_invalid_symbol(symbol: str) -> None:
    scenario(OFFCHAIN_ORDER).when(place(symbol=symbol)).then_raises(InvalidSymbol)


def test_place_accepts_fractional_shares_for_fractional_brokers() -> None:
    command = Place("AAPL", Decimal("0.125"), Direction.SELL, Broker.ALPACA)
    expected = Placed("AAPL", Decimal("0.125"), Direction.SELL, Broker.ALPACA, NOW)
    scenario(OFFCHAIN_ORDER).at(NOW).when(command).then(expected)


# -- ConfirmSubmission -------------------------------------------------------


def test_confirm_submission_of_a_pending_order_records_the_broker_order_id() -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .at(SUBMITTED_AT)
        .given(placed())
        .when(ConfirmSubmission("ORD123"))
        .then(submitted())
    )


def test_confirm_submission_twice_is_already_submitted() -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .given(placed(), submitted())
        .when(ConfirmSubmission("ORD123"))
        .then_raises(AlreadySubmitted)
    )
    (
        scenario(OFFCHAIN_ORDER)
        .given(placed(), submitted(), partially())
        .when(ConfirmSubmission("ORD9"))
        .then_raises(AlreadySubmitted)
    )


def test_confirm_submission_of_a_finished_order_is_already_completed() -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .given(placed(), submitted(), filled())
        .when(ConfirmSubmission("ORD123"))
        .then_raises(AlreadyCompleted)
    )
    (
        scenario(OFFCHAIN_ORDER)
        .given(placed(), failed())
        .when(ConfirmSubmission("ORD123"))
        .then_raises(AlreadyCompleted)
    )


def test_confirm_submission_without_an_order_is_not_placed() -> None:
    scenario(OFFCHAIN_ORDER).when(ConfirmSubmission("ORD1")).then_raises(NotPlaced)


@pytest.mark.parametrize("broker_order_id", ["", " ORD1"])
def test_confirm_submission_with_a_blank_order_id_is_invalid(broker_order_id: str) -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .given(placed())
        .when(ConfirmSubmission(broker_order_id))
        .then_raises(InvalidBrokerOrderId)
    )


def test_a_foreign_migrated_submission_without_order_id_can_be_confirmed() -> None:
    # The reference tool migrated SUBMITTED rows without an order id; we never invent
    # one, and the order can learn it later.
    history = migrated(MigratedSubmitted(), broker_order_id=None)
    state = scenario(OFFCHAIN_ORDER).given(history).state()
    assert isinstance(state, SubmittedOrder)
    assert state.broker_order_id is None
    (
        scenario(OFFCHAIN_ORDER)
        .at(NOW)
        .given(history)
        .when(ConfirmSubmission("ORD7"))
        .then(Submitted("ORD7", NOW))
    )
    after = scenario(OFFCHAIN_ORDER).at(NOW).given(history).when(ConfirmSubmission("ORD7"))
    repaired = after.then_state()
    assert isinstance(repaired, SubmittedOrder)
    assert repaired.broker_order_id == "ORD7"


# -- UpdatePartialFill -------------------------------------------------------


def test_partial_fill_of_a_submitted_order_records_shares_and_average_price() -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .at(NOW)
        .given(placed(), submitted())
        .when(UpdatePartialFill(Decimal("50"), 15000))
        .then(PartiallyFilled(Decimal("50"), 15000, NOW))
    )


def test_partial_fill_can_grow() -> None:
    state = (
        scenario(OFFCHAIN_ORDER)
        .at(NOW)
        .given(placed(), submitted(), partially("50"))
        .when(UpdatePartialFill(Decimal("75"), 15010))
        .then_state()
    )
    assert isinstance(state, PartiallyFilledOrder)
    assert state.shares_filled == Decimal(75)
    assert state.avg_price_cents == 15010
    assert state.submitted_at == SUBMITTED_AT


def test_partial_fill_of_a_pending_order_is_not_submitted() -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .given(placed())
        .when(UpdatePartialFill(Decimal(1), 100))
        .then_raises(NotSubmitted)
    )


def test_partial_fill_of_a_finished_order_is_already_completed() -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .given(placed(), submitted(), filled())
        .when(UpdatePartialFill(Decimal(1), 100))
        .then_raises(AlreadyCompleted)
    )


def test_partial_fill_without_an_order_is_not_placed() -> None:
    scenario(OFFCHAIN_ORDER).when(UpdatePartialFill(Decimal(1), 100)).then_raises(NotPlaced)


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (UpdatePartialFill(Decimal("0"), 15000), InvalidFill),
        (UpdatePartialFill(Decimal("101"), 15000), InvalidFill),
        (UpdatePartialFill(Decimal("40"), 15000), InvalidFill),  # below the 50 reported
        (UpdatePartialFill(Decimal("60"), 0), InvalidPrice),
        (UpdatePartialFill(Decimal("60"), -5), InvalidPrice),
    ],
)
def test_partial_fill_with_impossible_numbers_is_rejected(
    command: UpdatePartialFill, error: type[Exception]
) -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .given(placed(), submitted(), partially("50"))
        .when(command)
        .then_raises(error)
    )


# -- CompleteFill ------------------------------------------------------------


def test_complete_fill_of_a_submitted_order_records_the_price() -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .at(FILLED_AT)
        .given(placed(), submitted())
        .when(CompleteFill(15050))
        .then(filled())
    )
    state = (
        scenario(OFFCHAIN_ORDER)
        .at(FILLED_AT)
        .given(placed(), submitted())
        .when(CompleteFill(15050))
        .then_state()
    )
    assert state == FilledOrder(
        symbol="AAPL",
        shares=Decimal(100),
        direction=Direction.BUY,
        broker=Broker.SCHWAB,
        broker_order_id="ORD123",
        price_cents=15050,
        placed_at=PLACED_AT,
        submitted_at=SUBMITTED_AT,
        filled_at=FILLED_AT,
        shares_filled=Decimal(100),
    )


def test_complete_fill_of_a_partially_filled_order_with_less_than_asked_records_the_quantity() -> (
    None
):
    state = (
        scenario(OFFCHAIN_ORDER)
        .at(FILLED_AT)
        .given(placed(), submitted(), partially("50"))
        .when(CompleteFill(15020, shares_filled=Decimal("80")))
        .then_state()
    )
    assert isinstance(state, FilledOrder)
    assert state.shares_filled == Decimal(80)
    (
        scenario(OFFCHAIN_ORDER)
        .at(FILLED_AT)
        .given(placed(), submitted(), partially("50"))
        .when(CompleteFill(15020, shares_filled=Decimal("80")))
        .then(filled(15020, shares="80"))
    )


def test_complete_fill_of_a_pending_order_is_not_submitted() -> None:
    scenario(OFFCHAIN_ORDER).given(placed()).when(CompleteFill(1)).then_raises(NotSubmitted)


@pytest.mark.parametrize("finish", [filled(), failed()])
def test_complete_fill_of_a_finished_order_is_already_completed(finish: Tagged) -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .given(placed(), submitted(), finish)
        .when(CompleteFill(15050))
        .then_raises(AlreadyCompleted)
    )


def test_complete_fill_without_an_order_is_not_placed() -> None:
    scenario(OFFCHAIN_ORDER).when(CompleteFill(15050)).then_raises(NotPlaced)


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (CompleteFill(0), InvalidPrice),
        (CompleteFill(-1), InvalidPrice),
        (CompleteFill(15050, shares_filled=Decimal("0")), InvalidFill),
        (CompleteFill(15050, shares_filled=Decimal("100.5")), InvalidFill),
        (CompleteFill(15050, shares_filled=Decimal("10")), InvalidFill),  # below 50 reported
    ],
)
def test_complete_fill_with_impossible_numbers_is_rejected(
    command: CompleteFill, error: type[Exception]
) -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .given(placed(), submitted(), partially("50"))
        .when(command)
        .then_raises(error)
    )


# -- MarkFailed --------------------------------------------------------------


@pytest.mark.parametrize(
    "history",
    [[placed()], [placed(), submitted()], [placed(), submitted(), partially()]],
)
def test_mark_failed_of_an_open_order_records_the_error(history: list[Tagged]) -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .at(NOW)
        .given(*history)
        .when(MarkFailed("Insufficient funds"))
        .then(Failed("Insufficient funds", NOW))
    )
    state = (
        scenario(OFFCHAIN_ORDER)
        .at(NOW)
        .given(*history)
        .when(MarkFailed("Insufficient funds"))
        .then_state()
    )
    assert state == FailedOrder(
        "AAPL", Decimal(100), Direction.BUY, Broker.SCHWAB, "Insufficient funds", PLACED_AT, NOW
    )


@pytest.mark.parametrize("finish", [filled(), failed()])
def test_mark_failed_of_a_finished_order_is_already_completed(finish: Tagged) -> None:
    (
        scenario(OFFCHAIN_ORDER)
        .given(placed(), submitted(), finish)
        .when(MarkFailed("late"))
        .then_raises(AlreadyCompleted)
    )


def test_mark_failed_without_an_order_is_not_placed() -> None:
    scenario(OFFCHAIN_ORDER).when(MarkFailed("x")).then_raises(NotPlaced)


def test_mark_failed_needs_a_reason() -> None:
    scenario(OFFCHAIN_ORDER).given(placed()).when(MarkFailed("  ")).then_raises(
        InvalidFailureReason
    )


# -- Migrate -----------------------------------------------------------------


def test_migrate_of_a_filled_legacy_order_records_it_with_its_price_and_time() -> None:
    command = migrate(MigratedFilled(), "ORDER123", 15050, EXECUTED_AT)
    expected = migrated(MigratedFilled(), "ORDER123", 15050, EXECUTED_AT)
    scenario(OFFCHAIN_ORDER).at(NOW).when(command).then(expected)
    state = scenario(OFFCHAIN_ORDER).given(expected).state()
    assert isinstance(state, FilledOrder)
    assert state.filled_at == EXECUTED_AT
    assert state.price_cents == 15050
    assert state.shares_filled == Decimal(10)


def test_migrate_of_a_pending_legacy_order_leaves_it_open() -> None:
    scenario(OFFCHAIN_ORDER).at(NOW).when(migrate()).then(migrated())
    state = scenario(OFFCHAIN_ORDER).given(migrated()).state()
    assert isinstance(state, PendingOrder)
    assert state.placed_at == NOW


def test_migrate_of_a_submitted_legacy_order_can_then_fill() -> None:
    history = migrated(MigratedSubmitted(), "ORD5")
    scenario(OFFCHAIN_ORDER).at(NOW).when(migrate(MigratedSubmitted(), "ORD5")).then(history)
    (scenario(OFFCHAIN_ORDER).at(FILLED_AT).given(history).when(CompleteFill(15050)).then(filled()))


def test_migrate_of_a_failed_legacy_order_keeps_the_error() -> None:
    status = MigratedFailed("Unknown failure")
    expected = migrated(status, executed_at=EXECUTED_AT)
    scenario(OFFCHAIN_ORDER).at(NOW).when(migrate(status, executed_at=EXECUTED_AT)).then(expected)
    state = scenario(OFFCHAIN_ORDER).given(expected).state()
    assert isinstance(state, FailedOrder)
    assert (state.error, state.failed_at) == ("Unknown failure", EXECUTED_AT)


def test_migrate_of_an_existing_order_is_already_placed() -> None:
    scenario(OFFCHAIN_ORDER).given(placed()).when(migrate()).then_raises(AlreadyPlaced)
    scenario(OFFCHAIN_ORDER).given(migrated()).when(migrate()).then_raises(AlreadyPlaced)


@pytest.mark.parametrize("status", [MigratedSubmitted(), MigratedFilled()])
def test_migrate_without_a_broker_order_id_is_rejected_not_invented(
    status: MigratedSubmitted | MigratedFilled,
) -> None:
    command = migrate(status, None, 15050, EXECUTED_AT)
    scenario(OFFCHAIN_ORDER).when(command).then_raises(MissingBrokerOrderId)


def test_migrate_of_a_filled_order_without_a_price_is_rejected_not_zeroed() -> None:
    command = migrate(MigratedFilled(), "ORD1", None, EXECUTED_AT)
    scenario(OFFCHAIN_ORDER).when(command).then_raises(MissingPrice)


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (migrate(shares="0"), InvalidShares),
        (migrate(MigratedFilled(), "ORD1", -5, EXECUTED_AT), InvalidPrice),
        (migrate(MigratedSubmitted(), ""), InvalidBrokerOrderId),
        (migrate(MigratedFailed(""), executed_at=EXECUTED_AT), InvalidFailureReason),
        (migrate(executed_at=datetime(2025, 1, 1)), InvalidTimestamp),
    ],
)
def test_migrate_rejects_an_invalid_legacy_row_with_a_typed_error(
    command: OffchainOrderCommand, error: type[Exception]
) -> None:
    scenario(OFFCHAIN_ORDER).when(command).then_raises(error)


def test_migrate_accepts_a_legacy_price_of_zero_cents() -> None:
    # The legacy Alpaca adapter stored 0 for a fill without average price; it is
    # history and is carried over as stored.
    command = migrate(MigratedFilled(), "ORD1", 0, EXECUTED_AT)
    scenario(OFFCHAIN_ORDER).at(NOW).when(command).then(
        migrated(MigratedFilled(), "ORD1", 0, EXECUTED_AT)
    )


# -- evolve and snapshots ----------------------------------------------------


def test_evolve_ignores_stored_events_that_cannot_apply() -> None:
    empty = NoOrder()
    for event in (submitted(), partially(), filled(), failed()):
        assert OFFCHAIN_ORDER.evolve(empty, event) == empty
    done = OFFCHAIN_ORDER.fold(empty, [placed(), submitted(), filled()])
    for event in (placed(), migrated(), submitted("X"), partially(), filled(1), failed()):
        assert OFFCHAIN_ORDER.evolve(done, event) == done


def test_a_foreign_migrated_fill_without_id_or_price_evolves_without_inventing_them() -> None:
    state = OFFCHAIN_ORDER.fold(NoOrder(), [migrated(MigratedFilled(), None, None, None)])
    assert isinstance(state, FilledOrder)
    assert state.broker_order_id is None
    assert state.price_cents is None


@pytest.mark.parametrize(
    "history",
    [
        [],
        [placed()],
        [placed(), submitted()],
        [placed(), submitted(), partially()],
        [placed(), submitted(), filled(shares="99")],
        [placed(), failed()],
        [migrated(MigratedFailed("x"), executed_at=EXECUTED_AT)],
    ],
)
def test_every_state_survives_the_snapshot_codec(history: list[Tagged]) -> None:
    state = OFFCHAIN_ORDER.fold(OFFCHAIN_ORDER.initial_state(), history)
    text = codec.to_json(OffchainOrderState, state)
    assert codec.from_json(OffchainOrderState, text) == state


def test_filled_event_without_quantity_fills_the_whole_order() -> None:
    state = OFFCHAIN_ORDER.fold(NoOrder(), [placed(), submitted(), Filled(15050, FILLED_AT)])
    assert isinstance(state, FilledOrder)
    assert state.shares_filled == Decimal(100)


def test_migrated_pending_status_is_a_unit_variant() -> None:
    assert MigratedPending() == MigratedPending()
