"""Typed queries over ``metrics_pnl_view`` (portable SQL, ``?`` placeholders).

Filters use the generated columns (``symbol``, ``timestamp``, ``sort_key``); amounts
are read from the payload's decimal strings, not the REAL columns, so reports are
exact. "Newest row of a symbol" means the greatest ``sort_key`` (the PnL order to the
microsecond), never the second-resolution ``timestamp``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from hedgebot.eventstore import codec
from hedgebot.metrics_pnl.fifo import PNL_CONTEXT, ZERO, canonical, legacy_timestamp, time_key
from hedgebot.metrics_pnl.view import VIEW_TABLE


class SqlQueryable(Protocol):
    """A store that answers parameterised SQL (SQLite and PostgreSQL stores)."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]: ...


@dataclass(frozen=True, slots=True)
class PnlRecord:
    """One row of the view, exact."""

    symbol: str
    timestamp: str
    traded_at: datetime
    trade_type: str
    trade_id: str
    trade_direction: str
    quantity: Decimal
    price_per_share: Decimal
    realized_pnl: Decimal | None
    cumulative_pnl: Decimal
    net_position_after: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "timestamp": self.timestamp,
            "traded_at": codec.encode_datetime(self.traded_at),
            "trade_type": self.trade_type,
            "trade_id": self.trade_id,
            "trade_direction": self.trade_direction,
            "quantity": codec.encode_decimal(self.quantity),
            "price_per_share": codec.encode_decimal(self.price_per_share),
            "realized_pnl": (
                None if self.realized_pnl is None else codec.encode_decimal(self.realized_pnl)
            ),
            "cumulative_pnl": codec.encode_decimal(self.cumulative_pnl),
            "net_position_after": codec.encode_decimal(self.net_position_after),
        }


@dataclass(frozen=True, slots=True)
class SymbolPnl:
    """Totals of one base symbol.

    ``realized_pnl`` is what the trades in the queried window realised (all time when
    there is no window); ``cumulative_pnl`` and ``net_position`` are as of the
    symbol's newest trade in the window.
    """

    symbol: str
    trades: int
    realized_pnl: Decimal
    cumulative_pnl: Decimal
    net_position: Decimal
    last_trade_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "trades": self.trades,
            "realized_pnl": codec.encode_decimal(self.realized_pnl),
            "cumulative_pnl": codec.encode_decimal(self.cumulative_pnl),
            "net_position": codec.encode_decimal(self.net_position),
            "last_trade_at": codec.encode_datetime(self.last_trade_at),
        }


def _payload(raw: object) -> Mapping[str, Any]:
    """JSON text (SQLite) or already decoded JSONB (PostgreSQL)."""
    if isinstance(raw, bytes):
        raw = raw.decode()
    data = codec.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(data, Mapping):
        raise ValueError(f"{VIEW_TABLE} payload is not a JSON object: {raw!r}")
    return data


def record_from_payload(raw: object) -> PnlRecord:
    payload = _payload(raw)
    realized = payload["realized_pnl"]
    return PnlRecord(
        symbol=payload["symbol"],
        timestamp=payload["timestamp"],
        traded_at=codec.parse_datetime(payload["traded_at"]),
        trade_type=payload["trade_type"],
        trade_id=payload["trade_id"],
        trade_direction=payload["trade_direction"],
        quantity=Decimal(payload["quantity"]),
        price_per_share=Decimal(payload["price_per_share"]),
        realized_pnl=None if realized is None else Decimal(realized),
        cumulative_pnl=Decimal(payload["cumulative_pnl"]),
        net_position_after=Decimal(payload["net_position_after"]),
    )


def _window(
    symbol: str | None, since: datetime | None, until: datetime | None
) -> tuple[str, list[object]]:
    """``WHERE`` text and parameters; ``timestamp`` narrows by index, ``sort_key`` is exact.

    The text is built only from the fixed clauses below; every value is a parameter.
    """
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
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def pnl_rows(
    store: SqlQueryable,
    *,
    symbol: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[PnlRecord]:
    """Rows in PnL order; ``since`` inclusive, ``until`` exclusive; ``limit`` keeps the newest."""
    where, params = _window(symbol, since, until)
    if limit is None:
        sql = f"SELECT payload FROM {VIEW_TABLE}{where} ORDER BY sort_key"  # noqa: S608
        rows = store.query(sql, params)
        return [record_from_payload(r[0]) for r in rows]
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    rows = store.query(
        f"SELECT payload FROM {VIEW_TABLE}{where} ORDER BY sort_key DESC LIMIT ?",  # noqa: S608
        [*params, limit],
    )
    return [record_from_payload(r[0]) for r in reversed(rows)]


def _newest_per_symbol(
    store: SqlQueryable, where: str, params: Sequence[object]
) -> dict[str, tuple[PnlRecord, int]]:
    rows = store.query(
        f"SELECT v.payload, m.trades FROM {VIEW_TABLE} v JOIN ("  # noqa: S608
        f"SELECT symbol, MAX(sort_key) AS newest, COUNT(*) AS trades FROM {VIEW_TABLE}"
        f"{where} GROUP BY symbol) m ON v.symbol = m.symbol AND v.sort_key = m.newest",
        params,
    )
    found: dict[str, tuple[PnlRecord, int]] = {}
    for payload, trades in rows:
        record = record_from_payload(payload)
        found[record.symbol] = (record, int(str(trades)))
    return found


def symbol_totals(
    store: SqlQueryable,
    *,
    symbol: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[SymbolPnl]:
    """Per-symbol totals over a window, by symbol; exact (differences of cumulative PnL)."""
    where, params = _window(symbol, since, until)
    newest = _newest_per_symbol(store, where, params)
    before: dict[str, tuple[PnlRecord, int]] = {}
    if since is not None and newest:
        before_where, before_params = _window(symbol, None, since)
        before = _newest_per_symbol(store, before_where, before_params)
    totals = []
    for name in sorted(newest):
        record, trades = newest[name]
        start = before[name][0].cumulative_pnl if name in before else ZERO
        totals.append(
            SymbolPnl(
                symbol=name,
                trades=trades,
                realized_pnl=canonical(PNL_CONTEXT.subtract(record.cumulative_pnl, start)),
                cumulative_pnl=record.cumulative_pnl,
                net_position=record.net_position_after,
                last_trade_at=record.traded_at,
            )
        )
    return totals


@dataclass(frozen=True, slots=True)
class PnlSummary:
    """Every symbol's totals and the realised PnL of them all."""

    symbols: tuple[SymbolPnl, ...]
    total_realized_pnl: Decimal
    since: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "since": None if self.since is None else codec.encode_datetime(self.since),
            "total_realized_pnl": codec.encode_decimal(self.total_realized_pnl),
            "symbols": [s.to_json() for s in self.symbols],
        }


def pnl_summary(
    store: SqlQueryable, *, symbol: str | None = None, since: datetime | None = None
) -> PnlSummary:
    """Totals per symbol and overall (the demo's closing report, the CLI's table)."""
    totals = symbol_totals(store, symbol=symbol, since=since)
    total = ZERO
    for entry in totals:
        total = PNL_CONTEXT.add(total, entry.realized_pnl)
    return PnlSummary(symbols=tuple(totals), total_realized_pnl=canonical(total), since=since)
