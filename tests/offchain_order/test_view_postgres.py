"""``offchain_trade_view`` on PostgreSQL: same columns and values as on SQLite."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgebot.clock import ManualClock
from hedgebot.eventstore import CommandHandler, Projector
from hedgebot.eventstore.postgres import PostgresEventStore
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import EventStore
from hedgebot.offchain_order.events import OFFCHAIN_ORDER_EVENTS
from hedgebot.offchain_order.state import OFFCHAIN_ORDER
from hedgebot.offchain_order.view import OffchainTradeView, open_orders, orders_by_status
from tests.offchain_order.test_view import COLUMNS, T0, Handler, scripted_history

pytestmark = pytest.mark.postgres

EVERYTHING = f"SELECT view_id, version, {COLUMNS} FROM offchain_trade_view ORDER BY view_id"


def run_history(store: EventStore) -> Projector:
    projector = Projector([OffchainTradeView()], [OFFCHAIN_ORDER_EVENTS])
    clock = ManualClock(T0)
    handler: Handler = CommandHandler(store, OFFCHAIN_ORDER, clock=clock, projector=projector)
    scripted_history(handler, clock)
    return projector


def _plain(value: object) -> object:
    """NUMERIC comes back as Decimal from PostgreSQL: compare it as SQLite's number."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def test_generated_columns_on_postgres_equal_the_sqlite_ones(
    postgres_store: PostgresEventStore, sqlite_store: SqliteEventStore
) -> None:
    run_history(postgres_store)
    run_history(sqlite_store)
    on_postgres = [tuple(_plain(v) for v in row) for row in postgres_store.query(EVERYTHING)]
    assert len(on_postgres) == 8
    assert on_postgres == sqlite_store.query(EVERYTHING)


def test_postgres_columns_have_the_legacy_types(postgres_store: PostgresEventStore) -> None:
    rows = postgres_store.query(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'offchain_trade_view' AND table_schema = current_schema()"
    )
    types = {str(r[0]): str(r[1]) for r in rows}
    assert types["payload"] == "jsonb"
    assert types["id"] == "bigint"
    assert types["price_cents"] == "bigint"
    assert types["shares"] == "numeric"
    assert types["order_id"] == "text"


def test_typed_queries_and_rebuild_work_on_postgres(
    postgres_store: PostgresEventStore, sqlite_store: SqliteEventStore
) -> None:
    projector = run_history(postgres_store)
    run_history(sqlite_store)
    assert open_orders(postgres_store) == open_orders(sqlite_store)
    assert orders_by_status(postgres_store, "FILLED") == orders_by_status(sqlite_store, "FILLED")
    live = postgres_store.query(EVERYTHING)
    projector.rebuild(postgres_store, "offchain_trade_view")
    assert postgres_store.query(EVERYTHING) == live
