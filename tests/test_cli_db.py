"""`hedgebot db upgrade`: creates exactly the SPEC §3.1 tables, in WAL mode, idempotently."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hedgebot.cli import app
from hedgebot.eventstore import schema

# (name, declared type, NOT NULL, position in the primary key) — SPEC §3.1
EVENTS_COLUMNS = [
    ("aggregate_type", "TEXT", 1, 1),
    ("aggregate_id", "TEXT", 1, 2),
    ("sequence", "BIGINT", 1, 3),
    ("event_type", "TEXT", 1, 0),
    ("event_version", "TEXT", 1, 0),
    ("payload", "JSON", 1, 0),
    ("metadata", "JSON", 1, 0),
]
SNAPSHOTS_COLUMNS = [
    ("aggregate_type", "TEXT", 1, 1),
    ("aggregate_id", "TEXT", 1, 2),
    ("last_sequence", "BIGINT", 1, 0),
    ("payload", "JSON", 1, 0),
    ("timestamp", "TEXT", 1, 0),
]
# index name -> (unique, origin, columns): "pk" = the primary key's automatic index
EVENTS_INDEXES = {
    "sqlite_autoindex_events_1": (1, "pk", ["aggregate_type", "aggregate_id", "sequence"]),
    "idx_events_type": (0, "c", ["aggregate_type"]),
    "idx_events_aggregate": (0, "c", ["aggregate_id"]),
}
SNAPSHOTS_INDEXES = {
    "sqlite_autoindex_snapshots_1": (1, "pk", ["aggregate_type", "aggregate_id"]),
}

HEDGEBOT = str(Path(sys.executable).with_name("hedgebot"))


def upgrade(url: str) -> str:
    result = CliRunner().invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    return result.output


def columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, int, int]]:
    return [(r[1], r[2], r[3], r[5]) for r in conn.execute(f"PRAGMA table_info({table})")]


def indexes(conn: sqlite3.Connection, table: str) -> dict[str, tuple[int, str, list[str]]]:
    found = {}
    for _, name, unique, origin, _partial in conn.execute(f"PRAGMA index_list({table})"):
        info = conn.execute(f"PRAGMA index_info({name})").fetchall()
        found[name] = (unique, origin, [r[2] for r in sorted(info)])
    return found


def test_db_upgrade_creates_exactly_the_spec_event_store_tables(tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    output = upgrade(f"sqlite:///{database}")
    assert f"schema revision {schema.head_revision()}" in output

    conn = sqlite3.connect(database)
    try:
        assert columns(conn, "events") == EVENTS_COLUMNS
        assert indexes(conn, "events") == EVENTS_INDEXES
        assert columns(conn, "snapshots") == SNAPSHOTS_COLUMNS
        assert indexes(conn, "snapshots") == SNAPSHOTS_INDEXES
        # an ordinary rowid table: the rowid is the global position
        events_sql = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type='table' AND name='events'"
        ).fetchone()[0]
        assert "WITHOUT ROWID" not in events_sql.upper()
        assert "AUTOINCREMENT" not in events_sql.upper()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"hedgebot_counters", "hedgebot_checkpoints", "alembic_version"} <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_db_upgrade_twice_is_a_no_op(tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    url = f"sqlite:///{database}"
    upgrade(url)

    def dump() -> list[tuple[str, ...]]:
        conn = sqlite3.connect(database)
        try:
            return [
                *conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"),
                *conn.execute("SELECT version_num FROM alembic_version"),
            ]
        finally:
            conn.close()

    before = dump()
    assert f"schema revision {schema.head_revision()}" in upgrade(url)
    assert dump() == before


def test_db_upgrade_reads_the_url_from_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "env.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite://{database}")
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert database.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db.example/hedge", "unsupported database URL scheme 'mysql'"),
        ("sqlite://", "SQLite URL without a file path"),
        ("sqlite:///proc/no/such/dir/x.db", "cannot create the database"),
        ("postgresql://hedgebot:s3cret@127.0.0.1:1/nowhere", "cannot upgrade postgresql://"),
    ],
)
def test_a_bad_url_is_a_one_line_error_and_a_failing_exit_code(url: str, message: str) -> None:
    result = subprocess.run(
        [HEDGEBOT, "db", "upgrade", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "s3cret" not in result.stderr
