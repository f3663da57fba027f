"""The operator reads on PostgreSQL give the same documents as on SQLite (same history)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hedgebot.eventstore.postgres import PostgresEventStore
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import EventStore
from hedgebot.operator.reads import (
    list_orders,
    list_pnl,
    list_trades,
    order_counts,
    order_json,
    page_json,
    pnl_row_json,
    position_json,
    trade_json,
)
from hedgebot.position.view import all_positions
from tests.api.desk import Desk, seed_desk

pytestmark = pytest.mark.postgres


def documents(store: EventStore) -> dict[str, Any]:
    since = datetime(2025, 1, 7, 15, 2, tzinfo=UTC)
    trades = list_trades(store, symbol="AAPL", since=since, limit=2, offset=1)
    orders = list_orders(store, status="FAILED", limit=2, offset=1)
    pnl = list_pnl(store, order="desc", limit=3, offset=2)
    return {
        "trades": page_json(trades, [trade_json(t) for t in trades.items]),
        "all_trades": [trade_json(t) for t in list_trades(store).items],
        "orders": page_json(orders, [order_json(o) for o in orders.items]),
        "counts": order_counts(store),
        "pnl": page_json(pnl, [pnl_row_json(r) for r in pnl.items]),
        "positions": [position_json(p) for p in all_positions(store)],
    }


def test_reads_on_postgresql_equal_the_same_reads_on_sqlite(
    postgres_url: str, sqlite_path: Path
) -> None:
    seed_desk(Desk.over(PostgresEventStore(postgres_url, max_size=2)))
    seed_desk(Desk.over(SqliteEventStore(str(sqlite_path), synchronous="NORMAL")))
    postgres = PostgresEventStore(postgres_url, max_size=2)
    sqlite = SqliteEventStore(str(sqlite_path))
    try:
        on_postgres, on_sqlite = documents(postgres), documents(sqlite)
    finally:
        postgres.close()
        sqlite.close()
    assert on_postgres == on_sqlite
    assert on_sqlite["trades"]["total"] == 2
    assert on_sqlite["orders"]["total"] == 3
    assert len(on_sqlite["pnl"]["items"]) == 3
