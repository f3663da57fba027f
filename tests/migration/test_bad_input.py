"""Bad legacy rows: exit 1, a message naming table, row, column and reason, nothing written.

Each case plants its row in a database without the legacy CHECK constraints (the
legacy schema would refuse most of them; older databases had fewer checks).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.migration import legacy_db as db
from tests.migration.conftest import Migrate, event_rows, tables, url

Plant = Callable[[sqlite3.Connection], None]


def _trade(**overrides: object) -> Plant:
    return lambda conn: db.trade(conn, 1, id=1, **overrides)


def _order(**overrides: object) -> Plant:
    values: dict[str, object] = {"id": 7, "broker": "schwab"}
    values.update(overrides)
    return lambda conn: db.order(conn, **values)


def _position(**overrides: object) -> Plant:
    values: dict[str, object] = {"net_position": 0.0}
    values.update(overrides)
    return lambda conn: db.position(conn, **values)


def _auth(**overrides: object) -> Plant:
    return lambda conn: db.auth(conn, encryption_version=1, **overrides)


CASES: list[tuple[str, Plant, str, str]] = [
    # (case, plant, "table row id=…, column …", reason fragment)
    ("empty symbol", _trade(symbol=""), "onchain_trades row id=1, column symbol", "empty symbol"),
    (
        "malformed symbol",
        _trade(symbol="AAPL 0x"),
        "onchain_trades row id=1, column symbol",
        "malformed symbol",
    ),
    (
        "negative amount",
        _trade(amount=-1.5),
        "onchain_trades row id=1, column amount",
        "must be greater than zero",
    ),
    (
        "zero amount",
        _trade(amount=0.0),
        "onchain_trades row id=1, column amount",
        "must be greater than zero",
    ),
    (
        "zero price",
        _trade(price_usdc=0.0),
        "onchain_trades row id=1, column price_usdc",
        "must be greater than zero",
    ),
    (
        "NaN REAL (SQLite stores NULL)",
        _trade(amount=float("nan")),
        "onchain_trades row id=1, column amount",
        "NULL in a required column",
    ),
    (
        "NaN text in a REAL column",
        _trade(price_usdc="NaN"),
        "onchain_trades row id=1, column price_usdc",
        "NaN or infinity is not a number",
    ),
    (
        "infinite REAL",
        _trade(amount=float("inf")),
        "onchain_trades row id=1, column amount",
        "infinity is not a number",
    ),
    (
        "infinite Pyth price",
        _trade(pyth_price=float("-inf")),
        "onchain_trades row id=1, column pyth_price",
        "infinity is not a number",
    ),
    (
        "unknown direction",
        _trade(direction="HOLD"),
        "onchain_trades row id=1, column direction",
        "unknown direction",
    ),
    (
        "bad transaction hash hex",
        _trade(tx_hash="0x" + "zz" * 32),
        "onchain_trades row id=1, column tx_hash",
        "bad hex",
    ),
    (
        "NULL in a required trade column",
        _trade(log_index=None),
        "onchain_trades row id=1, column log_index",
        "NULL in a required column",
    ),
    (
        "unparseable timestamp",
        _trade(created_at="yesterday"),
        "onchain_trades row id=1, column created_at",
        "unparseable timestamp",
    ),
    (
        "impossible date",
        _trade(block_timestamp="2025-02-30 10:00:00"),
        "onchain_trades row id=1, column block_timestamp",
        "invalid timestamp",
    ),
    (
        "unknown status",
        _order(status="CANCELLED"),
        "offchain_trades row id=7, column status",
        "unknown status",
    ),
    (
        "SUBMITTED without order id",
        _order(status="SUBMITTED"),
        "offchain_trades row id=7, column broker_order_id",
        "SUBMITTED order must have a broker order id",
    ),
    (
        "FILLED without order id",
        _order(status="FILLED", price_cents=100, executed_at="2025-10-01 10:00:00"),
        "offchain_trades row id=7, column broker_order_id",
        "FILLED order must have a broker order id",
    ),
    (
        "FILLED without price",
        _order(status="FILLED", order_id="X1", executed_at="2025-10-01 10:00:00"),
        "offchain_trades row id=7, column price_cents",
        "FILLED order must have a fill price",
    ),
    (
        "negative shares",
        _order(shares=-2),
        "offchain_trades row id=7, column shares",
        "must be greater than zero",
    ),
    (
        "unknown broker",
        _order(broker="ibkr"),
        "offchain_trades row id=7, column broker",
        "unknown broker",
    ),
    (
        "order ids that disagree",
        _order(status="SUBMITTED", broker_order_id="A", order_id="B"),
        "offchain_trades row id=7, column order_id",
        "differs from broker_order_id",
    ),
    (
        "empty position symbol",
        _position(symbol=""),
        "trade_accumulators row rowid=1, column symbol",
        "empty symbol",
    ),
    (
        "negative accumulated amount",
        _position(accumulated_short=-0.5),
        "trade_accumulators row symbol='AAPL', column accumulated_short",
        "must not be negative",
    ),
    (
        "NULL last_updated",
        _position(last_updated=None),
        "trade_accumulators row symbol='AAPL', column last_updated",
        "NULL in a required column",
    ),
    (
        "pending execution that does not exist",
        _position(pending_execution_id=99),
        "trade_accumulators row symbol='AAPL', column pending_execution_id",
        "no offchain_trades row has id 99",
    ),
    (
        "bad token hex",
        _auth(access_token="not-hex-" + "ab" * 40),
        "schwab_auth row id=1, column access_token",
        "bad hex",
    ),
    (
        "token too short",
        _auth(refresh_token="abcd"),
        "schwab_auth row id=1, column refresh_token",
        "too short",
    ),
    (
        "unparseable token time",
        _auth(access_token_fetched_at="soon"),
        "schwab_auth row id=1, column access_token_fetched_at",
        "unparseable timestamp",
    ),
]


@pytest.mark.parametrize(
    ("plant", "where", "reason"),
    [pytest.param(p, w, r, id=c) for c, p, w, r in CASES],
)
def test_a_bad_legacy_value_fails_the_run_naming_table_row_and_column_and_writes_nothing(
    tmp_path: Path, migrate: Migrate, plant: Plant, where: str, reason: str
) -> None:
    path = db.create_legacy_db(tmp_path / "bad.db", "unconstrained")
    with db.connect(path) as conn:
        db.trade(conn, 50, id=50, symbol="tMSFT")  # a good row next to the bad one
        plant(conn)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = migrate("run", "--force", "--database-url", url(path))
    assert result.exit_code == 1, result.output
    assert where in result.output
    assert reason in result.output
    assert "nothing was written" in result.output
    assert event_rows(path) == []
    assert "events" not in tables(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_secret_token_never_appears_in_the_error(tmp_path: Path, migrate: Migrate) -> None:
    path = db.create_legacy_db(tmp_path / "bad.db", "unconstrained")
    secret = "deadbeef" * 7 + "zz"
    with db.connect(path) as conn:
        db.auth(conn, encryption_version=1, access_token=secret)
    result = migrate("run", "--force", "--database-url", url(path))
    assert result.exit_code == 1
    assert secret not in result.output
    assert "<redacted, 58 characters>" in result.output


def test_every_bad_row_is_listed_not_only_the_first(tmp_path: Path, migrate: Migrate) -> None:
    path = db.create_legacy_db(tmp_path / "bad.db", "unconstrained")
    with db.connect(path) as conn:
        db.trade(conn, 1, id=1, amount=-1.0)
        db.trade(conn, 2, id=2, direction="sell")
        db.order(conn, id=3, broker="schwab", status="PENDING", shares=0)
    result = migrate("dry-run", "--database-url", url(path))
    assert result.exit_code == 1
    assert "legacy data: 3 problems" in result.output
    for where in (
        "onchain_trades row id=1, column amount",
        "onchain_trades row id=2, column direction",
        "offchain_trades row id=3, column shares",
    ):
        assert where in result.output


def test_a_bad_row_added_after_an_import_leaves_the_store_untouched(
    desk_db: Path, migrate: Migrate
) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    events_before = event_rows(desk_db)
    conn = sqlite3.connect(desk_db)
    conn.execute("PRAGMA ignore_check_constraints = ON")
    db.trade(conn, 77, symbol="tAMD", amount=-3.0)
    conn.commit()
    conn.close()
    result = migrate("run", "--force", "--database-url", url(desk_db))
    assert result.exit_code == 1
    assert "column amount" in result.output
    assert event_rows(desk_db) == events_before


def test_a_duplicate_trade_differing_only_in_hex_case_is_refused(
    tmp_path: Path, migrate: Migrate
) -> None:
    path = db.create_legacy_db(tmp_path / "dup.db")
    with db.connect(path) as conn:
        db.trade(conn, 0, tx_hash="0x" + "ab" * 32)
        db.trade(conn, 0, tx_hash="0x" + "AB" * 32)  # a different legacy row, same log
    result = migrate("run", "--force", "--database-url", url(path))
    assert result.exit_code == 1
    assert "onchain_trades row id=2, column tx_hash" in result.output
    assert "duplicate trade: row id=1" in result.output
    assert event_rows(path) == []


def test_a_pending_execution_that_is_already_filled_is_refused(
    tmp_path: Path, migrate: Migrate
) -> None:
    path = db.create_legacy_db(tmp_path / "pending.db")
    with db.connect(path) as conn:
        db.order(
            conn,
            id=1,
            status="FILLED",
            order_id="F1",
            price_cents=100,
            executed_at="2025-10-01 10:00:00",
        )
        db.position(conn, pending_execution_id=1)
    result = migrate("run", "--force", "--database-url", url(path))
    assert result.exit_code == 1
    assert "trade_accumulators row symbol='AAPL', column pending_execution_id" in result.output
    assert "is FILLED; a pending execution must be PENDING or SUBMITTED" in result.output
