"""The Enricher over a real SQLite store, with a fake node answering receipts and traces."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from eth_abi.abi import encode

from hedgebot.chain.enrichment import Enricher
from hedgebot.chain.node import ChainNode
from hedgebot.chain.operations import ChainOverrides
from hedgebot.chain.pyth import DEFAULT_FEED_IDS
from hedgebot.chain.rpc import RpcUnavailable
from hedgebot.chain.service import follower_settings
from hedgebot.config import ChainSettings, ConfigError, Settings
from hedgebot.domain import Direction
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.onchain_trade.commands import Migrate, Witness
from tests.chain.support import onchain_events, trade_handler, view_rows

PYTH = "0x" + "8f" * 20
TX_A = "0x" + "a1" * 32
TX_B = "0x" + "b2" * 32
TX_C = "0x" + "c3" * 32


def price_read(feed: bytes, price: int) -> dict[str, Any]:
    output = encode(["int64", "uint64", "int32", "uint256"], [price, 7, -2, 1_733_400_000])
    return {
        "type": "STATICCALL",
        "to": PYTH,
        "input": "0xa4ae35e0" + feed.hex() + "00" * 32,
        "output": "0x" + output.hex(),
    }


class FakeNode:
    """Receipts and callTracer frames per transaction; counts the calls it answers."""

    def __init__(self) -> None:
        self.receipts: dict[str, dict[str, Any] | None] = {}
        self.traces: dict[str, dict[str, Any]] = {}
        self.calls: Counter[tuple[str, str]] = Counter()
        self.down = False

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        if self.down:
            raise RpcUnavailable(f"{method}: node down")
        tx = str(params[0])
        self.calls[(method, tx)] += 1
        if method == "eth_getTransactionReceipt":
            return self.receipts.get(tx)
        if method == "debug_traceTransaction":
            return self.traces[tx]
        raise AssertionError(f"unexpected {method}")


def witness(store: SqliteEventStore, tx: str, index: int, symbol: str = "AAPL0x") -> None:
    command = Witness(
        symbol=symbol,
        amount=Decimal(1),
        direction=Direction.BUY,
        price_usdc=Decimal(180),
        block_number=7,
        block_timestamp=datetime(2025, 1, 6, 15, 0, tzinfo=UTC),
    )
    trade_handler(store).execute(f"{tx}:{index}", command)


def enricher(node: FakeNode, store: SqliteEventStore) -> Enricher:
    return Enricher(ChainNode(node), store, trade_handler(store), pyth_address=PYTH)


@pytest.fixture
def node() -> FakeNode:
    fake = FakeNode()
    for tx in (TX_A, TX_B):
        fake.receipts[tx] = {"gasUsed": "0x5208", "effectiveGasPrice": "0x77359400"}
        fake.traces[tx] = {
            "type": "CALL",
            "to": "0x" + "0b" * 20,
            "calls": [price_read(DEFAULT_FEED_IDS["AAPL"], 18250)],
        }
    fake.receipts[TX_C] = {"gasUsed": "0x5208"}
    fake.traces[TX_C] = {"type": "CALL", "to": "0x" + "0b" * 20, "calls": []}  # no Pyth read
    return fake


def test_fills_of_one_transaction_share_one_receipt_and_one_trace(
    node: FakeNode, sqlite_store: SqliteEventStore
) -> None:
    for index in range(3):
        witness(sqlite_store, TX_A, index)
    witness(sqlite_store, TX_B, 0)
    report = asyncio.run(enricher(node, sqlite_store).enrich_pending())
    assert len(report.enriched) == 4
    assert node.calls[("eth_getTransactionReceipt", TX_A)] == 1
    assert node.calls[("debug_traceTransaction", TX_A)] == 1
    rows = view_rows(sqlite_store)
    assert {(r["gas_used"], r["effective_gas_price"], r["pyth_price"]) for r in rows} == {
        (21000, 2_000_000_000, 182.5)
    }


def test_a_trade_that_cannot_be_enriched_does_not_hold_up_the_others(
    node: FakeNode, sqlite_store: SqliteEventStore
) -> None:
    witness(sqlite_store, TX_C, 0)
    witness(sqlite_store, TX_A, 0)
    report = asyncio.run(enricher(node, sqlite_store).enrich_pending())
    assert [t.tx_hash for t in report.failed] == [TX_C]
    assert [t.tx_hash for t in report.enriched] == [TX_A]


def test_migrated_trades_are_history_and_are_not_enriched(
    node: FakeNode, sqlite_store: SqliteEventStore
) -> None:
    migrate = Migrate(
        symbol="AAPL0x",
        amount=Decimal(1),
        direction=Direction.SELL,
        price_usdc=Decimal(150),
        block_number=1,
        block_timestamp=datetime(2024, 1, 2, tzinfo=UTC),
    )
    trade_handler(sqlite_store).execute(f"{TX_B}:4", migrate)
    witness(sqlite_store, TX_A, 0)
    report = asyncio.run(enricher(node, sqlite_store).enrich_pending())
    assert [t.tx_hash for t in report.enriched] == [TX_A]
    assert node.calls[("eth_getTransactionReceipt", TX_B)] == 0


def test_enriching_again_after_losing_the_checkpoint_changes_nothing(
    node: FakeNode, sqlite_store: SqliteEventStore
) -> None:
    witness(sqlite_store, TX_A, 0)
    first = enricher(node, sqlite_store)
    asyncio.run(first.enrich_pending())
    with sqlite_store.transaction() as tx:
        tx.set_checkpoint(first.checkpoint_name, 0)
    again = asyncio.run(enricher(node, sqlite_store).enrich_pending())
    assert (again.enriched, again.already) == ([], 1)
    types = Counter(row.event_type for row in onchain_events(sqlite_store))
    assert types == {"OnChainTradeEvent::Filled": 1, "OnChainTradeEvent::Enriched": 1}


def test_the_enricher_stops_at_an_outage_and_resumes_where_it_stopped(
    node: FakeNode, sqlite_store: SqliteEventStore
) -> None:
    witness(sqlite_store, TX_A, 0)
    worker = enricher(node, sqlite_store)
    node.down = True
    down = asyncio.run(worker.enrich_pending())
    assert down.deferred
    assert sqlite_store.get_checkpoint(worker.checkpoint_name) == 0
    node.down = False
    assert len(asyncio.run(worker.enrich_pending()).enriched) == 1


# -- settings -----------------------------------------------------------------------------------


def test_follower_settings_need_the_orderbook_and_the_owner() -> None:
    with pytest.raises(ValueError, match=r"chain\.orderbook.*chain\.owner"):
        follower_settings(ChainSettings())


def test_follower_settings_come_from_the_chain_section() -> None:
    chain = ChainSettings(
        orderbook="0x" + "AB" * 20,
        owner="0x" + "cd" * 20,
        orderbook_version="v4",
        deployment_block=34_844_164,
        confirmations=5,
        batch_size=250,
    )
    settings = follower_settings(chain)
    assert (settings.orderbook, settings.version.value, settings.confirmations) == (
        "0x" + "ab" * 20,
        "v4",
        5,
    )
    assert (settings.deployment_block, settings.batch_size) == (34_844_164, 250)
    assert settings.checkpoint_name == "chain_follower:0x" + "ab" * 20


def test_command_line_values_override_the_configuration_and_are_validated() -> None:
    settings = ChainOverrides(rpc_url="http://127.0.0.1:9999", owner="0x" + "11" * 20).apply(
        Settings()
    )
    assert (settings.chain.rpc_url, settings.chain.owner) == (
        "http://127.0.0.1:9999",
        "0x" + "11" * 20,
    )
    with pytest.raises(ConfigError, match="owner"):
        ChainOverrides(owner="not-an-address").apply(Settings())
