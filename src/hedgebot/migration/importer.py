"""The write: all Migrated events and their view rows in ONE store transaction.

Events are appended in big batches (``encode_events`` rows, one ``tx.append`` per
batch) and projected into every view in one pass at the end
(`hedgebot.migration.bulk_views`; the views other than ``onchain_trade_view`` are
computed meanwhile in a forked child, `hedgebot.migration.forked`), inside the same
transaction. A crash, a kill or any error before the commit leaves the store exactly
as it was; after the commit everything is there. There is no partial import to resume.

On SQLite the transaction runs with a rollback journal instead of the WAL when the
import has the file to itself (`SqliteEventStore.rollback_journal`): the new pages are
then written once instead of twice (WAL, then checkpoint). Just as atomic; a kill
leaves a hot ``-journal`` file that the next connection rolls back.

Execution ids: the store's ``execution_id`` counter is raised above the highest
legacy id (including ids of deleted rows), so orders hedgebot places later never
reuse a legacy execution id.

``--clean`` empties events, snapshots, every view table and the checkpoints in the
same transaction, before the import. Id counters are kept (never lowered): an
execution id handed out before must not be handed out again, since brokers see it
as the order's idempotency key.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hedgebot.brokers.retry import DATABASE_RETRY, RetryPolicy, is_retryable
from hedgebot.eventstore import EventStore, Projector, StoreTransaction
from hedgebot.eventstore.envelope import NewEvent, StoredEvent
from hedgebot.eventstore.sqlite import SqliteEventStore, is_transient
from hedgebot.migration.bulk_views import ImportProjection
from hedgebot.migration.mapping import PlannedAggregate
from hedgebot.migration.progress import ProgressReporter
from hedgebot.position.events import EXECUTION_ID_COUNTER

BATCH_SIZE = 5000
#: tables emptied by --clean besides the view tables (counters are kept, see above)
CLEAN_TABLES = ("events", "snapshots", "hedgebot_checkpoints")


def is_transient_database_error(error: BaseException) -> bool:
    """Locked/busy SQLite or a transient store error: worth retrying the whole unit."""
    if is_retryable(error):
        return True
    return isinstance(error, sqlite3.OperationalError) and is_transient(error)


#: the project's retry policy for databases, also for raw sqlite3 "locked"/"busy"
MIGRATION_RETRY = DATABASE_RETRY.with_(retry_if=is_transient_database_error)


#: the write phase's parts, as `write` records them in ``timings`` (wall seconds)
WRITE_PARTS = ("append", "on-chain rows", "child wait", "other views", "commit")


@dataclass(frozen=True)
class WriteResult:
    events: int
    per_type: dict[str, int]


def _clean(tx: StoreTransaction, projector: Projector) -> None:
    # `view_clear` is the port's "DELETE FROM <table>" in the caller's transaction; the
    # event and bookkeeping tables are plain tables too.
    for table in CLEAN_TABLES:
        tx.view_clear(table)
    for view in projector.views:
        for table in view.tables:
            tx.view_clear(table)


def _write_once(
    store: EventStore,
    projector: Projector,
    items: Sequence[PlannedAggregate],
    *,
    clean: bool,
    max_execution_id: int,
    progress: ProgressReporter,
    batch_size: int,
    timings: dict[str, float],
) -> WriteResult:
    for part in WRITE_PARTS:
        timings[part] = 0.0  # a retried attempt starts over
    per_type: dict[str, int] = {}
    for item in items:
        per_type[item.aggregate_type] = per_type.get(item.aggregate_type, 0) + 1
    total_events = sum(len(item.rows) for item in items)
    for kind, count in per_type.items():
        progress.start(f"write:{kind}", f"write {kind}", count)
    with _import_journal(store, progress), store.transaction() as tx:
        if clean:
            _clean(tx, projector)
        if max_execution_id > 0:
            tx.ensure_counter_above(EXECUTION_ID_COUNTER, max_execution_id)
        # All view rows are written once, after the events: the on-chain trade view's
        # rows in bulk, the other views (the PnL view books each symbol's history in one
        # go) by the projector — in a child process started now, which computes them
        # while the events are appended and the on-chain rows written
        # (`bulk_views.ImportProjection`). The events' positions are known before the
        # append (the transaction holds the write lock).
        rows: list[NewEvent] = []
        decoded: list[Any] = []
        for item in items:
            rows.extend(item.rows)
            decoded.extend(item.events)
        base = tx.last_position()
        expected = [StoredEvent.from_new(row, base + n) for n, row in enumerate(rows, 1)]
        # a child only for a store without events (a first import, or after --clean),
        # whose view tables are empty: then checking that they are costs nothing
        projection = ImportProjection(tx, projector, expected, decoded, fork=base == 0)
        try:
            started = time.perf_counter()
            stored: list[StoredEvent] = []
            for start in range(0, len(items), batch_size):
                batch = items[start : start + batch_size]
                stored.extend(tx.append([row for item in batch for row in item.rows]))
                done: dict[str, int] = {}
                for item in batch:
                    done[item.aggregate_type] = done.get(item.aggregate_type, 0) + 1
                for kind, count in done.items():
                    progress.advance(f"write:{kind}", count)
            timings["append"] = time.perf_counter() - started
            if stored != expected:  # not the positions the child was given: redo in-process
                projection.abandon()
                projection = ImportProjection(tx, projector, stored, decoded, fork=False)
            progress.line(
                "projecting the views (the others in a child process while the on-chain "
                "rows are written) …"
                if projection.forked
                else "projecting the views …"
            )
            projection.finish(timings)
        except BaseException:
            projection.abandon()
            raise
        progress.line("committing the import transaction …")
        committing = time.perf_counter()
    timings["commit"] = time.perf_counter() - committing
    for kind in per_type:
        progress.finish(f"write:{kind}")
    return WriteResult(events=total_events, per_type=per_type)


@contextmanager
def _import_journal(store: EventStore, progress: ProgressReporter) -> Iterator[None]:
    """A rollback journal for the import's transaction when the store is a SQLite file
    nobody else has open (`SqliteEventStore.rollback_journal`)."""
    if not isinstance(store, SqliteEventStore):
        yield
        return
    with store.rollback_journal() as switched:
        if switched:
            progress.line("writing with a rollback journal (the file is not shared)")
        else:
            progress.line(
                "writing in WAL mode: another connection has the store file open "
                "(is a bot running?); slower, just as safe"
            )
        yield


def write(
    store: EventStore,
    projector: Projector,
    items: Sequence[PlannedAggregate],
    *,
    clean: bool,
    max_execution_id: int,
    progress: ProgressReporter,
    batch_size: int = BATCH_SIZE,
    retry: RetryPolicy = MIGRATION_RETRY,
    timings: dict[str, float] | None = None,
) -> WriteResult:
    """Write ``items`` in one transaction, retrying it whole on a transient error.

    ``timings``, when given, receives the wall seconds of the write's parts
    (`WRITE_PARTS`; those of the last attempt).
    """
    return retry.call_sync(
        _write_once,
        store,
        projector,
        items,
        clean=clean,
        max_execution_id=max_execution_id,
        progress=progress,
        batch_size=batch_size,
        timings={} if timings is None else timings,
    )
