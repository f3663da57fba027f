"""The chain follower: backfill from the checkpoint, then follow the head (SPEC §7).

Each pass reads ``eth_blockNumber``, and ingests every block up to ``head −
confirmations`` that is past the checkpoint, in ranges of ``batch_size`` blocks: one
``eth_getLogs`` per range (orderbook address, the version's three topic0 values), then
`FillPipeline` and `TradeRecorder`. Blocks within the confirmation depth are never
read, so a log that a reorg removes before it is ``confirmations`` deep never reaches
the store.

The checkpoint (``chain_follower:<orderbook>``) is the last block whose fills are all
recorded; it is written in the same store transaction as the last fills of its range
(see `hedgebot.chain.ingest`). A node that refuses a range as too large is asked for
its two halves. Before reading a range the node must know its last block (a node
behind a load balancer may otherwise answer ``eth_getLogs`` for blocks it has not seen
with nothing).

RPC failures are retried per call (`hedgebot.chain.rpc.RPC_RETRY`); when a pass still
fails, `run` logs it and tries again after an exponential pause. Nothing stops the
follower but the stop event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from hedgebot.chain.abi import OrderbookVersion, topics_for
from hedgebot.chain.fills import ChainTrade, SkipReason
from hedgebot.chain.ingest import FillPipeline, TradeRecorder
from hedgebot.chain.node import ChainNode
from hedgebot.chain.rpc import RpcError, RpcRequestError
from hedgebot.eventstore.store import StoreReader

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class FollowerSettings:
    orderbook: str
    owner: str
    version: OrderbookVersion = OrderbookVersion.V5
    deployment_block: int = 0
    confirmations: int = 3
    batch_size: int = 1000
    poll_interval: float = 2.0
    max_backoff: float = 60.0

    def __post_init__(self) -> None:
        if self.confirmations < 0:
            raise ValueError("confirmations must be >= 0")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.deployment_block < 0:
            raise ValueError("deployment_block must be >= 0")

    @property
    def checkpoint_name(self) -> str:
        return f"chain_follower:{self.orderbook.lower()}"


@dataclass
class SyncReport:
    """What one pass did."""

    head: int | None = None
    from_block: int | None = None
    to_block: int | None = None
    logs: int = 0
    witnessed: int = 0
    already_recorded: int = 0
    skipped: dict[SkipReason, int] = field(default_factory=dict)

    def add_skips(self, counts: dict[SkipReason, int]) -> None:
        for reason, count in counts.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count


OnWitnessed = Callable[[Sequence[ChainTrade]], Awaitable[None]]


class ChainFollower:
    def __init__(
        self,
        settings: FollowerSettings,
        node: ChainNode,
        pipeline: FillPipeline,
        recorder: TradeRecorder,
        store: StoreReader,
        *,
        on_witnessed: OnWitnessed | None = None,
    ) -> None:
        self.settings = settings
        self.node = node
        self.pipeline = pipeline
        self.recorder = recorder
        self.store = store
        self.on_witnessed = on_witnessed
        self.topics = topics_for(settings.version)
        self.last_head: int | None = None

    # -- position -----------------------------------------------------------------------

    def last_ingested_block(self) -> int | None:
        """The checkpoint, or None before the first range is recorded."""
        value = self.store.get_checkpoint(self.settings.checkpoint_name)
        return value if value > 0 else None

    def next_block(self) -> int:
        last = self.last_ingested_block()
        start = self.settings.deployment_block
        return start if last is None else max(start, last + 1)

    def lag_blocks(self) -> int | None:
        """Blocks between the head and the checkpoint (for health checks)."""
        if self.last_head is None:
            return None
        return max(0, self.last_head - (self.next_block() - 1))

    # -- one pass ------------------------------------------------------------------------

    async def sync(self) -> SyncReport:
        """Ingest every confirmed block past the checkpoint."""
        report = SyncReport()
        head = await self.node.block_number()
        self.last_head = report.head = head
        safe = head - self.settings.confirmations
        start = self.next_block()
        if safe < start:
            return report
        report.from_block = start
        while start <= safe:
            end = min(safe, start + self.settings.batch_size - 1)
            await self.ingest_range(start, end, report)
            report.to_block = end
            start = end + 1
        return report

    async def ingest_range(self, start: int, end: int, report: SyncReport | None = None) -> None:
        report = report if report is not None else SyncReport()
        # A node behind a load balancer may answer eth_getLogs for blocks it does not
        # have yet with nothing: make sure it knows the range's last block first.
        await self.node.block_timestamp(end)
        entries = await self._logs(start, end)
        result = await self.pipeline.process(entries)
        checkpoint = (self.settings.checkpoint_name, end)
        recorded = await asyncio.to_thread(self.recorder.record, result.trades, checkpoint)
        report.logs += result.logs
        report.witnessed += len(recorded.witnessed)
        report.already_recorded += recorded.already_recorded
        report.add_skips(dict(result.skip_counts()))
        log.info(
            "chain_range_ingested",
            from_block=start,
            to_block=end,
            logs=result.logs,
            witnessed=len(recorded.witnessed),
            already_recorded=recorded.already_recorded,
            skipped=len(result.skips),
        )
        if recorded.witnessed and self.on_witnessed is not None:
            await self.on_witnessed(recorded.witnessed)

    async def _logs(self, start: int, end: int) -> list[dict[str, Any]]:
        try:
            return await self.node.get_logs(self.settings.orderbook, self.topics, start, end)
        except RpcRequestError as exc:
            if start >= end:
                raise
            middle = (start + end) // 2
            log.info("chain_log_range_split", from_block=start, to_block=end, error=exc.message)
            return [*await self._logs(start, middle), *await self._logs(middle + 1, end)]

    # -- the long-lived task ---------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Backfill, then follow the head until ``stop`` is set."""
        failures = 0
        log.info(
            "chain_follower_started",
            orderbook=self.settings.orderbook,
            version=self.settings.version.value,
            next_block=self.next_block(),
            confirmations=self.settings.confirmations,
        )
        while not stop.is_set():
            try:
                await self.sync()
                failures = 0
                pause = self.settings.poll_interval
            except RpcError as exc:
                failures += 1
                pause = min(self.settings.max_backoff, self.settings.poll_interval * 2**failures)
                log.warning(
                    "chain_follower_pass_failed",
                    error_kind=type(exc).__name__,
                    error=str(exc),
                    failures=failures,
                    retry_in_seconds=pause,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
        log.info("chain_follower_stopped", next_block=self.next_block())
