"""Verification: every legacy row against its event stream and its view row, field by field.

Not a sample: each legacy row is checked.

* Events: the row's aggregate exists and its first event is exactly the ``Migrated``
  (or ``TokensStored``) event this import writes for the row, ``migrated_at`` aside.
* Views: the view row's legacy-named columns (SPEC §5) equal the legacy columns —
  REALs bit for bit, integers and texts exactly, timestamps as ``YYYY-MM-DD HH:MM:SS``
  UTC — as listed in docs/MIGRATION.md ("What is carried over"). An aggregate that
  has moved on since the import (the bot has run: a migrated order got filled, a
  trade enriched …) is checked by its events only; its view legitimately differs.
  When the store lives in the legacy file, the trades are first compared in SQL: one
  join of the legacy table with the view flags the rows that may differ, and only those
  go through the row-by-row comparison (which names each differing field).
* PnL: every migrated trade and FILLED order has its ``metrics_pnl_view`` row.
* Tokens: ``schwab_auth_view`` holds the legacy tokens (compared, never printed).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from hedgebot.brokers.schwab.auth import AGGREGATE_ID as SCHWAB_ID
from hedgebot.brokers.schwab.auth import VIEW_TABLE as SCHWAB_VIEW
from hedgebot.brokers.schwab.auth import Authenticated, read_view_state
from hedgebot.migration import legacy
from hedgebot.migration.mapping import PlannedAggregate, position_net
from hedgebot.migration.progress import ProgressReporter
from hedgebot.migration.records import LegacyData, LegacyOrder, OrderStatus
from hedgebot.migration.target import Classification, SqlReader
from hedgebot.migration.timestamps import sqlite_datetime_text

log = logging.getLogger(__name__)

MAX_SHOWN = 30
#: rows per progress update of the row-by-row comparisons
PROGRESS_STEP = 1000
#: view ids per ``IN (…)`` query
ID_BATCH = 500

ONCHAIN_VIEW = "onchain_trade_view"
POSITION_VIEW = "position_view"
OFFCHAIN_VIEW = "offchain_trade_view"
PNL_VIEW = "metrics_pnl_view"

ONCHAIN_COLUMNS = (
    "id", "tx_hash", "log_index", "symbol", "base_symbol", "amount", "direction",
    "price_usdc", "block_number", "block_timestamp", "created_at", "gas_used",
    "effective_gas_price", "pyth_price", "pyth_confidence", "pyth_exponent",
    "pyth_publish_time",
)  # fmt: skip
POSITION_COLUMNS = (
    "symbol", "net_position", "accumulated_long", "accumulated_short",
    "pending_execution_id", "last_updated",
)  # fmt: skip
#: each compared view column (but ``base_symbol``) and the legacy cell it must equal,
#: as SQL over `legacy.onchain_trades_select` (``l``): what `_Verifier.trades` expects
_LEGACY_CELLS = {
    "id": "l.id",
    "tx_hash": "lower(l.tx_hash)",
    "log_index": "l.log_index",
    "symbol": "l.symbol",
    "amount": "l.amount",
    "direction": "l.direction",
    "price_usdc": "l.price_usdc",
    "block_number": "coalesce(l.block_number, 0)",
    "block_timestamp": "l.block_timestamp",
    "created_at": "l.created_at",
    "gas_used": "l.gas_used",
    "effective_gas_price": "l.effective_gas_price",
    "pyth_price": "l.pyth_price",
    "pyth_confidence": "l.pyth_confidence",
    "pyth_exponent": "l.pyth_exponent",
    "pyth_publish_time": "l.pyth_publish_time",
}
OFFCHAIN_COLUMNS = (
    "id", "symbol", "shares", "direction", "broker", "broker_order_id", "order_id",
    "price_cents", "status", "executed_at",
)  # fmt: skip


@dataclass
class VerificationReport:
    checked_rows: int = 0
    checked_fields: int = 0
    differences: list[str] = field(default_factory=list)
    total_differences: int = 0
    #: aggregates checked by their events only (they have moved on since the import)
    advanced: int = 0

    def differ(self, message: str) -> None:
        self.total_differences += 1
        if len(self.differences) < MAX_SHOWN:
            self.differences.append(message)

    @property
    def ok(self) -> bool:
        return self.total_differences == 0


def _time(value: datetime | None) -> str | None:
    return None if value is None else sqlite_datetime_text(value)


def _real(cell: object) -> float | None:
    """A legacy REAL cell as the float SQLite held (ints in REAL columns included)."""
    if cell is None:
        return None
    assert isinstance(cell, int | float)
    return float(cell)


def _same(expected: object, actual: object) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        if expected is None or actual is None:
            return expected is actual
        if not isinstance(expected, int | float) or not isinstance(actual, int | float):
            return False
        left, right = float(expected), float(actual)
        return left == right or (math.isnan(left) and math.isnan(right))
    if isinstance(expected, int) and isinstance(actual, int):
        return expected == actual
    return expected == actual


def _show(value: object) -> str:
    return "NULL" if value is None else repr(value)


class _Verifier:
    def __init__(
        self,
        reader: SqlReader,
        data: LegacyData,
        classification: Classification,
        progress: ProgressReporter,
        legacy_trades_sql: str | None = None,
    ) -> None:
        self.reader = reader
        self.data = data
        self.classification = classification
        self.progress = progress
        self.legacy_trades_sql = legacy_trades_sql
        self.report = VerificationReport()
        self.imported = {(p.aggregate_type, p.aggregate_id) for p in classification.imported}
        self._times: dict[datetime, str] = {}

    # -- helpers -----------------------------------------------------------------

    def _view_rows(self, table: str, columns: Sequence[str]) -> dict[str, tuple[object, ...]]:
        present = self.reader.columns(table)
        if not present:
            self.report.differ(f"{table} does not exist: the views were never created")
            return {}
        missing = [c for c in columns if c not in present]
        if missing:
            self.report.differ(f"{table} lacks the legacy column(s) {', '.join(missing)}")
            return {}
        select = ", ".join(columns)
        rows = self.reader.query(f"SELECT view_id, {select} FROM {table}")  # noqa: S608
        return {str(r[0]): tuple(r[1:]) for r in rows}

    def _some_view_rows(
        self, table: str, columns: Sequence[str], view_ids: Sequence[str]
    ) -> dict[str, tuple[object, ...]]:
        """`_view_rows` of the given ids only (the table has the columns)."""
        select = ", ".join(columns)
        found: dict[str, tuple[object, ...]] = {}
        for start in range(0, len(view_ids), ID_BATCH):
            batch = view_ids[start : start + ID_BATCH]
            marks = ", ".join("?" * len(batch))
            rows = self.reader.query(
                f"SELECT view_id, {select} FROM {table} WHERE view_id IN ({marks})",  # noqa: S608
                batch,
            )
            found.update((str(r[0]), tuple(r[1:])) for r in rows)
        return found

    def _suspect_trades(self) -> set[int] | None:
        """Legacy ids of the trades whose view row may differ from the legacy row, or
        None when this cannot be asked in SQL (then every row is compared in Python).

        Where the view and the legacy table share one SQLite database, one join compares
        each legacy row's cells with its view row's columns (``IS NOT``: NULLs compare,
        REALs bit for bit, integers and texts exactly). A row it passes has every field
        equal to what `trades` expects: the legacy cells were validated (ids, counts and
        REALs are numbers, times are texts), a time equal to the view's text is already
        ``YYYY-MM-DD HH:MM:SS`` UTC, and ``base_symbol``, derived in Python, is checked
        per distinct symbol. Anything it flags, or cannot pair, is compared in Python.
        """
        if self.legacy_trades_sql is None or self.reader.dialect != "sqlite":
            return None
        present = self.reader.columns(ONCHAIN_VIEW)
        if not present or any(c not in present for c in ONCHAIN_COLUMNS):
            return None  # `_view_rows` reports it
        differs = " OR ".join(
            f"v.{column} IS NOT {expression}" for column, expression in _LEGACY_CELLS.items()
        )
        sql = (
            f"SELECT l.id FROM ({self.legacy_trades_sql}) AS l "  # noqa: S608
            f"LEFT JOIN {ONCHAIN_VIEW} v ON v.view_id = lower(l.tx_hash) || ':' || l.log_index "
            f"WHERE v.view_id IS NULL OR {differs}"
        )
        try:
            flagged = self.reader.query(sql)
            pairs = self.reader.query(
                f"SELECT DISTINCT symbol, base_symbol FROM {ONCHAIN_VIEW}"  # noqa: S608
            )
        except Exception as exc:  # an unexpected layout: compare everything in Python
            log.info("migrate_verify_sql_skipped error=%s", exc)
            return None
        suspects = {r[0] for r in flagged if isinstance(r[0], int)}
        if len(suspects) != len(flagged):
            return None
        bases = {t.symbol: t.base_symbol for t in self.data.trades}
        wrong = {symbol for symbol, base in pairs if symbol in bases and base != bases[symbol]}
        suspects.update(t.legacy_id for t in self.data.trades if t.symbol in wrong)
        return suspects

    def _compare(
        self,
        table: str,
        view_id: str,
        source: str,
        columns: Sequence[str],
        actual: tuple[object, ...] | None,
        expected: dict[str, object] | tuple[object, ...],
    ) -> None:
        """One legacy row against its view row; ``expected`` holds every column of
        ``columns`` (a tuple in column order, or a dict in column order)."""
        self.report.checked_rows += 1
        if actual is None:
            self.report.differ(f"{table} has no row {view_id!r} for {source}")
            return
        wanted = tuple(expected.values()) if isinstance(expected, dict) else expected
        self.report.checked_fields += len(wanted)
        if wanted == actual:
            return  # every field equal (the expectation is built in column order)
        for column, want, got in zip(columns, wanted, actual, strict=True):
            if not _same(want, got):
                self.report.differ(
                    f"{table} row {view_id!r} ({source}), field {column}: "
                    f"view {_show(got)}, legacy {_show(want)}"
                )

    def _time(self, value: datetime | None) -> str | None:
        """`_time`, remembered per instant (a row often repeats its time)."""
        if value is None:
            return None
        text = self._times.get(value)
        if text is None:
            text = self._times[value] = sqlite_datetime_text(value)
        return text

    def _skip(self, aggregate_type: str, aggregate_id: str) -> bool:
        """True when the view row must not be compared (not imported, or moved on)."""
        key = (aggregate_type, aggregate_id)
        if key not in self.imported:
            return True
        if key in self.classification.advanced:
            self.report.advanced += 1
            return True
        return False

    # -- events --------------------------------------------------------------------

    def events(self) -> None:
        for item in self.classification.to_write:
            self.report.differ(f"{item.label}: not in the event store (not imported)")
        for item, stream in self.classification.conflicts:
            self.report.differ(
                f"{item.label}: the event store holds a different stream "
                f"(first event {stream.event_type}, {stream.last_sequence} event(s))"
            )
        self.report.checked_rows += len(self.classification.imported)
        # superseded legacy tokens (a later login) are not compared: see `auth`

    # -- views --------------------------------------------------------------------

    def trades(self) -> None:
        suspects = self._suspect_trades()
        if suspects is None:
            rows = self._view_rows(ONCHAIN_VIEW, ONCHAIN_COLUMNS)
        else:
            rows = self._some_view_rows(
                ONCHAIN_VIEW,
                ONCHAIN_COLUMNS,
                [t.aggregate_id for t in self.data.trades if t.legacy_id in suspects],
            )
        self.progress.start("verify:trades", f"verify {ONCHAIN_VIEW}", len(self.data.trades))
        time = self._time
        table = legacy.ONCHAIN_TRADES
        every_field = len(ONCHAIN_COLUMNS)
        for count, trade in enumerate(self.data.trades, 1):
            if count % PROGRESS_STEP == 0:
                self.progress.advance("verify:trades", PROGRESS_STEP)
            aggregate_id = trade.aggregate_id
            if self._skip("OnChainTrade", aggregate_id):
                continue
            if suspects is not None and trade.legacy_id not in suspects:
                # the join found every field equal
                self.report.checked_rows += 1
                self.report.checked_fields += every_field
                continue
            raw = self.data.raw_trades[trade.legacy_id]
            # ONCHAIN_COLUMNS, in order
            expected = (
                trade.legacy_id,
                trade.tx_hash,
                trade.log_index,
                trade.symbol,
                trade.base_symbol,
                _real(raw[5]),
                raw[6],
                _real(raw[7]),
                trade.block_number or 0,
                time(trade.block_timestamp),
                time(trade.created_at),
                trade.gas_used,
                trade.effective_gas_price,
                _real(raw[12]),
                _real(raw[13]),
                trade.pyth_exponent,
                time(trade.pyth_publish_time),
            )
            self._compare(
                ONCHAIN_VIEW,
                aggregate_id,
                f"{table} id={trade.legacy_id}",
                ONCHAIN_COLUMNS,
                rows.get(aggregate_id),
                expected,
            )
        self.progress.finish("verify:trades")

    def positions(self, expected_real: Callable[[Iterable[Decimal]], dict[Decimal, float]]) -> None:
        rows = self._view_rows(POSITION_VIEW, POSITION_COLUMNS)
        orders = {o.legacy_id: o for o in self.data.orders}
        nets = {p.symbol: position_net(p, orders) for p in self.data.positions}
        net_reals = expected_real(nets.values())
        self.progress.start("verify:positions", f"verify {POSITION_VIEW}", len(self.data.positions))
        for position in self.data.positions:
            self.progress.advance("verify:positions")
            if self._skip("Position", position.aggregate_id):
                continue
            raw = self.data.raw_positions[position.symbol]
            self._compare(
                POSITION_VIEW,
                position.symbol,
                f"{legacy.TRADE_ACCUMULATORS} symbol={position.symbol!r}",
                POSITION_COLUMNS,
                rows.get(position.symbol),
                {
                    "symbol": position.symbol,
                    "net_position": net_reals[nets[position.symbol]],
                    "accumulated_long": _real(raw[2]),
                    "accumulated_short": _real(raw[3]),
                    "pending_execution_id": position.pending_execution_id,
                    "last_updated": _time(position.last_updated),
                },
            )
        self.progress.finish("verify:positions")

    def orders(self) -> None:
        rows = self._view_rows(OFFCHAIN_VIEW, OFFCHAIN_COLUMNS)
        self.progress.start("verify:orders", f"verify {OFFCHAIN_VIEW}", len(self.data.orders))
        for order in self.data.orders:
            self.progress.advance("verify:orders")
            if self._skip("OffchainOrder", order.aggregate_id):
                continue
            self._compare(
                OFFCHAIN_VIEW,
                order.aggregate_id,
                f"{self.data.offchain_table} id={order.legacy_id}",
                OFFCHAIN_COLUMNS,
                rows.get(order.aggregate_id),
                _order_expectation(order),
            )
        self.progress.finish("verify:orders")

    def pnl(self) -> None:
        if not self.reader.columns(PNL_VIEW):
            self.report.differ(f"{PNL_VIEW} does not exist: the views were never created")
            return
        present = {str(r[0]) for r in self.reader.query(f"SELECT view_id FROM {PNL_VIEW}")}  # noqa: S608
        wanted: list[tuple[str, str]] = [
            (f"ONCHAIN:{t.aggregate_id}", f"{legacy.ONCHAIN_TRADES} id={t.legacy_id}")
            for t in self.data.trades
            if ("OnChainTrade", t.aggregate_id) in self.imported
        ]
        wanted.extend(
            (f"OFFCHAIN:{o.legacy_id}", f"{self.data.offchain_table} id={o.legacy_id}")
            for o in self.data.orders
            if o.status == OrderStatus.FILLED and ("OffchainOrder", o.aggregate_id) in self.imported
        )
        for view_id, source in wanted:
            self.report.checked_rows += 1
            if view_id not in present:
                self.report.differ(f"{PNL_VIEW} has no row {view_id!r} for {source}")

    def auth(self) -> None:
        auth = self.data.auth
        if auth is None or self._skip("SchwabAuth", SCHWAB_ID):
            return
        self.report.checked_rows += 1
        rows = self.reader.query(
            f"SELECT CAST(payload AS TEXT) FROM {SCHWAB_VIEW} WHERE view_id = ?",  # noqa: S608
            (SCHWAB_ID,),
        )
        source = f"{legacy.SCHWAB_AUTH} id=1"
        if not rows:
            self.report.differ(f"{SCHWAB_VIEW} has no row 'schwab' for {source}")
            return
        state = read_view_state(str(rows[0][0]))
        if not isinstance(state, Authenticated):
            self.report.differ(f"{SCHWAB_VIEW} row 'schwab' ({source}) is not authenticated")
            return
        checks: list[tuple[str, bool]] = [
            ("access_token", state.encrypted_access_token.data == auth.access_token),
            ("refresh_token", state.encrypted_refresh_token.data == auth.refresh_token),
            (
                "access_token_fetched_at",
                state.access_token_fetched_at == auth.access_token_fetched_at,
            ),
            (
                "refresh_token_fetched_at",
                state.refresh_token_fetched_at == auth.refresh_token_fetched_at,
            ),
        ]
        for column, equal in checks:
            self.report.checked_fields += 1
            if not equal:
                # Tokens are secrets: name the field, never print the values.
                self.report.differ(f"{SCHWAB_VIEW} row 'schwab' ({source}), field {column} differs")


VIEW_LAYOUT: dict[str, tuple[str, ...]] = {
    ONCHAIN_VIEW: ONCHAIN_COLUMNS,
    POSITION_VIEW: POSITION_COLUMNS,
    OFFCHAIN_VIEW: OFFCHAIN_COLUMNS,
    PNL_VIEW: (),
    SCHWAB_VIEW: (),
}


def view_layout_problems(reader: SqlReader, *, allow_missing: bool = False) -> list[str]:
    """View tables that are missing or lack the legacy-named columns.

    A database on which the Rust reference ran has its own ``onchain_trade_view`` and
    ``position_view`` (no legacy columns); ``CREATE TABLE IF NOT EXISTS`` keeps them, so
    the import checks the layout before writing anything.
    """
    problems = []
    for table, columns in VIEW_LAYOUT.items():
        present = reader.columns(table)
        if not present:
            if not allow_missing:
                problems.append(f"{table} does not exist")
            continue
        missing = [c for c in ("view_id", "version", "payload", *columns) if c not in present]
        if missing:
            problems.append(f"{table} lacks the column(s) {', '.join(missing)}")
    return problems


def _order_expectation(order: LegacyOrder) -> dict[str, Any]:
    return {
        "id": order.legacy_id,
        "symbol": order.symbol,
        "shares": order.shares,
        "direction": order.direction.legacy,
        "broker": order.broker.legacy,
        "broker_order_id": order.broker_order_id,
        "order_id": order.broker_order_id,
        "price_cents": order.price_cents,
        "status": order.status,
        "executed_at": _time(order.executed_at),
    }


def database_reals(reader: SqlReader) -> Callable[[Iterable[Decimal]], dict[Decimal, float]]:
    """How the target database reads decimal text as a REAL (for computed values)."""
    cast = "CAST(? AS REAL)" if reader.dialect == "sqlite" else "CAST(? AS DOUBLE PRECISION)"

    def read(values: Iterable[Decimal]) -> dict[Decimal, float]:
        out: dict[Decimal, float] = {}
        for value in set(values):
            row = reader.query(f"SELECT {cast}", (format(value, "f"),))
            cell = row[0][0]
            assert isinstance(cell, int | float)
            out[value] = float(cell)
        return out

    return read


def verify(
    reader: SqlReader,
    data: LegacyData,
    classification: Classification,
    progress: ProgressReporter,
    legacy_trades_sql: str | None = None,
) -> VerificationReport:
    """Compare every legacy row with the store; the report lists each difference.

    ``legacy_trades_sql`` (`legacy.onchain_trades_select`) is given when ``reader``
    reads the very legacy database too (the store lives in the legacy file): the trades
    are then compared in one SQL join first (`_Verifier._suspect_trades`).
    """
    verifier = _Verifier(reader, data, classification, progress, legacy_trades_sql)
    verifier.events()
    verifier.trades()
    verifier.positions(database_reals(reader))
    verifier.orders()
    verifier.pnl()
    verifier.auth()
    return verifier.report


def planned_count(items: Iterable[PlannedAggregate]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.aggregate_type] = counts.get(item.aggregate_type, 0) + 1
    return counts
