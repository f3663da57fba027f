"""OffchainOrder view (owner: offchain_order package).

``offchain_trade_view`` replaces the legacy ``offchain_trades`` table: the generated
columns carry its column names and value formats (SPEC §5), extracted from the row
payload that `hedgebot.offchain_order.view` writes. ``order_id`` repeats
``broker_order_id`` (the legacy table had both). ``shares`` is NUMERIC so whole
shares read back as the legacy INTEGER and fractional ones as REAL.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "offchain_trade_view"

# (column, payload key, SQLite type, PostgreSQL type)
COLUMNS = [
    ("id", "id", "INTEGER", "BIGINT"),
    ("symbol", "symbol", "TEXT", "TEXT"),
    ("shares", "shares", "NUMERIC", "NUMERIC"),
    ("direction", "direction", "TEXT", "TEXT"),
    ("broker", "broker", "TEXT", "TEXT"),
    ("broker_order_id", "broker_order_id", "TEXT", "TEXT"),
    ("order_id", "broker_order_id", "TEXT", "TEXT"),
    ("price_cents", "price_cents", "INTEGER", "BIGINT"),
    ("status", "status", "TEXT", "TEXT"),
    ("executed_at", "executed_at", "TEXT", "TEXT"),
]

INDEXED = ["id", "symbol", "broker", "status"]


def _sqlite_column(name: str, key: str, sql_type: str) -> str:
    return f"{name} {sql_type} GENERATED ALWAYS AS (json_extract(payload, '$.{key}')) STORED"


def _postgres_column(name: str, key: str, sql_type: str) -> str:
    expr = f"payload ->> '{key}'"
    if sql_type != "TEXT":
        expr = f"CAST({expr} AS {sql_type})"
    return f"{name} {sql_type} GENERATED ALWAYS AS ({expr}) STORED"


def create_table_sql(dialect: str) -> str:
    if dialect == "postgresql":
        payload_type = "JSONB"
        columns = [_postgres_column(name, key, pg) for name, key, _, pg in COLUMNS]
    else:
        payload_type = "JSON"
        columns = [_sqlite_column(name, key, lite) for name, key, lite, _ in COLUMNS]
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
