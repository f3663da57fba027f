"""Chain ingest: fills/s for decoding and witnessing orderbook logs into SQLite.

Emits N owner take-orders (V5, 200 per transaction) on an anvil node with the
solc-compiled test orderbook, fetches the logs once with ``eth_getLogs``, then replays
them through the follower's pipeline several times, each into a fresh migrated SQLite
store (``synchronous=FULL``, the production default):

* decode: JSON-RPC log → RawLog → eth_abi decode → owner filter → fill → trade
  (symbols already cached, as they are after the first range);
* witness: ``OnChainTrade.Witness`` through the command handler with the views, 500
  per transaction, plus the checkpoint.

Projector: the OnChainTrade view; with ``--all-views`` also every view of the product
(`hedgebot.bootstrap.build_projector`: the PnL view reacts to fills too).
Prints medians of several runs. Usage, from the repository root (it reuses the test
harness): ``.venv/bin/python -m benchmarks.chain_ingest [logs] [--all-views]``.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.chain.anvil import Anvil
from tests.chain.deployment import Deployment, deploy_all
from tests.chain.support import NOW
from tests.contracts.build import load_artifacts

from hedgebot.chain.abi import OrderbookVersion, topics_for
from hedgebot.chain.decoding import LogDecoder
from hedgebot.chain.ingest import FillPipeline, TradeRecorder
from hedgebot.chain.node import ChainNode
from hedgebot.chain.rpc import JsonRpcClient
from hedgebot.chain.symbols import SymbolCache
from hedgebot.clock import ManualClock
from hedgebot.eventstore import schema
from hedgebot.eventstore.handler import CommandHandler
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.views import Projector
from hedgebot.onchain_trade.events import ONCHAIN_TRADE_EVENTS
from hedgebot.onchain_trade.state import ONCHAIN_TRADE
from hedgebot.onchain_trade.view import OnChainTradeView

RUNS = 5
PER_TX = 200
V5 = OrderbookVersion.V5


def emit(chain: Deployment, logs: int) -> None:
    order = chain.order(V5, chain.owner)
    last = ""
    for start in range(0, logs, PER_TX):
        count = min(PER_TX, logs - start)
        amounts = [(Decimal(n + 1).scaleb(-3), Decimal(150 + n % 50)) for n in range(count)]
        last = chain.take_orders(V5, order, 0, 1, amounts, feeds=[])
    chain.node.receipt(last)


def projector(kind: str) -> Projector:
    if kind == "all views":
        from hedgebot.bootstrap import build_projector

        return build_projector()
    return Projector([OnChainTradeView()], [ONCHAIN_TRADE_EVENTS])


async def replay(
    entries: list[dict[str, Any]], pipeline: FillPipeline, template: Path, kind: str, run: int
) -> tuple[float, float]:
    workdir = Path(tempfile.mkdtemp(prefix="chain-ingest-"))
    try:
        path = workdir / f"run{run}.db"
        shutil.copyfile(template, path)
        store = SqliteEventStore(str(path), synchronous="FULL")
        handler: CommandHandler[Any, Any] = CommandHandler(
            store, ONCHAIN_TRADE, clock=ManualClock(NOW), projector=projector(kind)
        )
        recorder = TradeRecorder(store, handler, chunk_size=500)
        try:
            start = time.perf_counter()
            result = await pipeline.process(entries)
            decoded = time.perf_counter()
            report = recorder.record(result.trades, ("chain_follower:bench", 1))
            done = time.perf_counter()
            assert len(report.witnessed) == len(entries), (len(report.witnessed), len(entries))
        finally:
            store.close()
        return decoded - start, done - decoded
    finally:
        shutil.rmtree(workdir)


async def main(logs: int, all_views: bool) -> None:
    node = Anvil()
    try:
        chain = deploy_all(node, load_artifacts())
        started = time.perf_counter()
        emit(chain, logs)
        emitted = time.perf_counter() - started
        rpc = JsonRpcClient(node.url)
        chain_node = ChainNode(rpc)
        started = time.perf_counter()
        entries = await chain_node.get_logs(
            chain.orderbook_v5.address, topics_for(V5), chain.deployment_block, node.block_number()
        )
        fetched = time.perf_counter() - started
        symbols = SymbolCache(chain_node)
        pipeline = FillPipeline(LogDecoder(V5), chain.owner, symbols, chain_node)
        await symbols.resolve([chain.usdc.address, chain.aapl.address])
        await rpc.aclose()
    finally:
        node.stop()
    print(
        f"{len(entries)} take-order logs: emitted in {emitted:.1f} s, eth_getLogs {fetched:.2f} s"
    )

    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"
        schema.upgrade(f"sqlite://{template}")
        print(f"replayed into SQLite (synchronous=FULL), median of {RUNS} runs:")
        for kind in ("onchain view", "all views") if all_views else ("onchain view",):
            results = [await replay(entries, pipeline, template, kind, run) for run in range(RUNS)]
            decode = statistics.median(r[0] for r in results)
            witness = statistics.median(r[1] for r in results)
            total = statistics.median(r[0] + r[1] for r in results)
            n = len(entries)
            print(
                f"  {kind:12s} decode {n / decode:9,.0f} fills/s   witness {n / witness:8,.0f} "
                f"fills/s   decode+witness {n / total:8,.0f} fills/s ({total:.2f} s)"
            )


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    asyncio.run(main(int(numbers[0]) if numbers else 10_000, "--all-views" in sys.argv))
