"""Paginated reads over the views, and their JSON forms (CLI ``--json`` and the API).

Filters go through the views' generated columns with ``?`` placeholders (portable
between SQLite and PostgreSQL); values are read from the payloads' exact decimals
and RFC 3339 times through each view's own ``record_from_payload``, never from the
REAL columns. JSON documents carry decimals as strings so no client parses money
into a float by accident.

Pagination is ``limit``/``offset`` with the ``total`` that matched: simple for scripts
and the dashboard. Rows are ordered by a total order (ties broken by the view id),
so a page boundary never drops or repeats a row of an unchanged table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Literal, Protocol, TypeVar

from hedgebot.eventstore import codec
from hedgebot.metrics_pnl.fifo import legacy_timestamp, time_key
from hedgebot.metrics_pnl.queries import PnlRecord
from hedgebot.metrics_pnl.queries import record_from_payload as pnl_from_payload
from hedgebot.offchain_order.view import LegacyStatus, OffchainOrderRecord
from hedgebot.offchain_order.view import record_from_payload as order_from_payload
from hedgebot.onchain_trade.view import OnChainTradeRecord, sql_timestamp
from hedgebot.onchain_trade.view import record_from_payload as trade_from_payload
from hedgebot.position.events import DollarValue, ExecutionThreshold, Shares
from hedgebot.position.state import PositionState

T = TypeVar("T")

ORDER_STATUSES: tuple[LegacyStatus, ...] = ("PENDING", "SUBMITTED", "FILLED", "FAILED")
MAX_LIMIT = 1000


class QueryStore(Protocol):
    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]: ...


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        following = self.offset + len(self.items)
        return following if following < self.total else None


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")


def _aware(name: str, moment: datetime | None) -> None:
    if moment is not None and moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _payload(raw: object) -> Any:
    """JSON text (SQLite, ``CAST(payload AS TEXT)`` on PostgreSQL) as data."""
    if isinstance(raw, bytes):
        raw = raw.decode()
    return codec.loads(raw) if isinstance(raw, str) else raw


def _count(store: QueryStore, table: str, where: str, params: Sequence[object]) -> int:
    rows = store.query(f"SELECT count(*) FROM {table}{where}", params)  # noqa: S608
    return int(str(rows[0][0]))


def _where(clauses: Sequence[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


# ---------------------------------------------------------------------------
# onchain trades


def list_trades(
    store: QueryStore,
    *,
    symbol: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[OnChainTradeRecord]:
    """Newest first by ``created_at`` (the time the fill was recorded; whole seconds).

    ``symbol`` matches the tokenized (``tAAPL``) or the base symbol (``AAPL``);
    ``since`` is inclusive and ``until`` exclusive.
    """
    check_page(limit, offset)
    _aware("since", since)
    _aware("until", until)
    clauses: list[str] = []
    params: list[object] = []
    if symbol is not None:
        clauses.append("(symbol = ? OR base_symbol = ?)")
        params += [symbol, symbol]
    if since is not None:
        clauses.append("created_at >= ?")
        params.append(sql_timestamp(since))
    if until is not None:
        clauses.append("created_at < ?")
        params.append(sql_timestamp(until))
    where = _where(clauses)
    # NULLS LAST (rows migrated without created_at go last on both backends) keeps the
    # created_at index usable; "created_at IS NULL" as a sort key forces a full sort.
    order = (
        " ORDER BY created_at DESC NULLS LAST, block_number DESC, log_index DESC,"
        " view_id DESC LIMIT ? OFFSET ?"
    )
    rows = store.query(
        "SELECT CAST(payload AS TEXT) FROM onchain_trade_view" + where + order,  # noqa: S608
        [*params, limit, offset],
    )
    items = [trade_from_payload(_payload(row[0])) for row in rows]
    return Page(items, _count(store, "onchain_trade_view", where, params), limit, offset)


def trade_json(record: OnChainTradeRecord) -> dict[str, Any]:
    return {
        "trade_id": record.trade_id.aggregate_id,
        "tx_hash": record.tx_hash,
        "log_index": record.log_index,
        "symbol": record.symbol,
        "base_symbol": record.base_symbol,
        "direction": record.direction.legacy,
        "amount": _dec(record.amount),
        "price_usdc": _dec(record.price_usdc),
        "block_number": record.block_number,
        "block_timestamp": _time(record.block_timestamp),
        "created_at": _time(record.created_at),
        "gas_used": record.gas_used,
        "effective_gas_price": record.effective_gas_price,
        "pyth_price": _dec(record.pyth_price),
        "pyth_confidence": _dec(record.pyth_confidence),
        "pyth_exponent": record.pyth_exponent,
        "pyth_publish_time": _time(record.pyth_publish_time),
        "enriched_at": _time(record.enriched_at),
        "migrated": record.migrated,
        "legacy_id": record.legacy_id,
    }


# ---------------------------------------------------------------------------
# broker orders


def check_status(status: str) -> LegacyStatus:
    upper = status.strip().upper()
    for known in ORDER_STATUSES:
        if upper == known:
            return known
    raise ValueError(f"invalid order status {status!r} (one of {', '.join(ORDER_STATUSES)})")


def list_orders(
    store: QueryStore,
    *,
    status: LegacyStatus | None = None,
    symbol: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[OffchainOrderRecord]:
    """Newest execution first; ``status`` is the legacy one (partial fills are SUBMITTED)."""
    check_page(limit, offset)
    clauses: list[str] = []
    params: list[object] = []
    if status is not None:
        clauses.append("status = ?")
        params.append(check_status(status))
    if symbol is not None:
        clauses.append("symbol = ?")
        params.append(symbol)
    where = _where(clauses)
    rows = store.query(
        "SELECT CAST(payload AS TEXT) FROM offchain_trade_view"  # noqa: S608 (fixed text)
        + where
        + " ORDER BY id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    items = [order_from_payload(_payload(row[0])) for row in rows]
    return Page(items, _count(store, "offchain_trade_view", where, params), limit, offset)


def order_counts(store: QueryStore) -> dict[str, int]:
    """Orders per legacy status (every status present, zero included)."""
    counts: dict[str, int] = dict.fromkeys(ORDER_STATUSES, 0)
    for status, count in store.query(
        "SELECT status, count(*) FROM offchain_trade_view GROUP BY status"
    ):
        counts[str(status)] = int(str(count))
    return counts


def order_json(record: OffchainOrderRecord) -> dict[str, Any]:
    return {
        "execution_id": record.execution_id,
        "symbol": record.symbol,
        "direction": record.direction.legacy,
        "shares": _dec(record.shares),
        "shares_filled": _dec(record.shares_filled),
        "broker": record.broker.legacy,
        "broker_order_id": record.broker_order_id,
        "status": record.status,
        "state": record.state,
        "price_cents": record.price_cents,
        "avg_price_cents": record.avg_price_cents,
        "placed_at": _time(record.placed_at),
        "submitted_at": _time(record.submitted_at),
        "executed_at": _time(record.executed_at),
        "error": record.error,
        "migrated": record.migrated,
    }


# ---------------------------------------------------------------------------
# positions


def threshold_json(threshold: ExecutionThreshold | None) -> dict[str, str] | None:
    if threshold is None:
        return None
    kind = "shares" if isinstance(threshold, Shares) else "dollars"
    return {"kind": kind, "value": codec.encode_decimal(threshold.value)}


def parse_threshold(shares: Decimal | None, dollars: Decimal | None) -> ExecutionThreshold:
    """Exactly one of a share count or a dollar value, positive and finite."""
    if (shares is None) == (dollars is None):
        raise ValueError("give exactly one of shares or dollars")
    value = shares if shares is not None else dollars
    assert value is not None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"the threshold must be a positive number, got {value}")
    return Shares(value) if shares is not None else DollarValue(value)


def exposure_usdc(position: PositionState) -> Decimal | None:
    """Net position at the last onchain price: what an unhedged position is worth."""
    if position.last_price_usdc is None:
        return None
    return position.net * position.last_price_usdc


def position_json(position: PositionState) -> dict[str, Any]:
    return {
        "symbol": position.symbol,
        "net": _dec(position.net),
        "accumulated_long": _dec(position.accumulated_long),
        "accumulated_short": _dec(position.accumulated_short),
        "last_price_usdc": _dec(position.last_price_usdc),
        "exposure_usdc": _dec(exposure_usdc(position)),
        "threshold": threshold_json(position.threshold),
        "pending_execution_id": position.pending_execution_id,
        "pending_shares": _dec(position.pending_shares),
        "pending_direction": (
            None if position.pending_direction is None else position.pending_direction.legacy
        ),
        "hedging_suspended": position.hedging_suspended,
        "consecutive_failures": position.consecutive_failures,
        "last_error": position.last_error,
        "last_updated": _time(position.last_updated),
    }


# ---------------------------------------------------------------------------
# PnL


def list_pnl(
    store: QueryStore,
    *,
    symbol: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    order: Literal["asc", "desc"] = "asc",
) -> Page[PnlRecord]:
    """Rows of ``metrics_pnl_view`` in PnL order (``desc``: newest first).

    ``since`` is inclusive, ``until`` exclusive, both exact to the microsecond (the
    indexed ``timestamp`` column narrows, ``sort_key`` decides).
    """
    check_page(limit, offset)
    _aware("since", since)
    _aware("until", until)
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc', got {order!r}")
    clauses: list[str] = []
    params: list[object] = []
    if symbol is not None:
        clauses.append("symbol = ?")
        params.append(symbol)
    if since is not None:
        clauses.append("timestamp >= ? AND sort_key >= ?")
        params += [legacy_timestamp(since), time_key(since)]
    if until is not None:
        clauses.append("timestamp <= ? AND sort_key < ?")
        params += [legacy_timestamp(until), time_key(until)]
    where = _where(clauses)
    direction = "DESC" if order == "desc" else "ASC"
    # ``timestamp`` is ``sort_key``'s time cut to the second, so (timestamp, sort_key) is
    # the PnL order, and the indexed ``timestamp`` spares a sort of the whole table.
    rows = store.query(
        "SELECT CAST(payload AS TEXT) FROM metrics_pnl_view"  # noqa: S608 (fixed text)
        + where
        + f" ORDER BY timestamp {direction}, sort_key {direction}, view_id {direction}"
        + " LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    items = [pnl_from_payload(row[0]) for row in rows]
    return Page(items, _count(store, "metrics_pnl_view", where, params), limit, offset)


def page_json(page: Page[T], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": items,
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": page.next_offset,
    }


def pnl_row_json(record: PnlRecord) -> dict[str, Any]:
    return record.to_json()


# ---------------------------------------------------------------------------


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else codec.encode_decimal(value)


def _time(value: datetime | None) -> str | None:
    return None if value is None else codec.encode_datetime(value)
