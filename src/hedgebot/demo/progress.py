"""What the demo shows, read from the store's views (the same rows `hedgebot` serves)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from hedgebot.domain import Direction
from hedgebot.offchain_order.view import OffchainOrderRecord, orders_by_status
from hedgebot.onchain_trade.view import OnChainTradeRecord, recent_trades
from hedgebot.position.view import all_positions, positions_ready_to_hedge

ZERO = Decimal(0)
ACKNOWLEDGED_SQL = (
    "SELECT COUNT(*) FROM events WHERE aggregate_type = 'Position' "
    "AND event_type = 'PositionEvent::OnChainOrderFilled'"
)
FILLS_PER_SYMBOL_SQL = "SELECT base_symbol, COUNT(*) FROM onchain_trade_view GROUP BY base_symbol"
ORDERS_SQL = "SELECT status, COUNT(*) FROM offchain_trade_view GROUP BY status"


class Queryable(Protocol):
    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]: ...


@dataclass(frozen=True)
class SymbolRow:
    """One base symbol: onchain exposure, hedges, and where the position stands."""

    symbol: str
    fills: int
    bought: Decimal
    sold: Decimal
    hedged: Decimal  # broker fills, signed: + bought, - sold
    net: Decimal
    pending: str | None  # "SELL 2" while a hedge is out
    hedges_filled: int
    hedges_failed: int
    last_price: Decimal | None
    suspended: bool


@dataclass(frozen=True)
class Progress:
    recorded: int
    acknowledged: int
    orders: Counter[str]
    symbols: list[SymbolRow]
    recent: list[OnChainTradeRecord] = field(default_factory=list)
    ready_to_hedge: int = 0

    @property
    def placed(self) -> int:
        return sum(self.orders.values())

    @property
    def filled(self) -> int:
        return self.orders["FILLED"]

    @property
    def failed(self) -> int:
        return self.orders["FAILED"]

    @property
    def open(self) -> int:
        return self.orders["PENDING"] + self.orders["SUBMITTED"]

    def settled(self, fills: int) -> bool:
        """Every fill recorded and acknowledged, and nothing left for the bot to do."""
        return (
            self.recorded == fills
            and self.acknowledged == fills
            and self.open == 0
            and self.ready_to_hedge == 0
            and all(row.pending is None for row in self.symbols)
        )


def read_progress(
    store: Queryable, *, fractional_decimals: int | None = None, recent: int = 8
) -> Progress:
    recorded_by_symbol = {str(s): int(str(n)) for s, n in store.query(FILLS_PER_SYMBOL_SQL)}
    acknowledged = int(str(store.query(ACKNOWLEDGED_SQL)[0][0]))
    orders: Counter[str] = Counter({str(s): int(str(n)) for s, n in store.query(ORDERS_SQL)})
    hedged: dict[str, Decimal] = {}
    done: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for order in orders_by_status(store, "FILLED"):
        hedged[order.symbol] = hedged.get(order.symbol, ZERO) + _signed(order)
        done[order.symbol] += 1
    for order in orders_by_status(store, "FAILED"):
        failed[order.symbol] += 1
    rows = []
    for position in all_positions(store):
        symbol = str(position.symbol)
        pending = None
        if position.pending_execution_id is not None:
            side = position.pending_direction.legacy if position.pending_direction else "?"
            shares = (
                "?" if position.pending_shares is None else format(position.pending_shares, "f")
            )
            pending = f"{side} {shares}"
        rows.append(
            SymbolRow(
                symbol=symbol,
                fills=recorded_by_symbol.get(symbol, 0),
                bought=position.accumulated_long,
                sold=position.accumulated_short,
                hedged=hedged.get(symbol, ZERO),
                net=position.net,
                pending=pending,
                hedges_filled=done[symbol],
                hedges_failed=failed[symbol],
                last_price=position.last_price_usdc,
                suspended=position.hedging_suspended,
            )
        )
    return Progress(
        recorded=sum(recorded_by_symbol.values()),
        acknowledged=acknowledged,
        orders=orders,
        symbols=rows,
        recent=recent_trades(store, limit=recent) if recent else [],
        ready_to_hedge=len(positions_ready_to_hedge(store, fractional_decimals)),
    )


def _signed(order: OffchainOrderRecord) -> Decimal:
    return order.shares_filled if order.direction is Direction.BUY else -order.shares_filled
