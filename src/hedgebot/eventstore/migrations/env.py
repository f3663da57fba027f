"""Alembic environment for hedgebot's schema (raw SQL migrations, no ORM metadata).

All pending migrations run in one transaction, so a failing upgrade leaves the
database exactly as it was. Python's sqlite3 module (3.11) does not open a
transaction before DDL by itself, so for SQLite the driver's own transaction
handling is switched off and SQLAlchemy's ``begin`` issues ``BEGIN IMMEDIATE``: that
makes the DDL transactional and also serialises two processes upgrading the same
file at once (the second waits, then finds the schema already at head).
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

config = context.config

#: how long a second upgrader waits for the first one's lock (seconds)
SQLITE_LOCK_TIMEOUT = 60.0


def _make_sqlite_transactional(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no database URL given to the migration environment")
    is_sqlite = url.startswith("sqlite")
    engine = create_engine(url, connect_args={"timeout": SQLITE_LOCK_TIMEOUT} if is_sqlite else {})
    if is_sqlite:
        _make_sqlite_transactional(engine)
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=None, transactional_ddl=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()
