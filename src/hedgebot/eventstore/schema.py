"""Schema management: versioned Alembic migrations applied at startup or by `db upgrade`."""

from __future__ import annotations

import sqlite3
import threading
import time
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
        with _UPGRADE_LOCK:
            if url.kind == "sqlite":
                assert url.path is not None
                if url.path != ":memory:":
                    Path(url.path).parent.mkdir(parents=True, exist_ok=True)
                _enable_wal(url.path)
            command.upgrade(_config(url), revision)
        current = current_revision(url)
    except OSError as exc:
        raise SchemaError(f"cannot create the database {url.redacted()}: {exc.strerror}") from exc
    except (sqlite3.Error, SQLAlchemyError, CommandError) as exc:
        raise SchemaError(f"cannot upgrade {url.redacted()}: {_one_line(exc)}") from exc
    return current or ""


def _enable_wal(path: str, patience: float = 10.0) -> None:
    """Switch the file to WAL mode (a persistent property of the file).

    Two processes doing this to a new file at once can meet in a lock SQLite resolves
    by answering "database is locked" at once, without waiting on the busy timeout;
    the switch is then retried until ``patience`` seconds have passed.
    """
    deadline = time.monotonic() + patience
    delay = 0.01
    while True:
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() + delay > deadline:
                raise
        finally:
            conn.close()
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


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
