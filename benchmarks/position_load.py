"""Position load and acknowledgement cost on SQLite (SPEC §14).

1. Load of a Position with 100,000 events: snapshot (full 10,000-id fill window) + a
   50-event tail, against a full replay.
2. AcknowledgeOnChainFill throughput for that hot position (snapshot every 100), each
   command in its own transaction.

Prints medians of several runs. Usage: ``python benchmarks/position_load.py [events]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hedgebot.clock import ManualClock
from hedgebot.domain import Broker, Direction, TradeId
from hedgebot.eventstore import CommandHandler, encode_events, schema
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.position.commands import AcknowledgeOnChainFill, PositionCommand
from hedgebot.position.events import Initialized, OnChainOrderFilled, PositionEvent, Shares
from hedgebot.position.state import POSITION, PositionState

START = datetime(2025, 1, 1, tzinfo=UTC)


def trade_id(n: int) -> TradeId:
    return TradeId(f"0x{n:064x}", 0)


def history(count: int) -> list[PositionEvent]:
    """Fills that never reach the threshold (they alternate BUY/SELL 0.001)."""
    events: list[PositionEvent] = [Initialized("AAPL", Shares(Decimal(1000)), START)]
    for n in range(1, count):
        at = START + timedelta(seconds=n)
        direction = Direction.BUY if n % 2 else Direction.SELL
        events.append(
            OnChainOrderFilled(trade_id(n), Decimal("0.001"), direction, Decimal("150"), at, at)
        )
    return events


def ack(n: int, at: datetime) -> AcknowledgeOnChainFill:
    return AcknowledgeOnChainFill(
        "AAPL",
        trade_id(n),
        Decimal("0.001"),
        Direction.BUY if n % 2 else Direction.SELL,
        Decimal("150"),
        at,
        Broker.SCHWAB,
    )


def seed(
    store: SqliteEventStore,
    handler: CommandHandler[PositionState, PositionCommand],
    count: int,
    tail: int,
) -> None:
    """Bulk-append all but the last ``tail + 1`` events, then acknowledge the rest through
    the handler so that it writes its own snapshot where the stream crosses a multiple
    of its interval."""
    events = history(count - tail)
    rows = encode_events(POSITION, "AAPL", events[:-1])
    with store.transaction() as tx:
        for start in range(0, len(rows), 10_000):
            tx.append(rows[start : start + 10_000])
    for n in range(count - tail - 1, count):
        handler.execute("AAPL", ack(n, START))


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.db"
        schema.upgrade(f"sqlite://{path}")
        store = SqliteEventStore(str(path))
        clock = ManualClock(START + timedelta(days=10))
        handler: CommandHandler[PositionState, PositionCommand] = CommandHandler(
            store, POSITION, clock=clock, snapshot_every=100
        )
        seed(store, handler, count, tail=50)
        for n in range(count, count + 50):  # a tail after the last snapshot
            handler.execute("AAPL", ack(n, clock.now()))
        snapshot = store.load_snapshot("Position", "AAPL")
        assert snapshot is not None
        print(
            f"events: {count}, snapshot at {snapshot.last_sequence}, "
            f"payload {len(snapshot.payload) / 1024:.0f} KiB"
        )

        loads = []
        for _ in range(15):
            began = time.perf_counter()
            loaded = handler.load("AAPL")
            loads.append(time.perf_counter() - began)
        print(f"load (snapshot + 50-event tail): median {median_ms(loads):.2f} ms")

        replays = []
        for _ in range(3):
            began = time.perf_counter()
            replayed = handler.replay("AAPL")
            replays.append(time.perf_counter() - began)
        assert replayed == loaded
        print(f"full replay: median {median_ms(replays):.0f} ms")

        acks = 1000
        rates = []
        for run in range(3):
            began = time.perf_counter()
            for i in range(acks):
                n = count + 50 + run * acks + i
                handler.execute("AAPL", ack(n, clock.now()))
            rates.append(acks / (time.perf_counter() - began))
        print(f"acknowledgements, one per transaction: median {statistics.median(rates):.0f}/s")
        store.close()


if __name__ == "__main__":
    main()
