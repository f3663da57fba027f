"""OnChainTrade view (owner: onchain_trade package).

``onchain_trade_view`` replaces the legacy ``onchain_trades`` table: the generated
columns carry its column names and value formats (SPEC §5), extracted from the row
payload that `hedgebot.onchain_trade.view` writes (REALs as JSON numbers, timestamps
as ``YYYY-MM-DD HH:MM:SS`` text, directions as ``'BUY'``/``'SELL'``).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLE = "onchain_trade_view"

# (column, SQLite type, PostgreSQL type)
COLUMNS = [
    ("id", "INTEGER", "BIGINT"),
    ("tx_hash", "TEXT", "TEXT"),
    ("log_index", "INTEGER", "BIGINT"),
    ("symbol", "TEXT", "TEXT"),
    ("base_symbol", "TEXT", "TEXT"),
    ("amount", "REAL", "DOUBLE PRECISION"),
    ("direction", "TEXT", "TEXT"),
    ("price_usdc", "REAL", "DOUBLE PRECISION"),
    ("block_number", "INTEGER", "BIGINT"),
    ("block_timestamp", "TEXT", "TEXT"),
    ("created_at", "TEXT", "TEXT"),
    ("gas_used", "INTEGER", "BIGINT"),
    ("effective_gas_price", "INTEGER", "BIGINT"),
    ("pyth_price", "REAL", "DOUBLE PRECISION"),
    ("pyth_confidence", "REAL", "DOUBLE PRECISION"),
    ("pyth_exponent", "INTEGER", "BIGINT"),
    ("pyth_publish_time", "TEXT", "TEXT"),
]

INDEXED = ["tx_hash", "symbol", "base_symbol", "direction", "block_number", "created_at"]


def _sqlite_column(name: str, sql_type: str) -> str:
    return f"{name} {sql_type} GENERATED ALWAYS AS (json_extract(payload, '$.{name}')) STORED"


def _postgres_column(name: str, sql_type: str) -> str:
    expr = f"payload ->> '{name}'"
    if sql_type != "TEXT":
        expr = f"CAST({expr} AS {sql_type})"
    return f"{name} {sql_type} GENERATED ALWAYS AS ({expr}) STORED"


def create_table_sql(dialect: str) -> str:
    if dialect == "postgresql":
        payload_type = "JSONB"
        columns = [_postgres_column(name, pg) for name, _, pg in COLUMNS]
    else:
        payload_type = "JSON"
        columns = [_sqlite_column(name, lite) for name, lite, _ in COLUMNS]
    body = ",\n    ".join(
        [
            "view_id TEXT PRIMARY KEY",
            "version BIGINT NOT NULL",
            f"payload {payload_type} NOT NULL",
            *columns,
        ]
    )
    return f"CREATE TABLE IF NOT EXISTS {TABLE} (\n    {body}\n)"


def index_sql() -> list[str]:
    return [
        f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_{column} ON {TABLE}({column})"
        for column in INDEXED
    ]


def upgrade() -> None:
    op.execute(create_table_sql(op.get_bind().dialect.name))
    for statement in index_sql():
        op.execute(statement)


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {TABLE}")
