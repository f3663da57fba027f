"""Schema management: versioned Alembic migrations applied at startup or by `db upgrade`."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError

from hedgebot.eventstore.dburl import DatabaseUrl, parse_database_url
from hedgebot.eventstore.errors import EventStoreError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# Alembic keeps its migration context in module globals: one upgrade at a time per
# process. Across processes the migration transaction itself serialises upgraders.
_UPGRADE_LOCK = threading.Lock()


def _config(url: DatabaseUrl) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.sqlalchemy_url().replace("%", "%%"))
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(_config(DatabaseUrl("sqlite", ":memory:", ":memory:")))
    head = script.get_current_head()
    assert head is not None
    return head


class SchemaError(EventStoreError):
    """The schema could not be brought up to date (the message is one line)."""


def upgrade(database_url: str | DatabaseUrl, revision: str = "head") -> str:
    """Bring the database to ``revision``; returns the revision it is at afterwards.

    All pending migrations apply in one transaction (a failure changes nothing). For
    SQLite the file is created if missing and switched to WAL mode first (a
    persistent property of the file). Failures are a one-line `SchemaError` naming
    the database (without its password).
    """
    url = parse_database_url(database_url) if isinstance(database_url, str) else database_url
    try:
        if url.kind == "sqlite":
            assert url.path is not None
            if url.path != ":memory:":
                Path(url.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(url.path)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
            finally:
                conn.close()
        with _UPGRADE_LOCK:
            command.upgrade(_config(url), revision)
        current = current_revision(url)
    except OSError as exc:
        raise SchemaError(f"cannot create the database {url.redacted()}: {exc.strerror}") from exc
    except (sqlite3.Error, SQLAlchemyError, CommandError) as exc:
        raise SchemaError(f"cannot upgrade {url.redacted()}: {_one_line(exc)}") from exc
    return current or ""


def _one_line(exc: BaseException) -> str:
    """The driver's own message, first line only (SQLAlchemy appends hints and SQL)."""
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def current_revision(database_url: str | DatabaseUrl) -> str | None:
    url = parse_database_url(database_url) if isinstance(database_url, str) else database_url
    engine = create_engine(url.sqlalchemy_url())
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
