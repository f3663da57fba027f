"""The FIFO engine: rules of SPEC §9 and the reference reporter's worked example."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgebot.domain import Direction
from hedgebot.metrics_pnl.fifo import (
    PNL_CONTEXT,
    FifoBook,
    InvalidTrade,
    PnlRow,
    Trade,
    Venue,
    compute_pnl,
    final_books,
)
from tests.metrics_pnl.trades import BUY, SELL, T0, offchain, onchain


def results(rows: list[PnlRow]) -> list[tuple[Decimal | None, Decimal, Decimal]]:
    return [(r.realized_pnl, r.cumulative_pnl, r.net_position_after) for r in rows]


def D(text: str) -> Decimal:
    return Decimal(text)


def test_long_opened_then_closed_at_a_profit_realises_the_gain() -> None:
    rows = compute_pnl([onchain(1, BUY, "10", "100"), onchain(2, SELL, "10", "105.5")])
    assert results(rows) == [(None, D("0"), D("10")), (D("55"), D("55"), D("0"))]


def test_long_opened_then_closed_at_a_loss_realises_the_loss() -> None:
    rows = compute_pnl([onchain(1, BUY, "4", "50.25"), onchain(2, SELL, "4", "49")])
    assert results(rows) == [(None, D("0"), D("4")), (D("-5"), D("-5"), D("0"))]


def test_short_opened_then_covered_realises_entry_minus_exit() -> None:
    rows = compute_pnl([onchain(1, SELL, "3", "200"), onchain(2, BUY, "3", "190")])
    assert results(rows) == [(None, D("0"), D("-3")), (D("30"), D("30"), D("0"))]


def test_short_covered_above_entry_loses() -> None:
    rows = compute_pnl([onchain(1, SELL, "2", "10"), onchain(2, BUY, "2", "12.5")])
    assert rows[1].realized_pnl == D("-5")


def test_partial_closes_consume_the_oldest_lots_first_across_several_lots() -> None:
    rows = compute_pnl(
        [
            onchain(1, BUY, "1", "10"),
            onchain(2, BUY, "2", "20"),
            onchain(3, BUY, "3", "30"),
            onchain(4, SELL, "2", "25"),  # 1@10 (+15) and 1@20 (+5)
            onchain(5, SELL, "3", "25"),  # 1@20 (+5) and 2@30 (-10)
            onchain(6, SELL, "0.5", "40"),  # 0.5@30 (+5)
        ]
    )
    assert results(rows) == [
        (None, D("0"), D("1")),
        (None, D("0"), D("3")),
        (None, D("0"), D("6")),
        (D("20"), D("20"), D("4")),
        (D("-5"), D("15"), D("1")),
        (D("5"), D("20"), D("0.5")),
    ]
    book = final_books([row.trade for row in rows])["AAPL"]
    assert book.lots == [["0.5", "30"]]


def test_a_flip_from_long_to_short_realises_what_it_closes_and_opens_the_rest() -> None:
    trades = [onchain(1, BUY, "5", "10"), onchain(2, SELL, "8", "12")]
    rows = compute_pnl(trades)
    assert results(rows) == [(None, D("0"), D("5")), (D("10"), D("10"), D("-3"))]
    # the new short lot is at the flipping trade's price: covering it at 11 earns 3 × 1
    rows = compute_pnl([*trades, onchain(3, BUY, "3", "11")])
    assert results(rows)[-1] == (D("3"), D("13"), D("0"))
    assert final_books([*trades])["AAPL"].lots == [["-3", "12"]]


def test_a_flip_from_short_to_long_opens_a_long_lot_at_the_trade_price() -> None:
    rows = compute_pnl(
        [onchain(1, SELL, "1", "10"), onchain(2, BUY, "4", "9"), onchain(3, SELL, "3", "10")]
    )
    assert results(rows) == [
        (None, D("0"), D("-1")),
        (D("1"), D("1"), D("3")),
        (D("3"), D("4"), D("0")),
    ]


def test_onchain_tokenized_and_offchain_base_fills_net_in_one_inventory() -> None:
    # the view maps tAAPL to AAPL before the engine sees it; the engine keys by symbol
    rows = compute_pnl(
        [
            onchain(1, BUY, "2", "150", symbol="AAPL"),
            offchain(7, SELL, "2", 15100, seconds=5, symbol="AAPL"),
        ]
    )
    assert results(rows) == [(None, D("0"), D("2")), (D("2"), D("2"), D("0"))]


def test_different_base_symbols_keep_separate_inventories() -> None:
    rows = compute_pnl([onchain(1, BUY, "2", "150"), onchain(2, SELL, "2", "10", symbol="MSFT")])
    assert [r.realized_pnl for r in rows] == [None, None]
    assert [r.net_position_after for r in rows] == [D("2"), D("-2")]


def test_ties_are_ordered_onchain_first_then_by_id() -> None:
    same_time = 30.0
    trades = [
        offchain(12, SELL, "1", 1200, seconds=same_time),
        offchain(9, BUY, "1", 1000, seconds=same_time),
        onchain(3, BUY, "1", "11", seconds=same_time),
    ]
    rows = compute_pnl(trades)
    assert [(r.trade.venue, r.trade.trade_id) for r in rows] == [
        (Venue.ONCHAIN, trades[2].trade_id),
        (Venue.OFFCHAIN, "9"),
        (Venue.OFFCHAIN, "12"),
    ]
    # long 2 @ (11, 10), then SELL 1 @ 12 closes the oldest lot (bought at 11)
    assert rows[2].realized_pnl == D("1")


def test_execution_ids_are_ordered_numerically_not_as_text() -> None:
    rows = compute_pnl(
        [offchain(10, BUY, "1", 100, seconds=1), offchain(9, BUY, "1", 200, seconds=1)]
    )
    assert [r.trade.trade_id for r in rows] == ["9", "10"]


def test_onchain_ties_follow_block_then_log_index() -> None:
    first = onchain(5, BUY, "1", "10", seconds=1, log_index=7)
    second = onchain(5, SELL, "1", "12", seconds=1, log_index=12)
    later_block = Trade.onchain(
        symbol="AAPL",
        tx_hash="0x" + "0" * 64,
        log_index=0,
        block_number=2000,  # after block 1005 of the other two, same second
        direction=SELL,
        quantity=D("1"),
        price=D("13"),
        traded_at=first.traded_at,
    )
    rows = compute_pnl([later_block, second, first])
    assert [r.trade.trade_id for r in rows] == [
        first.trade_id,
        second.trade_id,
        later_block.trade_id,
    ]


def test_a_trade_closing_at_cost_realises_zero_not_none() -> None:
    rows = compute_pnl([onchain(1, SELL, "1.5", "99.99"), onchain(2, BUY, "1.5", "99.99")])
    assert rows[1].realized_pnl is not None
    assert rows[1].realized_pnl == 0
    assert str(rows[1].realized_pnl) == "0"


def test_the_reference_reporters_worked_example() -> None:
    rows = compute_pnl(
        [
            onchain(1, BUY, "100", "10"),
            onchain(2, BUY, "50", "12"),
            onchain(3, SELL, "80", "11"),
            onchain(4, SELL, "60", "9.5"),
            onchain(5, BUY, "30", "12.2"),
            onchain(6, SELL, "70", "12"),
            onchain(7, BUY, "20", "11.5"),
        ]
    )
    assert results(rows) == [
        (None, D("0"), D("100")),
        (None, D("0"), D("150")),
        (D("80"), D("80"), D("70")),
        (D("-110"), D("-30"), D("10")),
        (None, D("-30"), D("40")),
        (D("-6"), D("-36"), D("-30")),
        (D("10"), D("-26"), D("-10")),
    ]


def test_offchain_price_is_cents_divided_by_one_hundred_exactly() -> None:
    trade = offchain(1, BUY, "3", 15051, seconds=0)
    assert trade.price == D("150.51")
    rows = compute_pnl([trade, offchain(2, SELL, "3", 15001, seconds=1)])
    assert rows[1].realized_pnl == D("-1.5")


def test_eighteen_decimal_quantities_are_booked_without_rounding() -> None:
    quantity = "0.123456789012345678"
    rows = compute_pnl(
        [
            onchain(1, BUY, quantity, "187.123456789012345678901234"),
            onchain(2, SELL, quantity, "187.123456789012345678901235"),
        ]
    )
    assert rows[1].realized_pnl == PNL_CONTEXT.multiply(D("1E-24"), D(quantity))
    assert rows[1].net_position_after == 0


@pytest.mark.parametrize(
    ("quantity", "price"), [("0", "10"), ("-1", "10"), ("1", "0"), ("1", "-2"), ("NaN", "1")]
)
def test_non_positive_quantity_or_price_is_a_clear_error(quantity: str, price: str) -> None:
    with pytest.raises(InvalidTrade, match="must be a positive decimal"):
        onchain(1, BUY, quantity, price)


def test_non_positive_price_cents_or_execution_id_is_a_clear_error() -> None:
    with pytest.raises(InvalidTrade, match="price_cents must be positive"):
        offchain(1, BUY, "1", 0, seconds=0)
    with pytest.raises(InvalidTrade, match="execution id must be a positive integer"):
        offchain(0, BUY, "1", 100, seconds=0)


def test_a_naive_trade_time_is_rejected() -> None:
    with pytest.raises(InvalidTrade, match="timezone-aware"):
        Trade.offchain(
            symbol="AAPL",
            execution_id=1,
            direction=BUY,
            quantity=D("1"),
            price_cents=100,
            traded_at=datetime(2025, 1, 1),
        )


def test_the_same_trade_twice_is_refused_by_a_full_recompute() -> None:
    with pytest.raises(InvalidTrade, match="appears twice"):
        compute_pnl([onchain(1, BUY, "1", "1"), onchain(1, BUY, "1", "1")])


def test_adjacent_lots_at_one_price_merge() -> None:
    book = FifoBook()
    book.apply(BUY, D("1"), D("10"))
    book.apply(BUY, D("2.50"), D("10.0"))
    book.apply(BUY, D("1"), D("11"))
    assert book.lots == [["3.5", "10"], ["1", "11"]]


# --- properties --------------------------------------------------------------------

quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(50), places=3)
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(500), places=2)
steps = st.lists(st.tuples(st.sampled_from([BUY, SELL]), quantities, prices), max_size=40)


@settings(max_examples=200, deadline=None)
@given(steps=steps, mark=prices)
def test_realised_plus_mark_to_market_equals_cash_flows_plus_open_value(
    steps: list[tuple[Direction, Decimal, Decimal]], mark: Decimal
) -> None:
    book = FifoBook()
    realised = Decimal(0)
    cash = Decimal(0)
    for direction, quantity, price in steps:
        booking = book.apply(direction, quantity, price)
        realised += booking.realized_pnl or 0
        cash += (-quantity if direction is BUY else quantity) * price
    assert realised == book.cumulative_pnl
    assert book.open_quantity() == book.net_position
    with_context = PNL_CONTEXT.add(realised, book.mark_to_market(mark))
    assert with_context == PNL_CONTEXT.add(cash, book.net_position * mark)
    assert all(lot[0].startswith("-") == (book.net_position < 0) for lot in book.lots)


@settings(max_examples=200, deadline=None)
@given(steps=steps)
def test_undo_reverses_apply_exactly_back_to_the_first_trade(
    steps: list[tuple[Direction, Decimal, Decimal]],
) -> None:
    book = FifoBook()
    history = []
    for direction, quantity, price in steps:
        before = ([list(lot) for lot in book.lots], book.cumulative_pnl, book.net_position)
        history.append((direction, quantity, book.apply(direction, quantity, price), before))
    for direction, quantity, booking, before in reversed(history):
        book.undo(direction, quantity, booking)
        assert (book.lots, book.cumulative_pnl, book.net_position) == before
        assert [str(v) for v in before[1:]] == [str(book.cumulative_pnl), str(book.net_position)]


def test_trade_times_sort_across_fraction_widths() -> None:
    whole = Trade.offchain(
        symbol="AAPL",
        execution_id=1,
        direction=BUY,
        quantity=D("1"),
        price_cents=100,
        traded_at=datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC),
    )
    half = Trade.offchain(
        symbol="AAPL",
        execution_id=2,
        direction=BUY,
        quantity=D("1"),
        price_cents=100,
        traded_at=datetime(2025, 1, 1, 0, 0, 0, 500000, tzinfo=UTC),
    )
    assert [r.trade.trade_id for r in compute_pnl([whole, half])] == ["2", "1"]
    assert T0.tzinfo is UTC
