"""Raw orderbook logs → trades → ``OnChainTrade.Witness``.

`FillPipeline` (async, talks to the node only for symbols and missing block
timestamps) turns JSON-RPC log entries into `ChainTrade`s and typed skips; every skip
is logged as one structured line (``chain_log_skipped reason=… tx_hash=…``).

`TradeRecorder` (blocking, run in a worker thread by the follower) witnesses trades
through the OnChainTrade command handler, a bounded chunk per store transaction, and
writes the follower's checkpoint in the same transaction as the last chunk of a block
range. A crash between chunks leaves the checkpoint behind: the range is read again
and its already-recorded fills are rejected by the aggregate as `AlreadyFilled`, which
counts as done. So every fill is recorded exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from hedgebot.brokers.retry import DATABASE_RETRY
from hedgebot.chain.decoding import LogDecoder, MalformedLog, RawLog
from hedgebot.chain.fills import (
    ChainTrade,
    OwnerFill,
    Skip,
    SkipReason,
    decode_logs,
    owner_fills,
    to_trade,
    tokens_of,
)
from hedgebot.chain.node import ChainNode
from hedgebot.chain.symbols import SymbolCache
from hedgebot.eventstore.errors import ConcurrencyError, TransientStoreError
from hedgebot.eventstore.handler import CommandHandler
from hedgebot.eventstore.store import EventStore, StoreTransaction
from hedgebot.onchain_trade.commands import Witness
from hedgebot.onchain_trade.state import AlreadyFilled, InvalidTradeInput

log = structlog.get_logger(__name__)


@dataclass
class PipelineResult:
    trades: list[ChainTrade]
    skips: list[Skip]
    logs: int

    def skip_counts(self) -> Counter[SkipReason]:
        return Counter(skip.reason for skip in self.skips)


def log_skip(skip: Skip) -> None:
    fields = {
        "reason": skip.reason.value,
        "detail": skip.detail,
        "tx_hash": skip.tx_hash,
        "log_index": skip.log_index,
        "block_number": skip.block_number,
        "side": skip.side.value if skip.side else None,
    }
    if skip.reason is SkipReason.NOT_OWNER:
        log.debug("chain_log_skipped", **fields)
    else:
        log.warning("chain_log_skipped", **fields)


class FillPipeline:
    """Decoding, owner filter, symbols, timestamps, trades."""

    def __init__(
        self, decoder: LogDecoder, owner: str, symbols: SymbolCache, node: ChainNode
    ) -> None:
        self.decoder = decoder
        self.owner = owner.lower()
        self.symbols = symbols
        self.node = node

    async def process(self, entries: Sequence[Mapping[str, Any]]) -> PipelineResult:
        raw: list[RawLog] = []
        skips: list[Skip] = []
        for entry in entries:
            try:
                raw.append(RawLog.from_rpc(entry))
            except MalformedLog as exc:
                skips.append(_unparsed_skip(entry, str(exc)))
        result = await self.process_raw(raw)
        result.skips[:0] = skips
        result.logs = len(entries)
        for skip in skips:
            log_skip(skip)
        return result

    async def process_raw(self, logs: Sequence[RawLog]) -> PipelineResult:
        events, skips = decode_logs(logs, self.decoder)
        candidates = owner_fills(events, self.owner)
        fills = [c for c in candidates if isinstance(c, OwnerFill)]
        skips.extend(c for c in candidates if isinstance(c, Skip))
        symbols = await self.symbols.resolve(tokens_of(fills))
        fills = await self._with_timestamps(fills)
        trades: list[ChainTrade] = []
        for fill in fills:
            outcome = to_trade(fill, symbols)
            if isinstance(outcome, Skip):
                skips.append(outcome)
            else:
                trades.append(outcome)
        for skip in skips:
            log_skip(skip)
        return PipelineResult(trades=trades, skips=skips, logs=len(logs))

    async def _with_timestamps(self, fills: list[OwnerFill]) -> list[OwnerFill]:
        """Fills whose log had no ``blockTimestamp`` get their block's (cached) time."""
        blocks = sorted({f.block_number for f in fills if f.block_timestamp is None})
        if not blocks:
            return fills
        times = await asyncio.gather(*(self.node.block_timestamp(b) for b in blocks))
        by_block = dict(zip(blocks, times, strict=True))
        return [
            f
            if f.block_timestamp is not None
            else replace(f, block_timestamp=by_block[f.block_number])
            for f in fills
        ]


def _unparsed_skip(entry: Mapping[str, Any], detail: str) -> Skip:
    index = entry.get("logIndex")
    block = entry.get("blockNumber")
    return Skip(
        SkipReason.MALFORMED,
        detail,
        str(entry.get("transactionHash")),
        int(index, 16) if isinstance(index, str) and index.startswith("0x") else -1,
        int(block, 16) if isinstance(block, str) and block.startswith("0x") else -1,
    )


# -- recording ---------------------------------------------------------------------------------


@dataclass
class RecordReport:
    witnessed: list[ChainTrade] = field(default_factory=list)
    already_recorded: int = 0
    rejected: int = 0


class MissingTimestamp(ValueError):
    """A trade whose block time could not be established (never witnessed without one)."""


def witness_command(trade: ChainTrade) -> Witness:
    if trade.block_timestamp is None:
        raise MissingTimestamp(f"trade {trade.trade_id.aggregate_id} has no block timestamp")
    return Witness(
        symbol=trade.symbol,
        amount=trade.amount,
        direction=trade.direction,
        price_usdc=trade.price_usdc,
        block_number=trade.block_number,
        block_timestamp=trade.block_timestamp,
    )


def _store_conflict(error: BaseException) -> bool:
    return isinstance(error, ConcurrencyError | TransientStoreError)


_CHUNK_RETRY = DATABASE_RETRY.with_(retry_if=_store_conflict)


class TradeRecorder:
    """Witnesses trades (idempotently) and moves a checkpoint with them."""

    def __init__(
        self, store: EventStore, handler: CommandHandler[Any, Any], *, chunk_size: int = 500
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self.store = store
        self.handler = handler
        self.chunk_size = chunk_size

    def record(
        self, trades: Sequence[ChainTrade], checkpoint: tuple[str, int] | None = None
    ) -> RecordReport:
        """Witness ``trades``; ``checkpoint`` (name, block) is written with the last chunk."""
        report = RecordReport()
        chunks = [
            trades[i : i + self.chunk_size] for i in range(0, len(trades), self.chunk_size)
        ] or [[]]
        for number, chunk in enumerate(chunks):
            last = number == len(chunks) - 1
            part = _CHUNK_RETRY.call_sync(self._record_chunk, chunk, checkpoint if last else None)
            report.witnessed.extend(part.witnessed)
            report.already_recorded += part.already_recorded
            report.rejected += part.rejected
        return report

    def _record_chunk(
        self, chunk: Sequence[ChainTrade], checkpoint: tuple[str, int] | None
    ) -> RecordReport:
        report = RecordReport()
        with self.store.transaction() as tx, self.handler.batch(tx):
            for trade in chunk:
                self._witness_one(tx, trade, report)
            if checkpoint is not None:
                tx.set_checkpoint(*checkpoint)
        return report

    def _witness_one(self, tx: StoreTransaction, trade: ChainTrade, report: RecordReport) -> None:
        trade_id = trade.trade_id.aggregate_id
        try:
            command = witness_command(trade)
            # decide raises before anything is written, so the transaction stays usable;
            # any other error (store, view) propagates and rolls the whole chunk back.
            self.handler.execute_in(tx, trade_id, command)
        except AlreadyFilled:
            report.already_recorded += 1
            return
        except (InvalidTradeInput, MissingTimestamp) as exc:
            report.rejected += 1
            log.error(
                "chain_trade_rejected",
                trade_id=trade_id,
                error_kind=type(exc).__name__,
                error=str(exc),
            )
            return
        report.witnessed.append(trade)
