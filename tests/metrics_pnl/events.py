"""Writing the events the PnL view reads, in any arrival order, through a real Projector."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hedgebot.domain import Broker, Direction
from hedgebot.eventstore import EventRegistry, NewEvent, Projector, Tagged
from hedgebot.eventstore.store import EventStore
from hedgebot.metrics_pnl.fifo import Trade
from hedgebot.metrics_pnl.view import MetricsPnlView
from hedgebot.offchain_order import events as offchain_order
from hedgebot.onchain_trade import events as onchain_trade
from hedgebot.position import events as position
from tests.metrics_pnl.trades import T0, tx_hash

REGISTRIES = (
    onchain_trade.ONCHAIN_TRADE_EVENTS,
    position.POSITION_EVENTS,
    offchain_order.OFFCHAIN_ORDER_EVENTS,
)


def projector() -> Projector:
    return Projector([MetricsPnlView()], REGISTRIES)


@dataclass(frozen=True)
class Emitted:
    """One event to write: its registry, aggregate id and typed event."""

    registry: EventRegistry
    aggregate_id: str
    event: Tagged


def onchain_filled(
    n: int,
    direction: Direction,
    amount: str,
    price: str,
    *,
    seconds: float,
    symbol: str = "tAAPL",
    log_index: int = 0,
) -> Emitted:
    at = T0 + timedelta(seconds=seconds)
    return Emitted(
        onchain_trade.ONCHAIN_TRADE_EVENTS,
        f"{tx_hash(n)}:{log_index}",
        onchain_trade.Filled(
            symbol=symbol,
            amount=Decimal(amount),
            direction=direction,
            price_usdc=Decimal(price),
            block_number=1000 + n,
            block_timestamp=at,
            filled_at=at + timedelta(seconds=3),
        ),
    )


def onchain_migrated(
    n: int,
    direction: Direction,
    amount: str,
    price: str,
    *,
    seconds: float,
    symbol: str,
    log_index: int = 0,
) -> Emitted:
    at = T0 + timedelta(seconds=seconds)
    return Emitted(
        onchain_trade.ONCHAIN_TRADE_EVENTS,
        f"{tx_hash(n)}:{log_index}",
        onchain_trade.Migrated(
            symbol=symbol,
            amount=Decimal(amount),
            direction=direction,
            price_usdc=Decimal(price),
            block_number=1000 + n,
            block_timestamp=at,
            gas_used=None,
            pyth_price=None,
            migrated_at=T0 + timedelta(days=400),
            legacy_id=n,
            created_at=at,
        ),
    )


def hedge_filled(
    execution_id: int,
    direction: Direction,
    shares: str,
    price_cents: int,
    *,
    seconds: float,
    symbol: str = "AAPL",
) -> Emitted:
    return Emitted(
        position.POSITION_EVENTS,
        symbol,
        position.OffChainOrderFilled(
            execution_id=execution_id,
            shares_filled=Decimal(shares),
            direction=direction,
            broker_order_id=f"ORD{execution_id}",
            price_cents=price_cents,
            broker_timestamp=T0 + timedelta(seconds=seconds),
        ),
    )


def migrated_order(
    execution_id: int,
    direction: Direction,
    shares: str,
    price_cents: int | None,
    *,
    seconds: float | None,
    status: Any,
    symbol: str = "AAPL",
) -> Emitted:
    return Emitted(
        offchain_order.OFFCHAIN_ORDER_EVENTS,
        str(execution_id),
        offchain_order.Migrated(
            symbol=symbol,
            shares=Decimal(shares),
            direction=direction,
            broker=Broker.SCHWAB,
            status=status,
            broker_order_id=None if price_cents is None else f"ORD{execution_id}",
            price_cents=price_cents,
            executed_at=None if seconds is None else T0 + timedelta(seconds=seconds),
            migrated_at=T0 + timedelta(days=400),
        ),
    )


def emitted_for(trade: Trade, *, migrated: bool = False) -> Emitted:
    """The event that records an engine trade (tokenized symbol ``t<base>`` onchain)."""
    seconds = (trade.traded_at - T0).total_seconds()
    if trade.venue.value == "ONCHAIN":
        tx, _, log_index = trade.trade_id.partition(":")
        n = int(tx, 16)
        if migrated:
            return onchain_migrated(
                n,
                trade.direction,
                str(trade.quantity),
                str(trade.price),
                seconds=seconds,
                symbol=f"{trade.symbol}0x",
                log_index=int(log_index),
            )
        return onchain_filled(
            n,
            trade.direction,
            str(trade.quantity),
            str(trade.price),
            seconds=seconds,
            symbol=f"t{trade.symbol}",
            log_index=int(log_index),
        )
    cents = int(trade.price * 100)
    if migrated:
        return migrated_order(
            int(trade.trade_id),
            trade.direction,
            str(trade.quantity),
            cents,
            seconds=seconds,
            status=offchain_order.MigratedFilled(),
            symbol=trade.symbol,
        )
    return hedge_filled(
        int(trade.trade_id),
        trade.direction,
        str(trade.quantity),
        cents,
        seconds=seconds,
        symbol=trade.symbol,
    )


class EventWriter:
    """Appends events to a store (sequence per aggregate) and projects them."""

    def __init__(self, store: EventStore, projector: Projector) -> None:
        self.store = store
        self.projector = projector
        self._sequence: dict[tuple[str, str], int] = defaultdict(int)

    def rows(self, emitted: Iterable[Emitted]) -> list[NewEvent]:
        rows = []
        for item in emitted:
            key = (item.registry.aggregate_type, item.aggregate_id)
            self._sequence[key] += 1
            rows.append(
                NewEvent(
                    aggregate_type=item.registry.aggregate_type,
                    aggregate_id=item.aggregate_id,
                    sequence=self._sequence[key],
                    event_type=item.registry.event_type(item.event),
                    event_version=item.registry.version,
                    payload=item.registry.encode(item.event),
                )
            )
        return rows

    def write(self, *emitted: Emitted) -> None:
        """One transaction per event, as commands commit them."""
        for item in emitted:
            self.write_batch([item])

    def write_batch(self, emitted: Sequence[Emitted]) -> None:
        """All in one transaction and one `Projector.apply` call, as the legacy import does."""
        with self.store.transaction() as tx:
            stored = tx.append(self.rows(emitted))
            self.projector.apply(tx, stored)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)
