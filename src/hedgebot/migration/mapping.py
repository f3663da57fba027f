"""Legacy records → the aggregates' ``Migrate`` commands → their ``Migrated`` events.

The events are produced by each aggregate's own pure ``decide`` (on a fresh state,
with the import's single ``migrated_at``), so the aggregates' rules apply to imported
history exactly as to a command; a rule that rejects a row is reported like any other
bad legacy value, before anything is written. They are encoded once, by the codec
(``encode_events``), except the many ``OnChainTradeEvent::Migrated``, which
`event_text` writes in one formatting step (byte-equal, checked against the codec).

Mapping decisions (docs/MIGRATION.md lists them column by column):

* OnChainTrade: every column carried; ``block_number`` from the legacy ``event_queue``
  row of the same log, else 0 (the legacy table has no block number; the reference
  wrote 0 for all).
* Position: ``net_position`` is the exposure in hedgebot's sense — onchain fills minus
  *filled* hedges — which the legacy bot kept as ``accumulated_long -
  accumulated_short`` (its ``net_position`` column went stale in September 2025 and
  the reference later dropped it). The legacy bot also took a hedge's shares out of
  the buckets when it *created* the order, while hedgebot moves ``net`` when the hedge
  *fills*; so for a position whose pending order is still open, the order's shares are
  added back (``+shares`` for a SELL hedge, ``-shares`` for a BUY), and the migrated
  order, once reconciled and filled, takes them out again exactly once. Threshold:
  ``Shares(1)`` (the legacy bot's whole-share minimum, used for every broker).
* OffchainOrder: ``broker_order_id`` is the legacy ``broker_order_id``, else the
  legacy ``order_id`` (the bot only ever wrote the latter); a FAILED order's error is
  ``Unknown failure`` as in the reference (the legacy table kept no reason).
* SchwabAuth: the encrypted tokens and their fetch times as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from hedgebot.brokers.schwab.auth import AGGREGATE_ID as SCHWAB_AGGREGATE_ID
from hedgebot.brokers.schwab.auth import SCHWAB_AUTH
from hedgebot.brokers.schwab.auth import Migrate as MigrateAuth
from hedgebot.brokers.schwab.crypto import EncryptedToken
from hedgebot.domain import DomainError
from hedgebot.eventstore import Aggregate, DecideContext, NewEvent, Tagged, encode_events
from hedgebot.migration import legacy
from hedgebot.migration.errors import LegacyDataError
from hedgebot.migration.event_text import TradeEventRows
from hedgebot.migration.records import (
    LegacyAuth,
    LegacyData,
    LegacyOrder,
    LegacyPosition,
    LegacyTrade,
    OrderStatus,
)
from hedgebot.migration.validation import Problems, render
from hedgebot.offchain_order import commands as offchain_commands
from hedgebot.offchain_order import events as offchain_events
from hedgebot.offchain_order.state import OFFCHAIN_ORDER
from hedgebot.onchain_trade.commands import Migrate as MigrateTrade
from hedgebot.onchain_trade.events import LegacyPyth
from hedgebot.onchain_trade.state import ONCHAIN_TRADE
from hedgebot.position.commands import Migrate as MigratePosition
from hedgebot.position.events import Shares
from hedgebot.position.state import POSITION

#: the legacy bot's threshold for every broker: one whole share
LEGACY_THRESHOLD = Shares(Decimal(1))
#: the reference's error text for a legacy FAILED order (the table kept no reason)
UNKNOWN_FAILURE = "Unknown failure"


class _NoIds:
    """A Migrate command never allocates ids; asking for one is a programming error."""

    def next_id(self, counter: str) -> int:
        raise RuntimeError(f"a Migrate command asked for a {counter!r} id")


@dataclass(frozen=True)
class PlannedAggregate:
    """One legacy row's aggregate: its id and the events that will start its stream.

    ``rows`` are the events encoded once (wire payloads), used both to append them and
    to recognise them in a store that already holds them.
    """

    aggregate: Aggregate[Any, Any]
    aggregate_id: str
    events: list[Tagged]
    rows: list[NewEvent]
    source_table: str
    source_row: str
    #: position in the write order (PnL order for fills)
    sort_key: tuple[Any, ...]

    @property
    def aggregate_type(self) -> str:
        return self.aggregate.aggregate_type

    @property
    def label(self) -> str:
        return f"{self.aggregate_type} {self.aggregate_id} ({self.source_table} {self.source_row})"


def position_net(position: LegacyPosition, orders: dict[int, LegacyOrder]) -> Decimal:
    """hedgebot's net for a legacy position (see the module docstring)."""
    net = position.accumulated_long - position.accumulated_short
    if position.pending_execution_id is not None:
        pending = orders[position.pending_execution_id]
        net -= pending.direction.sign * Decimal(pending.shares)
    return net


def trade_command(trade: LegacyTrade) -> MigrateTrade:
    pyth = LegacyPyth(
        price=trade.pyth_price,
        confidence=trade.pyth_confidence,
        exponent=trade.pyth_exponent,
        publish_time=trade.pyth_publish_time,
    )
    return MigrateTrade(
        symbol=trade.symbol,
        amount=trade.amount,
        direction=trade.direction,
        price_usdc=trade.price_usdc,
        block_number=trade.block_number if trade.block_number is not None else 0,
        block_timestamp=trade.block_timestamp,
        gas_used=trade.gas_used,
        legacy_id=trade.legacy_id,
        created_at=trade.created_at,
        effective_gas_price=trade.effective_gas_price,
        legacy_pyth=pyth,
    )


def position_command(position: LegacyPosition, orders: dict[int, LegacyOrder]) -> MigratePosition:
    return MigratePosition(
        symbol=position.symbol,
        net_position=position_net(position, orders),
        accumulated_long=position.accumulated_long,
        accumulated_short=position.accumulated_short,
        threshold=LEGACY_THRESHOLD,
        pending_execution_id=position.pending_execution_id,
        last_updated=position.last_updated,
        legacy_net_position=position.net_position,
    )


def order_status(order: LegacyOrder) -> offchain_events.MigratedOrderStatus:
    if order.status == OrderStatus.PENDING:
        return offchain_events.MigratedPending()
    if order.status == OrderStatus.SUBMITTED:
        return offchain_events.MigratedSubmitted()
    if order.status == OrderStatus.FILLED:
        return offchain_events.MigratedFilled()
    return offchain_events.MigratedFailed(error=UNKNOWN_FAILURE)


def order_command(order: LegacyOrder) -> offchain_commands.Migrate:
    return offchain_commands.Migrate(
        symbol=order.symbol,
        shares=Decimal(order.shares),
        direction=order.direction,
        broker=order.broker,
        status=order_status(order),
        broker_order_id=order.broker_order_id,
        price_cents=order.price_cents,
        executed_at=order.executed_at,
    )


def auth_command(auth: LegacyAuth) -> MigrateAuth:
    return MigrateAuth(
        access_token=EncryptedToken(auth.access_token),
        access_token_fetched_at=auth.access_token_fetched_at,
        refresh_token=EncryptedToken(auth.refresh_token),
        refresh_token_fetched_at=auth.refresh_token_fetched_at,
    )


# Write order: fills (onchain trades and FILLED orders) in the PnL view's own order —
# time, onchain before offchain, then the chain's order or the execution id — so the
# PnL view books each one at the end of its symbol's history; then the other orders,
# positions and the tokens.
_FILL, _OTHER_ORDER, _POSITION, _AUTH = 0, 1, 2, 3


def _trade_key(trade: LegacyTrade) -> tuple[Any, ...]:
    block = trade.block_number if trade.block_number is not None else 0
    return (_FILL, trade.occurred_at, 0, block, trade.log_index, trade.tx_hash)


def _order_key(order: LegacyOrder) -> tuple[Any, ...]:
    if order.status == OrderStatus.FILLED and order.executed_at is not None:
        return (_FILL, order.executed_at, 1, order.legacy_id, 0, "")
    return (_OTHER_ORDER, order.legacy_id)


def plan(data: LegacyData, migrated_at: datetime) -> list[PlannedAggregate]:
    """Every legacy row's aggregate with its decided events, in write order.

    Raises `LegacyDataError` when an aggregate rejects a row.
    """
    ctx = DecideContext(now=migrated_at, ids=_NoIds())
    problems = Problems()
    planned: list[PlannedAggregate] = []
    orders_by_id = {o.legacy_id: o for o in data.orders}

    trade_rows = TradeEventRows()

    def decide(
        aggregate: Aggregate[Any, Any],
        aggregate_id: str,
        command: object,
        table: str,
        row: str,
        key: tuple[Any, ...],
    ) -> None:
        try:
            events = list(aggregate.decide(aggregate.initial_state(), command, ctx))
            if aggregate is ONCHAIN_TRADE:
                rows = trade_rows.rows(aggregate_id, events)
            else:
                rows = encode_events(aggregate, aggregate_id, events)
        except (DomainError, ValueError) as exc:
            problems.add(table, row, "-", "-", f"rejected by {aggregate.aggregate_type}: {exc}")
            return
        planned.append(PlannedAggregate(aggregate, aggregate_id, events, rows, table, row, key))

    for trade in data.trades:
        decide(
            ONCHAIN_TRADE,
            trade.aggregate_id,
            trade_command(trade),
            legacy.ONCHAIN_TRADES,
            f"id={trade.legacy_id}",
            _trade_key(trade),
        )
    for order in data.orders:
        decide(
            OFFCHAIN_ORDER,
            order.aggregate_id,
            order_command(order),
            data.offchain_table,
            f"id={order.legacy_id}",
            _order_key(order),
        )
    for position in data.positions:
        decide(
            POSITION,
            position.aggregate_id,
            position_command(position, orders_by_id),
            legacy.TRADE_ACCUMULATORS,
            f"symbol={render(position.symbol)}",
            (_POSITION, position.symbol),
        )
    if data.auth is not None:
        decide(
            SCHWAB_AUTH,
            SCHWAB_AGGREGATE_ID,
            auth_command(data.auth),
            legacy.SCHWAB_AUTH,
            "id=1",
            (_AUTH,),
        )
    if problems.total:
        raise LegacyDataError(problems.shown, problems.total)
    planned.sort(key=lambda p: p.sort_key)
    return planned
