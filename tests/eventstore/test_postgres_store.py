"""What only the PostgreSQL backend has to prove (the shared behaviour is in the
contract suite, which runs against it through the ``store`` fixture)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from hedgebot.eventstore import (
    CommandHandler,
    ConcurrencyError,
    EventStoreError,
    NewEvent,
    Projector,
    TransientStoreError,
    schema,
)
from hedgebot.eventstore.factory import open_store
from hedgebot.eventstore.postgres import (
    STAGED_APPEND_MIN,
    PostgresEventStore,
    redact_conninfo,
    translate_placeholders,
)
from hedgebot.eventstore.store import ViewRow
from tests.eventstore.example_ledger import LEDGER, LEDGER_EVENTS, LedgerView, Move, Open
from tests.postgres_databases import PostgresServer, unique_name

pytestmark = pytest.mark.postgres

NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)

LEDGER_VIEW_DDL_POSTGRES = """
CREATE TABLE ledger_view (
    view_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    payload JSONB NOT NULL,
    name TEXT GENERATED ALWAYS AS (payload ->> 'name') STORED,
    balance DOUBLE PRECISION GENERATED ALWAYS AS ((payload ->> 'balance')::double precision) STORED
)
"""


def row(aggregate_id: str, sequence: int, payload: str = '"Frozen"') -> NewEvent:
    return NewEvent("Ledger", aggregate_id, sequence, "LedgerEvent::Frozen", "1.0", payload)


def sql(url: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description is not None else []


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        threading.Event().wait(0.01)


def backends_waiting_on_a_lock(url: str) -> int:
    rows = sql(
        url,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return int(rows[0][0])  # type: ignore[call-overload]


def run_in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["result"] = fn()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


# -- text and order -----------------------------------------------------------


def test_payload_and_metadata_read_back_byte_identical(postgres_store: PostgresEventStore) -> None:
    # JSON (not JSONB) keeps the text as written: key order, spacing, escapes, digits.
    payload = '{"Moved":{"z":"é\\u00e9 ☃","a":1.50,"big":123456789012345678901234567890}}'
    metadata = '{"correlation_id": "x",  "b":[1,2]}'
    event = NewEvent("Ledger", "a", 1, "LedgerEvent::Moved", "1.0", payload, metadata)
    with postgres_store.transaction() as tx:
        tx.append([event])
    [stored] = postgres_store.load_stream("Ledger", "a")
    assert stored.payload == payload
    assert stored.metadata == metadata
    assert postgres_store.read_all()[0].payload == payload


def test_positions_are_dense_and_follow_commit_order(postgres_store: PostgresEventStore) -> None:
    with postgres_store.transaction() as tx:
        first = tx.append([row("a", 1), row("b", 1)])

    def rolled_back() -> None:
        with postgres_store.transaction() as tx:
            tx.append([row("c", 1)])
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        rolled_back()
    with postgres_store.transaction() as tx:
        second = tx.append([row("a", 2)])
    assert [e.position for e in first + second] == [1, 2, 3]
    assert [(e.aggregate_id, e.position) for e in postgres_store.read_all()] == [
        ("a", 1),
        ("b", 2),
        ("a", 3),
    ]
    assert postgres_store.last_position() == 3


def test_an_append_waits_for_an_open_earlier_append_so_readers_never_skip_a_late_commit(
    postgres_store: PostgresEventStore, postgres_url: str
) -> None:
    first_appended = threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with postgres_store.transaction() as tx:
            tx.append([row("early", 1)])
            first_appended.set()
            release_first.wait(15)

    def second() -> None:
        with postgres_store.transaction() as tx:
            tx.append([row("late", 1)])

    first_thread, first_outcome = run_in_thread(first)
    assert first_appended.wait(15)
    second_thread, second_outcome = run_in_thread(second)
    wait_until(lambda: backends_waiting_on_a_lock(postgres_url) == 1, "the second appender waits")
    # Neither event is visible, and the second cannot commit a higher position while
    # the first (lower) one is still open.
    assert postgres_store.read_all() == []
    assert second_thread.is_alive()
    release_first.set()
    first_thread.join(15)
    second_thread.join(15)
    assert "error" not in first_outcome and "error" not in second_outcome
    assert [(e.aggregate_id, e.position) for e in postgres_store.read_all()] == [
        ("early", 1),
        ("late", 2),
    ]


def test_reads_do_not_wait_for_an_open_write_transaction(
    postgres_store: PostgresEventStore,
) -> None:
    with postgres_store.transaction() as tx:
        tx.append([row("a", 1)])
        tx.set_checkpoint("manager", 1)
        assert postgres_store.read_all() == []
        assert postgres_store.get_checkpoint("manager") == 0
        assert [e.aggregate_id for e in tx.read_all()] == ["a"]
    assert postgres_store.get_checkpoint("manager") == 1


def test_a_nested_transaction_is_refused_instead_of_waiting_for_its_own_lock(
    postgres_store: PostgresEventStore,
) -> None:
    with postgres_store.transaction() as outer:
        outer.append([row("a", 1)])
        with pytest.raises(EventStoreError, match="do not nest"):
            postgres_store.transaction().__enter__()
    assert postgres_store.last_position() == 1
    with postgres_store.transaction() as tx:  # the thread may open one again afterwards
        tx.append([row("a", 2)])


# -- concurrency errors ---------------------------------------------------------


def test_a_duplicate_sequence_from_a_concurrent_transaction_is_a_concurrency_error(
    postgres_store: PostgresEventStore, postgres_url: str
) -> None:
    first_appended = threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with postgres_store.transaction() as tx:
            tx.append([row("a", 1)])
            first_appended.set()
            release_first.wait(15)

    def second() -> None:
        with postgres_store.transaction() as tx:
            tx.append([row("a", 1, '"Other"')])

    first_thread, _ = run_in_thread(first)
    assert first_appended.wait(15)
    second_thread, second_outcome = run_in_thread(second)
    wait_until(lambda: backends_waiting_on_a_lock(postgres_url) == 1, "the second appender waits")
    release_first.set()
    first_thread.join(15)
    second_thread.join(15)
    error = second_outcome.get("error")
    assert isinstance(error, ConcurrencyError)
    assert (error.aggregate_type, error.aggregate_id, error.sequence) == ("Ledger", "a", 1)
    assert [e.payload for e in postgres_store.load_stream("Ledger", "a")] == ['"Frozen"']


def test_bulk_appends_are_staged_and_a_duplicate_anywhere_in_them_takes_back_the_whole_append(
    postgres_store: PostgresEventStore,
) -> None:
    size = STAGED_APPEND_MIN * 3
    with postgres_store.transaction() as tx:
        first = tx.append([row(f"agg-{i}", 1) for i in range(size)])
        second = tx.append([row(f"agg-{i}", 2, '{"k":"é"}') for i in range(size)])
    assert [e.position for e in first + second] == list(range(1, 2 * size + 1))
    assert postgres_store.read_all(size, 1)[0].payload == '{"k":"é"}'
    clash_with_store = [row(f"new-{i}", 1) for i in range(size)]
    clash_with_store[size - 7] = row("agg-77", 2)
    repeated_within = [row(f"new-{i}", 1) for i in range(size)]
    repeated_within[size - 3] = row("new-5", 1)
    for batch, clash in ((clash_with_store, ("agg-77", 2)), (repeated_within, ("new-5", 1))):

        def swallow(batch: list[NewEvent] = batch) -> ConcurrencyError:
            with postgres_store.transaction() as tx:
                with pytest.raises(ConcurrencyError) as raised:
                    tx.append(batch)
                return raised.value  # and commit: nothing of the failed append stays

        error = swallow()
        assert (error.aggregate_id, error.sequence) == clash
        assert postgres_store.last_position() == 2 * size
        assert postgres_store.load_stream("Ledger", "new-0") == []
    with postgres_store.transaction() as tx:
        assert tx.append([row("new-0", 1)])[0].position == 2 * size + 1


# -- SQL for view query functions ----------------------------------------------


@pytest.mark.parametrize(
    ("sqlite_style", "psycopg_style"),
    [
        ("SELECT * FROM t WHERE a = ? AND b > ?", "SELECT * FROM t WHERE a = %s AND b > %s"),
        ("SELECT '?', ? FROM t", "SELECT '?', %s FROM t"),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', %s"),
        ('SELECT "odd?name" FROM t WHERE x = ?', 'SELECT "odd?name" FROM t WHERE x = %s'),
        (
            "SELECT x FROM t WHERE s LIKE '5%' AND y = ?",
            "SELECT x FROM t WHERE s LIKE '5%%' AND y = %s",
        ),
        ("SELECT 10 % 3, ? -- why?\n", "SELECT 10 %% 3, %s -- why?\n"),
        ("SELECT /* a ? /* nested ? */ */ ?", "SELECT /* a ? /* nested ? */ */ %s"),
        ("SELECT $$ ? $$, $q$ ' ? $q$, ?", "SELECT $$ ? $$, $q$ ' ? $q$, %s"),
        ("SELECT E'\\' ?', ?", "SELECT E'\\' ?', %s"),
    ],
)
def test_query_placeholders_are_translated_outside_literals_and_comments(
    sqlite_style: str, psycopg_style: str
) -> None:
    assert translate_placeholders(sqlite_style) == psycopg_style


def test_query_runs_question_mark_queries_over_view_tables(
    postgres_store: PostgresEventStore, postgres_url: str
) -> None:
    sql(postgres_url, LEDGER_VIEW_DDL_POSTGRES)
    with postgres_store.transaction() as tx:
        tx.view_put_many(
            "ledger_view",
            [
                ViewRow("a", 1, '{"name":"alice","balance":"2.5"}'),
                ViewRow("b", 1, '{"name":"bob","balance":"-1"}'),
            ],
        )
    rows = postgres_store.query(
        "SELECT name, balance, payload FROM ledger_view WHERE balance > ? AND name LIKE 'a%' "
        "AND '?' = '?'",
        [0],
    )
    assert len(rows) == 1
    name, balance, payload = rows[0]
    assert (name, balance) == ("alice", 2.5)
    assert isinstance(payload, str)  # JSON comes back as text, as from SQLite


def test_view_find_matches_json_strings_only_and_view_all_sorts_by_bytes(
    postgres_store: PostgresEventStore, postgres_url: str
) -> None:
    sql(postgres_url, LEDGER_VIEW_DDL_POSTGRES)
    with postgres_store.transaction() as tx:
        tx.view_put_many(
            "ledger_view",
            [
                ViewRow("b", 1, '{"name":"5"}'),
                ViewRow("a", 2, '{"name":5}'),
                ViewRow("B", 1, '{"name":"x"}'),
                ViewRow("_", 1, '{"other":"5"}'),
            ],
        )
    assert [r.view_id for r in postgres_store.view_find("ledger_view", "name", "5")] == ["b"]
    assert [r.view_id for r in postgres_store.view_all("ledger_view")] == ["B", "_", "a", "b"]
    with pytest.raises(ValueError, match="invalid table name"):
        postgres_store.view_all("ledger_view; DROP TABLE events")


# -- transient failures ---------------------------------------------------------


def terminate_other_backends(url: str) -> int:
    rows = sql(
        url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    return int(rows[0][0])  # type: ignore[call-overload]


def test_reads_survive_pooled_connections_that_the_server_closed(
    postgres_store: PostgresEventStore, postgres_url: str
) -> None:
    with postgres_store.transaction() as tx:
        tx.append([row("a", 1)])
    assert terminate_other_backends(postgres_url) >= 1
    assert [e.aggregate_id for e in postgres_store.read_all()] == ["a"]
    with postgres_store.transaction() as tx:
        tx.append([row("a", 2)])
    assert postgres_store.last_position() == 2


def test_a_connection_killed_inside_a_transaction_is_transient_and_loses_nothing(
    postgres_store: PostgresEventStore, postgres_url: str
) -> None:
    def killed_half_way() -> None:
        with postgres_store.transaction() as tx:
            tx.append([row("a", 1)])
            assert terminate_other_backends(postgres_url) >= 1
            tx.append([row("a", 2)])

    with pytest.raises(TransientStoreError, match="connection lost"):
        killed_half_way()
    assert postgres_store.read_all() == []
    with postgres_store.transaction() as tx:
        assert tx.append([row("a", 1)])[0].position == 1


def test_a_writer_that_waits_too_long_for_the_write_lock_gets_a_transient_error(
    postgres_url: str,
) -> None:
    store = PostgresEventStore(postgres_url, lock_timeout_ms=200)
    try:
        with psycopg.connect(postgres_url) as outsider:
            outsider.execute("SELECT 1 FROM hedgebot_event_position FOR UPDATE")
            with pytest.raises(TransientStoreError, match="55P03"), store.transaction() as tx:
                tx.append([row("a", 1)])
            outsider.rollback()
        with store.transaction() as tx:
            assert tx.append([row("a", 1)])[0].position == 1
    finally:
        store.close()


def test_a_deadlock_with_an_outside_writer_is_retried_by_the_command_handler(
    postgres_store: PostgresEventStore, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hedgebot.eventstore.handler")
    sql(postgres_url, LEDGER_VIEW_DDL_POSTGRES)
    projector = Projector([LedgerView()], [LEDGER_EVENTS])
    handler = CommandHandler(postgres_store, LEDGER, clock=ManualClock(NOW), projector=projector)
    handler.execute("a", Open("alice"))
    with psycopg.connect(postgres_url) as outsider:
        # Only our store's backend may detect the deadlock, so it is our side that fails.
        outsider.execute("SET deadlock_timeout = '60s'")
        outsider.execute("UPDATE ledger_view SET version = version WHERE view_id = 'a'")
        thread, outcome = run_in_thread(
            lambda: handler.execute("a", Move(Decimal("1.5"), Direction.BUY))
        )
        wait_until(lambda: backends_waiting_on_a_lock(postgres_url) == 1, "the command waits")
        # The outsider now wants the write lock the command holds: a cycle.
        outsider.execute("SELECT 1 FROM hedgebot_event_position FOR UPDATE")
        outsider.commit()
    thread.join(30)
    assert "error" not in outcome, outcome
    assert any("reason=TransientStoreError" in r.getMessage() for r in caplog.records)
    assert [e.sequence for e in postgres_store.load_stream("Ledger", "a")] == [1, 2]
    view = postgres_store.view_get("ledger_view", "a")
    assert view is not None and view.version == 2


# -- lost COMMIT ----------------------------------------------------------------


class CommitCuttingProxy:
    """A TCP proxy to the test server that can break a connection at its COMMIT.

    ``cut_before`` drops the COMMIT message and closes both sides (the server rolls
    back); ``cut_after`` forwards it, waits for the server's reply (so the commit has
    happened) and closes the client side instead of delivering the reply.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode: str | None = None
        self.cut = threading.Event()
        self._sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._sockets += [client, server]
            commit_sent = threading.Event()
            threading.Thread(
                target=self._upstream, args=(client, server, commit_sent), daemon=True
            ).start()
            threading.Thread(
                target=self._downstream, args=(client, server, commit_sent), daemon=True
            ).start()

    def _upstream(
        self, client: socket.socket, server: socket.socket, sent: threading.Event
    ) -> None:
        try:
            while data := client.recv(65536):
                if self.mode and not self.cut.is_set() and b"COMMIT\x00" in data:
                    if self.mode == "cut_before":
                        self.cut.set()
                        _close(client, server)
                        return
                    sent.set()
                server.sendall(data)
        except OSError:
            pass
        _close(client, server)

    def _downstream(
        self, client: socket.socket, server: socket.socket, sent: threading.Event
    ) -> None:
        try:
            while data := server.recv(65536):
                if sent.is_set():
                    self.cut.set()
                    _close(client, server)
                    return
                client.sendall(data)
        except OSError:
            pass
        _close(client, server)

    def close(self) -> None:
        for sock in self._sockets:
            _close(sock)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@pytest.fixture
def proxied_store(postgres_url: str) -> Iterator[tuple[PostgresEventStore, CommitCuttingProxy]]:
    params = psycopg.conninfo.conninfo_to_dict(postgres_url)
    proxy = CommitCuttingProxy(str(params.get("host", "127.0.0.1")), int(params.get("port", 5432)))
    through_proxy = psycopg.conninfo.make_conninfo(
        postgres_url, host="127.0.0.1", port=proxy.port, sslmode="disable", gssencmode="disable"
    )
    store = PostgresEventStore(through_proxy, max_size=1)
    yield store, proxy
    store.close()
    proxy.close()


def test_a_commit_whose_reply_is_lost_is_confirmed_and_not_retried(
    proxied_store: tuple[PostgresEventStore, CommitCuttingProxy],
) -> None:
    store, proxy = proxied_store
    handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW))
    handler.execute("a", Open("alice"))
    proxy.mode = "cut_after"
    result = handler.execute("a", Move(Decimal("2"), Direction.SELL))
    assert proxy.cut.is_set()
    assert result.version == 2
    assert [e.sequence for e in store.load_stream("Ledger", "a")] == [1, 2]


def test_a_commit_that_never_reached_the_server_is_transient_and_retried(
    proxied_store: tuple[PostgresEventStore, CommitCuttingProxy],
) -> None:
    store, proxy = proxied_store
    with store.transaction() as tx:
        tx.append([row("a", 1)])
    proxy.mode = "cut_before"
    with pytest.raises(TransientStoreError, match="rolled back"), store.transaction() as tx:
        tx.append([row("a", 2)])
    assert proxy.cut.is_set()
    assert [e.sequence for e in store.load_stream("Ledger", "a")] == [1]
    handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW))
    handler.execute("b", Open("bob"))
    assert store.last_position() == 2


# -- opening --------------------------------------------------------------------


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(EventStoreError, match=r"cannot connect to PostgreSQL") as raised:
        PostgresEventStore(
            "postgresql://hedgebot:s3cret-pw@127.0.0.1:1/nowhere", connect_timeout=0.5
        )
    assert "127.0.0.1:1" in str(raised.value)
    assert "s3cret-pw" not in str(raised.value)
    assert "s3cret" not in redact_conninfo("host=db password=s3cret dbname=x")


def test_a_database_without_the_schema_is_refused_and_open_store_migrates_it(
    postgres_server: PostgresServer,
) -> None:
    name = unique_name()
    url = postgres_server.create(name)
    try:
        with pytest.raises(EventStoreError, match="hedgebot db upgrade"):
            PostgresEventStore(url)
        store = open_store(url)
        try:
            assert store.backend == "postgresql"
            assert schema.current_revision(url) == schema.head_revision()
            handler = CommandHandler(store, LEDGER, clock=ManualClock(NOW))
            assert handler.execute("a", Open("alice")).stored[0].position == 1
        finally:
            store.close()
    finally:
        postgres_server.drop(name)


def test_every_migration_applies_on_postgresql_and_view_payloads_are_jsonb(
    postgres_url: str,
) -> None:
    assert schema.current_revision(postgres_url) == schema.head_revision()
    rows = sql(
        postgres_url,
        "SELECT table_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND column_name = 'payload' "
        "ORDER BY table_name",
    )
    types = dict(rows)
    assert types["events"] == "json"
    assert types["snapshots"] == "json"
    views = {t: kind for t, kind in types.items() if str(t).endswith("_view")}
    assert all(kind == "jsonb" for kind in views.values()), views
