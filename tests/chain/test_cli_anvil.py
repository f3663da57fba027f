"""``hedgebot process-tx`` and ``hedgebot pyth-price`` against anvil and a SQLite store."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hedgebot.chain.abi import OrderbookVersion
from hedgebot.cli import app
from hedgebot.eventstore.sqlite import SqliteEventStore
from tests.chain.deployment import TSLA_FEED, USDC_FEED, Deployment
from tests.chain.support import view_rows

pytestmark = pytest.mark.anvil

V5 = OrderbookVersion.V5
D = Decimal


def chain_options(chain: Deployment) -> list[str]:
    return [
        "--rpc-url",
        chain.node.url,
        "--orderbook",
        chain.orderbook_v5.address,
        "--owner",
        chain.owner,
        "--pyth-address",
        chain.pyth.address,
    ]


def test_process_tx_records_the_transactions_fills_and_prints_them(
    chain: Deployment, sqlite_path: Path
) -> None:
    tx = chain.take_orders(V5, chain.order(V5, chain.owner), 0, 1, [(D(9), D(100))])
    chain.take_orders(V5, chain.order(V5, chain.stranger), 0, 1, [(D(1), D(10))])
    chain.node.receipt(tx)
    args = ["process-tx", tx, *chain_options(chain), "--database-url", f"sqlite://{sqlite_path}"]

    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert output["witnessed"] == 1
    assert output["trades"] == [
        {
            "trade_id": f"{tx}:0",
            "symbol": "AAPL0x",
            "direction": "SELL",
            "amount": "9",
            "price_usdc": "11.11111111111111111111111111111111111111",
            "block_number": str(int(chain.node.receipt(tx)["blockNumber"], 16)),
            "enriched": "yes",
        }
    ]
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "0 recorded, 1 already recorded" in again.output

    store = SqliteEventStore(str(sqlite_path))
    try:
        (row,) = view_rows(store)
        assert (row["tx_hash"], row["pyth_price"]) == (tx, 182.5)
    finally:
        store.close()


def test_pyth_price_prints_the_feed_read_in_the_transaction(chain: Deployment) -> None:
    order = chain.order(V5, chain.owner, stock=chain.tsla)
    tx = chain.take_orders(V5, order, 0, 1, [(D(1), D(345))], feeds=[USDC_FEED, TSLA_FEED])
    chain.node.receipt(tx)
    options = ["--rpc-url", chain.node.url, "--pyth-address", chain.pyth.address, "--json"]

    result = CliRunner().invoke(app, ["pyth-price", tx, "--symbol", "tTSLA", *options])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "price": "345.12345678",
        "confidence": "0.01234567",
        "value": "34512345678",
        "conf": "1234567",
        "expo": "-8",
        "publish_time": "2024-12-05T12:00:00Z",
    }


def test_pyth_price_of_a_transaction_reading_two_feeds_needs_a_symbol(
    chain: Deployment,
) -> None:
    order = chain.order(V5, chain.owner, stock=chain.tsla)
    tx = chain.take_orders(V5, order, 0, 1, [(D(1), D(345))], feeds=[USDC_FEED, TSLA_FEED])
    chain.node.receipt(tx)
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("hedgebot")),
            "pyth-price",
            tx,
            "--rpc-url",
            chain.node.url,
            "--pyth-address",
            chain.pyth.address,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: ")
    assert "2 feeds" in result.stderr
    assert "Traceback" not in result.stderr
