"""Crash safety (SIGKILL mid-import, then a successful re-run) and a PostgreSQL target."""

from __future__ import annotations

import hashlib
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.migration import legacy_db as db
from tests.migration.conftest import Migrate, event_rows, query, url
from tests.postgres_databases import PostgresServer, unique_name

TRADES = 15_000


def _lines(stream: object, into: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)
    into.put(None)


def test_killing_the_import_mid_write_leaves_the_store_as_before_and_a_rerun_completes(
    tmp_path: Path, migrate: Migrate
) -> None:
    path = db.create_legacy_db(tmp_path / "big.db")
    with db.connect(path) as conn:
        db.bulk(conn, TRADES)
    command = [sys.executable, "-m", "hedgebot.cli", "migrate-to-events", "run", "--force"]
    process = subprocess.Popen(
        [*command, "--database-url", url(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=240)
            assert line is not None, "the import ended before it was killed:\n" + "".join(seen)
            seen.append(line)
            # a progress line within the write: some batches appended and projected,
            # the transaction still open
            if line.startswith("progress write OnChainTrade:") and "%" in line:
                break
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not any("committing" in line for line in seen), "killed too late to prove anything"
    # the import ran with a rollback journal (SqliteEventStore.rollback_journal): the
    # kill left a hot journal, which the next connection rolls back
    assert Path(f"{path}-journal").exists()
    assert event_rows(path) == []
    for table in ("onchain_trade_view", "position_view", "metrics_pnl_view", "hedgebot_counters"):
        assert query(path, f"SELECT count(*) FROM {table}") == [(0,)]

    result = migrate("run", "--force", "--database-url", url(path))
    assert result.exit_code == 0, result.output
    assert len(event_rows(path)) == TRADES + 100
    assert "no differences" in result.output


@pytest.fixture
def empty_postgres(postgres_server: PostgresServer) -> Iterator[str]:
    """A PostgreSQL database without any schema (the import creates it)."""
    name = unique_name()
    database_url = postgres_server.create(name)
    try:
        yield database_url
    finally:
        postgres_server.drop(name)


@pytest.mark.postgres
def test_an_import_into_postgresql_writes_verifies_and_leaves_the_legacy_file_alone(
    desk_db: Path, migrate: Migrate, empty_postgres: str
) -> None:
    before = hashlib.sha256(desk_db.read_bytes()).hexdigest()
    target = ("--database-url", url(desk_db), "--event-store-url", empty_postgres)
    dry = migrate("dry-run", *target)
    assert dry.exit_code == 0, dry.output
    result = migrate("run", "--force", *target)
    assert result.exit_code == 0, result.output
    assert "no differences" in result.output
    assert hashlib.sha256(desk_db.read_bytes()).hexdigest() == before
    with psycopg.connect(empty_postgres) as conn:
        counts = dict(
            conn.execute(
                "SELECT aggregate_type, count(*) FROM events GROUP BY aggregate_type"
            ).fetchall()
        )
        assert counts == {"OnChainTrade": 4, "OffchainOrder": 5, "Position": 3, "SchwabAuth": 1}
        amount = conn.execute(
            "SELECT amount FROM onchain_trade_view WHERE view_id = %s", (f"{db.tx(2)}:3",)
        ).fetchone()
        assert amount == (2 / 3,)
        assert conn.execute(
            "SELECT accumulated_short FROM position_view WHERE view_id = 'MSFT'"
        ).fetchone() == (0.004980021649312365,)
    again = migrate("run", "--force", *target)
    assert again.exit_code == 0, again.output
    assert "nothing to write" in again.output
    verify = migrate("verify-only", *target)
    assert verify.exit_code == 0, verify.output
