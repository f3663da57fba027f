"""The product's views on PostgreSQL: the manager pipeline end to end, every view's
tables and generated columns equal to SQLite's for the same history, rebuild = live."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgebot.bootstrap import Core, all_views, build_core
from hedgebot.brokers.paper import PaperBroker
from hedgebot.clock import ManualClock
from hedgebot.config import load_settings
from hedgebot.domain import Direction
from hedgebot.eventstore.postgres import PostgresEventStore
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import EventStore
from hedgebot.offchain_order.view import order as order_record
from hedgebot.offchain_order.view import orders_by_status
from hedgebot.onchain_trade.view import trades_by_base_symbol
from hedgebot.position.view import position_by_symbol
from tests.app.test_pipeline import OPEN, Bot

pytestmark = pytest.mark.postgres


def _core(url: str, store: EventStore) -> Core:
    settings = load_settings(None, environ={"HEDGEBOT_DATABASE__URL": url})
    return build_core(settings, clock=ManualClock(OPEN), store=store)


@pytest.fixture
def pg_core(postgres_url: str) -> Iterator[Core]:
    core = _core(postgres_url, PostgresEventStore(postgres_url))
    yield core
    core.close()


@pytest.fixture
def sqlite_core(sqlite_path: Path) -> Iterator[Core]:
    core = _core(f"sqlite://{sqlite_path}", SqliteEventStore(str(sqlite_path)))
    yield core
    core.close()


def trade_a_little(core: Core) -> Bot:
    """Fills on two symbols, hedges filled and rejected, a checker round."""
    broker = PaperBroker(clock=core.clock, fill_price=Decimal("101.25"), reject_symbols=["TSLA"])
    bot = Bot(core, broker)
    for amount in ("0.3", "0.5", "0.4"):
        bot.fill("tAAPL", amount, Direction.SELL)
    bot.fill("TSLA0x", "2.5", Direction.BUY)
    bot.settle()
    broker.reject_symbols.clear()
    bot.checker.check()
    bot.settle()
    return bot


def test_the_hedging_pipeline_runs_on_postgresql_and_its_views_answer_queries(
    pg_core: Core,
) -> None:
    bot = trade_a_little(pg_core)
    store = pg_core.store
    assert bot.position_events("AAPL")[-2:] == [
        "PositionEvent::OffChainOrderPlaced",
        "PositionEvent::OffChainOrderFilled",
    ]
    aapl = position_by_symbol(store, "AAPL")
    assert aapl is not None and aapl.net == Decimal("-0.2")
    tsla = position_by_symbol(store, "TSLA")
    assert tsla is not None and tsla.net == Decimal("0.5")
    first = order_record(store, 1)
    assert first is not None and first.status == "FILLED" and first.price_cents == 10125
    assert [o.status for o in orders_by_status(store, "FAILED")] == ["FAILED"]
    assert len(trades_by_base_symbol(store, "AAPL")) == 3


def _columns(store: EventStore, table: str) -> list[str]:
    if store.backend == "sqlite":
        rows = store.query("SELECT name FROM pragma_table_xinfo(?) ORDER BY cid", [table])
    else:
        rows = store.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            [table],
        )
    return [str(r[0]) for r in rows]


def _rows(store: EventStore, table: str, columns: list[str]) -> list[dict[str, Any]]:
    listed = ", ".join(f'"{c}"' for c in columns)
    result = []
    for values in store.query(f"SELECT {listed} FROM {table} ORDER BY view_id", []):
        row = dict(zip(columns, values, strict=True))
        row["payload"] = json.loads(str(row["payload"]))
        result.append(row)
    return result


def test_every_view_has_the_same_columns_and_values_on_postgresql_as_on_sqlite(
    pg_core: Core, sqlite_core: Core
) -> None:
    trade_a_little(pg_core)
    trade_a_little(sqlite_core)
    tables = [t for view in all_views() for t in view.tables]
    compared = 0
    for table in tables:
        columns = _columns(sqlite_core.store, table)
        assert _columns(pg_core.store, table) == columns, table
        on_sqlite = _rows(sqlite_core.store, table, columns)
        on_postgres = _rows(pg_core.store, table, columns)
        assert on_postgres == on_sqlite, table
        compared += len(on_sqlite)
    assert compared > 10  # the history reached most views


def test_every_view_rebuilt_on_postgresql_equals_the_live_one(pg_core: Core) -> None:
    trade_a_little(pg_core)
    store = pg_core.store
    for view in pg_core.projector.views:
        live = {t: store.view_all(t) for t in view.tables}
        pg_core.projector.rebuild(store, view.table)
        assert {t: store.view_all(t) for t in view.tables} == live, view.table
