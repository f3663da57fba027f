"""``offchain_trade_view``: the read model that replaces the legacy ``offchain_trades``.

Row payload (our own format; only hedgebot reads it). The top-level keys are the
legacy columns in the legacy value formats, and the migration's generated columns
are plain extractions of them (SPEC §5):

* ``id`` is the execution id (an integer, as the legacy row id it continues);
* ``direction`` ``'BUY'``/``'SELL'``; ``broker`` ``'schwab'``/``'alpaca'``/``'dry_run'``;
* ``status`` ``'PENDING'|'SUBMITTED'|'FILLED'|'FAILED'`` — a partially filled order is
  still ``'SUBMITTED'``, as in the legacy bot;
* ``shares`` is a JSON integer for whole shares (the legacy INTEGER) and a JSON
  number otherwise (fractional brokers). For a FILLED order it is the filled
  quantity, for any other order the quantity asked;
* ``broker_order_id`` (the generated ``order_id`` column repeats it), ``price_cents``
  INTEGER (NULL until filled), ``executed_at`` ``YYYY-MM-DD HH:MM:SS`` UTC text: the
  fill or failure time, NULL while the order is open (the legacy CHECK constraints).

``exact`` holds the values the typed query functions return exactly (decimal strings,
RFC 3339 timestamps, the precise lifecycle state and the partial fill).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, cast

from hedgebot.domain import Broker, Direction
from hedgebot.eventstore import codec
from hedgebot.eventstore.envelope import StoredEvent
from hedgebot.eventstore.views import View, ViewRows
from hedgebot.offchain_order.events import (
    AGGREGATE_TYPE,
    OFFCHAIN_ORDER_EVENTS,
    Failed,
    Filled,
    Migrated,
    MigratedFailed,
    MigratedFilled,
    MigratedPending,
    MigratedSubmitted,
    PartiallyFilled,
    Placed,
    Submitted,
)

TABLE = "offchain_trade_view"

LegacyStatus = Literal["PENDING", "SUBMITTED", "FILLED", "FAILED"]
OPEN_STATUSES: tuple[LegacyStatus, ...] = ("PENDING", "SUBMITTED")


class QueryStore(Protocol):
    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]: ...


def _sql_timestamp(value: datetime | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` in UTC (SQLite ``datetime()`` text, fraction dropped)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat always writes a 4-digit year: "YYYY-MM-DD HH:MM:SS+00:00"
    return value.isoformat(" ", "seconds")[:19]


def _rfc(value: datetime | None) -> str | None:
    return None if value is None else codec.encode_datetime(value)


def _number(value: Decimal) -> int | float:
    """A JSON integer for whole quantities (the legacy INTEGER), else the nearest double."""
    return int(value) if value == value.to_integral_value() else float(value)


def _row(
    execution_id: int,
    *,
    symbol: str,
    shares: Decimal,
    direction: Direction,
    broker: Broker,
    state: str,
    status: LegacyStatus,
    placed_at: datetime,
    migrated: bool,
    broker_order_id: str | None = None,
    price_cents: int | None = None,
    executed_at: datetime | None = None,
    submitted_at: datetime | None = None,
    shares_filled: Decimal | None = None,
    avg_price_cents: int | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    shown = shares_filled if status == "FILLED" and shares_filled is not None else shares
    return {
        "id": execution_id,
        "symbol": symbol,
        "shares": _number(shown),
        "direction": direction.legacy,
        "broker": broker.legacy,
        "broker_order_id": broker_order_id,
        "price_cents": price_cents,
        "status": status,
        "executed_at": _sql_timestamp(executed_at),
        "exact": {
            "state": state,
            "shares": codec.encode_decimal(shares),
            "shares_filled": None if shares_filled is None else codec.encode_decimal(shares_filled),
            "avg_price_cents": avg_price_cents,
            "placed_at": _rfc(placed_at),
            "submitted_at": _rfc(submitted_at),
            "executed_at": _rfc(executed_at),
            "error": error,
            "migrated": migrated,
        },
    }


def _migrated_row(execution_id: int, event: Migrated) -> dict[str, Any]:
    status = event.status
    base: dict[str, Any] = {
        "symbol": event.symbol,
        "shares": event.shares,
        "direction": event.direction,
        "broker": event.broker,
        "placed_at": event.migrated_at,
        "migrated": True,
        "broker_order_id": event.broker_order_id,
        "price_cents": event.price_cents,
        "executed_at": event.executed_at,
    }
    if isinstance(status, MigratedPending):
        return _row(execution_id, state="Pending", status="PENDING", **base)
    if isinstance(status, MigratedSubmitted):
        return _row(
            execution_id,
            state="Submitted",
            status="SUBMITTED",
            submitted_at=event.executed_at or event.migrated_at,
            **base,
        )
    if isinstance(status, MigratedFilled):
        return _row(
            execution_id,
            state="Filled",
            status="FILLED",
            submitted_at=event.migrated_at,
            shares_filled=event.shares,
            **base,
        )
    if isinstance(status, MigratedFailed):
        return _row(execution_id, state="Failed", status="FAILED", error=status.error, **base)
    raise TypeError(f"unexpected migrated order status {status!r}")


def _placed_row(execution_id: int, event: Placed) -> dict[str, Any]:
    return _row(
        execution_id,
        symbol=event.symbol,
        shares=event.shares,
        direction=event.direction,
        broker=event.broker,
        state="Pending",
        status="PENDING",
        placed_at=event.placed_at,
        migrated=False,
    )


def _updated(current: Mapping[str, Any], columns: dict[str, Any], exact: dict[str, Any]) -> Any:
    return {**current, **columns, "exact": {**current["exact"], **exact}}


class OffchainTradeView(View):
    """One row per broker order, keyed by the execution id."""

    table = TABLE
    aggregate_types = frozenset({AGGREGATE_TYPE})

    def apply(self, rows: Mapping[str, ViewRows], event: StoredEvent, decoded: Any) -> None:
        table = rows[self.table]
        if decoded is None:
            decoded = OFFCHAIN_ORDER_EVENTS.decode(event)
        view_id = event.aggregate_id
        execution_id = int(view_id)
        # Placed / Migrated open the order's stream, so at sequence 1 the row is new:
        # its version is 1 and the store need not be asked for the current one.
        first = 1 if event.sequence == 1 else None
        if isinstance(decoded, Placed):
            table.put(view_id, _placed_row(execution_id, decoded), version=first)
            return
        if isinstance(decoded, Migrated):
            table.put(view_id, _migrated_row(execution_id, decoded), version=first)
            return
        current = table.get(view_id)
        if current is None:
            raise LookupError(f"{type(decoded).__name__} for order {view_id} that has no row")
        exact = current["exact"]
        if isinstance(decoded, Submitted):
            row = _updated(
                current,
                {"broker_order_id": decoded.broker_order_id, "status": "SUBMITTED"},
                {"state": "Submitted", "submitted_at": _rfc(decoded.submitted_at)},
            )
        elif isinstance(decoded, PartiallyFilled):
            row = _updated(
                current,
                {"status": "SUBMITTED"},
                {
                    "state": "PartiallyFilled",
                    "shares_filled": codec.encode_decimal(decoded.shares_filled),
                    "avg_price_cents": decoded.avg_price_cents,
                },
            )
        elif isinstance(decoded, Filled):
            filled = decoded.shares_filled
            if filled is None:
                filled = Decimal(exact["shares"])
            row = _updated(
                current,
                {
                    "status": "FILLED",
                    "shares": _number(filled),
                    "price_cents": decoded.price_cents,
                    "executed_at": _sql_timestamp(decoded.filled_at),
                },
                {
                    "state": "Filled",
                    "shares_filled": codec.encode_decimal(filled),
                    "executed_at": _rfc(decoded.filled_at),
                },
            )
        elif isinstance(decoded, Failed):
            row = _updated(
                current,
                {"status": "FAILED", "executed_at": _sql_timestamp(decoded.failed_at)},
                {
                    "state": "Failed",
                    "error": decoded.error,
                    "executed_at": _rfc(decoded.failed_at),
                },
            )
        else:
            raise TypeError(f"unexpected OffchainOrder event {type(decoded).__name__}")
        table.put(view_id, row)


# ---------------------------------------------------------------------------
# typed queries


@dataclass(frozen=True)
class OffchainOrderRecord:
    """One broker order as the view shows it.

    ``shares`` is the quantity asked; ``shares_filled`` what the broker filled so far
    (0 before any fill). ``state`` is the exact lifecycle state (``PartiallyFilled``
    included); ``status`` the legacy one.
    """

    execution_id: int
    symbol: str
    shares: Decimal
    direction: Direction
    broker: Broker
    broker_order_id: str | None
    price_cents: int | None
    status: LegacyStatus
    state: str
    executed_at: datetime | None
    placed_at: datetime
    submitted_at: datetime | None
    shares_filled: Decimal
    avg_price_cents: int | None
    error: str | None
    migrated: bool

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def _opt_dt(value: Any) -> datetime | None:
    return None if value is None else codec.parse_datetime(value)


def record_from_payload(payload: Mapping[str, Any]) -> OffchainOrderRecord:
    exact = payload["exact"]
    filled = exact["shares_filled"]
    return OffchainOrderRecord(
        execution_id=payload["id"],
        symbol=payload["symbol"],
        shares=Decimal(exact["shares"]),
        direction=Direction.from_legacy(payload["direction"]),
        broker=Broker.from_legacy(payload["broker"]),
        broker_order_id=payload["broker_order_id"],
        price_cents=payload["price_cents"],
        status=cast(LegacyStatus, payload["status"]),
        state=exact["state"],
        executed_at=_opt_dt(exact["executed_at"]),
        placed_at=codec.parse_datetime(exact["placed_at"]),
        submitted_at=_opt_dt(exact["submitted_at"]),
        shares_filled=Decimal(0) if filled is None else Decimal(filled),
        avg_price_cents=exact["avg_price_cents"],
        error=exact["error"],
        migrated=bool(exact["migrated"]),
    )


_SELECT = f"SELECT CAST(payload AS TEXT) FROM {TABLE}"  # noqa: S608 (constant name)
_BY_ID = " ORDER BY id"


def _records(store: QueryStore, where: str, params: Sequence[object]) -> list[OffchainOrderRecord]:
    rows = store.query(_SELECT + where, params)
    return [record_from_payload(codec.loads(str(row[0]))) for row in rows]


def order(store: QueryStore, execution_id: int) -> OffchainOrderRecord | None:
    """One order by execution id, or None."""
    found = _records(store, " WHERE view_id = ?", (str(int(execution_id)),))
    return found[0] if found else None


def orders_by_status(store: QueryStore, status: LegacyStatus) -> list[OffchainOrderRecord]:
    if status not in ("PENDING", "SUBMITTED", "FILLED", "FAILED"):
        raise ValueError(f"invalid order status {status!r}")
    return _records(store, " WHERE status = ?" + _BY_ID, (status,))


def orders_by_symbol(store: QueryStore, symbol: str) -> list[OffchainOrderRecord]:
    """Orders of one base symbol (``AAPL``), oldest execution first."""
    return _records(store, " WHERE symbol = ?" + _BY_ID, (symbol,))


def orders_by_broker(store: QueryStore, broker: Broker) -> list[OffchainOrderRecord]:
    return _records(store, " WHERE broker = ?" + _BY_ID, (broker.legacy,))


def open_orders(store: QueryStore, broker: Broker | None = None) -> list[OffchainOrderRecord]:
    """PENDING and SUBMITTED (including partially filled) orders, oldest first."""
    where = " WHERE status IN (?, ?)"
    params: list[object] = list(OPEN_STATUSES)
    if broker is not None:
        where += " AND broker = ?"
        params.append(broker.legacy)
    return _records(store, where + _BY_ID, params)


__all__ = [
    "OPEN_STATUSES",
    "TABLE",
    "LegacyStatus",
    "OffchainOrderRecord",
    "OffchainTradeView",
    "QueryStore",
    "open_orders",
    "order",
    "orders_by_broker",
    "orders_by_status",
    "orders_by_symbol",
    "record_from_payload",
]
