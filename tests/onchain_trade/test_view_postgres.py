"""``onchain_trade_view`` on PostgreSQL: same columns and values as on SQLite."""

from __future__ import annotations

import pytest

from hedgebot.clock import ManualClock
from hedgebot.eventstore import CommandHandler, Projector
from hedgebot.eventstore.postgres import PostgresEventStore
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import EventStore
from hedgebot.onchain_trade.events import ONCHAIN_TRADE_EVENTS
from hedgebot.onchain_trade.state import ONCHAIN_TRADE
from hedgebot.onchain_trade.view import (
    OnChainTradeView,
    recent_trades,
    trades_by_base_symbol,
    trades_in_block_range,
)
from tests.onchain_trade.test_view import COLUMNS, T0, Handler, scripted_history

pytestmark = pytest.mark.postgres

EVERYTHING = f"SELECT view_id, version, {COLUMNS} FROM onchain_trade_view ORDER BY view_id"


def run_history(store: EventStore) -> Projector:
    projector = Projector([OnChainTradeView()], [ONCHAIN_TRADE_EVENTS])
    clock = ManualClock(T0)
    handler: Handler = CommandHandler(store, ONCHAIN_TRADE, clock=clock, projector=projector)
    scripted_history(handler, clock)
    return projector


def test_generated_columns_on_postgres_equal_the_sqlite_ones(
    postgres_store: PostgresEventStore, sqlite_store: SqliteEventStore
) -> None:
    run_history(postgres_store)
    run_history(sqlite_store)
    on_postgres = postgres_store.query(EVERYTHING)
    assert len(on_postgres) == 5
    assert on_postgres == sqlite_store.query(EVERYTHING)


def test_postgres_columns_have_the_legacy_types(postgres_store: PostgresEventStore) -> None:
    rows = postgres_store.query(
        "SELECT column_name, data_type, is_generated FROM information_schema.columns "
        "WHERE table_name = 'onchain_trade_view' AND table_schema = current_schema()"
    )
    types = {str(r[0]): (str(r[1]), str(r[2])) for r in rows}
    assert types["payload"] == ("jsonb", "NEVER")
    assert types["amount"] == ("double precision", "ALWAYS")
    assert types["created_at"] == ("text", "ALWAYS")
    assert types["block_number"] == ("bigint", "ALWAYS")


def test_typed_queries_and_rebuild_work_on_postgres(
    postgres_store: PostgresEventStore, sqlite_store: SqliteEventStore
) -> None:
    projector = run_history(postgres_store)
    run_history(sqlite_store)
    assert recent_trades(postgres_store, limit=10) == recent_trades(sqlite_store, limit=10)
    assert trades_by_base_symbol(postgres_store, "AAPL") == trades_by_base_symbol(
        sqlite_store, "AAPL"
    )
    assert len(trades_in_block_range(postgres_store, 100, 105)) == 3
    live = postgres_store.query(EVERYTHING)
    projector.rebuild(postgres_store, "onchain_trade_view")
    assert postgres_store.query(EVERYTHING) == live
