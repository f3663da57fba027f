"""``onchain_trade_view``: the read model that replaces the legacy ``onchain_trades`` table.

Row payload (our own format; only hedgebot reads it). The top-level keys are the
legacy columns in the legacy value formats, and the migration's generated columns
are plain extractions of them (SPEC §5):

* REAL columns (``amount``, ``price_usdc``, ``pyth_price``, ``pyth_confidence``) are
  JSON numbers written from ``float(Decimal)`` (shortest repr). SQLite's JSON parser
  and PostgreSQL's ``float8`` cast read that text back to the very same double, so a
  migrated row's REAL equals the legacy REAL exactly. (SQLite's ``CAST(text AS
  REAL)`` is not always correctly rounded, which is why no column casts strings.)
* ``direction`` is ``'BUY'``/``'SELL'``; timestamps are ``YYYY-MM-DD HH:MM:SS`` UTC
  text, as SQLite's ``datetime()`` writes them.
* ``id`` is the legacy row id (NULL for trades hedgebot witnessed); ``created_at`` is
  the legacy ``created_at`` for migrated rows and the time the fill was recorded
  (``filled_at``) for new ones.

``exact`` holds the exact values (decimal strings, RFC 3339 timestamps) the typed
query functions return, since a REAL or a whole-second timestamp loses precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from hedgebot.domain import Direction, NotTokenizedEquity, TradeId, base_symbol, normalize_tx_hash
from hedgebot.eventstore import codec
from hedgebot.eventstore.envelope import StoredEvent
from hedgebot.eventstore.views import View, ViewRows
from hedgebot.onchain_trade.events import (
    AGGREGATE_TYPE,
    LEGACY_NULL_BLOCK_TIMESTAMP,
    LEGACY_NULL_CREATED_AT,
    ONCHAIN_TRADE_EVENTS,
    Enriched,
    Filled,
    Migrated,
    PythPrice,
)

TABLE = "onchain_trade_view"


class QueryStore(Protocol):
    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]: ...


def sql_timestamp(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC (SQLite ``datetime()`` text, fraction dropped)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat always writes a 4-digit year: "YYYY-MM-DD HH:MM:SS+00:00"
    return value.isoformat(" ", "seconds")[:19]


def _real(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else codec.encode_decimal(value)


def _ts(value: datetime | None) -> str | None:
    return None if value is None else sql_timestamp(value)


def _rfc(value: datetime | None) -> str | None:
    return None if value is None else codec.encode_datetime(value)


def view_base_symbol(symbol: str) -> str:
    """The base symbol; a legacy symbol that is not tokenized is its own base."""
    try:
        return base_symbol(symbol)
    except NotTokenizedEquity:
        return symbol


def _pyth_columns(
    price: Decimal | None,
    confidence: Decimal | None,
    exponent: int | None,
    publish_time: datetime | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    columns = {
        "pyth_price": _real(price),
        "pyth_confidence": _real(confidence),
        "pyth_exponent": exponent,
        "pyth_publish_time": _ts(publish_time),
    }
    exact = {
        "pyth_price": _dec(price),
        "pyth_confidence": _dec(confidence),
        "pyth_publish_time": _rfc(publish_time),
    }
    return columns, exact


def _from_pyth(pyth: PythPrice | None) -> tuple[dict[str, Any], dict[str, Any]]:
    if pyth is None:
        return _pyth_columns(None, None, None, None)
    return _pyth_columns(pyth.price, pyth.confidence, pyth.expo, pyth.publish_time)


def _base_row(
    trade_id: TradeId,
    symbol: str,
    amount: Decimal,
    direction: Direction,
    price_usdc: Decimal,
    block_number: int,
) -> dict[str, Any]:
    return {
        "id": None,
        "tx_hash": trade_id.tx_hash,
        "log_index": trade_id.log_index,
        "symbol": symbol,
        "base_symbol": view_base_symbol(symbol),
        "amount": _real(amount),
        "direction": direction.legacy,
        "price_usdc": _real(price_usdc),
        "block_number": block_number,
    }


def _filled_row(trade_id: TradeId, event: Filled) -> dict[str, Any]:
    pyth_columns, pyth_exact = _from_pyth(None)
    return {
        **_base_row(
            trade_id,
            event.symbol,
            event.amount,
            event.direction,
            event.price_usdc,
            event.block_number,
        ),
        "block_timestamp": _ts(event.block_timestamp),
        "created_at": _ts(event.filled_at),
        "gas_used": None,
        "effective_gas_price": None,
        **pyth_columns,
        "exact": {
            "amount": _dec(event.amount),
            "price_usdc": _dec(event.price_usdc),
            "block_timestamp": _rfc(event.block_timestamp),
            "created_at": _rfc(event.filled_at),
            "filled_at": _rfc(event.filled_at),
            "enriched_at": None,
            "migrated": False,
            **pyth_exact,
        },
    }


def _migrated_row(trade_id: TradeId, event: Migrated) -> dict[str, Any]:
    nulls = set(event.legacy_nulls or ())
    block_timestamp = None if LEGACY_NULL_BLOCK_TIMESTAMP in nulls else event.block_timestamp
    if LEGACY_NULL_CREATED_AT in nulls:
        created_at = None
    else:
        # A Migrated written by the reference tool has no created_at: it put the
        # legacy created_at into block_timestamp.
        created_at = event.created_at or event.block_timestamp
    if event.legacy_pyth is not None:
        legacy = event.legacy_pyth
        pyth_columns, pyth_exact = _pyth_columns(
            legacy.price, legacy.confidence, legacy.exponent, legacy.publish_time
        )
    else:
        pyth_columns, pyth_exact = _from_pyth(event.pyth_price)
    row = _base_row(
        trade_id, event.symbol, event.amount, event.direction, event.price_usdc, event.block_number
    )
    row["id"] = event.legacy_id
    return {
        **row,
        "block_timestamp": _ts(block_timestamp),
        "created_at": _ts(created_at),
        "gas_used": event.gas_used,
        "effective_gas_price": event.effective_gas_price,
        **pyth_columns,
        "exact": {
            "amount": _dec(event.amount),
            "price_usdc": _dec(event.price_usdc),
            "block_timestamp": _rfc(block_timestamp),
            "created_at": _rfc(created_at),
            "filled_at": _rfc(event.block_timestamp),
            "enriched_at": None,
            "migrated": True,
            **pyth_exact,
        },
    }


def _enriched_row(current: Mapping[str, Any], event: Enriched) -> dict[str, Any]:
    pyth_columns, pyth_exact = _from_pyth(event.pyth_price)
    return {
        **current,
        "gas_used": event.gas_used,
        "effective_gas_price": event.effective_gas_price,
        **pyth_columns,
        "exact": {
            **current["exact"],
            "enriched_at": _rfc(event.enriched_at),
            **pyth_exact,
        },
    }


class OnChainTradeView(View):
    """One row per trade, keyed by ``tx_hash:log_index``."""

    table = TABLE
    aggregate_types = frozenset({AGGREGATE_TYPE})

    def apply(self, rows: Mapping[str, ViewRows], event: StoredEvent, decoded: Any) -> None:
        table = rows[self.table]
        if decoded is None:
            decoded = ONCHAIN_TRADE_EVENTS.decode(event)
        trade_id = TradeId.parse(event.aggregate_id)
        view_id = trade_id.aggregate_id
        # Filled / Migrated open the aggregate's stream, so at sequence 1 the row is new:
        # its version is 1 and the store need not be asked for the current one.
        first = 1 if event.sequence == 1 else None
        if isinstance(decoded, Filled):
            table.put(view_id, _filled_row(trade_id, decoded), version=first)
        elif isinstance(decoded, Migrated):
            table.put(view_id, _migrated_row(trade_id, decoded), version=first)
        elif isinstance(decoded, Enriched):
            current = table.get(view_id)
            if current is None:
                raise LookupError(f"Enriched for trade {view_id} that has no row (not filled)")
            table.put(view_id, _enriched_row(current, decoded))
        else:
            raise TypeError(f"unexpected OnChainTrade event {type(decoded).__name__}")


# ---------------------------------------------------------------------------
# typed queries


@dataclass(frozen=True)
class OnChainTradeRecord:
    tx_hash: str
    log_index: int
    legacy_id: int | None
    symbol: str
    base_symbol: str
    amount: Decimal
    direction: Direction
    price_usdc: Decimal
    block_number: int
    block_timestamp: datetime | None
    created_at: datetime | None
    filled_at: datetime
    gas_used: int | None
    effective_gas_price: int | None
    pyth_price: Decimal | None
    pyth_confidence: Decimal | None
    pyth_exponent: int | None
    pyth_publish_time: datetime | None
    enriched_at: datetime | None
    migrated: bool

    @property
    def trade_id(self) -> TradeId:
        return TradeId(self.tx_hash, self.log_index)


def _opt_dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _opt_dt(value: Any) -> datetime | None:
    return None if value is None else codec.parse_datetime(value)


def record_from_payload(payload: Mapping[str, Any]) -> OnChainTradeRecord:
    exact = payload["exact"]
    return OnChainTradeRecord(
        tx_hash=payload["tx_hash"],
        log_index=payload["log_index"],
        legacy_id=payload["id"],
        symbol=payload["symbol"],
        base_symbol=payload["base_symbol"],
        amount=Decimal(exact["amount"]),
        direction=Direction.from_legacy(payload["direction"]),
        price_usdc=Decimal(exact["price_usdc"]),
        block_number=payload["block_number"],
        block_timestamp=_opt_dt(exact["block_timestamp"]),
        created_at=_opt_dt(exact["created_at"]),
        filled_at=codec.parse_datetime(exact["filled_at"]),
        gas_used=payload["gas_used"],
        effective_gas_price=payload["effective_gas_price"],
        pyth_price=_opt_dec(exact["pyth_price"]),
        pyth_confidence=_opt_dec(exact["pyth_confidence"]),
        pyth_exponent=payload["pyth_exponent"],
        pyth_publish_time=_opt_dt(exact["pyth_publish_time"]),
        enriched_at=_opt_dt(exact["enriched_at"]),
        migrated=bool(exact["migrated"]),
    )


_SELECT = f"SELECT CAST(payload AS TEXT) FROM {TABLE}"  # noqa: S608 (constant name)
_CHAIN_ORDER = " ORDER BY block_number, log_index, view_id"


def _records(store: QueryStore, where: str, params: Sequence[object]) -> list[OnChainTradeRecord]:
    rows = store.query(_SELECT + where, params)
    return [record_from_payload(codec.loads(str(row[0]))) for row in rows]


def trade(store: QueryStore, trade_id: TradeId | str) -> OnChainTradeRecord | None:
    """One trade by id (`TradeId` or ``"0x…:<log_index>"``), or None."""
    parsed = TradeId.parse(trade_id) if isinstance(trade_id, str) else trade_id
    found = _records(store, " WHERE view_id = ?", (parsed.aggregate_id,))
    return found[0] if found else None


def trades_by_tx_hash(store: QueryStore, tx_hash: str) -> list[OnChainTradeRecord]:
    """Every trade of one transaction, by log index."""
    return _records(store, " WHERE tx_hash = ?" + _CHAIN_ORDER, (normalize_tx_hash(tx_hash),))


def trades_by_symbol(store: QueryStore, symbol: str) -> list[OnChainTradeRecord]:
    """Trades of one tokenized symbol as seen on chain (``tAAPL``), in chain order."""
    return _records(store, " WHERE symbol = ?" + _CHAIN_ORDER, (symbol,))


def trades_by_base_symbol(store: QueryStore, base: str) -> list[OnChainTradeRecord]:
    """Trades of every tokenized form of one base symbol (``AAPL``), in chain order."""
    return _records(store, " WHERE base_symbol = ?" + _CHAIN_ORDER, (base,))


def trades_in_block_range(
    store: QueryStore, first_block: int, last_block: int
) -> list[OnChainTradeRecord]:
    """Trades with ``first_block <= block_number <= last_block``, in chain order."""
    if last_block < first_block:
        raise ValueError(f"empty block range {first_block}..{last_block}")
    return _records(
        store, " WHERE block_number BETWEEN ? AND ?" + _CHAIN_ORDER, (first_block, last_block)
    )


def recent_trades(
    store: QueryStore,
    *,
    limit: int = 100,
    since: datetime | None = None,
    symbol: str | None = None,
) -> list[OnChainTradeRecord]:
    """Newest first by ``created_at``; ``since`` is inclusive (whole seconds, UTC);
    ``symbol`` matches either the tokenized or the base symbol."""
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}")
    clauses: list[str] = []
    params: list[object] = []
    if since is not None:
        if since.utcoffset() is None:
            raise ValueError("since must be timezone-aware")
        clauses.append("created_at >= ?")
        params.append(sql_timestamp(since))
    if symbol is not None:
        clauses.append("(symbol = ? OR base_symbol = ?)")
        params.extend([symbol, symbol])
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    # `created_at IS NULL` first: NULLs sort last on both SQLite and PostgreSQL.
    order = (
        " ORDER BY created_at IS NULL, created_at DESC, block_number DESC, log_index DESC,"
        " view_id DESC LIMIT ?"
    )
    return _records(store, where + order, [*params, limit])


__all__ = [
    "TABLE",
    "OnChainTradeRecord",
    "OnChainTradeView",
    "QueryStore",
    "recent_trades",
    "record_from_payload",
    "sql_timestamp",
    "trade",
    "trades_by_base_symbol",
    "trades_by_symbol",
    "trades_by_tx_hash",
    "trades_in_block_range",
    "view_base_symbol",
]
