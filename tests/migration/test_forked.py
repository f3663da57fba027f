"""The import's views projected in a forked child: same rows, and every failure falls back."""

from __future__ import annotations

import io
import logging
import os
import signal
import sqlite3
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hedgebot.bootstrap import build_projector
from hedgebot.clock import ManualClock
from hedgebot.eventstore import Projector, schema
from hedgebot.eventstore.envelope import StoredEvent
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import ViewRow
from hedgebot.eventstore.views import View, ViewRows
from hedgebot.migration import bulk_views, forked
from hedgebot.migration.bulk_views import ImportProjection
from hedgebot.migration.forked import (
    ForkedProjection,
    NotRecordable,
    RecordingTransaction,
    can_fork,
    replay,
)
from hedgebot.migration.progress import PlainProgress
from hedgebot.migration.prompts import Prompter
from hedgebot.migration.runner import Mode, Options, run_migration
from tests.migration import legacy_db as db
from tests.migration.conftest import url
from tests.migration.test_bulk_views import _table_rows, _varied_legacy_db

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs fork and two cores")


def _import(path: Path, lines: list[str] | None = None) -> str:
    output = io.StringIO()
    code = run_migration(
        Options(mode=Mode.RUN, database_url=url(path), force=True),
        Console(file=output, width=200),
        PlainProgress(write=(lines if lines is not None else []).append),
        Prompter(write=lambda _text: None, force=True),
        clock=ManualClock(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)),
    )
    assert code == 0, output.getvalue()
    return output.getvalue()


def _events(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM events ORDER BY rowid").fetchall()
    finally:
        conn.close()


class _Spy:
    """Counts the forked projections and what they delivered."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.delivered: list[bool] = []
        real = ForkedProjection.result

        def result(projection: ForkedProjection, timeout: float | None = None) -> Any:
            writes = real(projection, timeout)
            self.delivered.append(writes is not None)
            return writes

        monkeypatch.setattr(ForkedProjection, "result", result)


def test_a_forked_import_writes_exactly_the_rows_of_an_in_process_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _Spy(monkeypatch)
    forked_db = _varied_legacy_db(tmp_path / "forked.db")
    lines: list[str] = []
    _import(forked_db, lines)
    assert spy.delivered == [True], "the child did not project the views"
    assert "writing with a rollback journal (the file is not shared)" in lines
    assert any(line.startswith("projecting the views (the others in a child") for line in lines)

    monkeypatch.setattr(bulk_views, "can_fork", lambda: False)
    in_process = _varied_legacy_db(tmp_path / "in_process.db")
    lines.clear()
    _import(in_process, lines)
    assert spy.delivered == [True]  # no second child
    assert "projecting the views …" in lines

    rows = _table_rows(forked_db)
    assert len(rows["metrics_pnl_view"]) > 300 and len(rows["position_view"]) > 5
    assert rows == _table_rows(in_process)
    assert _events(forked_db) == _events(in_process)


def test_a_child_that_fails_leaves_the_views_to_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    spy = _Spy(monkeypatch)
    in_child = os.getpid()

    def apply(self: View, rows: Mapping[str, ViewRows], event: StoredEvent, decoded: Any) -> None:
        if os.getpid() != in_child:
            raise RuntimeError("only the child fails")
        original(self, rows, event, decoded)

    from hedgebot.metrics_pnl.view import MetricsPnlView

    original = MetricsPnlView.apply
    monkeypatch.setattr(MetricsPnlView, "apply", apply)
    path = _varied_legacy_db(tmp_path / "bot.db")
    with caplog.at_level(logging.WARNING, logger="hedgebot.migration"):
        output = _import(path)
    assert spy.delivered == [False]
    assert "migrate_fork_failed" in caplog.text and "only the child fails" in caplog.text
    assert "no differences" in output
    monkeypatch.setattr(MetricsPnlView, "apply", original)
    reference = _varied_legacy_db(tmp_path / "reference.db")
    _import(reference)
    assert _table_rows(path) == _table_rows(reference)


class _Counting(View):
    """A one-table view: a row per event, or a chosen misbehaviour in the child."""

    table = "counting_view"
    aggregate_types = frozenset({"T"})

    def __init__(self, behaviour: str = "") -> None:
        self.behaviour = behaviour
        self.parent = os.getpid()

    def apply(self, rows: Mapping[str, ViewRows], event: StoredEvent, decoded: Any) -> None:
        if os.getpid() != self.parent:
            if self.behaviour == "die":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.behaviour == "hang":
                time.sleep(60)
        rows[self.table].put(event.aggregate_id, {"n": event.sequence}, version=event.sequence)


def _stored(n: int) -> StoredEvent:
    return StoredEvent(n, "T", f"a{n}", 1, "T::Happened", "1.0", "{}", "{}")


def test_a_child_delivers_the_recorded_writes() -> None:
    view = _Counting()
    projection = ForkedProjection(Projector([view], []), [view], [_stored(1), _stored(2)], [0, 0])
    writes = projection.result()
    assert writes == [("put", "counting_view", [("a1", 1, '{"n":1}'), ("a2", 1, '{"n":1}')])]
    recorder = RecordingTransaction()
    assert replay(recorder, writes) == 2
    assert recorder.writes == writes


def test_a_child_that_dies_delivers_nothing() -> None:
    view = _Counting("die")
    projection = ForkedProjection(Projector([view], []), [view], [_stored(1)], [0])
    assert projection.result() is None


def test_abandoning_a_child_ends_it_at_once() -> None:
    view = _Counting("hang")
    projection = ForkedProjection(Projector([view], []), [view], [_stored(1)], [0])
    pid = projection._pid
    assert pid is not None
    started = time.monotonic()
    projection.abandon()
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped
    assert projection.result() is None


def test_a_child_that_does_not_deliver_in_time_is_ended(
    caplog: pytest.LogCaptureFixture,
) -> None:
    view = _Counting("hang")
    projection = ForkedProjection(Projector([view], []), [view], [_stored(1)], [0])
    pid = projection._pid
    assert pid is not None
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="hedgebot.migration"):
        assert projection.result(timeout=0.5) is None
    assert 0.5 <= time.monotonic() - started < 10
    assert "migrate_fork_timeout" in caplog.text
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # ended and reaped
    assert forked.deadline(100_000) > 100 * 0.04 * 10  # far above the projection's cost


def test_the_recording_refuses_reads_and_other_writes() -> None:
    recorder = RecordingTransaction()
    recorder.view_put_many("t", [ViewRow("a", 1, "{}")])
    recorder.view_delete("t", ["b"])
    assert recorder.writes == [("put", "t", [("a", 1, "{}")]), ("delete", "t", ["b"])]
    for call in (
        lambda: recorder.view_get("t", "a"),
        lambda: recorder.append([]),
        lambda: recorder.view_clear("t"),
    ):
        with pytest.raises(NotRecordable, match="cannot call"):
            call()
    with pytest.raises(ValueError, match="unknown recorded write"):
        replay(recorder, [("upsert", "t", [])])


def test_only_views_with_empty_tables_are_projected_in_a_child(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    schema.upgrade(f"sqlite:{path}")
    store = SqliteEventStore(str(path))
    projector = build_projector()
    try:
        with store.transaction() as tx:
            projection = ImportProjection(tx, projector, [], [])
            assert projection.forked
            projection.finish()
            assert not projection.forked
            tx.view_put_many("metrics_pnl_state", [ViewRow("AAPL", 1, '{"symbol":"AAPL"}')])
            projection = ImportProjection(tx, projector, [], [])
            assert not projection.forked  # the child could not read that row
            projection.finish()
            assert not ImportProjection(tx, projector, [], [], fork=False).forked
    finally:
        store.close()


def test_an_import_into_a_store_with_events_projects_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _Spy(monkeypatch)
    path = _varied_legacy_db(tmp_path / "bot.db")
    _import(path)
    with db.connect(path) as conn:  # a trade the legacy bot recorded after the first run
        db.trade(conn, 9_999, symbol="tMSFT", block_timestamp="2030-01-01 00:00:00")
    lines: list[str] = []
    output = _import(path, lines)
    assert spy.delivered == [True], "forked into a store whose views hold rows"
    assert "projecting the views …" in lines
    assert "no differences" in output
    reference = _varied_legacy_db(tmp_path / "reference.db")
    with db.connect(reference) as conn:
        db.trade(conn, 9_999, symbol="tMSFT", block_timestamp="2030-01-01 00:00:00")
    _import(reference)
    assert _table_rows(path) == _table_rows(reference)
