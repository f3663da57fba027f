"""TradeManager: every `OnChainTradeEvent::Filled` → `Position.AcknowledgeOnChainFill`.

Durability: the manager's position in the global event log is a checkpoint written in
the same transaction as the Position events it causes, so after a crash it resumes
exactly where it stopped — a fill is acknowledged once, never twice, never skipped.
(The Position aggregate also ignores a repeated trade id, as a second layer.)

`Migrated` trades are history, not news: they are already inside their migrated
position, so they only move the checkpoint.

A batch of fills is acknowledged in one transaction for throughput. If the batch
fails, the fills are retried one per transaction so a single bad fill is isolated;
a fill that still fails stops the manager loudly (the conductor exits non-zero)
rather than skipping it, because an unacknowledged fill is unhedged exposure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from hedgebot.conductor import Stop
from hedgebot.domain import Broker, NotTokenizedEquity, TradeId, base_symbol
from hedgebot.eventstore import CommandHandler, EventStore, StoredEvent, StoreTransaction
from hedgebot.eventstore.notify import CommitSignal, wait_for_signal
from hedgebot.metrics import Metrics
from hedgebot.onchain_trade.events import ONCHAIN_TRADE_EVENTS, Filled
from hedgebot.position.commands import AcknowledgeOnChainFill, PositionCommand
from hedgebot.position.events import ExecutionThreshold
from hedgebot.position.state import PositionState

log = structlog.get_logger(__name__)

CHECKPOINT = "trade_manager"
AGGREGATE_TYPES = ("OnChainTrade",)


class ManagerHalted(RuntimeError):
    """A reaction failed even in isolation; the manager stops rather than skip it."""


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
        self.batch_size = batch_size

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

    def _apply(self, tx: StoreTransaction, events: Sequence[StoredEvent]) -> int:
        acknowledged = 0
        for event in events:
            reaction = self.command_for(event, ONCHAIN_TRADE_EVENTS.decode(event))
            if reaction is not None:
                symbol, command = reaction
                self.positions.execute_in(tx, symbol, command)
                acknowledged += 1
        tx.set_checkpoint(CHECKPOINT, events[-1].position)
        return acknowledged

    def process_batch(self) -> int:
        """Acknowledge the next batch of fills; returns the number of events consumed."""
        checkpoint = self.store.get_checkpoint(CHECKPOINT)
        events = self.store.read_all(checkpoint, self.batch_size, AGGREGATE_TYPES)
        if not events:
            return 0
        try:
            with self.store.transaction() as tx:
                fresh = self._unprocessed(tx, events)
                if fresh:
                    acknowledged = self._apply(tx, fresh)
                    self._count(acknowledged)
            return len(events)
        except Exception as exc:
            log.warning("trade_manager_batch_failed", error=str(exc), size=len(events))
        for event in events:
            try:
                with self.store.transaction() as tx:
                    fresh = self._unprocessed(tx, [event])
                    if fresh:
                        self._count(self._apply(tx, fresh))
            except Exception as exc:
                if self.metrics is not None:
                    self.metrics.manager_errors.labels("trade_manager").inc()
                raise ManagerHalted(
                    f"cannot acknowledge {event.event_type} of trade {event.aggregate_id} "
                    f"(position {event.position}): {exc}"
                ) from exc
        return len(events)

    @staticmethod
    def _unprocessed(tx: StoreTransaction, events: Sequence[StoredEvent]) -> list[StoredEvent]:
        # Re-read the checkpoint inside the transaction: another instance may have moved it.
        done = tx.get_checkpoint(CHECKPOINT)
        return [e for e in events if e.position > done]

    def _count(self, acknowledged: int) -> None:
        if self.metrics is not None and acknowledged:
            self.metrics.fills_ingested.inc(acknowledged)

    def drain(self) -> int:
        """Process until caught up (used by tests, the benchmark and `process-tx`)."""
        total = 0
        while consumed := self.process_batch():
            total += consumed
        return total

    async def run(self, stop: Stop, signal: CommitSignal | None = None, idle: float = 0.5) -> None:
        wake = signal.subscribe() if signal is not None else None
        while not stop.is_set:
            if self.process_batch():
                continue
            if wake is not None:
                await wait_for_signal(wake, idle)
            else:
                await stop.wait(idle)
