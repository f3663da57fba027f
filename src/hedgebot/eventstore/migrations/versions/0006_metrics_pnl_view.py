"""PnL view (owner: metrics_pnl package).

``metrics_pnl_view`` carries the legacy ``metrics_pnl`` columns as generated columns
with the legacy value formats (SPEC §5), so a dashboard query keeps working with only
the table name changed. ``sort_key`` is extra: the exact PnL order (time to the
microsecond, venue, id), for "latest row per symbol" without second-resolution ties.
It is deliberately not indexed: an index on (symbol, sort_key) doubled the cost of
writing a row (random inserts of long keys), and the (symbol, timestamp) index already
narrows every per-symbol query to that symbol's rows.
``metrics_pnl_state`` is the view's per-symbol bookkeeping (open lots, totals, newest
row), one row per base symbol.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Callable

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_REAL = (
    "quantity",
    "price_per_share",
    "realized_pnl",
    "cumulative_pnl",
    "net_position_after",
)
_ORDER = (
    "symbol",
    "timestamp",
    "trade_type",
    "trade_id",
    "trade_direction",
    "quantity",
    "price_per_share",
    "realized_pnl",
    "cumulative_pnl",
    "net_position_after",
    "sort_key",
)


def _sqlite_column(name: str) -> str:
    if name in _REAL:
        expression = f"CAST(json_extract(payload, '$.{name}') AS REAL)"
        return f"    {name} REAL GENERATED ALWAYS AS ({expression}) STORED"
    return f"    {name} TEXT GENERATED ALWAYS AS (json_extract(payload, '$.{name}')) STORED"


def _postgres_column(name: str) -> str:
    if name in _REAL:
        expression = f"(payload->>'{name}')::double precision"
        return f"    {name} DOUBLE PRECISION GENERATED ALWAYS AS ({expression}) STORED"
    return f"    {name} TEXT GENERATED ALWAYS AS (payload->>'{name}') STORED"


def _view_table(payload_type: str, column: Callable[[str], str]) -> str:
    columns = ",\n".join(column(name) for name in _ORDER)
    return (
        "CREATE TABLE IF NOT EXISTS metrics_pnl_view (\n"
        "    view_id TEXT PRIMARY KEY,\n"
        "    version BIGINT NOT NULL,\n"
        f"    payload {payload_type} NOT NULL,\n"
        f"{columns}\n)"
    )


def _state_table(payload_type: str) -> str:
    return (
        "CREATE TABLE IF NOT EXISTS metrics_pnl_state (\n"
        "    view_id TEXT PRIMARY KEY,\n"
        "    version BIGINT NOT NULL,\n"
        f"    payload {payload_type} NOT NULL\n)"
    )


_INDEXES = [
    "CREATE INDEX IF NOT EXISTS idx_metrics_pnl_view_symbol_timestamp "
    "ON metrics_pnl_view(symbol, timestamp)",
    "CREATE INDEX IF NOT EXISTS idx_metrics_pnl_view_timestamp ON metrics_pnl_view(timestamp)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        statements = [_view_table("JSONB", _postgres_column), _state_table("JSONB")]
    else:
        statements = [_view_table("JSON", _sqlite_column), _state_table("JSON")]
    for statement in [*statements, *_INDEXES]:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS metrics_pnl_state")
    op.execute("DROP TABLE IF EXISTS metrics_pnl_view")
