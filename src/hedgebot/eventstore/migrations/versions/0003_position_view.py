"""Position view (owner: position package): ``position_view`` replaces ``trade_accumulators``.

Revision ID: 0003
Revises: 0002

Generated columns reproduce the legacy column names and formats (SPEC §5): quantities
as REAL (DOUBLE PRECISION on PostgreSQL, where REAL is only 4 bytes), the pending
execution id as an integer, ``last_updated`` as ``YYYY-MM-DD HH:MM:SS`` UTC text, plus
``threshold_type`` ('Shares' | 'DollarValue') and ``threshold_value``.

PostgreSQL needs immutable expressions, and a text-to-timestamptz cast is not; the
view payload's timestamps are always written by hedgebot's codec as UTC
``YYYY-MM-DDTHH:MM:SS[.f]Z``, so the first 19 characters with ``T`` replaced by a space
are exactly what SQLite's ``datetime()`` returns for them.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXED = ("symbol", "net_position", "last_updated")

SQLITE_TABLE = """CREATE TABLE IF NOT EXISTS position_view (
    view_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    payload JSON NOT NULL,
    symbol TEXT GENERATED ALWAYS AS (json_extract(payload, '$.symbol')) STORED,
    net_position REAL GENERATED ALWAYS AS
        (CAST(json_extract(payload, '$.net') AS REAL)) STORED,
    accumulated_long REAL GENERATED ALWAYS AS
        (CAST(json_extract(payload, '$.accumulated_long') AS REAL)) STORED,
    accumulated_short REAL GENERATED ALWAYS AS
        (CAST(json_extract(payload, '$.accumulated_short') AS REAL)) STORED,
    pending_execution_id INTEGER GENERATED ALWAYS AS
        (json_extract(payload, '$.pending_execution_id')) STORED,
    last_updated TEXT GENERATED ALWAYS AS
        (datetime(json_extract(payload, '$.last_updated'))) STORED,
    threshold_type TEXT GENERATED ALWAYS AS (CASE
        WHEN json_extract(payload, '$.threshold.Shares') IS NOT NULL THEN 'Shares'
        WHEN json_extract(payload, '$.threshold.DollarValue') IS NOT NULL THEN 'DollarValue'
        END) STORED,
    threshold_value REAL GENERATED ALWAYS AS (CAST(COALESCE(
        json_extract(payload, '$.threshold.Shares'),
        json_extract(payload, '$.threshold.DollarValue')) AS REAL)) STORED
)"""

POSTGRES_TABLE = """CREATE TABLE IF NOT EXISTS position_view (
    view_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    payload JSONB NOT NULL,
    symbol TEXT GENERATED ALWAYS AS (payload ->> 'symbol') STORED,
    net_position DOUBLE PRECISION GENERATED ALWAYS AS
        (CAST(payload ->> 'net' AS DOUBLE PRECISION)) STORED,
    accumulated_long DOUBLE PRECISION GENERATED ALWAYS AS
        (CAST(payload ->> 'accumulated_long' AS DOUBLE PRECISION)) STORED,
    accumulated_short DOUBLE PRECISION GENERATED ALWAYS AS
        (CAST(payload ->> 'accumulated_short' AS DOUBLE PRECISION)) STORED,
    pending_execution_id BIGINT GENERATED ALWAYS AS
        (CAST(payload ->> 'pending_execution_id' AS BIGINT)) STORED,
    last_updated TEXT GENERATED ALWAYS AS
        (replace(left(payload ->> 'last_updated', 19), 'T', ' ')) STORED,
    threshold_type TEXT GENERATED ALWAYS AS (CASE
        WHEN payload -> 'threshold' ->> 'Shares' IS NOT NULL THEN 'Shares'
        WHEN payload -> 'threshold' ->> 'DollarValue' IS NOT NULL THEN 'DollarValue'
        END) STORED,
    threshold_value DOUBLE PRECISION GENERATED ALWAYS AS (CAST(COALESCE(
        payload -> 'threshold' ->> 'Shares',
        payload -> 'threshold' ->> 'DollarValue') AS DOUBLE PRECISION)) STORED
)"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(POSTGRES_TABLE if dialect == "postgresql" else SQLITE_TABLE)
    for column in INDEXED:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS idx_position_view_{column} ON position_view({column})"
        )


def downgrade() -> None:
    for column in INDEXED:
        op.execute(f"DROP INDEX IF EXISTS idx_position_view_{column}")
    op.execute("DROP TABLE IF EXISTS position_view")
