"""Which events are PnL trades, and the trade each one is (SPEC §9).

Counted, each fill exactly once:

* ``OnChainTradeEvent::Filled`` and ``::Migrated`` — every onchain fill, new or
  imported, at its block timestamp, in the inventory of its base symbol;
* ``PositionEvent::OffChainOrderFilled`` — a hedge fill (new or for a migrated order
  that was still open), its filled quantity at ``price_cents / 100``, at the broker's
  fill time;
* ``OffchainOrderEvent::Migrated`` with status ``Filled`` — an imported broker fill.

Not counted: ``PositionEvent::OnChainOrderFilled`` (the same onchain fill seen by the
position: counted through its OnChainTrade), ``OffchainOrderEvent::Filled`` /
``PartiallyFilled`` (the same hedge fill as the position's ``OffChainOrderFilled``),
and migrated orders in any other status (nothing was filled). A broker fill reaches
the PnL through exactly one of the two offchain paths: an order migrated as filled
never completes again, and a new fill is only acknowledged by its position. Both use
the view id ``OFFCHAIN:<execution id>``, so the view would ignore a second arrival
anyway.
"""

from __future__ import annotations

from typing import Any

from hedgebot.domain import NotTokenizedEquity, base_symbol
from hedgebot.eventstore.envelope import StoredEvent
from hedgebot.metrics_pnl.fifo import Trade
from hedgebot.offchain_order import events as offchain_order
from hedgebot.onchain_trade import events as onchain_trade
from hedgebot.position import events as position

#: Aggregate types whose events may carry PnL trades.
AGGREGATE_TYPES = frozenset({"OnChainTrade", "Position", "OffchainOrder"})


def pnl_symbol(symbol: str) -> str:
    """The inventory key: the base symbol of a tokenized symbol.

    A symbol that is already a base ticker (legacy rows of early bots, and the
    reference's own tests, stored ``AAPL`` onchain) is its own inventory.
    """
    try:
        return base_symbol(symbol)
    except NotTokenizedEquity:
        return symbol


def trade_from_event(event: StoredEvent, decoded: Any) -> Trade | None:
    """The PnL trade an event records, or None when it records none."""
    if isinstance(decoded, onchain_trade.Filled | onchain_trade.Migrated):
        # the aggregate id is the validated `TradeId.aggregate_id`: tx_hash:log_index
        tx_hash, _, log_index = event.aggregate_id.rpartition(":")
        return Trade.onchain(
            symbol=pnl_symbol(decoded.symbol),
            tx_hash=tx_hash,
            log_index=int(log_index),
            block_number=decoded.block_number,
            direction=decoded.direction,
            quantity=decoded.amount,
            price=decoded.price_usdc,
            traded_at=decoded.block_timestamp,
        )
    if isinstance(decoded, position.OffChainOrderFilled):
        return Trade.offchain(
            symbol=event.aggregate_id,
            execution_id=decoded.execution_id,
            direction=decoded.direction,
            quantity=decoded.shares_filled,
            price_cents=decoded.price_cents,
            traded_at=decoded.broker_timestamp,
        )
    if isinstance(decoded, offchain_order.Migrated):
        return _migrated_fill(event, decoded)
    return None


def _migrated_fill(event: StoredEvent, decoded: offchain_order.Migrated) -> Trade | None:
    if not isinstance(decoded.status, offchain_order.MigratedFilled):
        return None
    if decoded.price_cents is None or decoded.executed_at is None:
        raise ValueError(
            f"migrated order {event.aggregate_id} is FILLED without "
            f"{'price_cents' if decoded.price_cents is None else 'executed_at'}"
        )
    return Trade.offchain(
        symbol=decoded.symbol,
        execution_id=int(event.aggregate_id),
        direction=decoded.direction,
        quantity=decoded.shares,
        price_cents=decoded.price_cents,
        traded_at=decoded.executed_at,
    )
