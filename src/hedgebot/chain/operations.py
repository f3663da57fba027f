"""What ``hedgebot process-tx`` and ``hedgebot pyth-price`` do (the CLI only parses).

Settings come from the configuration (file + ``HEDGEBOT_…`` environment) with the
command's options laid over the ``[chain]`` section and the database URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hedgebot.chain.enrichment import pyth_price_of_transaction
from hedgebot.chain.node import ChainNode
from hedgebot.chain.rpc import JsonRpcClient
from hedgebot.chain.service import (
    TransactionReport,
    build_chain_stack,
    follower_settings,
    process_transaction,
)
from hedgebot.config import ChainSettings, ConfigError, DatabaseSettings, Settings
from hedgebot.domain import normalize_tx_hash
from hedgebot.onchain_trade.events import PythPrice


@dataclass(frozen=True)
class ChainOverrides:
    """Command-line values that replace configured ones (None: keep the configured)."""

    rpc_url: str | None = None
    orderbook: str | None = None
    owner: str | None = None
    orderbook_version: str | None = None
    pyth_address: str | None = None
    database_url: str | None = None

    def apply(self, settings: Settings) -> Settings:
        chain_values: dict[str, Any] = settings.chain.model_dump()
        given = {
            "rpc_url": self.rpc_url,
            "orderbook": self.orderbook,
            "owner": self.owner,
            "orderbook_version": self.orderbook_version,
            "pyth_address": self.pyth_address,
        }
        chain_values.update({k: v for k, v in given.items() if v is not None})
        try:
            chain = ChainSettings.model_validate(chain_values)
            database = settings.database
            if self.database_url is not None:
                database = DatabaseSettings.model_validate(
                    {**database.model_dump(), "url": self.database_url}
                )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return settings.model_copy(update={"chain": chain, "database": database})


async def process_tx(settings: Settings, tx_hash: str) -> TransactionReport:
    """Ingest one transaction's owner fills into the configured store, then enrich them."""
    from hedgebot.bootstrap import build_core

    tx_hash = normalize_tx_hash(tx_hash)
    follower = follower_settings(settings.chain)
    core = build_core(settings)
    try:
        stack = build_chain_stack(
            follower,
            rpc_url=settings.chain.rpc_url,
            store=core.store,
            handler=core.onchain_trades,
            pyth_address=settings.chain.pyth_address,
        )
        try:
            return await process_transaction(stack, tx_hash)
        finally:
            await stack.aclose()
    finally:
        core.close()


async def pyth_price(chain: ChainSettings, tx_hash: str, symbol: str | None = None) -> PythPrice:
    """The Pyth price the transaction read (feed chosen by ``symbol`` when given)."""
    tx_hash = normalize_tx_hash(tx_hash)
    rpc = JsonRpcClient(chain.rpc_url)
    try:
        return await pyth_price_of_transaction(ChainNode(rpc), tx_hash, chain.pyth_address, symbol)
    finally:
        await rpc.aclose()


def report_rows(report: TransactionReport) -> list[Mapping[str, str]]:
    """One row per trade of the transaction, for the CLI's table or JSON."""
    enriched = {t.aggregate_id for t in report.enrichment.enriched}
    return [
        {
            "trade_id": trade.trade_id.aggregate_id,
            "symbol": trade.symbol,
            "direction": trade.direction.legacy,
            "amount": format(trade.amount, "f"),
            "price_usdc": format(trade.price_usdc, "f"),
            "block_number": str(trade.block_number),
            "enriched": "yes" if trade.trade_id.aggregate_id in enriched else "no",
        }
        for trade in report.trades
    ]


def pyth_fields(price: PythPrice) -> dict[str, str]:
    return {
        "price": format(price.price, "f"),
        "confidence": format(price.confidence, "f"),
        "value": format(price.value, "f"),
        "conf": format(price.conf, "f"),
        "expo": str(price.expo),
        "publish_time": price.publish_time.isoformat().replace("+00:00", "Z"),
    }
