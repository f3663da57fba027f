"""Crash safety: the follower is SIGKILLed at random points while ingesting 200 fills
and restarted until done; every fill is in the store exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.chain.abi import OrderbookVersion
from hedgebot.eventstore.sqlite import SqliteEventStore
from tests.chain.deployment import Deployment
from tests.chain.support import onchain_events, view_rows
from tests.contracts.build import ROOT

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

V5 = OrderbookVersion.V5
D = Decimal
MAX_KILLS = 8


def emit_200_fills(chain: Deployment) -> set[str]:
    """18 transactions of 10 take-orders and 10 clears of two owner orders: 200 fills."""
    order = chain.order(V5, chain.owner)
    expected: set[str] = set()
    for n in range(18):
        amounts = [(D(n * 10 + i + 1), D(100 + i)) for i in range(10)]
        tx = chain.take_orders(V5, order, 0, 1, amounts)
        expected |= {f"{tx}:{i}" for i in range(10)}
    for _ in range(10):
        tx = chain.clear(V5, order, order, (0, 1, 1, 0), (D(9), D(100), D(100), D(9)))
        expected |= {f"{tx}:0", f"{tx}:1"}
    chain.node.receipt(tx)
    assert len(expected) == 200
    return expected


def start_follower(config_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.chain.crash_follower", str(config_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _wait_for_fills(store: SqliteEventStore, process: subprocess.Popen[str], count: int) -> None:
    """Until the follower has stored ``count`` fills (or ended, or 60 s passed)."""
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if _stored_fills(store) >= count:
            return
        time.sleep(0.002)


def _stored_fills(store: SqliteEventStore) -> int:
    rows = store.query("SELECT count(*) FROM events WHERE aggregate_type = 'OnChainTrade'")
    return int(str(rows[0][0]))


def test_follower_killed_at_random_points_records_every_fill_exactly_once(
    chain: Deployment, sqlite_store: SqliteEventStore, tmp_path: Path
) -> None:
    expected = emit_200_fills(chain)
    config = {
        "rpc_url": chain.node.url,
        "database": sqlite_store.path,
        "orderbook": chain.orderbook_v5.address,
        "owner": chain.owner,
        "deployment_block": chain.deployment_block,
        "target_block": chain.node.block_number(),
    }
    config_path = tmp_path / "follower.json"
    config_path.write_text(json.dumps(config))
    seed = random.randrange(2**32)
    rng = random.Random(seed)

    kills = 0
    partial_states: list[int] = []  # events in the store after each kill
    while True:
        process = start_follower(config_path)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "started", f"seed {seed}"
        stored = _stored_fills(sqlite_store)
        if kills < MAX_KILLS and stored < 199:
            # A random crash point of the ingest's progress (not of the clock, so the
            # kills land mid-ingest however fast the machine ingests), then up to 10 ms
            # more: inside a commit or between two.
            _wait_for_fills(sqlite_store, process, rng.randrange(stored + 1, 200))
            time.sleep(rng.uniform(0.0, 0.01))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
                kills += 1
                partial_states.append(len(onchain_events(sqlite_store)))
                continue
        assert process.wait(timeout=120) == 0, f"seed {seed}"
        break

    events = onchain_events(sqlite_store)
    per_trade = Counter(row.aggregate_id for row in events)
    assert set(per_trade) == expected, f"seed {seed}"
    assert set(per_trade.values()) == {1}, f"seed {seed}: a fill was recorded twice"
    assert {row.event_type for row in events} == {"OnChainTradeEvent::Filled"}
    rows = view_rows(sqlite_store)
    assert len(rows) == 200
    assert Counter(r["direction"] for r in rows) == {"SELL": 190, "BUY": 10}
    print(f"seed {seed}: {kills} kills, events after each: {partial_states}")
    assert any(0 < n < 200 for n in partial_states), (
        f"seed {seed}: no kill landed in the middle of the ingest ({partial_states})"
    )
