"""Schema migrations: atomic upgrades, concurrent upgraders, database URLs."""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from hedgebot.eventstore import schema
from hedgebot.eventstore.dburl import DatabaseUrlError, parse_database_url

FAILING_MIGRATION = '''"""A migration that fails half-way."""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE half_done (x TEXT)")
    op.execute("THIS IS NOT SQL")


def downgrade() -> None:
    pass
'''


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_a_failing_upgrade_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    (scripts / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(schema.MIGRATIONS_DIR / name, scripts / name)
    shutil.copy(
        schema.MIGRATIONS_DIR / "versions" / "0001_event_store.py",
        scripts / "versions" / "0001_event_store.py",
    )
    (scripts / "versions" / "0002_fails.py").write_text(FAILING_MIGRATION)
    database = tmp_path / "x.db"
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{database}")

    with pytest.raises(Exception, match="THIS IS NOT SQL"):
        command.upgrade(config, "head")

    assert _tables(database) == set()
    assert schema.current_revision(f"sqlite://{database}") is None


def _upgrade_in_process(url: str, results: multiprocessing.queues.Queue[str]) -> None:
    results.put(schema.upgrade(url))


def test_two_processes_upgrading_at_once_both_end_at_head(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'race.db'}"
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.queues.Queue[str] = context.Queue()
    processes = [context.Process(target=_upgrade_in_process, args=(url, results)) for _ in "ab"]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    assert [results.get(timeout=10) for _ in processes] == [schema.head_revision()] * 2


def test_two_threads_upgrading_at_once_both_end_at_head(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'race.db'}"
    results: list[object] = []
    barrier = threading.Barrier(2)

    def upgrade() -> None:
        barrier.wait()
        try:
            results.append(schema.upgrade(url))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=upgrade) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == [schema.head_revision()] * 2


def test_upgrade_of_an_up_to_date_database_changes_nothing(sqlite_path: Path) -> None:
    def dump() -> list[tuple[str, ...]]:
        conn = sqlite3.connect(sqlite_path)
        try:
            return list(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        finally:
            conn.close()

    before = dump()
    assert schema.upgrade(f"sqlite://{sqlite_path}") == schema.head_revision()
    assert dump() == before


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/bot.db", "/data/bot.db"),
        ("sqlite://bot.db", "bot.db"),
        ("sqlite:bot.db", "bot.db"),
        ("sqlite:///data/bot.db?mode=rwc", "/data/bot.db"),
        ("/data/bot.db", "/data/bot.db"),
    ],
)
def test_sqlite_urls_follow_the_sqlx_convention(url: str, path: str) -> None:
    parsed = parse_database_url(url)
    assert (parsed.kind, parsed.path) == ("sqlite", path)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("sqlite://", "without a file path"),
        ("mysql://db/x", "unsupported database URL scheme 'mysql'"),
        ("postgresql:///nohost", "without a host"),
    ],
)
def test_bad_database_urls_are_named_errors(url: str, message: str) -> None:
    with pytest.raises(DatabaseUrlError, match=message):
        parse_database_url(url)


def test_a_postgres_password_never_shows_in_the_redacted_url() -> None:
    parsed = parse_database_url("postgresql://bot:s3cret@db.example:5432/hedge")
    assert parsed.kind == "postgresql"
    assert "s3cret" not in parsed.redacted()
    assert parsed.redacted() == "postgresql://bot:***@db.example:5432/hedge"
