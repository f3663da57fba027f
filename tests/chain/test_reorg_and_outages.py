"""Reorg safety (confirmation depth) and RPC misbehaviour, against anvil."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.chain.abi import OrderbookVersion
from hedgebot.chain.rpc import RpcUnavailable
from hedgebot.chain.service import ChainStack
from hedgebot.eventstore.sqlite import SqliteEventStore
from tests.chain.deployment import Deployment
from tests.chain.proxy import RpcProxy
from tests.chain.support import make_stack, onchain_events, view_rows

pytestmark = pytest.mark.anvil

V5 = OrderbookVersion.V5
D = Decimal


def stack_for(
    chain: Deployment, store: SqliteEventStore, url: str | None = None, **kw: object
) -> ChainStack:
    return make_stack(
        url or chain.node.url,
        store,
        orderbook=chain.orderbook_v5.address,
        owner=chain.owner,
        deployment_block=chain.deployment_block,
        pyth_address=chain.pyth.address,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def other_store(sqlite_template: Path, tmp_path: Path) -> Iterator[SqliteEventStore]:
    path = tmp_path / "eager.db"
    shutil.copyfile(sqlite_template, path)
    store = SqliteEventStore(str(path), synchronous="NORMAL")
    yield store
    store.close()


@pytest.fixture
def proxy(chain: Deployment) -> Iterator[RpcProxy]:
    server = RpcProxy(chain.node.url)
    yield server
    server.close()


# -- reorgs ---------------------------------------------------------------------------------


def test_log_dropped_by_a_reorg_within_the_confirmation_depth_never_reaches_the_store(
    chain: Deployment, sqlite_store: SqliteEventStore, other_store: SqliteEventStore
) -> None:
    order = chain.order(V5, chain.owner)
    before_fill = chain.node.snapshot()
    doomed = chain.take_orders(V5, order, 0, 1, [(D(7), D(70))])
    chain.node.receipt(doomed)
    node = chain.node

    async def scenario() -> None:
        careful = stack_for(chain, sqlite_store, confirmations=2)
        eager = stack_for(chain, other_store, confirmations=0)
        try:
            # The fill is in the head block: within the depth, so not read yet.
            report = await careful.follower.sync()
            assert report.witnessed == 0
            assert careful.follower.last_ingested_block() == node.block_number() - 2
            # A follower without a confirmation depth takes it at once (the hazard).
            assert (await eager.follower.sync()).witnessed == 1

            # Reorg: the fill's block is replaced by empty blocks.
            node.revert(before_fill)
            node.mine(3)
            assert node.rpc("eth_getTransactionReceipt", doomed) is None
            after = await careful.follower.sync()
            assert after.witnessed == 0
            assert after.to_block == node.block_number() - 2

            # The follower keeps working: a fill on the new chain is taken once confirmed.
            kept = chain.take_orders(V5, order, 0, 1, [(D(8), D(80))])
            node.receipt(kept)
            assert (await careful.follower.sync()).witnessed == 0
            node.mine(2)
            assert (await careful.follower.sync()).witnessed == 1
        finally:
            await careful.aclose()
            await eager.aclose()

    asyncio.run(scenario())
    assert [(r["amount"], r["direction"]) for r in view_rows(sqlite_store)] == [(8.0, "SELL")]
    assert doomed not in {r["tx_hash"] for r in view_rows(sqlite_store)}
    assert [r["tx_hash"] for r in view_rows(other_store)] == [doomed]


# -- outages and node limits ---------------------------------------------------------------------


def test_transient_http_failures_are_retried_with_backoff(
    chain: Deployment, sqlite_store: SqliteEventStore, proxy: RpcProxy
) -> None:
    chain.node.receipt(chain.take_orders(V5, chain.order(V5, chain.owner), 0, 1, [(D(1), D(9))]))
    proxy.behaviour.fail_next = 2  # fewer than the test policy's 3 attempts

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store, url=proxy.url)
        try:
            assert (await stack.follower.sync()).witnessed == 1
        finally:
            await stack.aclose()

    asyncio.run(scenario())
    assert proxy.behaviour.methods[:3] == ["eth_blockNumber"] * 3


def test_an_outage_longer_than_the_retries_fails_the_pass_and_the_follower_carries_on(
    chain: Deployment, sqlite_store: SqliteEventStore, proxy: RpcProxy
) -> None:
    chain.node.receipt(chain.take_orders(V5, chain.order(V5, chain.owner), 0, 1, [(D(1), D(9))]))
    proxy.behaviour.fail_next = 7  # more than two passes' worth of attempts

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store, url=proxy.url)
        try:
            with pytest.raises(RpcUnavailable):
                await stack.follower.sync()
            stop = asyncio.Event()
            runner = asyncio.create_task(stack.follower.run(stop))
            await _wait_until(lambda: len(onchain_events(sqlite_store)) == 1, timeout=30)
            stop.set()
            await asyncio.wait_for(runner, 10)
        finally:
            await stack.aclose()

    asyncio.run(scenario())
    assert len(view_rows(sqlite_store)) == 1


def test_a_node_that_refuses_wide_log_ranges_is_asked_for_smaller_ones(
    chain: Deployment, sqlite_store: SqliteEventStore, proxy: RpcProxy
) -> None:
    order = chain.order(V5, chain.owner)
    txs = [chain.take_orders(V5, order, 0, 1, [(D(n), D(10 * n))]) for n in range(1, 4)]
    chain.node.receipt(txs[-1])
    proxy.behaviour.max_log_range = 3

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store, url=proxy.url, batch_size=100)
        try:
            assert (await stack.follower.sync()).witnessed == 3
        finally:
            await stack.aclose()

    asyncio.run(scenario())
    assert [r["tx_hash"] for r in view_rows(sqlite_store)] == txs
    assert proxy.behaviour.methods.count("eth_getLogs") > 1


def test_logs_without_block_timestamp_take_the_blocks_time(
    chain: Deployment, sqlite_store: SqliteEventStore, proxy: RpcProxy
) -> None:
    tx = chain.take_orders(V5, chain.order(V5, chain.owner), 0, 1, [(D(1), D(9)), (D(2), D(18))])
    receipt = chain.node.receipt(tx)
    block = chain.node.rpc("eth_getBlockByNumber", receipt["blockNumber"], False)
    proxy.behaviour.strip_block_timestamp = True

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store, url=proxy.url)
        try:
            assert (await stack.follower.sync()).witnessed == 2
        finally:
            await stack.aclose()

    asyncio.run(scenario())
    from datetime import UTC, datetime

    expected = datetime.fromtimestamp(int(block["timestamp"], 16), UTC)
    assert {r["block_timestamp"] for r in view_rows(sqlite_store)} == {
        expected.strftime("%Y-%m-%d %H:%M:%S")
    }
    # one block lookup for the two fills of the same block
    assert proxy.behaviour.methods.count("eth_getBlockByNumber") == 1


def test_enrichment_during_an_outage_is_deferred_not_lost(
    chain: Deployment, sqlite_store: SqliteEventStore, proxy: RpcProxy
) -> None:
    chain.node.receipt(chain.take_orders(V5, chain.order(V5, chain.owner), 0, 1, [(D(1), D(9))]))

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store, url=proxy.url)
        try:
            await stack.follower.sync()
            proxy.behaviour.fail_next = 100
            down = await stack.enricher.enrich_pending()
            assert down.deferred and not down.enriched and not down.failed
            proxy.behaviour.fail_next = 0
            up = await stack.enricher.enrich_pending()
            assert len(up.enriched) == 1
        finally:
            await stack.aclose()

    asyncio.run(scenario())
    (row,) = view_rows(sqlite_store)
    assert row["pyth_price"] == 182.5


async def _wait_until(condition: object, timeout: float) -> None:
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)
