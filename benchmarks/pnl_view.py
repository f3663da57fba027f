"""Benchmark: maintaining metrics_pnl_view on SQLite (prints figures; median of runs).

Scenarios:
  in-order import   N trades over S symbols in PnL order, one transaction, Projector.apply
                    on batches of 5,000 typed events (the legacy import's path and size)
  venue-by-venue    the same trades, all onchain fills first, then all broker fills
                    (each broker fill lands before later onchain rows: rewinds)
  live              one transaction per event, 10 % of the hedge fills stamped before the
                    onchain trade recorded just before them; per-event latency

Usage: .venv/bin/python benchmarks/pnl_view.py [--trades 100000] [--symbols 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hedgebot.domain import Broker, Direction
from hedgebot.eventstore import NewEvent, Projector, Tagged
from hedgebot.eventstore.registry import EventRegistry
from hedgebot.eventstore.schema import upgrade
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.metrics_pnl.view import VIEW_TABLE, MetricsPnlView
from hedgebot.offchain_order import events as offchain_order
from hedgebot.onchain_trade import events as onchain_trade
from hedgebot.position import events as position

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
REGISTRIES = (
    onchain_trade.ONCHAIN_TRADE_EVENTS,
    position.POSITION_EVENTS,
    offchain_order.OFFCHAIN_ORDER_EVENTS,
)


Event = tuple[bool, NewEvent, Tagged]


def make_events(trades: int, symbols: int, seed: int = 1) -> list[Event]:
    """(is_onchain, row, typed event) in PnL order: 70 % onchain, 30 % migrated broker fills."""
    rng = random.Random(seed)
    names = [f"S{i:04d}" for i in range(symbols)]
    out: list[Event] = []
    for n in range(1, trades + 1):
        at = T0 + timedelta(seconds=n * 7)
        symbol = rng.choice(names)
        direction = rng.choice([Direction.BUY, Direction.SELL])
        if rng.random() < 0.7:
            event: Tagged = onchain_trade.Migrated(
                symbol=f"t{symbol}",
                amount=Decimal(rng.randrange(1, 10_000)) / 1000,
                direction=direction,
                price_usdc=Decimal(rng.randrange(10_000, 20_000)) / 100,
                block_number=n,
                block_timestamp=at,
                gas_used=None,
                pyth_price=None,
                migrated_at=T0 + timedelta(days=900),
            )
            new = row(onchain_trade.ONCHAIN_TRADE_EVENTS, f"0x{n:064x}:0", event)
            out.append((True, new, event))
        else:
            event = offchain_order.Migrated(
                symbol=symbol,
                shares=Decimal(rng.randrange(1, 10)),
                direction=direction,
                broker=Broker.SCHWAB,
                status=offchain_order.MigratedFilled(),
                broker_order_id=f"O{n}",
                price_cents=rng.randrange(10_000, 20_000),
                executed_at=at,
                migrated_at=T0 + timedelta(days=900),
            )
            out.append((False, row(offchain_order.OFFCHAIN_ORDER_EVENTS, str(n), event), event))
    return out


def row(registry: EventRegistry, aggregate_id: str, event: Tagged, sequence: int = 1) -> NewEvent:
    return NewEvent(
        aggregate_type=registry.aggregate_type,
        aggregate_id=aggregate_id,
        sequence=sequence,
        event_type=registry.event_type(event),
        event_version=registry.version,
        payload=registry.encode(event),
    )


def fresh_store(directory: Path, name: str) -> SqliteEventStore:
    path = directory / f"{name}.db"
    upgrade(f"sqlite://{path}")
    return SqliteEventStore(str(path), synchronous="NORMAL")


def import_run(
    directory: Path, name: str, events: Sequence[Event], batch: int = 5000
) -> tuple[float, float, float]:
    """(wall seconds for append + projection + commit, wall seconds in Projector.apply,
    CPU seconds of this process for all of it) for one import.

    Like the legacy import: typed events handed to the projector (no decoding).
    """
    rows = [new for _, new, _ in events]
    typed = [event for _, _, event in events]
    store = fresh_store(directory, name)
    projector = Projector([MetricsPnlView()], REGISTRIES)
    projecting = 0.0
    cpu_started = time.process_time()
    started = time.perf_counter()
    with store.transaction() as tx:
        for start in range(0, len(rows), batch):
            stored = tx.append(rows[start : start + batch])
            t = time.perf_counter()
            projector.apply(tx, stored, typed[start : start + batch])
            projecting += time.perf_counter() - t
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    count = store.query(f"SELECT COUNT(*) FROM {VIEW_TABLE}")[0][0]
    assert count == len(rows), (count, len(rows))
    store.close()
    return total, projecting, cpu


def live_run(directory: Path, trades: int, symbols: int) -> list[float]:
    """Per-event latency (append + projection + commit), with late hedge fills."""
    rng = random.Random(5)
    names = [f"S{i:04d}" for i in range(symbols)]
    store = fresh_store(directory, "live")
    projector = Projector([MetricsPnlView()], REGISTRIES)
    sequences: dict[str, int] = {}
    latencies: list[float] = []
    for n in range(1, trades + 1):
        at = T0 + timedelta(seconds=n * 7)
        symbol = rng.choice(names)
        direction = rng.choice([Direction.BUY, Direction.SELL])
        if rng.random() < 0.8:
            event: Tagged = onchain_trade.Filled(
                symbol=f"t{symbol}",
                amount=Decimal(rng.randrange(1, 10_000)) / 1000,
                direction=direction,
                price_usdc=Decimal(rng.randrange(10_000, 20_000)) / 100,
                block_number=n,
                block_timestamp=at,
                filled_at=at,
            )
            new = row(onchain_trade.ONCHAIN_TRADE_EVENTS, f"0x{n:064x}:0", event)
        else:
            late = rng.random() < 0.1
            sequences[symbol] = sequences.get(symbol, 0) + 1
            event = position.OffChainOrderFilled(
                execution_id=n,
                shares_filled=Decimal(rng.randrange(1, 10)),
                direction=direction,
                broker_order_id=f"O{n}",
                price_cents=rng.randrange(10_000, 20_000),
                broker_timestamp=at - timedelta(seconds=60 if late else 0),
            )
            new = row(position.POSITION_EVENTS, symbol, event, sequences[symbol])
        started = time.perf_counter()
        with store.transaction() as tx:
            projector.apply(tx, tx.append([new]))
        latencies.append(time.perf_counter() - started)
    store.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--symbols", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--live-trades", type=int, default=10_000)
    args = parser.parse_args()
    events = make_events(args.trades, args.symbols)
    in_order = events
    by_venue = [e for e in events if e[0]] + [e for e in events if not e[0]]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for label, rows in (("in-order import", in_order), ("venue-by-venue", by_venue)):
            runs = [import_run(directory, f"{label[:5]}{i}", rows) for i in range(args.runs)]
            total = statistics.median(r[0] for r in runs)
            projecting = statistics.median(r[1] for r in runs)
            cpu = statistics.median(r[2] for r in runs)
            print(
                f"{label:16} {len(rows):>7} trades / {args.symbols} symbols: "
                f"{total:6.2f} s wall ({cpu:5.2f} s CPU), {projecting:6.2f} s in the view "
                f"({len(rows) / projecting:,.0f} trades/s), median of {args.runs}"
            )
        latencies = sorted(live_run(directory, args.live_trades, min(args.symbols, 100)))
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[int(len(latencies) * 0.99)] * 1000
        print(
            f"live             {len(latencies):>7} events, one commit each: "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"
        )


if __name__ == "__main__":
    main()
