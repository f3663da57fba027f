"""`hedgebot migrate-to-events`: the three modes, their prompts, report and exit code.

* ``run``: read and validate every legacy row (read-only), ask (backup, existing
  events, ``--clean``), bring the target's schema up to date, write everything in one
  transaction, then verify every row. Rows already imported are left alone, so a
  second run writes nothing.
* ``dry-run``: read, validate and report what a run would write. Opens the legacy
  file read-only and never creates or changes anything (no schema, no clean).
* ``verify-only``: compare every legacy row with the store and report; read-only.

Exit codes: 0 ok, 1 data or verification error (or a prompt answered no), 2 usage
error (bad arguments, not a legacy database).
"""

from __future__ import annotations

import enum
import gc
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hedgebot.bootstrap import build_projector
from hedgebot.clock import Clock, SystemClock
from hedgebot.eventstore import EventStoreError, schema
from hedgebot.eventstore.dburl import DatabaseUrl, DatabaseUrlError, parse_database_url
from hedgebot.eventstore.factory import open_store
from hedgebot.migration import mapping
from hedgebot.migration.errors import (
    ConflictError,
    MigrationError,
    UsageProblem,
    VerificationFailed,
)
from hedgebot.migration.importer import MIGRATION_RETRY, write
from hedgebot.migration.legacy import LegacyLayout, onchain_trades_select, open_read_only
from hedgebot.migration.mapping import PlannedAggregate
from hedgebot.migration.progress import ProgressReporter
from hedgebot.migration.prompts import Prompter
from hedgebot.migration.reals import RealConverter, fits_rust_decimal
from hedgebot.migration.records import LegacyData
from hedgebot.migration.source import open_legacy, read_legacy
from hedgebot.migration.target import (
    Classification,
    ConnectionReader,
    SqlReader,
    StoreSqlReader,
    classify,
    event_counts,
    existing_streams,
    has_event_store,
)
from hedgebot.migration.verify import (
    VerificationReport,
    planned_count,
    verify,
    view_layout_problems,
)

log = logging.getLogger(__name__)

AGGREGATE_TYPES = ("OnChainTrade", "Position", "OffchainOrder", "SchwabAuth")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the import runs (re-enabled after).

    The import holds a few hundred thousand objects (legacy rows, records, events, view
    rows) that live until it ends and form no garbage cycles; every periodic collection
    would only walk them again (a tenth of the import's CPU at 100,000 trades).
    Reference counting still frees everything else as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Mode(enum.Enum):
    RUN = "run"
    DRY_RUN = "dry-run"
    VERIFY_ONLY = "verify-only"


@dataclass(frozen=True)
class Options:
    mode: Mode
    database_url: str
    event_store_url: str | None = None
    force: bool = False
    clean: bool = False


@dataclass
class Outcome:
    """What happened, for the summary (and for tests)."""

    data: LegacyData | None = None
    planned: dict[str, int] | None = None
    imported: dict[str, int] | None = None
    written: dict[str, int] | None = None
    verification: VerificationReport | None = None
    #: wall-clock seconds per phase (read, plan, schema, write, verify) and per part
    #: of the write (`importer.WRITE_PARTS`)
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[phase] = self.timings.get(phase, 0.0) + time.perf_counter() - started


class Migration:
    def __init__(
        self,
        options: Options,
        console: Console,
        progress: ProgressReporter,
        prompter: Prompter,
        clock: Clock | None = None,
    ) -> None:
        self.options = options
        self.console = console
        self.progress = progress
        self.prompter = prompter
        self.clock = clock or SystemClock()
        self.outcome = Outcome()

    # -- entry point ---------------------------------------------------------------

    def run(self) -> int:
        """Run the mode; returns the exit code. Errors are printed, never raised."""
        try:
            self._run()
        except MigrationError as exc:
            self.console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            log.info("migrate_to_events_failed mode=%s error=%s", self.options.mode.value, exc)
            return exc.exit_code
        except EventStoreError as exc:
            self.console.print(
                f"error: event store: {exc}", markup=False, highlight=False, soft_wrap=True
            )
            return 1
        finally:
            self.progress.close()
        return 0

    def _run(self) -> None:
        with _collector_paused():
            self._run_modes()

    def _run_modes(self) -> None:
        options = self.options
        if options.clean and options.mode is not Mode.RUN:
            raise UsageProblem(f"--clean only applies to a run, not to {options.mode.value}")
        path, legacy_conn, layout = open_legacy(options.database_url)
        target = self._target_url(path)
        with ExitStack() as stack:
            stack.callback(legacy_conn.close)
            reals = RealConverter()
            stack.callback(reals.close)
            self.console.print(
                f"migrate-to-events {options.mode.value}: legacy database {path} "
                f"({layout.describe()}); event store {self._describe(target, path)}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            with self.outcome.timed("read"):
                data = MIGRATION_RETRY.call_sync(
                    read_legacy, legacy_conn, layout, self.progress, reals
                )
            self.outcome.data = data
            with self.outcome.timed("plan"):
                planned = mapping.plan(data, self.clock.now())
            self.outcome.planned = planned_count(planned)
            if options.mode is Mode.RUN:
                legacy_conn.close()
                trades_sql = self._legacy_trades_sql(target, path, layout)
                self._import(target, path, data, planned, trades_sql)
            else:
                reader = self._peek(stack, target, path, legacy_conn)
                if options.mode is Mode.DRY_RUN:
                    self._dry_run(reader, data, planned)
                else:
                    self._verify_only(
                        reader, data, planned, self._legacy_trades_sql(target, path, layout)
                    )

    # -- targets ---------------------------------------------------------------------

    def _target_url(self, legacy_path: Path) -> DatabaseUrl:
        text = self.options.event_store_url
        if not text:
            return DatabaseUrl("sqlite", str(legacy_path), str(legacy_path))
        try:
            return parse_database_url(text)
        except DatabaseUrlError as exc:
            raise UsageProblem(f"--event-store-url: {exc}") from None

    @staticmethod
    def _same_file(target: DatabaseUrl, legacy_path: Path) -> bool:
        return (
            target.kind == "sqlite"
            and target.path is not None
            and Path(target.path).resolve() == legacy_path.resolve()
        )

    def _legacy_trades_sql(
        self, target: DatabaseUrl, legacy_path: Path, layout: LegacyLayout
    ) -> str | None:
        """The legacy trades' query, when the store lives in the legacy file (then the
        verification compares them with one join); None otherwise."""
        if not self._same_file(target, legacy_path):
            return None
        return onchain_trades_select(layout)

    def _describe(self, target: DatabaseUrl, legacy_path: Path) -> str:
        if self._same_file(target, legacy_path):
            return "in the same file"
        return target.redacted()

    def _peek(
        self,
        stack: ExitStack,
        target: DatabaseUrl,
        legacy_path: Path,
        legacy_conn: sqlite3.Connection | None = None,
    ) -> SqlReader | None:
        """A read-only view of the target; None when it has no event store (yet).

        Nothing is created or changed: SQLite files are opened read-only (and only if
        they exist), PostgreSQL is opened without a schema upgrade.
        """
        if target.kind == "sqlite":
            assert target.path is not None
            if self._same_file(target, legacy_path) and legacy_conn is not None:
                return ConnectionReader(legacy_conn)
            if not Path(target.path).is_file():
                return None
            conn = open_read_only(Path(target.path))
            stack.callback(conn.close)
            return ConnectionReader(conn)
        try:
            store = open_store(target, upgrade=False)
        except EventStoreError as exc:
            if "schema" in str(exc):
                return None
            raise
        stack.callback(store.close)
        return StoreSqlReader(store)

    # -- modes -------------------------------------------------------------------------

    def _dry_run(
        self, reader: SqlReader | None, data: LegacyData, planned: list[PlannedAggregate]
    ) -> None:
        existing = existing_streams(reader, AGGREGATE_TYPES) if reader is not None else {}
        classification = classify(planned, existing)
        self.outcome.imported = planned_count(classification.imported)
        self.outcome.written = planned_count(classification.to_write)
        if classification.superseded:
            data.notes.append(
                "the store already holds other Schwab tokens (a later login): the legacy "
                "tokens would not be imported over them"
            )
        self._summary(data, classification, wrote=False)
        self.console.print("dry run: nothing was changed", markup=False, soft_wrap=True)
        if classification.conflicts:
            raise self._conflict_error(classification)

    def _verify_only(
        self,
        reader: SqlReader | None,
        data: LegacyData,
        planned: list[PlannedAggregate],
        legacy_trades_sql: str | None,
    ) -> None:
        if reader is None or not has_event_store(reader):
            raise VerificationFailed(["the target has no event store: nothing was imported"], 1)
        classification = classify(planned, existing_streams(reader, AGGREGATE_TYPES))
        self.outcome.imported = planned_count(classification.imported)
        with self.outcome.timed("verify"):
            report = verify(reader, data, classification, self.progress, legacy_trades_sql)
        self.outcome.verification = report
        self._summary(data, classification, wrote=False)
        self._report_verification(report)

    def _import(
        self,
        target: DatabaseUrl,
        legacy_path: Path,
        data: LegacyData,
        planned: list[PlannedAggregate],
        legacy_trades_sql: str | None,
    ) -> None:
        options = self.options
        with ExitStack() as peek:
            reader = self._peek(peek, target, legacy_path)
            existing = existing_streams(reader, AGGREGATE_TYPES) if reader is not None else {}
            counts = event_counts(reader, AGGREGATE_TYPES) if reader is not None else {}
            if reader is not None:
                self._check_views(view_layout_problems(reader, allow_missing=True))
        before = classify(planned, existing)
        if before.conflicts and not options.clean:
            raise self._conflict_error(before)
        if before.superseded and not options.clean:
            data.notes.append(
                "the store already holds other Schwab tokens (a later login): the legacy "
                "tokens are not imported over them"
            )
        to_write = planned if options.clean else before.to_write
        if to_write or options.clean:
            if not options.clean:
                self.prompter.existing_events(counts, len(to_write))
            backed_up = (
                str(legacy_path)
                if self._same_file(target, legacy_path)
                else f"{legacy_path} and {target.redacted()}"
            )
            self.prompter.backup(backed_up)
            if options.clean:
                self.prompter.clean(self._describe(target, legacy_path))
        else:
            self.console.print(
                "everything is already imported: nothing to write", markup=False, soft_wrap=True
            )
        with self.outcome.timed("schema"):
            try:
                MIGRATION_RETRY.call_sync(schema.upgrade, target)
            except (EventStoreError, MigrationError):
                raise
            except Exception as exc:  # Alembic/SQLAlchemy errors, translated at the edge
                raise MigrationError(
                    f"the schema upgrade of the event store failed, nothing was imported: {exc}"
                ) from exc
            store = open_store(target, upgrade=False)
        try:
            self._check_views(view_layout_problems(StoreSqlReader(store)))
            self.outcome.written = {}
            if to_write or options.clean:
                with self.outcome.timed("write"):
                    result = write(
                        store,
                        build_projector(),
                        to_write,
                        clean=options.clean,
                        max_execution_id=data.max_execution_id,
                        progress=self.progress,
                        timings=self.outcome.timings,
                    )
                self.outcome.written = result.per_type
                log.info(
                    "migrate_to_events_written events=%d per_type=%s",
                    result.events,
                    result.per_type,
                )
            reader_after = StoreSqlReader(store)
            with self.outcome.timed("verify"):
                after = classify(planned, existing_streams(reader_after, AGGREGATE_TYPES))
                report = verify(reader_after, data, after, self.progress, legacy_trades_sql)
            self.outcome.imported = {} if options.clean else planned_count(before.imported)
            self.outcome.verification = report
            self._summary(data, after, wrote=True)
            self._report_verification(report)
        finally:
            store.close()

    @staticmethod
    def _check_views(problems: list[str]) -> None:
        if problems:
            raise MigrationError(
                "the target's view tables do not have hedgebot's layout (created by another "
                "tool, e.g. the Rust reference?); nothing was written. Drop them (they only "
                "hold derived data) and run again: " + "; ".join(problems)
            )

    # -- reporting ---------------------------------------------------------------------

    def _conflict_error(self, classification: Classification) -> ConflictError:
        lines = [
            f"{item.label}: the event store already holds {stream.event_type} "
            f"({stream.last_sequence} event(s)) that this import did not write"
            for item, stream in classification.conflicts[:20]
        ]
        more = len(classification.conflicts) - len(lines)
        if more > 0:
            lines.append(f"… and {more} more")
        return ConflictError(
            f"{len(classification.conflicts)} legacy rows collide with existing event "
            "streams; nothing was written. Inspect them, or re-import from scratch with "
            "--clean (after a backup):\n  " + "\n  ".join(lines)
        )

    def _summary(self, data: LegacyData, classification: Classification, *, wrote: bool) -> None:
        legacy_rows = {
            "OnChainTrade": len(data.trades),
            "Position": len(data.positions),
            "OffchainOrder": len(data.orders),
            "SchwabAuth": 1 if data.auth is not None else 0,
        }
        imported = planned_count(classification.imported)
        table = Table(title="migrate-to-events summary", title_justify="left")
        table.add_column("aggregate")
        table.add_column("legacy rows", justify="right")
        table.add_column("in the store", justify="right")
        if self.options.mode is not Mode.VERIFY_ONLY:
            table.add_column("written" if wrote else "would write", justify="right")
        written = self.outcome.written or {}
        for kind in AGGREGATE_TYPES:
            cells = [kind, f"{legacy_rows[kind]:,}", f"{imported.get(kind, 0):,}"]
            if self.options.mode is not Mode.VERIFY_ONLY:
                cells.append(f"{written.get(kind, 0):,}")
            table.add_row(*cells)
        self.console.print(table)
        breakdown = ", ".join(f"{n:,} {status}" for status, n in data.status_breakdown().items())
        self.console.print(
            f"offchain orders ({data.offchain_table}) by status: {breakdown}",
            markup=False,
            soft_wrap=True,
        )
        pending = sum(1 for p in data.positions if p.pending_execution_id is not None)
        self.console.print(
            f"positions with a pending execution: {pending:,} (reconciled with the broker "
            f"when the bot starts); new execution ids start above {data.max_execution_id:,}",
            markup=False,
            soft_wrap=True,
        )
        long_decimals = sum(
            1 for t in data.trades for d in (t.amount, t.price_usdc) if not fits_rust_decimal(d)
        )
        if long_decimals:
            data.notes.append(
                f"{long_decimals} values have more than 28 decimal places: the Rust "
                "reference rounds them when it reads these events (hedgebot reads them exactly)"
            )
        for note in data.notes:
            self.console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)

    def _report_verification(self, report: VerificationReport) -> None:
        if report.ok:
            moved = (
                f"; {report.advanced:,} aggregates changed since the import were checked "
                "by their events"
                if report.advanced
                else ""
            )
            self.console.print(
                f"verification: {report.checked_rows:,} rows and {report.checked_fields:,} "
                f"fields compared, no differences{moved}",
                markup=False,
            )
            return
        raise VerificationFailed(report.differences, report.total_differences)


def run_migration(
    options: Options,
    console: Console,
    progress: ProgressReporter,
    prompter: Prompter,
    clock: Clock | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> int:
    migration = Migration(options, console, progress, prompter, clock)
    code = migration.run()
    if on_outcome is not None:
        on_outcome(migration.outcome)
    return code
