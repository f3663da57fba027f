"""SQLite specifics: storage classes the Rust reader needs, opening, locking, processes."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from hedgebot.eventstore import (
    CommandHandler,
    EventStoreError,
    NewEvent,
    Projector,
    TransientStoreError,
)
from hedgebot.eventstore.factory import open_store
from hedgebot.eventstore.sqlite import SqliteEventStore
from tests.eventstore.example_ledger import (
    LEDGER,
    LEDGER_EVENTS,
    LEDGER_VIEW_DDL,
    LedgerView,
    Move,
    Open,
)

NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def test_payload_and_metadata_are_stored_as_text_never_blob(sqlite_store: SqliteEventStore) -> None:
    CommandHandler(sqlite_store, LEDGER, clock=ManualClock(NOW)).execute("a", Open("ä"))
    rows = sqlite_store.query(
        "SELECT typeof(aggregate_id), typeof(sequence), typeof(event_type), "
        "typeof(event_version), typeof(payload), typeof(metadata) FROM events"
    )
    assert rows == [("text", "integer", "text", "text", "text", "text")]


def test_positions_are_the_rowids(sqlite_store: SqliteEventStore) -> None:
    with sqlite_store.transaction() as tx:
        stored = tx.append(
            [
                NewEvent("Ledger", "a", 1, "LedgerEvent::Frozen", "1.0", '"Frozen"'),
                NewEvent("Ledger", "b", 1, "LedgerEvent::Frozen", "1.0", '"Frozen"'),
            ]
        )
    rowids = sqlite_store.query("SELECT rowid FROM events ORDER BY rowid")
    assert [r[0] for r in rowids] == [e.position for e in stored]


def test_opening_a_missing_file_fails_without_creating_it(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(EventStoreError, match="typo.db"):
        SqliteEventStore(str(path))
    assert not path.exists()


def test_opening_a_database_without_the_schema_says_to_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(EventStoreError, match="hedgebot db upgrade"):
        SqliteEventStore(str(path))


def test_the_store_runs_in_wal_mode_with_the_chosen_durability(sqlite_path: Path) -> None:
    for mode, number in (("FULL", 2), ("NORMAL", 1)):
        store = SqliteEventStore(str(sqlite_path), synchronous=mode)
        try:
            assert store.query("PRAGMA journal_mode") == [("wal",)]
            assert store.query("PRAGMA synchronous") == [(number,)]
        finally:
            store.close()
    with pytest.raises(ValueError, match="synchronous"):
        SqliteEventStore(str(sqlite_path), synchronous="SOMETIMES")


def test_a_big_write_can_run_with_a_rollback_journal_and_wal_comes_back(
    sqlite_path: Path,
) -> None:
    store = SqliteEventStore(str(sqlite_path))
    try:
        with store.rollback_journal() as switched:
            assert switched
            assert store.query("PRAGMA journal_mode") == [("delete",)]
            with store.transaction() as tx:
                tx.append([_ledger_row("a")])
        assert store.query("PRAGMA journal_mode") == [("wal",)]
        assert store.query("PRAGMA busy_timeout") == [(10_000,)]
        assert [e.aggregate_id for e in store.read_all(0, 10)] == ["a"]
    finally:
        store.close()


def test_no_rollback_journal_while_another_connection_has_the_file(sqlite_path: Path) -> None:
    store = SqliteEventStore(str(sqlite_path))
    other = SqliteEventStore(str(sqlite_path))
    try:
        other.read_all(0, 1)
        started = time.monotonic()
        with store.rollback_journal() as switched:
            assert not switched
            assert time.monotonic() - started < 2  # refused at once, not after busy_timeout
            assert store.query("PRAGMA journal_mode") == [("wal",)]
            with store.transaction() as tx:
                tx.append([_ledger_row("b")])
        assert store.query("PRAGMA journal_mode") == [("wal",)]
        assert [e.aggregate_id for e in other.read_all(0, 10)] == ["b"]
    finally:
        other.close()
        store.close()


def _die_mid_write(path: str) -> None:
    store = SqliteEventStore(path)
    with store.rollback_journal(), store.transaction() as tx:
        tx.append([_ledger_row(f"x{n}", "p" * 2000) for n in range(3000)])  # spills pages
        os._exit(9)  # killed before the commit


def test_a_crash_in_rollback_journal_mode_leaves_nothing_and_the_file_in_wal_mode(
    sqlite_path: Path,
) -> None:
    process = multiprocessing.get_context("spawn").Process(
        target=_die_mid_write, args=(str(sqlite_path),)
    )
    process.start()
    process.join(60)
    assert process.exitcode == 9
    assert Path(f"{sqlite_path}-journal").exists()  # a hot journal: the write was not in a WAL
    store = SqliteEventStore(str(sqlite_path))
    try:
        assert store.read_all(0, 10) == []
        assert store.query("PRAGMA journal_mode") == [("wal",)]
        assert store.query("PRAGMA integrity_check") == [("ok",)]
    finally:
        store.close()
    assert not Path(f"{sqlite_path}-journal").exists()


def _ledger_row(aggregate_id: str, payload: str = "x") -> NewEvent:
    return NewEvent(
        "Ledger", aggregate_id, 1, "LedgerEvent::Opened", "1.0", f'{{"o":"{payload}"}}', "{}"
    )


def test_open_store_migrates_and_opens_a_new_sqlx_style_url(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "bot.db"
    store = open_store(f"sqlite://{path}")
    try:
        assert store.backend == "sqlite"
        assert store.last_position() == 0
    finally:
        store.close()
    assert path.exists()


def test_sql_errors_leave_as_hedgebot_errors(sqlite_store: SqliteEventStore) -> None:
    with pytest.raises(EventStoreError, match="no such table"):
        sqlite_store.view_get("missing_view", "a")
    with pytest.raises(EventStoreError, match="no such table"), sqlite_store.transaction() as tx:
        tx.view_clear("missing_view")
    assert sqlite_store.last_position() == 0  # the store is still usable


def test_a_writer_that_cannot_get_the_lock_in_time_gets_a_transient_error(
    sqlite_path: Path,
) -> None:
    blocker = sqlite3.connect(sqlite_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    store = SqliteEventStore(str(sqlite_path), busy_timeout_ms=20)
    try:
        with pytest.raises(TransientStoreError, match="locked"), store.transaction():
            pass
        handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW), max_retries=2)
        with pytest.raises(TransientStoreError):
            handler.execute("a", Open("alice"))
        # reads are not blocked by a writer in WAL mode
        assert store.last_position() == 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    CommandHandler(store, LEDGER, clock=ManualClock(NOW)).execute("a", Open("alice"))
    assert store.last_position() == 1
    store.close()


def test_a_writer_waits_for_another_connection_to_finish(sqlite_path: Path) -> None:
    blocker = sqlite3.connect(sqlite_path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    blocker.execute(
        "INSERT INTO events VALUES ('Ledger', 'a', 1, 'LedgerEvent::Frozen', '1.0', "
        "'\"Frozen\"', '{}')"
    )
    store = SqliteEventStore(str(sqlite_path), busy_timeout_ms=30_000)
    outcome: list[object] = []

    def write() -> None:
        try:
            with store.transaction() as tx:
                outcome.append(tx.append([NewEvent("Ledger", "b", 1, "x", "1.0", '"Frozen"')]))
        except BaseException as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    blocker.execute("COMMIT")  # whenever the writer reached BEGIN, it now proceeds
    blocker.close()
    writer.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], list), outcome
    assert [e.aggregate_id for e in store.read_all()] == ["a", "b"]
    assert outcome[0][0].position == 2
    store.close()


def _run_commands(path: str, worker: int, count: int) -> None:
    """One process of the multi-process test: its own connection, same database."""
    store = SqliteEventStore(path, synchronous="NORMAL")
    projector = Projector([LedgerView()], [LEDGER_EVENTS])
    handler = CommandHandler(
        store, LEDGER, clock=ManualClock(NOW), projector=projector, max_retries=10_000
    )
    try:
        handler.execute(f"own-{worker}", Open(f"own-{worker}"))
        for _ in range(count):
            handler.execute("shared", Move(Decimal(1), Direction.BUY))
            handler.execute(f"own-{worker}", Move(Decimal(1), Direction.SELL))
    finally:
        store.close()


def test_processes_writing_the_same_aggregate_lose_and_duplicate_nothing(
    sqlite_path: Path,
) -> None:
    conn = sqlite3.connect(sqlite_path)
    conn.executescript(LEDGER_VIEW_DDL)
    conn.close()
    store = SqliteEventStore(str(sqlite_path))
    projector = Projector([LedgerView()], [LEDGER_EVENTS])
    CommandHandler(store, LEDGER, clock=ManualClock(NOW), projector=projector).execute(
        "shared", Open("shared")
    )
    count, workers = 40, 3
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_run_commands, args=(str(sqlite_path), w, count))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * workers
    handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW))
    assert handler.replay("shared").state.balance == Decimal(count * workers)
    sequences = [e.sequence for e in store.load_stream("Ledger", "shared")]
    assert sequences == list(range(1, count * workers + 2))
    positions = [e.position for e in store.read_all(limit=100_000)]
    assert positions == list(range(1, len(positions) + 1))
    transfer_ids = sorted(
        LEDGER_EVENTS.decode(e).transfer_id
        for e in store.read_all(limit=100_000)
        if e.event_type == "LedgerEvent::Moved"
    )
    assert transfer_ids == list(range(1, 2 * count * workers + 1))
    shared_row = store.view_get("ledger_view", "shared")
    assert shared_row is not None and shared_row.version == count * workers + 1
    store.close()
