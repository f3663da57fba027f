"""Enrichment: gas from the receipt and the Pyth price from the call trace (SPEC §7).

It runs after the witness and apart from it, so it never delays hedging. The
`Enricher` follows the event log like a manager: it reads ``OnChainTradeEvent::Filled``
events after its checkpoint (``chain_enricher``, a global event position), fetches each
transaction's receipt and ``callTracer`` trace once, and records
``OnChainTrade.Enrich`` for the trades it could enrich, in the same store transaction
as its new checkpoint.

* A permanent failure (no Pyth read in the trace, an undecodable output, a missing
  receipt, a node without ``debug_traceTransaction``) is logged and the trade stays
  unenriched: the aggregate's ``Enrich`` needs both gas and a Pyth price, so nothing
  is recorded for it.
* A transient failure (the node is unreachable after the per-call retries) stops the
  pass *before* that trade, so an outage delays enrichment but loses none; the next
  pass starts there again.
* Enriching twice is harmless: ``AlreadyEnriched`` counts as done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from hedgebot.chain.node import ChainNode
from hedgebot.chain.pyth import DEFAULT_FEED_IDS, PythError, pyth_price_from_trace
from hedgebot.chain.rpc import RpcRequestError, RpcUnavailable
from hedgebot.domain import NotTokenizedEquity, TradeId, base_symbol
from hedgebot.eventstore.handler import CommandHandler
from hedgebot.eventstore.store import EventStore
from hedgebot.onchain_trade.commands import Enrich
from hedgebot.onchain_trade.events import AGGREGATE_TYPE, ONCHAIN_TRADE_EVENTS, Filled, PythPrice
from hedgebot.onchain_trade.state import AlreadyEnriched, InvalidTradeInput, NotFilled

log = structlog.get_logger(__name__)

MAX_I64 = 2**63 - 1
ENRICHER_CHECKPOINT = "chain_enricher"


class EnrichmentFailed(Exception):
    """This trade cannot be enriched (permanent); the reason is in the message."""


@dataclass(frozen=True)
class ReceiptGas:
    gas_used: int
    effective_gas_price: int | None


def receipt_gas(receipt: Mapping[str, Any]) -> ReceiptGas:
    """``gasUsed`` and ``effectiveGasPrice`` (None when absent or beyond i64)."""
    gas_used = _quantity(receipt.get("gasUsed"))
    if gas_used is None or gas_used > MAX_I64:
        raise EnrichmentFailed(f"receipt has no usable gasUsed: {receipt.get('gasUsed')!r}")
    price = _quantity(receipt.get("effectiveGasPrice"))
    return ReceiptGas(gas_used, price if price is not None and price <= MAX_I64 else None)


def _quantity(value: object) -> int | None:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class TradeToEnrich:
    trade_id: TradeId
    symbol: str  # tokenized, as witnessed
    position: int = 0  # global event position of its Filled event (0: not from the log)


@dataclass
class EnrichReport:
    enriched: list[TradeId] = field(default_factory=list)
    failed: list[TradeId] = field(default_factory=list)
    already: int = 0
    deferred: bool = False  # a transient failure stopped the pass


class TransactionFacts:
    """Receipt and trace of one transaction, each fetched at most once."""

    def __init__(self, node: ChainNode, tx_hash: str) -> None:
        self.node = node
        self.tx_hash = tx_hash
        self._receipt: asyncio.Task[Mapping[str, Any] | None] | None = None
        self._trace: asyncio.Task[Mapping[str, Any]] | None = None

    async def receipt(self) -> Mapping[str, Any]:
        if self._receipt is None:
            self._receipt = asyncio.ensure_future(self.node.receipt(self.tx_hash))
        receipt = await asyncio.shield(self._receipt)
        if receipt is None:
            raise EnrichmentFailed(f"no receipt for {self.tx_hash}")
        return receipt

    async def trace(self) -> Mapping[str, Any]:
        if self._trace is None:
            self._trace = asyncio.ensure_future(self.node.call_trace(self.tx_hash))
        return await asyncio.shield(self._trace)


async def enrichment_for(
    facts: TransactionFacts,
    symbol: str,
    pyth_address: str,
    feed_ids: Mapping[str, bytes] = DEFAULT_FEED_IDS,
) -> Enrich:
    """The Enrich command of one trade; `EnrichmentFailed` or `RpcUnavailable` if none."""
    try:
        base = base_symbol(symbol)
        gas = receipt_gas(await facts.receipt())
        pyth = pyth_price_from_trace(await facts.trace(), pyth_address, base, feed_ids)
    except (NotTokenizedEquity, PythError) as exc:
        raise EnrichmentFailed(str(exc)) from None
    except RpcRequestError as exc:
        raise EnrichmentFailed(f"node refused {exc.method}: {exc.message}") from None
    return Enrich(
        gas_used=gas.gas_used, pyth_price=pyth, effective_gas_price=gas.effective_gas_price
    )


async def pyth_price_of_transaction(
    node: ChainNode,
    tx_hash: str,
    pyth_address: str,
    symbol: str | None = None,
    feed_ids: Mapping[str, bytes] = DEFAULT_FEED_IDS,
) -> PythPrice:
    """The Pyth price a transaction read (for ``hedgebot pyth-price``).

    With ``symbol`` (tokenized or base) the feed is chosen as for a trade; without it
    the transaction must read exactly one feed.
    """
    base = "" if symbol is None else _base_or_self(symbol)
    trace = await node.call_trace(tx_hash)
    return pyth_price_from_trace(trace, pyth_address, base, feed_ids)


def _base_or_self(symbol: str) -> str:
    try:
        return base_symbol(symbol)
    except NotTokenizedEquity:
        return symbol


class Enricher:
    def __init__(
        self,
        node: ChainNode,
        store: EventStore,
        handler: CommandHandler[Any, Any],
        *,
        pyth_address: str,
        feed_ids: Mapping[str, bytes] = DEFAULT_FEED_IDS,
        batch_size: int = 200,
        concurrency: int = 4,
        checkpoint_name: str = ENRICHER_CHECKPOINT,
    ) -> None:
        self.node = node
        self.store = store
        self.handler = handler
        self.pyth_address = pyth_address.lower()
        self.feed_ids = dict(feed_ids)
        self.batch_size = batch_size
        self.checkpoint_name = checkpoint_name
        self._limit = asyncio.Semaphore(concurrency)

    # -- following the event log ---------------------------------------------------------

    def pending(self) -> tuple[list[TradeToEnrich], int]:
        """Filled trades after the checkpoint (one batch) and the batch's last position."""
        after = self.store.get_checkpoint(self.checkpoint_name)
        rows = self.store.read_all(after, self.batch_size, [AGGREGATE_TYPE])
        trades: list[TradeToEnrich] = []
        for row in rows:
            event = ONCHAIN_TRADE_EVENTS.decode(row)
            if isinstance(event, Filled):
                trade_id = TradeId.parse(row.aggregate_id)
                trades.append(TradeToEnrich(trade_id, event.symbol, row.position))
        return trades, (rows[-1].position if rows else after)

    async def enrich_pending(self) -> EnrichReport:
        """Enrich everything witnessed since the checkpoint (until a transient failure)."""
        total = EnrichReport()
        while True:
            trades, last_position = self.pending()
            if not trades and last_position == self.store.get_checkpoint(self.checkpoint_name):
                return total
            report = await self.enrich(trades, checkpoint_to=last_position)
            total.enriched += report.enriched
            total.failed += report.failed
            total.already += report.already
            if report.deferred:
                total.deferred = True
                return total

    async def run(
        self, stop: asyncio.Event, wake: asyncio.Event | None = None, poll_interval: float = 2.0
    ) -> None:
        """Enrich as trades arrive until ``stop``; ``wake`` (e.g. a commit signal) hurries it."""
        failures = 0
        while not stop.is_set():
            report = await self.enrich_pending()
            failures = failures + 1 if report.deferred else 0
            pause = min(60.0, poll_interval * 2**failures)
            waiters = [asyncio.ensure_future(stop.wait())]
            if wake is not None:
                waiters.append(asyncio.ensure_future(wake.wait()))
            _, waiting = await asyncio.wait(
                waiters, timeout=pause, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in waiting:
                waiter.cancel()
            if wake is not None:
                wake.clear()

    # -- enriching given trades ------------------------------------------------------------

    async def enrich(
        self, trades: Sequence[TradeToEnrich], *, checkpoint_to: int | None = None
    ) -> EnrichReport:
        """Enrich ``trades`` (in order); move the checkpoint as far as they were handled.

        ``checkpoint_to`` is the position to record when every trade was handled (it may
        lie past the last trade: other OnChainTrade events of the batch).
        """
        facts: dict[str, TransactionFacts] = {}
        for trade in trades:
            facts.setdefault(
                trade.trade_id.tx_hash, TransactionFacts(self.node, trade.trade_id.tx_hash)
            )
        outcomes = await asyncio.gather(*(self._one(trade, facts) for trade in trades))
        report = EnrichReport()
        commands: list[tuple[TradeToEnrich, Enrich]] = []
        handled_to = checkpoint_to
        for trade, outcome in zip(trades, outcomes, strict=True):
            if isinstance(outcome, RpcUnavailable):
                report.deferred = True
                handled_to = trade.position - 1 if checkpoint_to is not None else None
                log.warning(
                    "chain_enrichment_deferred",
                    trade_id=trade.trade_id.aggregate_id,
                    error=str(outcome),
                )
                break
            if isinstance(outcome, EnrichmentFailed):
                report.failed.append(trade.trade_id)
                log.warning(
                    "chain_enrichment_failed",
                    trade_id=trade.trade_id.aggregate_id,
                    symbol=trade.symbol,
                    error=str(outcome),
                )
                continue
            commands.append((trade, outcome))
        await asyncio.to_thread(self._record, commands, handled_to, report)
        return report

    async def _one(
        self, trade: TradeToEnrich, facts: Mapping[str, TransactionFacts]
    ) -> Enrich | EnrichmentFailed | RpcUnavailable:
        async with self._limit:
            try:
                return await enrichment_for(
                    facts[trade.trade_id.tx_hash], trade.symbol, self.pyth_address, self.feed_ids
                )
            except (EnrichmentFailed, RpcUnavailable) as exc:
                return exc

    def _record(
        self,
        commands: Sequence[tuple[TradeToEnrich, Enrich]],
        checkpoint_to: int | None,
        report: EnrichReport,
    ) -> None:
        with self.store.transaction() as tx:
            for trade, command in commands:
                trade_id = trade.trade_id.aggregate_id
                try:
                    self.handler.execute_in(tx, trade_id, command)
                except AlreadyEnriched:
                    report.already += 1
                    continue
                except (NotFilled, InvalidTradeInput) as exc:
                    report.failed.append(trade.trade_id)
                    log.warning("chain_enrichment_rejected", trade_id=trade_id, error=str(exc))
                    continue
                report.enriched.append(trade.trade_id)
            if checkpoint_to is not None:
                tx.set_checkpoint(self.checkpoint_name, max(0, checkpoint_to))
