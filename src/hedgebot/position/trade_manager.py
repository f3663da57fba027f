"""TradeManager: every `OnChainTradeEvent::Filled` → `Position.AcknowledgeOnChainFill`.

Durability: the manager's position in the global event log is a checkpoint written in
the same transaction as the Position events it causes, so after a crash it resumes
exactly where it stopped — a fill is acknowledged once, never twice, never skipped.
(The Position aggregate also ignores a repeated trade id, as a second layer.)

`Migrated` trades are history, not news: they are already inside their migrated
position, so they only move the checkpoint.

A batch of fills is acknowledged in one transaction for throughput (see
`hedgebot.eventstore.reactor`); a fill whose acknowledgement fails even on its own
stops the manager loudly rather than being skipped, because an unacknowledged fill is
unhedged exposure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from hedgebot.conductor import Stop
from hedgebot.domain import Broker, NotTokenizedEquity, TradeId, base_symbol
from hedgebot.eventstore import CommandHandler, EventStore, StoredEvent, StoreTransaction
from hedgebot.eventstore.notify import CommitSignal, wait_for_signal
from hedgebot.eventstore.reactor import Reactor
from hedgebot.metrics import Metrics
from hedgebot.onchain_trade.events import ONCHAIN_TRADE_EVENTS, Filled
from hedgebot.position.commands import AcknowledgeOnChainFill, PositionCommand
from hedgebot.position.events import ExecutionThreshold
from hedgebot.position.state import PositionState

log = structlog.get_logger(__name__)

CHECKPOINT = "trade_manager"


@dataclass(frozen=True)
class HedgePolicy:
    """What the positions need to size hedges for the configured broker."""

    broker: Broker
    default_threshold: ExecutionThreshold
    fractional_decimals: int | None


class TradeManager:
    def __init__(
        self,
        store: EventStore,
        positions: CommandHandler[PositionState, PositionCommand],
        policy: HedgePolicy,
        *,
        hedging_allowed: Callable[[], bool] = lambda: True,
        metrics: Metrics | None = None,
        batch_size: int = 200,
    ) -> None:
        self.store = store
        self.positions = positions
        self.policy = policy
        self.hedging_allowed = hedging_allowed
        self.metrics = metrics
        self.reactor = Reactor(
            store,
            CHECKPOINT,
            [ONCHAIN_TRADE_EVENTS],
            wants=lambda event, decoded: isinstance(decoded, Filled),
            handle=self._handle,
            batch=positions.batch,
            batch_size=batch_size,
            event_types=[ONCHAIN_TRADE_EVENTS.type_of(Filled)],
        )

    def command_for(
        self, event: StoredEvent, decoded: object
    ) -> tuple[str, PositionCommand] | None:
        if not isinstance(decoded, Filled):
            return None
        try:
            symbol = base_symbol(decoded.symbol)
        except NotTokenizedEquity:
            # The chain follower only witnesses tokenized equities; a stored trade that
            # is not one cannot be hedged, and stopping would block every other fill.
            log.error("fill_not_hedgeable", trade=event.aggregate_id, symbol=decoded.symbol)
            return None
        command = AcknowledgeOnChainFill(
            symbol=symbol,
            trade_id=TradeId.parse(event.aggregate_id),
            amount=decoded.amount,
            direction=decoded.direction,
            price_usdc=decoded.price_usdc,
            block_timestamp=decoded.block_timestamp,
            broker=self.policy.broker,
            default_threshold=self.policy.default_threshold,
            fractional_decimals=self.policy.fractional_decimals,
            hedging_allowed=self.hedging_allowed(),
        )
        return symbol, command

    def _handle(self, tx: StoreTransaction, event: StoredEvent, decoded: object) -> int:
        reaction = self.command_for(event, decoded)
        if reaction is None:
            return 0
        symbol, command = reaction
        self.positions.execute_in(tx, symbol, command)
        if self.metrics is not None:
            self.metrics.fills_ingested.inc()
        return 1

    def process_batch(self) -> int:
        """Acknowledge the next batch of fills; returns the number of events read."""
        return self.reactor.process_batch()

    def drain(self) -> int:
        """Process until caught up (used by tests, the benchmark and `process-tx`)."""
        return self.reactor.drain()

    async def run(self, stop: Stop, signal: CommitSignal | None = None, idle: float = 0.5) -> None:
        wake = signal.subscribe() if signal is not None else None
        while not stop.is_set:
            if self.process_batch():
                # between batches, let the other services run: the OrderManager places
                # the hedges already decided, and the API and a stop signal are served,
                # instead of waiting for a long catch-up to finish
                await asyncio.sleep(0)
                continue
            if wake is not None:
                await wait_for_signal(wake, idle)
            else:
                await stop.wait(idle)
