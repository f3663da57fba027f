"""Legacy CRUD databases for the import tests, built from the legacy bot's real DDL.

``legacy_ddl/`` holds the legacy bot's own sqlx migrations, verbatim (st0x.liquidity
at 78945ffe). Layouts:

* ``final``: all nine migrations (the layout of every desk since October 2025);
* ``older``: up to 2025-09-03: ``schwab_executions``, no ``net_position`` column, no
  block_timestamp/gas/Pyth/encryption_version columns;
* ``oldest``: the first migration only (``schwab_executions`` and ``net_position``);
* ``unconstrained``: the final layout's tables and column types without any CHECK,
  NOT NULL, UNIQUE or foreign key, to plant values the legacy schema would refuse.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DDL_DIR = Path(__file__).with_name("legacy_ddl")
MIGRATIONS = sorted(DDL_DIR.glob("*.sql"))
LAYOUTS = {
    "final": MIGRATIONS,
    "older": MIGRATIONS[:2],
    "oldest": MIGRATIONS[:1],
}
LEGACY_TABLES = ("onchain_trades", "offchain_trades", "trade_accumulators", "schwab_auth")


def _apply(conn: sqlite3.Connection, files: list[Path]) -> None:
    for file in files:
        conn.executescript(file.read_text())


def create_legacy_db(path: Path, layout: str = "final") -> Path:
    """A legacy database file in ``layout``, as the legacy bot's migrations left it."""
    conn = sqlite3.connect(path)
    try:
        if layout == "unconstrained":
            _create_unconstrained(conn)
        else:
            _apply(conn, LAYOUTS[layout])
        conn.commit()
    finally:
        conn.close()
    return path


def _create_unconstrained(conn: sqlite3.Connection) -> None:
    reference = sqlite3.connect(":memory:")
    _apply(reference, LAYOUTS["final"])
    for table in LEGACY_TABLES:
        columns = reference.execute(
            "SELECT name, type FROM pragma_table_info(?) ORDER BY cid", (table,)
        ).fetchall()
        body = ", ".join(f"{name} {kind}" for name, kind in columns)
        conn.execute(f"CREATE TABLE {table} ({body})")
    reference.close()


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path)
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def tx(n: int) -> str:
    """A distinct, valid transaction hash."""
    return "0x" + f"{n:064x}"


def insert(conn: sqlite3.Connection, table: str, **values: Any) -> int:
    names = ", ".join(values)
    marks = ", ".join("?" * len(values))
    cursor = conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values()))
    return int(cursor.lastrowid or 0)


def trade(conn: sqlite3.Connection, n: int, **overrides: Any) -> int:
    values: dict[str, Any] = {
        "tx_hash": tx(n),
        "log_index": 0,
        "symbol": "AAPL0x",
        "amount": 1.5,
        "direction": "BUY",
        "price_usdc": 150.25,
        "created_at": "2025-10-01 12:00:00",
    }
    values.update(overrides)
    return insert(conn, "onchain_trades", **values)


def order(conn: sqlite3.Connection, table: str = "offchain_trades", **overrides: Any) -> int:
    values: dict[str, Any] = {
        "symbol": "AAPL",
        "shares": 1,
        "direction": "SELL",
        "status": "PENDING",
    }
    values.update(overrides)
    return insert(conn, table, **values)


def position(conn: sqlite3.Connection, **overrides: Any) -> int:
    values: dict[str, Any] = {
        "symbol": "AAPL",
        "accumulated_long": 0.5,
        "accumulated_short": 0.0,
        "last_updated": "2025-10-01 12:00:00",
    }
    values.update(overrides)
    return insert(conn, "trade_accumulators", **values)


ACCESS_TOKEN_HEX = bytes(range(1, 33)).hex()
REFRESH_TOKEN_HEX = bytes(range(33, 65)).hex()


def auth(conn: sqlite3.Connection, **overrides: Any) -> int:
    values: dict[str, Any] = {
        "id": 1,
        "access_token": ACCESS_TOKEN_HEX,
        "access_token_fetched_at": "2025-10-05T08:00:00.123456789+00:00",
        "refresh_token": REFRESH_TOKEN_HEX,
        "refresh_token_fetched_at": "2025-10-04T08:00:00+00:00",
    }
    values.update(overrides)
    return insert(conn, "schwab_auth", **values)


def bulk(conn: sqlite3.Connection, trades: int, positions: int = 100) -> None:
    """Many valid trades over ``positions`` symbols, and their positions (fast inserts)."""
    symbols = [f"S{n:03d}" for n in range(positions)]
    conn.executemany(
        "INSERT INTO onchain_trades (tx_hash, log_index, symbol, amount, direction, "
        "price_usdc, created_at, block_timestamp) VALUES (?, 0, ?, ?, ?, ?, ?, ?)",
        [
            (
                tx(n + 1_000_000),
                f"{symbols[n % positions]}0x",
                0.001 + (n % 997) / 7,
                "BUY" if n % 3 else "SELL",
                10.0 + (n % 389) / 3,
                f"2025-10-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:00",
                f"2025-10-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:00",
            )
            for n in range(trades)
        ],
    )
    conn.executemany(
        "INSERT INTO trade_accumulators (symbol, accumulated_long, accumulated_short, "
        "last_updated) VALUES (?, ?, ?, '2025-10-30 12:00:00')",
        [(s, (n % 10) / 11, (n % 7) / 13) for n, s in enumerate(symbols)],
    )
