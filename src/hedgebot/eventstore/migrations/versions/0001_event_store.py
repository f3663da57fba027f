"""Event store core: events, snapshots (the reference's exact layout), counters, checkpoints.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SPEC §3.1: the same columns, key and indexes as the reference (sqlite-es), so a
# database can be read by either implementation.
SQLITE = [
    """CREATE TABLE IF NOT EXISTS events (
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    event_version TEXT NOT NULL,
    payload JSON NOT NULL,
    metadata JSON NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
)""",
    "CREATE INDEX IF NOT EXISTS idx_events_type ON events(aggregate_type)",
    "CREATE INDEX IF NOT EXISTS idx_events_aggregate ON events(aggregate_id)",
    """CREATE TABLE IF NOT EXISTS snapshots (
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    last_sequence BIGINT NOT NULL,
    payload JSON NOT NULL,
    timestamp TEXT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
)""",
    """CREATE TABLE IF NOT EXISTS hedgebot_counters (
    name TEXT PRIMARY KEY NOT NULL,
    next_value BIGINT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS hedgebot_checkpoints (
    name TEXT PRIMARY KEY NOT NULL,
    position BIGINT NOT NULL
)""",
]

# PostgreSQL: the same columns plus a global `position`. `payload`/`metadata` are JSON,
# not JSONB: JSON keeps the text exactly as written, so an event reads back byte for
# byte as the codec produced it. `position` is allocated from the single row of
# `hedgebot_event_position`, whose row lock serialises appending transactions so that
# positions become visible in commit order and are dense (see
# hedgebot.eventstore.postgres and docs/ARCHITECTURE.md, "PostgreSQL").
POSTGRES = [
    """CREATE TABLE IF NOT EXISTS events (
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    event_version TEXT NOT NULL,
    payload JSON NOT NULL,
    metadata JSON NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_events_position ON events(position)",
    "CREATE INDEX IF NOT EXISTS idx_events_type ON events(aggregate_type)",
    "CREATE INDEX IF NOT EXISTS idx_events_aggregate ON events(aggregate_id)",
    """CREATE TABLE IF NOT EXISTS snapshots (
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    last_sequence BIGINT NOT NULL,
    payload JSON NOT NULL,
    timestamp TEXT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
)""",
    """CREATE TABLE IF NOT EXISTS hedgebot_counters (
    name TEXT PRIMARY KEY NOT NULL,
    next_value BIGINT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS hedgebot_checkpoints (
    name TEXT PRIMARY KEY NOT NULL,
    position BIGINT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS hedgebot_event_position (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    last_position BIGINT NOT NULL
)""",
    """INSERT INTO hedgebot_event_position (singleton, last_position)
SELECT TRUE, coalesce(max(position), 0) FROM events
ON CONFLICT (singleton) DO NOTHING""",
]


def upgrade() -> None:
    statements = POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    tables = ["hedgebot_checkpoints", "hedgebot_counters", "snapshots", "events"]
    if op.get_bind().dialect.name == "postgresql":
        tables.insert(0, "hedgebot_event_position")
    for table in tables:
        op.execute(f"DROP TABLE IF EXISTS {table}")
