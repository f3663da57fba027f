"""The chain follower against a real anvil node and solc-compiled orderbooks.

Fills are emitted by contracts that declare the real Raindex V4/V5 structs; the
follower reads them with ``eth_getLogs``, witnesses them into a real SQLite store with
the OnChainTrade aggregate and ``onchain_trade_view``, and enrichment reads the
receipt and the ``callTracer`` trace of the same transactions.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from hedgebot.chain import abi
from hedgebot.chain.abi import OrderbookVersion
from hedgebot.chain.fills import PRICE_CONTEXT, SkipReason
from hedgebot.chain.service import ChainStack, TransactionNotFound, process_transaction
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.onchain_trade.events import ONCHAIN_TRADE_EVENTS, Enriched, Filled
from tests.chain.deployment import (
    PUBLISH_TIME,
    TSLA_FEED,
    USDC_FEED,
    Deployment,
)
from tests.chain.support import make_stack, onchain_events, view_rows
from tests.contracts.build import COMMITTED_ARTIFACTS, Artifacts, load_artifacts

pytestmark = pytest.mark.anvil

V4 = OrderbookVersion.V4
V5 = OrderbookVersion.V5
D = Decimal


def stack_for(
    chain: Deployment, store: SqliteEventStore, version: OrderbookVersion = V5, **kw: Any
) -> ChainStack:
    return make_stack(
        chain.node.url,
        store,
        orderbook=chain.orderbook(version).address,
        owner=chain.owner,
        version=version,
        deployment_block=chain.deployment_block,
        pyth_address=chain.pyth.address,
        **kw,
    )


# -- the contracts -----------------------------------------------------------------------


def test_committed_artifacts_are_what_the_solidity_sources_compile_to(
    compiled_contracts: Artifacts,
) -> None:
    committed = load_artifacts(COMMITTED_ARTIFACTS)
    assert committed == compiled_contracts, "run `make contracts` and commit artifacts.json"


@pytest.mark.parametrize(
    ("contract", "events"),
    [
        ("MockOrderBookV4", (abi.TAKE_ORDER_V2, abi.CLEAR_V2, abi.AFTER_CLEAR)),
        ("MockOrderBookV5", (abi.TAKE_ORDER_V3, abi.CLEAR_V3, abi.AFTER_CLEAR_V2)),
    ],
)
def test_compiled_orderbooks_emit_exactly_the_events_hedgebot_decodes(
    compiled_contracts: Artifacts, contract: str, events: tuple[abi.EventAbi, ...]
) -> None:
    from tests.chain.anvil import _types

    compiled = {
        entry["name"]: f"{entry['name']}({','.join(_types(entry['inputs']))})"
        for entry in compiled_contracts[contract]["abi"]
        if entry["type"] == "event"
    }
    assert compiled == {event.name: event.signature for event in events}


# -- take orders -------------------------------------------------------------------------


@pytest.mark.parametrize("version", [V5, V4])
def test_take_orders_become_filled_events_and_view_rows_with_gas_and_pyth(
    chain: Deployment, sqlite_store: SqliteEventStore, version: OrderbookVersion
) -> None:
    ours = chain.order(version, chain.owner)
    theirs = chain.order(version, chain.stranger)
    # order gives AAPL0x (IO 1) for USDC (IO 0): the taker receives 9 AAPL0x, pays 100 USDC
    sell_tx = chain.take_orders(version, ours, 0, 1, [(D(9), D(100)), (D("0.5"), D("91.25"))])
    # order gives USDC (IO 0) for AAPL0x (IO 1): the taker receives 150 USDC for 0.75 AAPL0x
    buy_tx = chain.take_orders(version, ours, 1, 0, [(D(150), D("0.75"))])
    chain.take_orders(version, theirs, 0, 1, [(D(1), D(10))])
    sell_receipt = chain.node.receipt(sell_tx)
    buy_receipt = chain.node.receipt(buy_tx)

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store, version)
        try:
            report = await stack.follower.sync()
            assert report.witnessed == 3
            assert report.skipped == {SkipReason.NOT_OWNER: 1}
            enriched = await stack.enricher.enrich_pending()
            assert len(enriched.enriched) == 3 and not enriched.failed
        finally:
            await stack.aclose()

    asyncio.run(scenario())

    rows = view_rows(sqlite_store)
    assert [(r["tx_hash"], r["log_index"]) for r in rows] == [
        (sell_tx, 0),
        (sell_tx, 1),
        (buy_tx, 0),
    ]
    first, second, buy = rows
    assert (first["symbol"], first["base_symbol"], first["direction"]) == ("AAPL0x", "AAPL", "SELL")
    assert (first["amount"], second["amount"], buy["amount"]) == (9.0, 0.5, 0.75)
    assert first["price_usdc"] == pytest.approx(100 / 9)
    assert second["price_usdc"] == 182.5
    assert (buy["direction"], buy["price_usdc"]) == ("BUY", 200.0)
    assert first["block_number"] == int(sell_receipt["blockNumber"], 16)
    block = chain.node.rpc("eth_getBlockByNumber", sell_receipt["blockNumber"], False)
    assert first["block_timestamp"] == _sql_time(int(block["timestamp"], 16))
    for row, receipt in ((first, sell_receipt), (second, sell_receipt), (buy, buy_receipt)):
        assert row["gas_used"] == int(receipt["gasUsed"], 16)
        assert row["effective_gas_price"] == int(receipt["effectiveGasPrice"], 16)
        assert (row["pyth_price"], row["pyth_confidence"], row["pyth_exponent"]) == (
            182.5,
            0.05,
            -2,
        )
        assert row["pyth_publish_time"] == _sql_time(PUBLISH_TIME)

    events = [ONCHAIN_TRADE_EVENTS.decode(row) for row in onchain_events(sqlite_store)]
    filled = [e for e in events if isinstance(e, Filled)]
    enriched_events = [e for e in events if isinstance(e, Enriched)]
    assert [(e.amount, e.direction.value, e.price_usdc) for e in filled] == [
        (D(9), "Sell", PRICE_CONTEXT.divide(D(100), D(9))),
        (D("0.5"), "Sell", D("182.5")),
        (D("0.75"), "Buy", D(200)),
    ]
    assert len(enriched_events) == 3
    assert enriched_events[0].pyth_price.value == D(18250)
    assert enriched_events[0].pyth_price.expo == -2


def test_follower_resumes_from_its_checkpoint_and_never_records_a_fill_twice(
    chain: Deployment, sqlite_store: SqliteEventStore
) -> None:
    ours = chain.order(V5, chain.owner)
    chain.node.receipt(chain.take_orders(V5, ours, 0, 1, [(D(1), D(10))]))

    async def first_pass() -> None:
        stack = stack_for(chain, sqlite_store)
        try:
            assert (await stack.follower.sync()).witnessed == 1
            assert stack.follower.last_ingested_block() == chain.node.block_number()
            chain.node.receipt(chain.take_orders(V5, ours, 0, 1, [(D(2), D(20))]))
            second = await stack.follower.sync()
            assert second.witnessed == 1
            assert second.from_block == second.to_block == chain.node.block_number()
        finally:
            await stack.aclose()

    asyncio.run(first_pass())

    # Replaying the whole range (as after losing the checkpoint) records nothing new.
    with sqlite_store.transaction() as tx:
        tx.set_checkpoint(f"chain_follower:{chain.orderbook_v5.address}", 0)

    async def replay() -> None:
        stack = stack_for(chain, sqlite_store)
        try:
            report = await stack.follower.sync()
            assert (report.witnessed, report.already_recorded) == (0, 2)
        finally:
            await stack.aclose()

    asyncio.run(replay())
    assert len(onchain_events(sqlite_store)) == 2


# -- clears ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [V5, V4])
def test_clear_of_two_owner_orders_yields_two_trades_and_a_one_sided_clear_one(
    chain: Deployment, sqlite_store: SqliteEventStore, version: OrderbookVersion
) -> None:
    ours = chain.order(version, chain.owner)
    theirs = chain.order(version, chain.stranger)
    indexes = (0, 1, 1, 0)  # alice buys USDC with AAPL0x, bob the other way round
    change = (D(9), D(100), D(100), D(9))  # alice out 9 AAPL0x, bob out 100 USDC
    both_tx = chain.clear(version, ours, ours, indexes, change)
    bob_tx = chain.clear(version, theirs, ours, indexes, change)
    chain.clear(version, theirs, theirs, indexes, change)
    chain.node.receipt(both_tx)

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store, version)
        try:
            report = await stack.follower.sync()
            assert report.witnessed == 3
            assert report.skipped == {SkipReason.NOT_OWNER: 1}
        finally:
            await stack.aclose()

    asyncio.run(scenario())
    rows = view_rows(sqlite_store)
    # Clear at log 0, AfterClear at log 1: alice keeps the clear's index, bob the after-clear's.
    assert [(r["tx_hash"], r["log_index"], r["direction"], r["amount"]) for r in rows] == [
        (both_tx, 0, "SELL", 9.0),
        (both_tx, 1, "BUY", 9.0),
        (bob_tx, 0, "BUY", 9.0),
    ]
    assert all(r["price_usdc"] == pytest.approx(100 / 9) for r in rows)


# -- what is not ours --------------------------------------------------------------------


def test_non_usdc_pairs_and_strangers_orders_are_skipped_without_stopping_the_follower(
    chain: Deployment, sqlite_store: SqliteEventStore
) -> None:
    weth_order = chain.order(V5, chain.owner, stock=chain.weth)
    chain.take_orders(V5, weth_order, 0, 1, [(D(1), D(3000))])
    chain.take_orders(V5, chain.order(V5, chain.stranger), 0, 1, [(D(1), D(10))])
    good = chain.take_orders(V5, chain.order(V5, chain.owner), 0, 1, [(D(3), D(30))])
    chain.node.receipt(good)

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store)
        try:
            report = await stack.follower.sync()
            assert report.witnessed == 1
            assert report.skipped == {
                SkipReason.NOT_TOKENIZED_EQUITY: 1,
                SkipReason.NOT_OWNER: 1,
            }
        finally:
            await stack.aclose()

    asyncio.run(scenario())
    assert [(r["tx_hash"], r["amount"]) for r in view_rows(sqlite_store)] == [(good, 3.0)]


def test_tokens_without_a_readable_symbol_are_skipped(
    chain: Deployment, sqlite_store: SqliteEventStore
) -> None:
    evaluable = (chain.node.accounts[5], chain.node.accounts[6], b"")
    vault = (1).to_bytes(32, "big")
    for not_a_token in (chain.pyth.address, chain.node.accounts[7]):  # reverts / no code
        ios = [(chain.usdc.address, vault), (not_a_token, vault)]
        order = (chain.owner, evaluable, ios, ios, b"\x01" * 32)
        chain.take_orders(V5, order, 0, 1, [(D(1), D(10))])
    good = chain.take_orders(V5, chain.order(V5, chain.owner), 0, 1, [(D(1), D(10))])
    chain.node.receipt(good)

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store)
        try:
            report = await stack.follower.sync()
            assert report.witnessed == 1
            assert report.skipped == {SkipReason.SYMBOL_UNAVAILABLE: 2}
            assert stack.symbols.known()[chain.pyth.address] is None
        finally:
            await stack.aclose()

    asyncio.run(scenario())
    assert [r["tx_hash"] for r in view_rows(sqlite_store)] == [good]


# -- Pyth feed choice --------------------------------------------------------------------


def test_enrichment_picks_the_symbols_feed_among_several_pyth_reads(
    chain: Deployment, sqlite_store: SqliteEventStore
) -> None:
    tsla_order = chain.order(V5, chain.owner, stock=chain.tsla)
    chain.node.receipt(
        chain.take_orders(V5, tsla_order, 0, 1, [(D(2), D(700))], feeds=[USDC_FEED, TSLA_FEED])
    )

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store)
        try:
            await stack.follower.sync()
            assert len((await stack.enricher.enrich_pending()).enriched) == 1
        finally:
            await stack.aclose()

    asyncio.run(scenario())
    (row,) = view_rows(sqlite_store)
    assert (row["symbol"], row["pyth_price"], row["pyth_exponent"]) == ("tTSLA", 345.12345678, -8)
    assert row["pyth_confidence"] == pytest.approx(0.01234567)


def test_trade_whose_transaction_read_no_pyth_price_stays_unenriched(
    chain: Deployment, sqlite_store: SqliteEventStore
) -> None:
    order = chain.order(V5, chain.owner)
    chain.node.receipt(chain.take_orders(V5, order, 0, 1, [(D(1), D(10))], feeds=[]))

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store)
        try:
            await stack.follower.sync()
            report = await stack.enricher.enrich_pending()
            assert (len(report.enriched), len(report.failed)) == (0, 1)
            assert not report.deferred
            # the enricher moved past it: a second pass has nothing to do
            again = await stack.enricher.enrich_pending()
            assert (again.enriched, again.failed) == ([], [])
        finally:
            await stack.aclose()

    asyncio.run(scenario())
    (row,) = view_rows(sqlite_store)
    assert (row["gas_used"], row["pyth_price"]) == (None, None)


# -- one transaction ---------------------------------------------------------------------


def test_process_transaction_ingests_one_transactions_fills_once(
    chain: Deployment, sqlite_store: SqliteEventStore
) -> None:
    order = chain.order(V5, chain.owner)
    tx = chain.take_orders(V5, order, 0, 1, [(D(4), D(40)), (D(5), D(50))])
    chain.take_orders(V5, order, 0, 1, [(D(6), D(60))])  # another transaction: not ingested
    chain.node.receipt(tx)

    async def scenario() -> None:
        stack = stack_for(chain, sqlite_store, confirmations=100)
        try:
            first = await process_transaction(stack, tx.upper().replace("0X", "0x"))
            assert (first.witnessed, len(first.enrichment.enriched)) == (2, 2)
            again = await process_transaction(stack, tx)
            assert (again.witnessed, again.already_recorded) == (0, 2)
            assert again.enrichment.already == 2
            with pytest.raises(TransactionNotFound):
                await process_transaction(stack, "0x" + "ab" * 32)
        finally:
            await stack.aclose()

    asyncio.run(scenario())
    assert [(r["tx_hash"], r["amount"]) for r in view_rows(sqlite_store)] == [
        (tx, 4.0),
        (tx, 5.0),
    ]


def _sql_time(seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
