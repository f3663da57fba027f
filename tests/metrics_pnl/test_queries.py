"""SQL over metrics_pnl_view on a real SQLite file: legacy dashboard queries and our queries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import EventStore
from hedgebot.metrics_pnl.queries import pnl_rows, pnl_summary, symbol_totals
from hedgebot.metrics_pnl.report import parse_since
from tests.metrics_pnl.events import EventWriter, hedge_filled, onchain_filled, projector
from tests.metrics_pnl.trades import BUY, SELL, T0


@pytest.fixture
def store(sqlite_path: Path) -> Iterator[SqliteEventStore]:
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    yield store
    store.close()


def seconds_ago(days: float) -> float:
    """Offset from T0 of a moment ``days`` before the real now (dashboards use now)."""
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)
    return (moment - T0).total_seconds()


def test_legacy_dashboard_queries_answer_with_only_the_table_name_changed(
    store: SqliteEventStore,
) -> None:
    EventWriter(store, projector()).write(
        # AAPL: a month-old round trip (+10), then a recent one (-3)
        onchain_filled(1, BUY, "10", "100", seconds=seconds_ago(31)),
        hedge_filled(1, SELL, "10", 10100, seconds=seconds_ago(30)),
        onchain_filled(2, BUY, "3", "50", seconds=seconds_ago(2)),
        hedge_filled(2, SELL, "3", 4900, seconds=seconds_ago(1)),
        # MSFT: recent short then a partial cover (+2)
        onchain_filled(3, SELL, "4", "300", seconds=seconds_ago(3), symbol="MSFT0x"),
        hedge_filled(3, BUY, "2", 29900, seconds=seconds_ago(0.5), symbol="MSFT"),
        # NVDA: only an old opening trade
        onchain_filled(4, BUY, "1", "800", seconds=seconds_ago(60), symbol="tNVDA"),
    )
    weekly = store.query(
        "SELECT symbol, SUM(realized_pnl) FROM metrics_pnl_view "
        "WHERE timestamp > datetime('now','-7 days') GROUP BY symbol ORDER BY symbol"
    )
    assert weekly == [("AAPL", -3.0), ("MSFT", 2.0)]
    latest = store.query(
        "SELECT symbol, cumulative_pnl, net_position_after FROM metrics_pnl_view m "
        "WHERE timestamp = (SELECT MAX(timestamp) FROM metrics_pnl_view WHERE symbol = m.symbol) "
        "ORDER BY symbol"
    )
    assert latest == [("AAPL", 7.0, 0.0), ("MSFT", 2.0, -2.0), ("NVDA", 0.0, 1.0)]
    counts = store.query(
        "SELECT trade_type, COUNT(*), SUM(quantity * price_per_share) FROM metrics_pnl_view "
        "GROUP BY trade_type ORDER BY trade_type"
    )
    assert counts == [("OFFCHAIN", 3, 1010.0 + 147.0 + 598.0), ("ONCHAIN", 4, 3150.0)]
    opening = store.query("SELECT COUNT(*) FROM metrics_pnl_view WHERE realized_pnl IS NULL")
    assert opening == [(4,)]
    plan = " ".join(
        str(row[-1])
        for row in store.query(
            "EXPLAIN QUERY PLAN SELECT * FROM metrics_pnl_view WHERE symbol = ? AND timestamp > ?",
            ("AAPL", "2025-01-01 00:00:00"),
        )
    )
    assert "idx_metrics_pnl_view_symbol_timestamp" in plan


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_store(request: pytest.FixtureRequest, store: SqliteEventStore) -> EventStore:
    """The same query functions over SQLite and PostgreSQL (JSONB, generated columns)."""
    if request.param == "postgres":
        postgres: EventStore = request.getfixturevalue("postgres_store")
        return postgres
    return store


@pytest.fixture
def history(sql_store: EventStore) -> EventStore:
    store = sql_store
    EventWriter(store, projector()).write(
        onchain_filled(1, BUY, "2", "10", seconds=0),
        onchain_filled(2, BUY, "2", "12", seconds=100),
        hedge_filled(1, SELL, "3", 1300, seconds=200),  # 2 x 3 + 1 x 1 = 7
        onchain_filled(3, SELL, "1", "9", seconds=300),  # 1 x -3 -> cum 4, flat
        onchain_filled(4, SELL, "1", "20", seconds=300, symbol="tMSFT"),
        hedge_filled(2, BUY, "1", 1900, seconds=400, symbol="MSFT"),  # +1
    )
    return store


def test_rows_of_one_symbol_come_in_pnl_order_with_exact_amounts(
    history: EventStore,
) -> None:
    rows = pnl_rows(history, symbol="AAPL")
    assert [(r.trade_type, r.realized_pnl, r.cumulative_pnl) for r in rows] == [
        ("ONCHAIN", None, Decimal(0)),
        ("ONCHAIN", None, Decimal(0)),
        ("OFFCHAIN", Decimal(7), Decimal(7)),
        ("ONCHAIN", Decimal(-3), Decimal(4)),
    ]
    assert rows[2].price_per_share == Decimal("13")
    assert rows[0].traded_at == T0


def test_rows_in_a_time_range_include_the_start_and_exclude_the_end(
    history: EventStore,
) -> None:
    rows = pnl_rows(history, since=T0 + timedelta(seconds=100), until=T0 + timedelta(seconds=300))
    assert [r.trade_id for r in rows] == [rows[0].trade_id, "1"]
    assert rows[0].timestamp == "2025-03-03 14:31:40"
    newest = pnl_rows(history, limit=2)
    assert [(r.symbol, r.trade_id) for r in newest] == [
        ("MSFT", newest[0].trade_id),
        ("MSFT", "2"),
    ]


def test_totals_per_symbol_report_realised_cumulative_and_net(history: EventStore) -> None:
    totals = symbol_totals(history)
    assert [
        (t.symbol, t.trades, t.realized_pnl, t.cumulative_pnl, t.net_position) for t in totals
    ] == [("AAPL", 4, Decimal(4), Decimal(4), Decimal(0)), ("MSFT", 2, Decimal(1), Decimal(1), 0)]
    window = symbol_totals(history, since=T0 + timedelta(seconds=250))
    assert [(t.symbol, t.trades, t.realized_pnl, t.cumulative_pnl) for t in window] == [
        ("AAPL", 1, Decimal(-3), Decimal(4)),
        ("MSFT", 2, Decimal(1), Decimal(1)),
    ]


def test_the_summary_adds_every_symbol(history: EventStore) -> None:
    summary = pnl_summary(history)
    assert summary.total_realized_pnl == Decimal(5)
    assert [s.symbol for s in summary.symbols] == ["AAPL", "MSFT"]
    assert summary.to_json()["total_realized_pnl"] == "5"


def test_an_empty_view_gives_an_empty_summary(sql_store: EventStore) -> None:
    summary = pnl_summary(sql_store)
    assert summary.symbols == ()
    assert summary.total_realized_pnl == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", datetime(2025, 3, 3, tzinfo=UTC)),
        ("12h", datetime(2025, 3, 9, 12, tzinfo=UTC)),
        ("2025-02-01", datetime(2025, 2, 1, tzinfo=UTC)),
        ("2025-02-01T10:00:00Z", datetime(2025, 2, 1, 10, tzinfo=UTC)),
        ("2025-02-01 10:00:00+02:00", datetime(2025, 2, 1, 8, tzinfo=UTC)),
    ],
)
def test_since_accepts_durations_dates_and_times(text: str, expected: datetime) -> None:
    assert parse_since(text, datetime(2025, 3, 10, tzinfo=UTC)) == expected


def test_since_rejects_anything_else_with_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match="duration back from now"):
        parse_since("yesterday", datetime(2025, 3, 10, tzinfo=UTC))
