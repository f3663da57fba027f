"""Schema management: versioned Alembic migrations applied at startup or by `db upgrade`."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from hedgebot.eventstore.dburl import DatabaseUrl, parse_database_url

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


def upgrade(database_url: str | DatabaseUrl, revision: str = "head") -> str:
    """Bring the database to ``revision``; returns the revision it is at afterwards.

    All pending migrations apply in one transaction (a failure changes nothing). For
    SQLite the file is created if missing and switched to WAL mode first (a
    persistent property of the file).
    """
    url = parse_database_url(database_url) if isinstance(database_url, str) else database_url
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
    return current or ""


def current_revision(database_url: str | DatabaseUrl) -> str | None:
    url = parse_database_url(database_url) if isinstance(database_url, str) else database_url
    engine = create_engine(url.sqlalchemy_url())
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
