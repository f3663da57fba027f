"""Read endpoints: trades, positions, orders, PnL (filtered, paginated).

Plain ``def`` handlers: FastAPI runs them on its thread pool, so a slow query never
blocks the event loop that the bot's managers share in ``hedgebot run``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from hedgebot.api.context import ApiContext, api_context, invalid
from hedgebot.api.schemas import (
    SYMBOL_PATTERN,
    Order,
    OrderCounts,
    OrderPage,
    PnlPage,
    Position,
    PositionList,
    Problem,
    RequestTime,
    Trade,
    TradePage,
)
from hedgebot.domain import TradeId
from hedgebot.eventstore import codec
from hedgebot.metrics_pnl.fifo import PNL_CONTEXT, ZERO, canonical
from hedgebot.metrics_pnl.queries import symbol_totals
from hedgebot.offchain_order.view import order as order_record
from hedgebot.onchain_trade.view import trade as trade_record
from hedgebot.operator.reads import (
    MAX_LIMIT,
    list_orders,
    list_pnl,
    list_trades,
    order_counts,
    order_json,
    page_json,
    pnl_row_json,
    position_json,
    trade_json,
)
from hedgebot.position.view import all_positions, position_by_symbol

router = APIRouter()

Context = Annotated[ApiContext, Depends(api_context)]
SymbolFilter = Annotated[
    str | None,
    Query(pattern=SYMBOL_PATTERN, description="base symbol (AAPL); trades also take tAAPL"),
]
Since = Annotated[
    RequestTime | None,
    Query(description="inclusive; RFC 3339 date-time", examples=["2025-01-07T15:00:00Z"]),
]
Until = Annotated[
    RequestTime | None,
    Query(description="exclusive; RFC 3339 date-time", examples=["2025-01-08T00:00:00Z"]),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem}}


def _utc(value: datetime | None, name: str) -> datetime | None:
    """A validated time filter in UTC (far-off years cannot always move to UTC)."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise invalid(("query", name), "time out of range") from None


@router.get("/trades", response_model=TradePage, tags=["trades"])
def get_trades(
    context: Context,
    symbol: SymbolFilter = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Onchain fills of our orders, newest first (by the time they were recorded)."""
    page = list_trades(
        context.core.store,
        symbol=symbol,
        since=_utc(since, "since"),
        until=_utc(until, "until"),
        limit=limit,
        offset=offset,
    )
    return page_json(page, [trade_json(t) for t in page.items])


@router.get(
    "/trades/{tx_hash}/{log_index}", response_model=Trade, tags=["trades"], responses=NOT_FOUND
)
def get_trade(
    context: Context,
    tx_hash: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")],
    log_index: Annotated[int, Path(ge=0, le=2**31)],
) -> dict[str, Any]:
    """One fill, by the log that carried it."""
    trade_id = TradeId(tx_hash.lower(), log_index)
    found = trade_record(context.core.store, trade_id)
    if found is None:
        raise HTTPException(404, f"no trade {trade_id.aggregate_id}")
    return trade_json(found)


@router.get("/positions", response_model=PositionList, tags=["positions"])
def get_positions(context: Context) -> dict[str, Any]:
    """Every position (one per base symbol) with its exposure and threshold."""
    return {"items": [position_json(p) for p in all_positions(context.core.store)]}


@router.get("/positions/{symbol}", response_model=Position, tags=["positions"], responses=NOT_FOUND)
def get_position(
    context: Context, symbol: Annotated[str, Path(pattern=SYMBOL_PATTERN)]
) -> dict[str, Any]:
    found = position_by_symbol(context.core.store, symbol)
    if found is None:
        raise HTTPException(404, f"no position for {symbol}")
    return position_json(found)


@router.get("/orders", response_model=OrderPage, tags=["orders"])
def get_orders(
    context: Context,
    status: Annotated[Literal["PENDING", "SUBMITTED", "FILLED", "FAILED"] | None, Query()] = None,
    symbol: SymbolFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Broker orders (hedges and manual orders), newest execution first."""
    page = list_orders(context.core.store, status=status, symbol=symbol, limit=limit, offset=offset)
    return page_json(page, [order_json(o) for o in page.items])


@router.get("/orders/counts", response_model=OrderCounts, tags=["orders"])
def get_order_counts(context: Context) -> dict[str, int]:
    """How many orders are in each status."""
    return order_counts(context.core.store)


@router.get("/orders/{execution_id}", response_model=Order, tags=["orders"], responses=NOT_FOUND)
def get_order(
    context: Context, execution_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> dict[str, Any]:
    found = order_record(context.core.store, execution_id)
    if found is None:
        raise HTTPException(404, f"no order with execution id {execution_id}")
    return order_json(found)


@router.get("/pnl", response_model=PnlPage, tags=["pnl"])
def get_pnl(
    context: Context,
    symbol: SymbolFilter = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 100,
    offset: Offset = 0,
    order: Annotated[Literal["asc", "desc"], Query(description="PnL order or newest first")] = (
        "asc"
    ),
) -> dict[str, Any]:
    """FIFO PnL rows (onchain and broker fills) with per-symbol totals for the window."""
    start, end = _utc(since, "since"), _utc(until, "until")
    store = context.core.store
    page = list_pnl(
        store, symbol=symbol, since=start, until=end, limit=limit, offset=offset, order=order
    )
    totals = symbol_totals(store, symbol=symbol, since=start, until=end)
    total = ZERO
    for entry in totals:
        total = PNL_CONTEXT.add(total, entry.realized_pnl)
    summary = {
        "since": None if start is None else codec.encode_datetime(start),
        "total_realized_pnl": codec.encode_decimal(canonical(total)),
        "symbols": [t.to_json() for t in totals],
    }
    return {**page_json(page, [pnl_row_json(r) for r in page.items]), "summary": summary}
