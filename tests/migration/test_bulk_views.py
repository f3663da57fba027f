"""The import's bulk projection writes exactly the rows the views themselves write."""

from __future__ import annotations

import io
import logging
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hedgebot.bootstrap import build_projector
from hedgebot.domain import Direction
from hedgebot.eventstore import codec, schema
from hedgebot.eventstore.envelope import StoredEvent
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.views import ViewRows
from hedgebot.migration.bulk_views import OnChainRows, _write_onchain_rows
from hedgebot.migration.progress import PlainProgress
from hedgebot.migration.prompts import Prompter
from hedgebot.migration.runner import Mode, Options, run_migration
from hedgebot.onchain_trade.events import (
    LEGACY_NULL_BLOCK_TIMESTAMP,
    LEGACY_NULL_CREATED_AT,
    ONCHAIN_TRADE_EVENTS,
    LegacyPyth,
    Migrated,
    PythPrice,
)
from hedgebot.onchain_trade.view import TABLE, OnChainTradeView
from tests.migration import legacy_db as db
from tests.migration.conftest import SQLITE_MISREAD, fill_desk, url
from tests.migration.trade_events import T1, migrated

VIEW_TABLES = (
    "onchain_trade_view",
    "position_view",
    "offchain_trade_view",
    "metrics_pnl_view",
    "metrics_pnl_state",
    "schwab_auth_view",
)


def _table_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every view table, all columns (generated ones included)."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table in VIEW_TABLES:
            columns = [
                r[0] for r in conn.execute("SELECT name FROM pragma_table_xinfo(?)", (table,))
            ]
            out[table] = conn.execute(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY view_id"
            ).fetchall()
        return out
    finally:
        conn.close()


def _varied_legacy_db(path: Path) -> Path:
    """The desk's rows plus trades of every shape the on-chain view distinguishes."""
    db.create_legacy_db(path, "final")
    with db.connect(path) as conn:
        fill_desk(conn)
        shapes: list[dict[str, Any]] = [
            {"symbol": "MSFT", "created_at": None, "block_timestamp": "2025-10-01 12:00:00"},
            {"symbol": "tMSFT", "pyth_price": 1.5, "pyth_exponent": -8},
            {
                "symbol": "MSFTs1",
                "pyth_confidence": 0.0,
                "pyth_publish_time": "2025-10-01 11:59:58",
            },
            {
                "symbol": "MSFT0x",
                "amount": SQLITE_MISREAD,
                "price_usdc": 1e20,
                "block_timestamp": "2025-10-02T09:00:00.123456789+00:00",
                "gas_used": 0,
                "effective_gas_price": 2**62,
                "pyth_price": -0.0,
                "pyth_confidence": 1e-7,
                "pyth_exponent": 0,
                "pyth_publish_time": "2025-10-02 09:00:00",
            },
            {"symbol": "tMSFT", "amount": 2 / 3, "direction": "SELL", "price_usdc": 0.1 + 0.2},
        ]
        for n, values in enumerate(shapes):
            db.trade(conn, 100 + n, log_index=n, **values)
        db.bulk(conn, 300, positions=7)
    return path


def test_imported_view_rows_equal_a_rebuild_of_every_view(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _varied_legacy_db(tmp_path / "bot.db")
    output = io.StringIO()
    with caplog.at_level(logging.WARNING, logger="hedgebot.migration"):
        code = run_migration(
            Options(mode=Mode.RUN, database_url=url(path), force=True),
            Console(file=output, width=200),
            PlainProgress(write=lambda _line: None),
            Prompter(write=lambda _text: None, force=True),
        )
    assert code == 0, output.getvalue()
    assert "no differences" in output.getvalue()
    # the bulk paths wrote the events and rows (none left to the codec or the view)
    assert "mismatch" not in caplog.text
    imported = _table_rows(path)
    assert len(imported["onchain_trade_view"]) > 300
    assert len(imported["metrics_pnl_view"]) > 300
    store = SqliteEventStore(str(path))
    try:
        projector = build_projector()
        for view in projector.views:
            projector.rebuild(store, view.table)
    finally:
        store.close()
    assert _table_rows(path) == imported


def _stored(aggregate_id: str, event: Migrated) -> StoredEvent:
    return StoredEvent(
        1,
        "OnChainTrade",
        aggregate_id,
        1,
        ONCHAIN_TRADE_EVENTS.event_type(event),
        "1.0",
        ONCHAIN_TRADE_EVENTS.encode(event),
        "{}",
    )


EVENTS = [
    migrated(),
    migrated(symbol="AAPL", legacy_id=3, created_at=T1, gas_used=21000),
    migrated(
        symbol="AAPL0x",
        legacy_nulls=(LEGACY_NULL_BLOCK_TIMESTAMP,),
        block_timestamp=T1,
        created_at=T1,
        effective_gas_price=5,
    ),
    migrated(legacy_nulls=(LEGACY_NULL_CREATED_AT,), direction=Direction.SELL),
    migrated(
        pyth_price=PythPrice(value=Decimal("12345"), expo=-2, conf=Decimal("7"), publish_time=T1)
    ),
    migrated(
        amount=Decimal("0.30000000000000004"),
        price_usdc=Decimal("1E+20"),
        legacy_pyth=LegacyPyth(
            price=Decimal("-0"), confidence=None, exponent=-8, publish_time=None
        ),
    ),
    migrated(symbol='we"ird\\sym\u00e9', amount=Decimal("1.000")),
]


@pytest.mark.parametrize("event", EVENTS)
def test_formatted_row_is_the_views_own(event: Migrated) -> None:
    aggregate_id = "0x" + "ab" * 32 + ":4"
    rows = {TABLE: ViewRows(None, TABLE)}  # type: ignore[arg-type]
    rows[TABLE].mark_cleared()
    OnChainTradeView().apply(rows, _stored(aggregate_id, event), event)
    view_id, text = OnChainRows().payload(aggregate_id, event)
    assert view_id == aggregate_id
    assert text == codec.dumps(rows[TABLE].get(aggregate_id))


class _ChangedView(OnChainTradeView):
    """A view whose rows this module does not know (as if the view had changed)."""

    def apply(self, rows: Any, event: StoredEvent, decoded: Any) -> None:
        super().apply(rows, event, decoded)
        table = rows[self.table]
        payload = dict(table.get(event.aggregate_id))
        payload["new_field"] = 1
        table.put(event.aggregate_id, payload, version=1)


def test_a_view_that_differs_is_left_to_project_itself(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    schema.upgrade(f"sqlite:{path}")
    store = SqliteEventStore(str(path))
    try:
        events = [_stored(f"0x{n:064x}:0", migrated()) for n in range(3)]
        with store.transaction() as tx:
            written = _write_onchain_rows(_ChangedView(), tx, events, [migrated()] * 3)
            assert not written
            assert tx.view_all(TABLE) == []
            assert _write_onchain_rows(OnChainTradeView(), tx, events, [migrated()] * 3)
            assert len(tx.view_all(TABLE)) == 3
    finally:
        store.close()


@pytest.mark.parametrize("aggregate_id", ["0x" + "AB" * 32 + ":1", "0x" + "ab" * 32 + ":01"])
def test_a_trade_id_the_view_would_normalise_is_left_to_the_view(
    tmp_path: Path, aggregate_id: str
) -> None:
    path = tmp_path / "store.db"
    schema.upgrade(f"sqlite:{path}")
    store = SqliteEventStore(str(path))
    try:
        with store.transaction() as tx:
            event = migrated()
            assert not _write_onchain_rows(
                OnChainTradeView(), tx, [_stored(aggregate_id, event)], [event]
            )
            assert tx.view_all(TABLE) == []
    finally:
        store.close()


class _ChangedForPyth(OnChainTradeView):
    """Differs only for rows with a Pyth price (as if only that layout had changed)."""

    def apply(self, rows: Any, event: StoredEvent, decoded: Any) -> None:
        super().apply(rows, event, decoded)
        if decoded.pyth_price is not None:
            table = rows[self.table]
            payload = dict(table.get(event.aggregate_id))
            payload["new_field"] = 1
            table.put(event.aggregate_id, payload, version=1)


def test_a_difference_found_after_rows_were_written_leaves_none_of_them(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    schema.upgrade(f"sqlite:{path}")
    store = SqliteEventStore(str(path))
    pyth = PythPrice(value=Decimal("12345"), expo=-2, conf=Decimal("7"), publish_time=T1)
    decoded = [migrated() for _ in range(5)] + [migrated(pyth_price=pyth)]
    events = [_stored(f"0x{n:064x}:0", event) for n, event in enumerate(decoded)]
    try:
        with store.transaction() as tx:
            assert not _write_onchain_rows(_ChangedForPyth(), tx, events, decoded, chunk_size=2)
            assert tx.view_all(TABLE) == []
    finally:
        store.close()
