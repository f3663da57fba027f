"""Shared wiring for the chain integration tests: real SQLite store, real aggregate."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

from hedgebot.chain.abi import OrderbookVersion
from hedgebot.chain.follower import FollowerSettings
from hedgebot.chain.rpc import RPC_RETRY
from hedgebot.chain.service import ChainStack, build_chain_stack
from hedgebot.clock import ManualClock
from hedgebot.eventstore.handler import CommandHandler
from hedgebot.eventstore.store import EventStore
from hedgebot.eventstore.views import Projector
from hedgebot.onchain_trade.events import ONCHAIN_TRADE_EVENTS
from hedgebot.onchain_trade.state import ONCHAIN_TRADE
from hedgebot.onchain_trade.view import OnChainTradeView

T = TypeVar("T")

NOW = datetime(2025, 12, 5, 13, 20, tzinfo=UTC)
#: fast retries: a test never waits seconds on a backoff
TEST_RETRY = RPC_RETRY.with_(max_attempts=3, initial_wait=0.01, max_wait=0.05)

VIEW_COLUMNS = (
    "tx_hash, log_index, symbol, base_symbol, amount, direction, price_usdc, block_number, "
    "block_timestamp, gas_used, effective_gas_price, pyth_price, pyth_confidence, "
    "pyth_exponent, pyth_publish_time"
)


def trade_handler(store: EventStore) -> CommandHandler[Any, Any]:
    projector = Projector([OnChainTradeView()], [ONCHAIN_TRADE_EVENTS])
    return CommandHandler(store, ONCHAIN_TRADE, clock=ManualClock(NOW), projector=projector)


def make_stack(
    url: str,
    store: EventStore,
    *,
    orderbook: str,
    owner: str,
    version: OrderbookVersion = OrderbookVersion.V5,
    deployment_block: int = 0,
    confirmations: int = 0,
    batch_size: int = 1000,
    pyth_address: str,
    chunk_size: int = 500,
) -> ChainStack:
    settings = FollowerSettings(
        orderbook=orderbook,
        owner=owner,
        version=version,
        deployment_block=deployment_block,
        confirmations=confirmations,
        batch_size=batch_size,
        poll_interval=0.05,
        max_backoff=0.2,
    )
    return build_chain_stack(
        settings,
        rpc_url=url,
        store=store,
        handler=trade_handler(store),
        pyth_address=pyth_address,
        retry=TEST_RETRY,
        chunk_size=chunk_size,
    )


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def view_rows(store: Any) -> list[dict[str, Any]]:
    names = [c.strip() for c in VIEW_COLUMNS.split(",")]
    rows = store.query(
        f"SELECT {VIEW_COLUMNS} FROM onchain_trade_view ORDER BY block_number, log_index"
    )
    return [dict(zip(names, row, strict=True)) for row in rows]


def onchain_events(store: EventStore) -> list[Any]:
    return list(store.read_all(0, 100_000, ["OnChainTrade"]))
