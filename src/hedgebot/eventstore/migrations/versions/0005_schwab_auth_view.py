"""SchwabAuth view (owner: brokers.schwab package).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# The reference's table: one row, view_id 'schwab', payload = the SchwabAuth state with
# encrypted tokens only. No generated columns (SPEC §5).
#
# schwab_order_journal is bookkeeping of the Schwab adapter, not a view: one row per
# placement idempotency key (first attempt time, broker order id), so a placement
# retried after a crash finds its order instead of sending a second one. Its rows
# have the view shape so that every store backend can write them.
SQLITE = [
    """CREATE TABLE IF NOT EXISTS schwab_auth_view (
    view_id TEXT PRIMARY KEY CHECK (view_id = 'schwab'),
    version BIGINT NOT NULL,
    payload JSON NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS schwab_order_journal (
    view_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    payload JSON NOT NULL
)""",
]

POSTGRES = [
    """CREATE TABLE IF NOT EXISTS schwab_auth_view (
    view_id TEXT PRIMARY KEY CHECK (view_id = 'schwab'),
    version BIGINT NOT NULL,
    payload JSONB NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS schwab_order_journal (
    view_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    payload JSONB NOT NULL
)""",
]


def upgrade() -> None:
    statements = POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS schwab_order_journal")
    op.execute("DROP TABLE IF EXISTS schwab_auth_view")
