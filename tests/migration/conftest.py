"""Fixtures of the legacy-import tests: real legacy files and a CLI runner."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hedgebot.cli import app
from tests.migration import legacy_db as db

# The legacy rows of the "desk" database (reference/es-and-migration.md §2.3 examples
# included): values chosen so every conversion path is exercised.
EXAMPLE_TX = "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef"
UPPER_TX = "0x" + "AB" * 32
#: SQLite reads the shortest repr of this double as a different REAL
SQLITE_MISREAD = 0.004980021649312365


def fill_desk(conn: sqlite3.Connection) -> None:
    """Trades, orders (all statuses), positions (one with a pending order), tokens."""
    # §2.3 example 1: AAPL 10.0 @ 150.50, created_at only (no block_timestamp)
    db.trade(
        conn,
        0,
        tx_hash=EXAMPLE_TX,
        log_index=0,
        symbol="AAPL",
        amount=10.0,
        direction="BUY",
        price_usdc=150.50,
        created_at="2025-12-05 13:20:00",
    )
    # every optional column, sqlx RFC 3339 block time with an offset
    db.trade(
        conn,
        2,
        log_index=3,
        symbol="tTSLA",
        amount=2 / 3,
        direction="SELL",
        price_usdc=250.0,
        created_at="2025-10-01 12:00:00",
        block_timestamp="2025-10-01T13:59:59+02:00",
        gas_used=21000,
        effective_gas_price=2_000_000_000,
        pyth_price=1.23456789,
        pyth_confidence=0.1,
        pyth_exponent=-8,
        pyth_publish_time="2025-10-01 11:59:58",
    )
    db.trade(
        conn,
        2,
        log_index=4,
        symbol="NVDAs1",
        amount=0.1 + 0.2,
        direction="BUY",
        price_usdc=99.99,
        created_at="2025-10-02 09:00:01",
        block_timestamp="2025-10-02 09:00:00.123456",
    )
    db.trade(
        conn,
        9,
        tx_hash=UPPER_TX,
        log_index=1,
        symbol="AAPL0x",
        amount=SQLITE_MISREAD,
        direction="SELL",
        price_usdc=151.0,
        created_at="2025-10-03 10:00:00",
        block_timestamp="2025-10-03 09:59:50",
    )
    # orders: §2.3 example 3 (FILLED), a PENDING, a SUBMITTED, a FAILED, an Alpaca fill
    db.order(
        conn,
        id=1,
        symbol="AAPL",
        shares=10,
        direction="BUY",
        order_id="ORDER123",
        price_cents=15050,
        status="FILLED",
        executed_at="2025-12-05 13:21:00",
    )
    db.order(conn, id=2, symbol="TSLA", shares=1, direction="BUY", status="PENDING")
    db.order(
        conn, id=3, symbol="MSFT", shares=2, direction="SELL", status="SUBMITTED", order_id="S-3"
    )
    db.order(
        conn,
        id=4,
        symbol="NVDA",
        shares=1,
        direction="SELL",
        status="FAILED",
        executed_at="2025-10-04 15:00:00",
    )
    db.order(
        conn,
        id=5,
        symbol="NVDA",
        shares=3,
        direction="BUY",
        broker="alpaca",
        broker_order_id="61e69015-8549-4bfd-b9c3-01e75843f47d",
        order_id="61e69015-8549-4bfd-b9c3-01e75843f47d",
        price_cents=12345,
        status="FILLED",
        executed_at="2025-10-04T15:30:00.5+00:00",
    )
    # §2.3 example 2 (AAPL 5.5/10/4.5 and TSLA -5/0/5); MSFT with its SUBMITTED hedge
    # pending and a stale net_position column
    db.position(
        conn,
        symbol="AAPL",
        net_position=5.5,
        accumulated_long=10.0,
        accumulated_short=4.5,
        last_updated="2025-12-05 13:20:00",
    )
    db.position(
        conn,
        symbol="TSLA",
        net_position=-5.0,
        accumulated_long=0.0,
        accumulated_short=5.0,
        last_updated="2025-10-01 12:00:05",
    )
    db.position(
        conn,
        symbol="MSFT",
        net_position=0.0,  # stale, as the legacy bot left it
        accumulated_long=2.75,
        accumulated_short=SQLITE_MISREAD,
        pending_execution_id=3,
        last_updated="2025-10-03 10:00:00",
    )
    db.auth(conn)
    # the legacy event queue knows the block of one trade
    conn.execute(
        "INSERT INTO event_queue (tx_hash, log_index, block_number, event_data, processed) "
        "VALUES (?, 3, 35000123, '{}', 1)",
        (db.tx(2),),
    )


@pytest.fixture
def desk_db(tmp_path: Path) -> Path:
    """A final-layout legacy database with the desk's rows."""
    path = db.create_legacy_db(tmp_path / "bot.db", "final")
    with db.connect(path) as conn:
        fill_desk(conn)
    return path


@dataclass
class Result:
    exit_code: int
    output: str


Migrate = Callable[..., Result]


@pytest.fixture
def migrate() -> Migrate:
    """Run ``hedgebot migrate-to-events ARGS`` in process; stdin from ``input``."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        result = runner.invoke(
            app, ["migrate-to-events", *args], input=input, env={"COLUMNS": "200"}
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Result(result.exit_code, result.output)

    return invoke


def url(path: Path) -> str:
    return f"sqlite:{path}"


def event_rows(path: Path) -> list[tuple[object, ...]]:
    """Every event row (empty when the file has no event store at all)."""
    conn = sqlite3.connect(path)
    try:
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone()
        if not has:
            return []
        return conn.execute(
            "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, "
            "payload, metadata FROM events ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def query(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
