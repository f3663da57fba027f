"""``onchain_trade_view`` on a real SQLite file: legacy column formats, queries, rebuild."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgebot.clock import ManualClock
from hedgebot.domain import Direction, TradeId
from hedgebot.eventstore import CommandHandler, NewEvent, Projector, codec
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.testing import scenario
from hedgebot.onchain_trade.commands import Enrich, Migrate
from hedgebot.onchain_trade.events import ONCHAIN_TRADE_EVENTS, LegacyPyth, Migrated, PythPrice
from hedgebot.onchain_trade.state import ONCHAIN_TRADE, OnChainTradeCommand, OnChainTradeState
from hedgebot.onchain_trade.view import (
    OnChainTradeView,
    _migrated_row,
    recent_trades,
    trade,
    trades_by_base_symbol,
    trades_by_symbol,
    trades_by_tx_hash,
    trades_in_block_range,
)
from tests.onchain_trade.samples import PYTH, witness

T0 = datetime(2025, 11, 5, 12, 0, 0, 250000, tzinfo=UTC)
TX_A = "0x" + "a" * 64
TX_B = "0x" + "b" * 64
TX_LEGACY = "0x" + "c" * 64

# 18584.446371 is a double that SQLite's CAST(text AS REAL) misreads by one ulp.
TRICKY_AMOUNT = 18584.446371

COLUMNS = (
    "id, tx_hash, log_index, symbol, base_symbol, amount, direction, price_usdc, block_number, "
    "block_timestamp, created_at, gas_used, effective_gas_price, pyth_price, pyth_confidence, "
    "pyth_exponent, pyth_publish_time"
)

Handler = CommandHandler[OnChainTradeState, OnChainTradeCommand]


@pytest.fixture
def projector() -> Projector:
    return Projector([OnChainTradeView()], [ONCHAIN_TRADE_EVENTS])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def handler(sqlite_store: SqliteEventStore, projector: Projector, clock: ManualClock) -> Handler:
    return CommandHandler(sqlite_store, ONCHAIN_TRADE, clock=clock, projector=projector)


def legacy_migrate(**overrides: object) -> Migrate:
    fields: dict[str, object] = {
        "symbol": "AAPL0x",
        "amount": Decimal(repr(TRICKY_AMOUNT)),
        "direction": Direction.SELL,
        "price_usdc": Decimal(repr(0.1 + 0.2)),
        "block_number": 0,
        "block_timestamp": datetime(2025, 9, 30, 8, 0, 1, tzinfo=UTC),
        "gas_used": 21000,
        "legacy_id": 17,
        "created_at": datetime(2025, 9, 30, 8, 0, 5, tzinfo=UTC),
        "effective_gas_price": 2_000_000_000,
        "legacy_pyth": LegacyPyth(
            price=Decimal(repr(1.23456789)),
            confidence=Decimal(repr(0.1)),
            exponent=-8,
            publish_time=datetime(2025, 9, 30, 7, 59, 58, tzinfo=UTC),
        ),
    }
    fields.update(overrides)
    return Migrate(**fields)  # type: ignore[arg-type]


def select(store: SqliteEventStore, view_id: str) -> tuple[object, ...]:
    rows = store.query(f"SELECT {COLUMNS} FROM onchain_trade_view WHERE view_id = ?", (view_id,))
    assert len(rows) == 1
    return rows[0]


def scripted_history(handler: Handler, clock: ManualClock) -> None:
    handler.execute(f"{TX_A}:0", witness(symbol="tAAPL", amount="10.5", block=100))
    clock.advance(timedelta(seconds=5))
    handler.execute(f"{TX_A}:3", witness(symbol="AAPLs1", amount="0.25", block=100))
    clock.advance(timedelta(minutes=1))
    handler.execute(f"{TX_A}:0", Enrich(50000, PYTH, effective_gas_price=1_500_000))
    clock.advance(timedelta(days=2))
    handler.execute(
        f"{TX_B}:1",
        witness(symbol="tTSLA", amount="3", direction=Direction.SELL, price="250", block=105),
    )
    handler.execute(f"{TX_LEGACY}:2", legacy_migrate())
    handler.execute(
        f"{TX_LEGACY}:3",
        legacy_migrate(
            block_timestamp=None, created_at=None, legacy_id=18, legacy_pyth=None, gas_used=None
        ),
    )


def test_a_witnessed_and_enriched_trade_shows_legacy_formatted_columns(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock
) -> None:
    scripted_history(handler, clock)
    assert select(sqlite_store, f"{TX_A}:0") == (
        None,
        TX_A,
        0,
        "tAAPL",
        "AAPL",
        10.5,
        "BUY",
        150.25,
        100,
        "2025-11-05 12:34:56",
        "2025-11-05 12:00:00",
        50000,
        1_500_000,
        150.25,
        0.05,
        -6,
        "2025-11-05 12:34:50",
    )
    unenriched = select(sqlite_store, f"{TX_B}:1")
    assert unenriched[4:9] == ("TSLA", 3.0, "SELL", 250.0, 105)
    assert unenriched[11:] == (None, None, None, None, None, None)


def test_a_migrated_trade_shows_the_legacy_id_and_the_exact_legacy_reals(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock
) -> None:
    scripted_history(handler, clock)
    row = select(sqlite_store, f"{TX_LEGACY}:2")
    assert row == (
        17,
        TX_LEGACY,
        2,
        "AAPL0x",
        "AAPL",
        TRICKY_AMOUNT,
        "SELL",
        0.1 + 0.2,
        0,
        "2025-09-30 08:00:01",
        "2025-09-30 08:00:05",
        21000,
        2_000_000_000,
        1.23456789,
        0.1,
        -8,
        "2025-09-30 07:59:58",
    )
    assert isinstance(row[5], float)
    assert isinstance(row[7], float)


def test_legacy_null_timestamps_and_pyth_columns_stay_null(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock
) -> None:
    scripted_history(handler, clock)
    row = select(sqlite_store, f"{TX_LEGACY}:3")
    assert row[0] == 18
    assert row[9:] == (None, None, None, 2_000_000_000, None, None, None, None)


def test_a_partial_legacy_pyth_row_keeps_only_the_columns_it_had(
    sqlite_store: SqliteEventStore, handler: Handler
) -> None:
    partial = LegacyPyth(Decimal("182.5"), None, None, None)
    handler.execute(f"{TX_LEGACY}:9", legacy_migrate(legacy_pyth=partial))
    row = select(sqlite_store, f"{TX_LEGACY}:9")
    assert row[13:] == (182.5, None, None, None)


def test_a_migrated_event_written_by_the_reference_tool_shows_created_at_from_block_time(
    sqlite_store: SqliteEventStore, projector: Projector
) -> None:
    payload = (
        '{"Migrated":{"symbol":"AAPL","amount":"10","direction":"Buy","price_usdc":"150.5",'
        '"block_number":0,"block_timestamp":"2025-12-05T13:20:00Z","gas_used":null,'
        '"pyth_price":null,"migrated_at":"2025-12-05T13:20:01.123456789Z"}}'
    )
    with sqlite_store.transaction() as tx:
        tx.append(
            [
                NewEvent(
                    "OnChainTrade", f"{TX_A}:0", 1, "OnChainTradeEvent::Migrated", "1.0", payload
                )
            ]
        )
    projector.rebuild(sqlite_store, "onchain_trade_view")
    row = select(sqlite_store, f"{TX_A}:0")
    assert row[:11] == (
        None,
        TX_A,
        0,
        "AAPL",
        "AAPL",
        10.0,
        "BUY",
        150.5,
        0,
        "2025-12-05 13:20:00",
        "2025-12-05 13:20:00",
    )


def test_legacy_style_sql_over_created_at_keeps_working(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock
) -> None:
    scripted_history(handler, clock)
    rows = sqlite_store.query(
        "SELECT tx_hash, log_index FROM onchain_trade_view "
        "WHERE created_at > datetime(?, '-7 days') AND direction = 'BUY' ORDER BY log_index",
        ("2025-11-06 00:00:00",),
    )
    assert rows == [(TX_A, 0), (TX_A, 3)]


def test_rebuilt_view_equals_the_live_view(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock, projector: Projector
) -> None:
    scripted_history(handler, clock)
    everything = f"SELECT view_id, version, payload, {COLUMNS} FROM onchain_trade_view"
    live = sorted(sqlite_store.query(everything), key=lambda r: str(r[0]))
    assert len(live) == 5
    assert projector.rebuild(sqlite_store, "onchain_trade_view") == 6
    assert sorted(sqlite_store.query(everything), key=lambda r: str(r[0])) == live


def test_generated_columns_are_indexed(sqlite_store: SqliteEventStore) -> None:
    rows = sqlite_store.query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'onchain_trade_view' "
        "AND name LIKE 'idx_%' ORDER BY name"
    )
    names = {str(r[0]) for r in rows}
    for column in ("tx_hash", "symbol", "base_symbol", "direction", "block_number", "created_at"):
        assert f"idx_onchain_trade_view_{column}" in names
    plan = sqlite_store.query(
        "EXPLAIN QUERY PLAN SELECT * FROM onchain_trade_view WHERE base_symbol = ?", ("AAPL",)
    )
    assert "idx_onchain_trade_view_base_symbol" in " ".join(str(r[-1]) for r in plan)


def test_typed_queries_return_exact_decimals_in_chain_order(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock
) -> None:
    scripted_history(handler, clock)
    by_tx = trades_by_tx_hash(sqlite_store, TX_A.upper().replace("0X", "0x"))
    assert [(t.log_index, t.amount) for t in by_tx] == [(0, Decimal("10.5")), (3, Decimal("0.25"))]
    first = by_tx[0]
    assert first.trade_id == TradeId(TX_A, 0)
    assert first.pyth_price == Decimal("150.250000")
    assert first.pyth_confidence == Decimal("0.050000")
    assert first.enriched_at == T0 + timedelta(seconds=65)
    assert first.created_at == T0
    assert not first.migrated

    assert [t.symbol for t in trades_by_symbol(sqlite_store, "tAAPL")] == ["tAAPL"]
    by_base = trades_by_base_symbol(sqlite_store, "AAPL")
    assert [(t.block_number, t.symbol) for t in by_base] == [
        (0, "AAPL0x"),
        (0, "AAPL0x"),
        (100, "tAAPL"),
        (100, "AAPLs1"),
    ]
    legacy = trade(sqlite_store, f"{TX_LEGACY}:2")
    assert legacy is not None
    assert legacy.legacy_id == 17
    assert legacy.migrated
    assert legacy.amount == Decimal("18584.446371")
    assert legacy.price_usdc == Decimal("0.30000000000000004")
    assert legacy.pyth_price == Decimal("1.23456789")
    assert trade(sqlite_store, TradeId(TX_B, 99)) is None

    in_range = trades_in_block_range(sqlite_store, 100, 105)
    assert [(t.block_number, t.log_index) for t in in_range] == [(100, 0), (100, 3), (105, 1)]
    with pytest.raises(ValueError, match="empty block range"):
        trades_in_block_range(sqlite_store, 5, 4)


def test_recent_trades_are_newest_first_with_since_limit_and_symbol_filters(
    sqlite_store: SqliteEventStore, handler: Handler, clock: ManualClock
) -> None:
    scripted_history(handler, clock)
    newest = recent_trades(sqlite_store, limit=10)
    assert [t.trade_id.aggregate_id for t in newest] == [
        f"{TX_B}:1",
        f"{TX_A}:3",
        f"{TX_A}:0",
        f"{TX_LEGACY}:2",
        f"{TX_LEGACY}:3",  # created_at NULL sorts last
    ]
    assert len(recent_trades(sqlite_store, limit=2)) == 2
    since = recent_trades(sqlite_store, since=T0 + timedelta(seconds=1))
    assert [t.trade_id.aggregate_id for t in since] == [f"{TX_B}:1", f"{TX_A}:3"]
    aapl = recent_trades(sqlite_store, symbol="AAPL")
    assert {t.base_symbol for t in aapl} == {"AAPL"}
    assert len(aapl) == 4
    assert [t.symbol for t in recent_trades(sqlite_store, symbol="tTSLA")] == ["tTSLA"]
    with pytest.raises(ValueError, match="limit"):
        recent_trades(sqlite_store, limit=0)


def test_a_rejected_command_leaves_the_view_unchanged(
    sqlite_store: SqliteEventStore, handler: Handler
) -> None:
    handler.execute(f"{TX_A}:0", witness())
    before = sqlite_store.query("SELECT view_id, version, payload FROM onchain_trade_view")
    with pytest.raises(Exception, match="already"):
        handler.execute(f"{TX_A}:0", witness(amount="99"))
    after = sqlite_store.query("SELECT view_id, version, payload FROM onchain_trade_view")
    assert after == before


def test_the_view_payload_column_is_text_for_the_reference_reader(
    sqlite_store: SqliteEventStore, handler: Handler
) -> None:
    handler.execute(f"{TX_A}:0", witness())
    conn = sqlite3.connect(sqlite_store.path)
    try:
        kind = conn.execute("SELECT typeof(payload) FROM onchain_trade_view").fetchone()[0]
    finally:
        conn.close()
    assert kind == "text"


def test_pyth_price_of_the_sample_is_consistent() -> None:
    assert PythPrice(Decimal("18250"), -2, Decimal(0), T0).price == Decimal("182.50")


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=5e-324, max_value=1e300, allow_nan=False, allow_infinity=False))
def test_a_legacy_real_survives_the_import_into_the_view_exactly(legacy_real: float) -> None:
    # The import converts a REAL by its shortest repr; the view writes a JSON number
    # that SQLite's JSON reader must turn back into the very same double.
    command = legacy_migrate(
        amount=Decimal(repr(legacy_real)), price_usdc=Decimal(repr(legacy_real))
    )
    [event] = scenario(ONCHAIN_TRADE).when(command).decide()
    assert isinstance(event, Migrated)
    payload = codec.dumps(_migrated_row(TradeId(TX_LEGACY, 0), event))
    conn = sqlite3.connect(":memory:")
    try:
        amount, price = conn.execute(
            "SELECT json_extract(?, '$.amount'), json_extract(?, '$.price_usdc')",
            (payload, payload),
        ).fetchone()
    finally:
        conn.close()
    assert amount == legacy_real
    assert price == legacy_real
