"""Read and validate a whole legacy database (read-only), table by table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hedgebot.migration import legacy
from hedgebot.migration.legacy import LegacyLayout
from hedgebot.migration.progress import ProgressReporter
from hedgebot.migration.reals import RealConverter
from hedgebot.migration.records import LegacyData
from hedgebot.migration.validation import Validator


def read_legacy(
    conn: sqlite3.Connection,
    layout: LegacyLayout,
    progress: ProgressReporter,
    reals: RealConverter | None = None,
) -> LegacyData:
    """Every legacy row, validated; raises `LegacyDataError` listing the bad cells.

    Orders are validated before positions, because a position's pending execution
    must name an open order of the same symbol.
    """
    converter = reals or RealConverter()
    validator = Validator(layout, converter)
    conn.execute("BEGIN")  # one consistent snapshot of all tables
    try:
        trade_rows = legacy.read_onchain_trades(conn, layout)
        order_rows = legacy.read_offchain_orders(conn, layout)
        position_rows = legacy.read_accumulators(conn, layout)
        auth_rows = legacy.read_schwab_auth(conn, layout)
        max_execution_id = legacy.max_offchain_id(conn, layout)
    finally:
        conn.execute("COMMIT")

    progress.start("read:trades", f"validate {legacy.ONCHAIN_TRADES}", len(trade_rows))
    trades = validator.trades(trade_rows)
    progress.finish("read:trades")
    progress.start("read:orders", f"validate {layout.offchain_table}", len(order_rows))
    orders = validator.orders(order_rows)
    progress.finish("read:orders")
    progress.start("read:positions", f"validate {legacy.TRADE_ACCUMULATORS}", len(position_rows))
    positions = validator.positions(position_rows, orders)
    progress.finish("read:positions")
    auth, notes = validator.auth(auth_rows)
    validator.problems.raise_if_any()

    if validator.truncated_timestamps:
        notes.append(
            f"{validator.truncated_timestamps} timestamps had more than 6 fraction digits "
            "(nanoseconds); they are kept to the microsecond"
        )
    if converter.adjusted:
        notes.append(
            f"{converter.adjusted} REALs are written with more digits than their shortest "
            "repr, because SQLite reads the shortest one as a different REAL"
        )
    for table, columns in layout.missing_optional.items():
        notes.append(f"{table} has no {', '.join(columns)} column(s): imported as NULL")
    return LegacyData(
        trades=trades,
        positions=positions,
        orders=orders,
        auth=auth,
        offchain_table=layout.offchain_table,
        max_execution_id=max_execution_id,
        notes=notes,
        raw_trades={int(r[1]): r for r in trade_rows if isinstance(r[1], int)},
        raw_orders={int(r[1]): r for r in order_rows if isinstance(r[1], int)},
        raw_positions={str(r[1]): r for r in position_rows},
    )


def open_legacy(database_url: str) -> tuple[Path, sqlite3.Connection, LegacyLayout]:
    """The legacy file, a read-only connection to it and its layout."""
    path = legacy.legacy_path(database_url)
    conn = legacy.open_read_only(path)
    try:
        layout = legacy.detect_layout(conn)
    except BaseException:
        conn.close()
        raise
    return path, conn, layout
