"""Wiring of the chain side, and the one-transaction operations of the CLI.

`build_chain_stack` assembles node client, symbol cache, pipeline, recorder, follower
and enricher over a store and the OnChainTrade command handler that the caller built
(`hedgebot.bootstrap` in production, the tests with a real SQLite store). It opens an
HTTP client and nothing else; ``aclose`` closes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hedgebot.brokers.retry import RetryPolicy
from hedgebot.chain.abi import OrderbookVersion, topics_for
from hedgebot.chain.decoding import LogDecoder
from hedgebot.chain.enrichment import Enricher, EnrichReport, TradeToEnrich
from hedgebot.chain.fills import ChainTrade, Skip
from hedgebot.chain.follower import ChainFollower, FollowerSettings, OnWitnessed
from hedgebot.chain.ingest import FillPipeline, TradeRecorder
from hedgebot.chain.node import ChainNode
from hedgebot.chain.pyth import DEFAULT_FEED_IDS
from hedgebot.chain.rpc import RPC_RETRY, JsonRpcClient
from hedgebot.chain.symbols import SymbolCache
from hedgebot.config import BASE_PYTH_ADDRESS, ChainSettings
from hedgebot.domain import normalize_tx_hash
from hedgebot.eventstore.handler import CommandHandler
from hedgebot.eventstore.store import EventStore


def follower_settings(chain: ChainSettings) -> FollowerSettings:
    """The follower's settings from the ``[chain]`` configuration section."""
    missing = [name for name in ("orderbook", "owner") if getattr(chain, name) is None]
    if missing:
        raise ValueError(
            "; ".join(f"chain.{name} is required to follow the orderbook" for name in missing)
        )
    assert chain.orderbook is not None and chain.owner is not None
    return FollowerSettings(
        orderbook=chain.orderbook,
        owner=chain.owner,
        version=OrderbookVersion(chain.orderbook_version),
        deployment_block=chain.deployment_block,
        confirmations=chain.confirmations,
        batch_size=chain.batch_size,
        poll_interval=chain.poll_interval_seconds,
    )


@dataclass
class ChainStack:
    settings: FollowerSettings
    rpc: JsonRpcClient
    node: ChainNode
    symbols: SymbolCache
    pipeline: FillPipeline
    recorder: TradeRecorder
    follower: ChainFollower
    enricher: Enricher

    async def aclose(self) -> None:
        await self.rpc.aclose()


def build_chain_stack(
    settings: FollowerSettings,
    *,
    rpc_url: str,
    store: EventStore,
    handler: CommandHandler[Any, Any],
    pyth_address: str = BASE_PYTH_ADDRESS,
    feed_ids: Mapping[str, bytes] = DEFAULT_FEED_IDS,
    retry: RetryPolicy = RPC_RETRY,
    on_witnessed: OnWitnessed | None = None,
    chunk_size: int = 500,
) -> ChainStack:
    rpc = JsonRpcClient(rpc_url, retry=retry)
    node = ChainNode(rpc)
    symbols = SymbolCache(node)
    pipeline = FillPipeline(LogDecoder(settings.version), settings.owner, symbols, node)
    recorder = TradeRecorder(store, handler, chunk_size=chunk_size)
    follower = ChainFollower(settings, node, pipeline, recorder, store, on_witnessed=on_witnessed)
    enricher = Enricher(node, store, handler, pyth_address=pyth_address, feed_ids=feed_ids)
    return ChainStack(settings, rpc, node, symbols, pipeline, recorder, follower, enricher)


# -- one transaction (``hedgebot process-tx``) --------------------------------------------------


class TransactionNotFound(LookupError):
    pass


@dataclass
class TransactionReport:
    tx_hash: str
    block_number: int | None
    trades: list[ChainTrade] = field(default_factory=list)
    witnessed: int = 0
    already_recorded: int = 0
    skips: list[Skip] = field(default_factory=list)
    enrichment: EnrichReport = field(default_factory=EnrichReport)


async def process_transaction(stack: ChainStack, tx_hash: str) -> TransactionReport:
    """Ingest one transaction's fills through the follower's path, then enrich them.

    The transaction is taken as the operator says, whatever its confirmation depth;
    the checkpoint is not touched. Fills already recorded count as done.
    """
    tx_hash = normalize_tx_hash(tx_hash)
    receipt = await stack.node.receipt(tx_hash)
    if receipt is None:
        raise TransactionNotFound(f"transaction {tx_hash} is not known to the node")
    orderbook = stack.settings.orderbook.lower()
    topics = set(topics_for(stack.settings.version))
    entries = [
        entry
        for entry in receipt.get("logs") or []
        if str(entry.get("address", "")).lower() == orderbook
        and str((entry.get("topics") or [""])[0]).lower() in topics
    ]
    result = await stack.pipeline.process(entries)
    recorded = stack.recorder.record(result.trades)
    block = receipt.get("blockNumber")
    report = TransactionReport(
        tx_hash=tx_hash,
        block_number=int(block, 16) if isinstance(block, str) else None,
        trades=result.trades,
        witnessed=len(recorded.witnessed),
        already_recorded=recorded.already_recorded,
        skips=result.skips,
    )
    report.enrichment = await stack.enricher.enrich(
        [TradeToEnrich(t.trade_id, t.symbol) for t in result.trades]
    )
    return report
