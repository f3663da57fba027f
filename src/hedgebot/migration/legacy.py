"""The legacy CRUD database: opening it, recognising its layout, reading its rows.

Layouts seen in the field (reference/es-and-migration.md §6; the legacy bot's own
migrations are the fixtures in tests/migration/legacy_ddl/):

* final (from 2025-10): ``onchain_trades`` with ``block_timestamp``, gas and Pyth
  columns; ``offchain_trades`` (broker, broker_order_id, order_id);
  ``trade_accumulators`` with ``net_position``; ``schwab_auth`` with
  ``encryption_version``;
* older: ``schwab_executions`` instead of ``offchain_trades`` (Schwab only, one
  ``order_id``), none of the optional ``onchain_trades`` columns, no
  ``encryption_version`` (tokens were plaintext then), and between 2025-09-03 and
  2025-09-19 no ``net_position`` column.

Readers are tolerant of missing *optional* columns (read as NULL) and strict about
values (`validation` checks every cell). Reading never writes: the connection is
opened read-only (``mode=ro``), so a dry run leaves the file's bytes unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hedgebot.eventstore.dburl import DatabaseUrl, DatabaseUrlError, parse_database_url
from hedgebot.migration.errors import UsageProblem

ONCHAIN_TRADES = "onchain_trades"
TRADE_ACCUMULATORS = "trade_accumulators"
OFFCHAIN_TRADES = "offchain_trades"
SCHWAB_EXECUTIONS = "schwab_executions"
SCHWAB_AUTH = "schwab_auth"
EVENT_QUEUE = "event_queue"

ONCHAIN_REQUIRED = (
    "id",
    "tx_hash",
    "log_index",
    "symbol",
    "amount",
    "direction",
    "price_usdc",
    "created_at",
)
ONCHAIN_OPTIONAL = (
    "block_timestamp",
    "gas_used",
    "effective_gas_price",
    "pyth_price",
    "pyth_confidence",
    "pyth_exponent",
    "pyth_publish_time",
)
ACCUMULATOR_REQUIRED = (
    "symbol",
    "accumulated_long",
    "accumulated_short",
    "pending_execution_id",
    "last_updated",
)
ACCUMULATOR_OPTIONAL = ("net_position",)
OFFCHAIN_REQUIRED = ("id", "symbol", "shares", "direction", "price_cents", "status", "executed_at")
OFFCHAIN_OPTIONAL = ("broker", "broker_order_id", "order_id")
AUTH_REQUIRED = (
    "id",
    "access_token",
    "access_token_fetched_at",
    "refresh_token",
    "refresh_token_fetched_at",
)
AUTH_OPTIONAL = ("encryption_version",)


@dataclass(frozen=True)
class TableLayout:
    name: str
    columns: frozenset[str]

    def has(self, column: str) -> bool:
        return column in self.columns


@dataclass(frozen=True)
class LegacyLayout:
    """Which legacy tables and optional columns this database has."""

    onchain: TableLayout
    accumulators: TableLayout
    offchain: TableLayout  # offchain_trades, or schwab_executions in older databases
    auth: TableLayout
    has_event_queue: bool
    missing_optional: dict[str, list[str]] = field(default_factory=dict)

    @property
    def offchain_table(self) -> str:
        return self.offchain.name

    def describe(self) -> str:
        parts = [f"orders from {self.offchain.name}"]
        for table, columns in self.missing_optional.items():
            if columns:
                parts.append(f"{table} without {', '.join(columns)}")
        return "; ".join(parts)


def legacy_path(database_url: str) -> Path:
    """The legacy SQLite file named by ``--database-url`` (which must exist)."""
    try:
        url: DatabaseUrl = parse_database_url(database_url)
    except DatabaseUrlError as exc:
        raise UsageProblem(f"--database-url: {exc}") from None
    if url.kind != "sqlite" or url.path is None:
        raise UsageProblem(
            "--database-url must name the legacy SQLite database (sqlite:PATH); "
            "use --event-store-url for a PostgreSQL target"
        )
    if url.path == ":memory:":
        raise UsageProblem("--database-url: an in-memory database has no legacy data")
    path = Path(url.path)
    if not path.is_file():
        raise UsageProblem(f"--database-url: no such database file: {path}")
    return path


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection: no schema change, no write, not even a journal-mode switch."""
    uri = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> frozenset[str] | None:
    rows = conn.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchall()
    return frozenset(str(r[0]) for r in rows) or None


def detect_layout(conn: sqlite3.Connection) -> LegacyLayout:
    """Recognise the legacy layout or explain what is missing (a usage problem)."""
    try:
        onchain = _columns(conn, ONCHAIN_TRADES)
    except sqlite3.DatabaseError as exc:
        raise UsageProblem(f"--database-url: not a readable SQLite database ({exc})") from None
    accumulators = _columns(conn, TRADE_ACCUMULATORS)
    offchain_name = OFFCHAIN_TRADES
    offchain = _columns(conn, OFFCHAIN_TRADES)
    if offchain is None:
        offchain_name = SCHWAB_EXECUTIONS
        offchain = _columns(conn, SCHWAB_EXECUTIONS)
    auth = _columns(conn, SCHWAB_AUTH)
    missing_tables = [
        name
        for name, cols in (
            (ONCHAIN_TRADES, onchain),
            (TRADE_ACCUMULATORS, accumulators),
            ("offchain_trades (or schwab_executions)", offchain),
            (SCHWAB_AUTH, auth),
        )
        if cols is None
    ]
    if missing_tables:
        raise UsageProblem(
            "--database-url: not a legacy hedging-bot database, missing table(s): "
            + ", ".join(missing_tables)
        )
    assert onchain is not None and accumulators is not None
    assert offchain is not None and auth is not None
    offchain_required: Sequence[str] = OFFCHAIN_REQUIRED
    if offchain_name == SCHWAB_EXECUTIONS:
        offchain_required = (*OFFCHAIN_REQUIRED, "order_id")
    problems: list[str] = []
    for table, cols, required in (
        (ONCHAIN_TRADES, onchain, ONCHAIN_REQUIRED),
        (TRADE_ACCUMULATORS, accumulators, ACCUMULATOR_REQUIRED),
        (offchain_name, offchain, offchain_required),
        (SCHWAB_AUTH, auth, AUTH_REQUIRED),
    ):
        problems.extend(f"{table}.{c}" for c in required if c not in cols)
    if offchain_name == OFFCHAIN_TRADES and not {"broker_order_id", "order_id"} & offchain:
        problems.append("offchain_trades.broker_order_id (or order_id)")
    if problems:
        raise UsageProblem(
            "--database-url: legacy table(s) lack required column(s): " + ", ".join(problems)
        )
    missing_optional = {
        ONCHAIN_TRADES: [c for c in ONCHAIN_OPTIONAL if c not in onchain],
        TRADE_ACCUMULATORS: [c for c in ACCUMULATOR_OPTIONAL if c not in accumulators],
        offchain_name: [
            c for c in OFFCHAIN_OPTIONAL if c not in offchain and offchain_name == OFFCHAIN_TRADES
        ],
        SCHWAB_AUTH: [c for c in AUTH_OPTIONAL if c not in auth],
    }
    queue = _columns(conn, EVENT_QUEUE)
    has_queue = queue is not None and {"tx_hash", "log_index", "block_number"} <= queue
    return LegacyLayout(
        onchain=TableLayout(ONCHAIN_TRADES, onchain),
        accumulators=TableLayout(TRADE_ACCUMULATORS, accumulators),
        offchain=TableLayout(offchain_name, offchain),
        auth=TableLayout(SCHWAB_AUTH, auth),
        has_event_queue=has_queue,
        missing_optional={k: v for k, v in missing_optional.items() if v},
    )


def _select(table: TableLayout, columns: Sequence[str]) -> str:
    """Select ``columns`` in order, NULL for the optional ones this layout lacks."""
    parts = [c if table.has(c) else f"NULL AS {c}" for c in columns]
    # Table and column names come from this module's constants, never from input.
    return f"SELECT rowid, {', '.join(parts)} FROM {table.name}"  # noqa: S608


ONCHAIN_COLUMNS = (*ONCHAIN_REQUIRED, *ONCHAIN_OPTIONAL, "block_number")
ACCUMULATOR_COLUMNS = (*ACCUMULATOR_REQUIRED, *ACCUMULATOR_OPTIONAL)
OFFCHAIN_COLUMNS = (*OFFCHAIN_REQUIRED, *OFFCHAIN_OPTIONAL)
AUTH_COLUMNS = (*AUTH_REQUIRED, *AUTH_OPTIONAL)

Row = tuple[object, ...]


def read_onchain_trades(conn: sqlite3.Connection, layout: LegacyLayout) -> list[Row]:
    """All trades, ``(rowid, *ONCHAIN_COLUMNS)``, in id order.

    ``block_number`` is not a column of ``onchain_trades``; it comes from the legacy
    ``event_queue`` row of the same log when the database still has it (else NULL).
    """
    return conn.execute(onchain_trades_select(layout) + " ORDER BY t.id").fetchall()


def onchain_trades_select(layout: LegacyLayout) -> str:
    """The query of `read_onchain_trades`, unordered (verification joins it with the
    view when both live in one database)."""
    table = layout.onchain
    parts = [f"t.{c}" if table.has(c) else f"NULL AS {c}" for c in ONCHAIN_COLUMNS[:-1]]
    if layout.has_event_queue:
        block = (
            "(SELECT q.block_number FROM event_queue q WHERE q.tx_hash = lower(t.tx_hash) "
            "AND q.log_index = t.log_index)"
        )
    else:
        block = "NULL"
    columns = ", ".join(parts)
    return f"SELECT t.rowid, {columns}, {block} AS block_number FROM onchain_trades t"  # noqa: S608


def read_accumulators(conn: sqlite3.Connection, layout: LegacyLayout) -> list[Row]:
    """All positions, ``(rowid, *ACCUMULATOR_COLUMNS)``, in symbol order."""
    sql = _select(layout.accumulators, ACCUMULATOR_COLUMNS) + " ORDER BY symbol"
    return conn.execute(sql).fetchall()


def read_offchain_orders(conn: sqlite3.Connection, layout: LegacyLayout) -> list[Row]:
    """All broker orders, ``(rowid, *OFFCHAIN_COLUMNS)``, in id order."""
    sql = _select(layout.offchain, OFFCHAIN_COLUMNS) + " ORDER BY id"
    return conn.execute(sql).fetchall()


def read_schwab_auth(conn: sqlite3.Connection, layout: LegacyLayout) -> list[Row]:
    """The token rows (at most one, id = 1, in a healthy database)."""
    sql = _select(layout.auth, AUTH_COLUMNS) + " ORDER BY id"
    return conn.execute(sql).fetchall()


def max_offchain_id(conn: sqlite3.Connection, layout: LegacyLayout) -> int:
    """The highest execution id ever handed out by the legacy bot.

    AUTOINCREMENT keeps the high-water mark in ``sqlite_sequence`` even after rows are
    deleted; new hedgebot execution ids go above it so a broker-side client order id is
    never reused.
    """
    table = layout.offchain.name  # one of this module's constants
    row = conn.execute(f"SELECT max(id) FROM {table}").fetchone()  # noqa: S608
    highest = int(row[0]) if row and isinstance(row[0], int) else 0
    has_sequence = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
    ).fetchone()
    if has_sequence:
        for name in {layout.offchain.name, SCHWAB_EXECUTIONS, OFFCHAIN_TRADES}:
            seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (name,)).fetchone()
            if seq and isinstance(seq[0], int):
                highest = max(highest, seq[0])
    return highest
