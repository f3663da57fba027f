"""metrics_pnl_view: maintained incrementally from real events, equal to a full recompute."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgebot.domain import Broker, Direction, TradeId
from hedgebot.eventstore import ProjectionError
from hedgebot.eventstore.codec import loads
from hedgebot.eventstore.memory import MemoryEventStore
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import EventStore
from hedgebot.metrics_pnl.fifo import Trade, compute_pnl, decimal_text, final_books
from hedgebot.metrics_pnl.view import STATE_TABLE, VIEW_TABLE, row_payload
from hedgebot.offchain_order import events as offchain_order
from hedgebot.position import events as position
from tests.metrics_pnl.events import (
    Emitted,
    EventWriter,
    emitted_for,
    hedge_filled,
    migrated_order,
    onchain_filled,
    projector,
)
from tests.metrics_pnl.trades import BUY, SELL, T0, offchain, onchain, tx_hash


def view_rows(store: EventStore) -> dict[str, tuple[int, Any]]:
    return {row.view_id: (row.version, loads(row.payload)) for row in store.view_all(VIEW_TABLE)}


def state_rows(store: EventStore) -> dict[str, tuple[int, Any]]:
    return {row.view_id: (row.version, loads(row.payload)) for row in store.view_all(STATE_TABLE)}


def expected_rows(trades: list[Trade]) -> dict[str, tuple[int, Any]]:
    """What a full recompute gives, in the view's stored form."""
    previous: dict[str, str] = {}
    expected = {}
    for row in compute_pnl(trades):
        trade = row.trade
        expected[trade.view_id] = (1, row_payload(trade, row.booking, previous.get(trade.symbol)))
        previous[trade.symbol] = trade.view_id
    return expected


def expected_states(trades: list[Trade]) -> dict[str, Any]:
    books = final_books(trades)
    newest: dict[str, Trade] = {}
    for row in compute_pnl(trades):
        newest[row.trade.symbol] = row.trade
    return {
        symbol: {
            "symbol": symbol,
            "trades": sum(1 for t in trades if t.symbol == symbol),
            "cumulative_pnl": decimal_text(book.cumulative_pnl),
            "net_position": decimal_text(book.net_position),
            "newest": newest[symbol].view_id,
            "newest_sort_key": newest[symbol].order_key,
            "lots": book.lots,
        }
        for symbol, book in books.items()
    }


@pytest.fixture
def writer(store: EventStore) -> EventWriter:
    return EventWriter(store, projector())


def test_onchain_tokenized_and_offchain_base_fills_net_in_one_inventory(
    writer: EventWriter, store: EventStore
) -> None:
    writer.write(
        onchain_filled(1, BUY, "1.5", "150", seconds=0, symbol="tAAPL"),
        onchain_filled(2, BUY, "0.5", "152", seconds=1, symbol="AAPL0x"),
        hedge_filled(1, SELL, "2", 15300, seconds=2, symbol="AAPL"),
    )
    rows = view_rows(store)
    assert set(rows) == {
        f"ONCHAIN:{tx_hash(1)}:0",
        f"ONCHAIN:{tx_hash(2)}:0",
        "OFFCHAIN:1",
    }
    hedge = rows["OFFCHAIN:1"][1]
    assert hedge["symbol"] == "AAPL"
    assert hedge["realized_pnl"] == "5"  # 1.5 × 3 + 0.5 × 1
    assert hedge["net_position_after"] == "0"
    assert {payload["symbol"] for _, payload in rows.values()} == {"AAPL"}
    assert state_rows(store)["AAPL"][1]["lots"] == []


def test_rows_carry_the_legacy_columns_in_legacy_formats(sqlite_path: Path) -> None:
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    try:
        EventWriter(store, projector()).write(
            onchain_filled(1, BUY, "10", "150.25", seconds=0.75, symbol="tAAPL", log_index=3),
            hedge_filled(7, SELL, "10", 15000, seconds=60),
        )
        rows = store.query(
            "SELECT view_id, symbol, timestamp, trade_type, trade_id, trade_direction, "
            "quantity, price_per_share, realized_pnl, cumulative_pnl, net_position_after "
            "FROM metrics_pnl_view ORDER BY sort_key"
        )
    finally:
        store.close()
    assert rows == [
        (
            f"ONCHAIN:{tx_hash(1)}:3",
            "AAPL",
            "2025-03-03 14:30:00",
            "ONCHAIN",
            f"{tx_hash(1)}:3",
            "BUY",
            10.0,
            150.25,
            None,
            0.0,
            10.0,
        ),
        (
            "OFFCHAIN:7",
            "AAPL",
            "2025-03-03 14:31:00",
            "OFFCHAIN",
            "7",
            "SELL",
            10.0,
            150.0,
            -2.5,
            -2.5,
            0.0,
        ),
    ]


def test_a_hedge_fill_stamped_before_a_recorded_onchain_trade_is_booked_in_its_place(
    writer: EventWriter, store: EventStore
) -> None:
    trades = [
        onchain(1, BUY, "2", "100", seconds=0),
        onchain(2, BUY, "1", "110", seconds=10),
        offchain(1, SELL, "2", 10500, seconds=5),  # arrives last, belongs second
    ]
    writer.write(*(emitted_for(t) for t in trades))
    assert view_rows(store) == expected_rows(trades)
    hedge = view_rows(store)["OFFCHAIN:1"][1]
    assert hedge["realized_pnl"] == "10"
    late_onchain = view_rows(store)[trades[1].view_id][1]
    assert late_onchain["realized_pnl"] is None
    assert late_onchain["net_position_after"] == "1"
    assert late_onchain["previous"] == "OFFCHAIN:1"
    assert state_rows(store)["AAPL"][1] == expected_states(trades)["AAPL"]


def test_a_trade_arriving_before_every_recorded_one_rebooks_the_whole_symbol(
    writer: EventWriter, store: EventStore
) -> None:
    trades = [
        onchain(3, SELL, "1", "12", seconds=30),
        onchain(2, SELL, "1", "11", seconds=20),
        onchain(1, BUY, "3", "10", seconds=10, symbol="MSFT"),
        onchain(4, BUY, "1", "10", seconds=5),
    ]
    writer.write(*(emitted_for(t) for t in trades))
    assert view_rows(store) == expected_rows(trades)
    assert {k: v[1] for k, v in state_rows(store).items()} == expected_states(trades)


def test_a_migrated_filled_order_counts_at_its_execution_time(
    writer: EventWriter, store: EventStore
) -> None:
    writer.write(
        onchain_filled(1, BUY, "3", "100", seconds=0),
        migrated_order(4, SELL, "3", 10100, seconds=9, status=offchain_order.MigratedFilled()),
    )
    row = view_rows(store)["OFFCHAIN:4"][1]
    assert (row["trade_direction"], row["price_per_share"], row["realized_pnl"]) == (
        "SELL",
        "101",
        "3",
    )
    assert row["timestamp"] == "2025-03-03 14:30:09"


@pytest.mark.parametrize(
    "status",
    [
        offchain_order.MigratedPending(),
        offchain_order.MigratedSubmitted(),
        offchain_order.MigratedFailed(error="rejected"),
    ],
    ids=["pending", "submitted", "failed"],
)
def test_migrated_orders_that_did_not_fill_are_not_trades(
    writer: EventWriter, store: EventStore, status: Any
) -> None:
    submitted = isinstance(status, offchain_order.MigratedSubmitted)
    writer.write(
        migrated_order(5, BUY, "2", 10000 if submitted else None, seconds=None, status=status)
    )
    assert view_rows(store) == {}
    assert state_rows(store) == {}


def test_a_fill_recorded_by_both_the_order_and_its_position_is_counted_once(
    writer: EventWriter, store: EventStore
) -> None:
    writer.write(
        onchain_filled(1, SELL, "2", "100", seconds=0),
        migrated_order(9, BUY, "2", 9900, seconds=5, status=offchain_order.MigratedFilled()),
        hedge_filled(9, BUY, "2", 9900, seconds=5),
    )
    rows = view_rows(store)
    assert sorted(rows) == ["OFFCHAIN:9", f"ONCHAIN:{tx_hash(1)}:0"]
    assert rows["OFFCHAIN:9"][1]["cumulative_pnl"] == "2"
    assert state_rows(store)["AAPL"][1]["trades"] == 2


def test_a_new_hedge_fill_counts_once_through_its_position_not_its_order_events(
    writer: EventWriter, store: EventStore
) -> None:
    at = T0
    writer.write(
        Emitted(
            position.POSITION_EVENTS,
            "AAPL",
            position.OnChainOrderFilled(
                trade_id=TradeId(tx_hash(1), 0),
                amount=Decimal(1),
                direction=BUY,
                price_usdc=Decimal(100),
                block_timestamp=at,
                seen_at=at,
            ),
        ),
        Emitted(
            offchain_order.OFFCHAIN_ORDER_EVENTS,
            "3",
            offchain_order.Placed(
                symbol="AAPL",
                shares=Decimal(1),
                direction=SELL,
                broker=Broker.DRY_RUN,
                placed_at=at,
            ),
        ),
        Emitted(
            offchain_order.OFFCHAIN_ORDER_EVENTS,
            "3",
            offchain_order.PartiallyFilled(
                shares_filled=Decimal("0.5"), avg_price_cents=10000, partially_filled_at=at
            ),
        ),
        Emitted(
            offchain_order.OFFCHAIN_ORDER_EVENTS,
            "3",
            offchain_order.Filled(price_cents=10000, filled_at=at, shares_filled=Decimal(1)),
        ),
    )
    assert view_rows(store) == {}
    assert state_rows(store) == {}
    writer.write(hedge_filled(3, SELL, "1", 10000, seconds=0))
    rows = view_rows(store)
    assert list(rows) == ["OFFCHAIN:3"]
    assert (rows["OFFCHAIN:3"][1]["quantity"], state_rows(store)["AAPL"][1]["trades"]) == ("1", 1)


def test_a_hedge_fill_of_zero_shares_fails_the_transaction_and_writes_nothing(
    writer: EventWriter, store: EventStore
) -> None:
    writer.write(onchain_filled(1, BUY, "1", "10", seconds=0))
    before = (view_rows(store), state_rows(store), store.last_position())
    with pytest.raises(ProjectionError, match="quantity must be a positive decimal"):
        writer.write(hedge_filled(2, SELL, "0", 1000, seconds=1))
    assert (view_rows(store), state_rows(store), store.last_position()) == before


def test_a_batch_in_one_transaction_equals_one_transaction_per_event(sqlite_path: Path) -> None:
    trades = random_trades(random.Random(7), 120)
    order = list(trades)
    random.Random(8).shuffle(order)
    one_by_one = MemoryEventStore()
    EventWriter(one_by_one, projector()).write(*(emitted_for(t) for t in order))
    batched = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    try:
        writer = EventWriter(batched, projector())
        events = [emitted_for(t, migrated=True) for t in order]
        for start in range(0, len(events), 50):
            writer.write_batch(events[start : start + 50])
        assert view_rows(batched) == view_rows(one_by_one) == expected_rows(trades)
        assert state_rows(batched) == state_rows(one_by_one)
    finally:
        batched.close()


def test_a_rebuilt_view_equals_the_live_one_on_sqlite(sqlite_path: Path) -> None:
    trades = random_trades(random.Random(11), 80)
    random.Random(12).shuffle(trades)
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    try:
        pnl = projector()
        EventWriter(store, pnl).write(*(emitted_for(t) for t in trades))
        live = (view_rows(store), state_rows(store))
        assert pnl.rebuild(store, VIEW_TABLE) == len(trades)
        assert (view_rows(store), state_rows(store)) == live
        assert live[0] == expected_rows(trades)
    finally:
        store.close()


# --- properties --------------------------------------------------------------------


def random_trades(rng: random.Random, count: int) -> list[Trade]:
    trades = []
    for n in range(1, count + 1):
        symbol = rng.choice(["AAPL", "MSFT", "NVDA"])
        direction = rng.choice([BUY, SELL])
        seconds = rng.randrange(0, count // 2 + 1)  # frequent ties
        if rng.random() < 0.6:
            trades.append(
                onchain(
                    n,
                    direction,
                    str(Decimal(rng.randrange(1, 400)) / 100),
                    str(Decimal(rng.randrange(9000, 11000)) / 100),
                    seconds=seconds,
                    symbol=symbol,
                    log_index=rng.randrange(0, 3),
                )
            )
        else:
            trades.append(
                offchain(
                    n,
                    direction,
                    str(rng.randrange(1, 5)),
                    rng.randrange(9000, 11000),
                    seconds=seconds,
                    symbol=symbol,
                )
            )
    return trades


trade_specs = st.lists(
    st.tuples(
        st.sampled_from(["AAPL", "MSFT"]),
        st.booleans(),  # onchain?
        st.sampled_from([BUY, SELL]),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal(9), places=2),
        st.integers(min_value=9000, max_value=11000),  # cents
        st.integers(min_value=0, max_value=6),  # seconds: many ties
    ),
    max_size=25,
)


def trades_from_specs(
    specs: list[tuple[str, bool, Direction, Decimal, int, int]],
) -> list[Trade]:
    trades = []
    for n, (symbol, on_chain, direction, quantity, cents, seconds) in enumerate(specs, 1):
        if on_chain:
            trades.append(
                onchain(
                    n,
                    direction,
                    str(quantity),
                    str(Decimal(cents) / 100),
                    seconds=seconds,
                    symbol=symbol,
                )
            )
        else:
            trades.append(
                offchain(n, direction, str(quantity), cents, seconds=seconds, symbol=symbol)
            )
    return trades


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=trade_specs, data=st.data())
def test_any_arrival_order_gives_the_rows_of_a_full_recompute_and_of_a_rebuild(
    specs: list[tuple[str, bool, Direction, Decimal, int, int]], data: st.DataObject
) -> None:
    trades = trades_from_specs(specs)
    arrival = data.draw(st.permutations(trades), label="arrival")
    batch_size = data.draw(st.integers(min_value=1, max_value=6), label="batch size")
    store = MemoryEventStore()
    pnl = projector()
    writer = EventWriter(store, pnl)
    events = [emitted_for(t, migrated=data.draw(st.booleans())) for t in arrival]
    for start in range(0, len(events), batch_size):
        writer.write_batch(events[start : start + batch_size])
    live = (view_rows(store), state_rows(store))
    assert live[0] == expected_rows(trades)
    assert {k: v[1] for k, v in live[1].items()} == expected_states(trades)
    pnl.rebuild(store, VIEW_TABLE)
    assert (view_rows(store), state_rows(store)) == live
