"""Event-store throughput and load time (SPEC §14), median of several runs.

    .venv/bin/python benchmarks/store_append.py                      # SQLite, FULL and NORMAL
    .venv/bin/python benchmarks/store_append.py --backend memory
    .venv/bin/python benchmarks/store_append.py --backend postgres \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench

Figures:
* commands/s: one-event commands (the example ledger's ``Move``), each through the
  `CommandHandler` in its own transaction with one view (``ledger_view``), spread over
  100 aggregates, snapshots every 100 events; with p50/p99 latency per command;
* the same commands grouped 100 per transaction with `execute_in` (how managers
  that process a batch of fills commit): one commit, one fsync, per group;
* batched append: 100,000 events of one aggregate encoded and appended in one
  transaction;
* load: that 100,000-event aggregate loaded through the handler, with a snapshot
  (``snapshot_every=100``: the snapshot at 99,900 plus a 100-event tail, the longest
  tail N=100 leaves) and without (``snapshot_every=0``: full replay).

Wall-clock figures depend on what else runs on the machine; the "per second of CPU
time" lines divide by this process's CPU time instead (what one free core would do,
fsync waits excluded). SQLite runs on a fresh file per run. Other backends use the
given database and fresh aggregate ids per run (no clean-up needed; use a scratch
database).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the example ledger lives with the framework tests
    sys.path.insert(0, str(ROOT))

from tests.eventstore.example_ledger import (  # noqa: E402
    LEDGER,
    LEDGER_EVENTS,
    LEDGER_VIEW_DDL,
    LEDGER_VIEW_DDL_POSTGRES,
    LedgerState,
    LedgerView,
    Move,
    Moved,
    Open,
    Opened,
    Unlimited,
)

from hedgebot.clock import ManualClock  # noqa: E402
from hedgebot.domain import Direction  # noqa: E402
from hedgebot.eventstore import (  # noqa: E402
    CommandHandler,
    Projector,
    Snapshot,
    encode_events,
    schema,
)
from hedgebot.eventstore.handler import encode_snapshot_state  # noqa: E402
from hedgebot.eventstore.memory import MemoryEventStore  # noqa: E402
from hedgebot.eventstore.sqlite import SqliteEventStore  # noqa: E402
from hedgebot.eventstore.store import EventStore  # noqa: E402

T0 = datetime(2025, 1, 2, 14, 30, tzinfo=UTC)
AGGREGATES = 100
SNAPSHOT_EVERY = 100
GROUP = 100


@dataclass
class Run:
    commands_per_s: float
    commands_per_cpu_s: float
    p50_ms: float
    p99_ms: float
    grouped_commands_per_s: float
    batch_events_per_s: float
    batch_events_per_cpu_s: float
    load_snapshot_ms: float
    load_replay_ms: float


# ---------------------------------------------------------------------------
# stores


class Backend:
    """Opens one store per run for the chosen backend."""

    def __init__(self, name: str, database_url: str | None, synchronous: str) -> None:
        self.name = name
        self.database_url = database_url
        self.synchronous = synchronous
        self._template: Path | None = None
        self._tmp = Path(tempfile.mkdtemp(prefix="hedgebot-bench-"))

    def label(self) -> str:
        if self.name == "sqlite":
            return f"sqlite (synchronous={self.synchronous})"
        return self.name

    @contextmanager
    def store(self, run: int) -> Iterator[EventStore]:
        if self.name == "memory":
            yield MemoryEventStore()
            return
        if self.name == "sqlite":
            yield from self._sqlite(run)
            return
        yield from self._postgres()

    def _sqlite(self, run: int) -> Iterator[EventStore]:
        if self.database_url is not None:
            from hedgebot.eventstore.dburl import parse_database_url

            path = parse_database_url(self.database_url).path
            assert path is not None
            schema.upgrade(self.database_url)
            _create_sqlite_view(Path(path))
        else:
            if self._template is None:
                self._template = self._tmp / "template.db"
                schema.upgrade(f"sqlite://{self._template}")
                _create_sqlite_view(self._template)
            path = str(self._tmp / f"run{run}.db")
            shutil.copyfile(self._template, path)
        store = SqliteEventStore(path, synchronous=self.synchronous)
        try:
            yield store
        finally:
            store.close()

    def _postgres(self) -> Iterator[EventStore]:
        if self.database_url is None:
            raise SystemExit("--backend postgres needs --database-url postgresql://…")
        try:
            import psycopg

            from hedgebot.eventstore.postgres import PostgresEventStore
        except ImportError as exc:
            raise SystemExit(f"the PostgreSQL backend is not available: {exc}") from None
        schema.upgrade(self.database_url)
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(LEDGER_VIEW_DDL_POSTGRES)
        store = PostgresEventStore(self.database_url)
        try:
            yield store
        finally:
            store.close()

    def cleanup(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


def _create_sqlite_view(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(LEDGER_VIEW_DDL)
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# measurements


def bench_commands(
    store: EventStore, prefix: str, commands: int
) -> tuple[float, float, float, float]:
    clock = ManualClock(T0)
    handler = CommandHandler(
        store,
        LEDGER,
        clock=clock,
        projector=Projector([LedgerView()], [LEDGER_EVENTS]),
        snapshot_every=SNAPSHOT_EVERY,
    )
    ids = [f"{prefix}-ledger-{i}" for i in range(AGGREGATES)]
    for aggregate_id in ids:
        handler.execute(aggregate_id, Open(aggregate_id))
    latencies: list[float] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for n in range(commands):
        clock.advance(timedelta(milliseconds=1))
        direction = Direction.BUY if n % 3 else Direction.SELL
        before = time.perf_counter()
        handler.execute(ids[n % AGGREGATES], Move(Decimal("1.25"), direction))
        latencies.append(time.perf_counter() - before)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return commands / elapsed, commands / cpu, p50, p99


def bench_grouped_commands(store: EventStore, prefix: str, commands: int) -> float:
    """The same commands, ``GROUP`` per transaction via `execute_in` (as managers do)."""
    handler = CommandHandler(
        store,
        LEDGER,
        clock=ManualClock(T0),
        projector=Projector([LedgerView()], [LEDGER_EVENTS]),
        snapshot_every=SNAPSHOT_EVERY,
    )
    ids = [f"{prefix}-grouped-{i}" for i in range(AGGREGATES)]
    with store.transaction() as tx:
        for aggregate_id in ids:
            handler.execute_in(tx, aggregate_id, Open(aggregate_id))
    started = time.perf_counter()
    for first in range(0, commands, GROUP):
        with store.transaction() as tx:
            for n in range(first, min(first + GROUP, commands)):
                direction = Direction.BUY if n % 3 else Direction.SELL
                handler.execute_in(tx, ids[n % AGGREGATES], Move(Decimal("1.25"), direction))
    return commands / (time.perf_counter() - started)


def history(events: int) -> list[Any]:
    first = Opened("bulk", Unlimited(), T0)
    moves = [
        Moved(
            Decimal("0.5"),
            Direction.BUY if n % 2 else Direction.SELL,
            n,
            None,
            T0 + timedelta(microseconds=n),
        )
        for n in range(1, events)
    ]
    return [first, *moves]


def bench_batch(store: EventStore, aggregate_id: str, events: list[Any]) -> tuple[float, float]:
    started, cpu_started = time.perf_counter(), time.process_time()
    rows = encode_events(LEDGER, aggregate_id, events)
    with store.transaction() as tx:
        tx.append(rows)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return len(events) / elapsed, len(events) / cpu


def bench_loads(
    store: EventStore, aggregate_id: str, events: list[Any], repeats: int
) -> tuple[float, float]:
    """Median load time with a snapshot (at len-100) and with a full replay."""
    snapshot_at = len(events) - SNAPSHOT_EVERY
    state = LEDGER.fold(LedgerState(), events[:snapshot_at])
    with store.transaction() as tx:
        tx.save_snapshot(
            Snapshot(
                "Ledger",
                aggregate_id,
                snapshot_at,
                encode_snapshot_state(LEDGER, state),
                T0.isoformat(),
            )
        )
    with_snapshots = CommandHandler(store, LEDGER, clock=ManualClock(T0), snapshot_every=100)
    without = CommandHandler(store, LEDGER, clock=ManualClock(T0), snapshot_every=0)
    expected = without.load(aggregate_id)
    if with_snapshots.load(aggregate_id) != expected or expected.version != len(events):
        raise SystemExit("snapshot + tail differs from the full replay: the benchmark is wrong")
    snap = _median_ms(lambda: with_snapshots.load(aggregate_id), repeats * 4)
    replay = _median_ms(lambda: without.load(aggregate_id), max(1, repeats // 2))
    return snap, replay


def _median_ms(work: Callable[[], object], times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run_once(
    backend: Backend, run: int, commands: int, events: list[Any], load_repeats: int
) -> Run:
    prefix = f"r{run}-{time.time_ns()}"
    with backend.store(run) as store:
        per_s, per_cpu_s, p50, p99 = bench_commands(store, prefix, commands)
        grouped = bench_grouped_commands(store, prefix, commands)
        bulk_id = f"{prefix}-bulk"
        batch, batch_cpu = bench_batch(store, bulk_id, events)
        snap, replay = bench_loads(store, bulk_id, events, load_repeats)
    return Run(per_s, per_cpu_s, p50, p99, grouped, batch, batch_cpu, snap, replay)


# ---------------------------------------------------------------------------
# report


def report(label: str, runs: list[Run], commands: int, events: int) -> None:
    def line(title: str, values: list[float], unit: str, fmt: str) -> None:
        med = statistics.median(values)
        low, high = min(values), max(values)
        print(
            f"  {title:<58} {format(med, fmt):>10} {unit:<9}"
            f" [{format(low, fmt)} – {format(high, fmt)}]"
        )

    print(f"\n{label}: median of {len(runs)} runs [min – max]")
    line(
        f"commands/s ({commands:,} one-event commands, own tx, 1 view)",
        [r.commands_per_s for r in runs],
        "cmd/s",
        ",.0f",
    )
    line(
        "  per second of this process's CPU time",
        [r.commands_per_cpu_s for r in runs],
        "cmd/s",
        ",.0f",
    )
    line("  command latency p50", [r.p50_ms for r in runs], "ms", ".3f")
    line("  command latency p99", [r.p99_ms for r in runs], "ms", ".3f")
    line(
        f"commands/s, {GROUP} commands per transaction (execute_in)",
        [r.grouped_commands_per_s for r in runs],
        "cmd/s",
        ",.0f",
    )
    line(
        f"batched append, {events:,} events in one tx (encode + append)",
        [r.batch_events_per_s for r in runs],
        "events/s",
        ",.0f",
    )
    line(
        "  per second of this process's CPU time",
        [r.batch_events_per_cpu_s for r in runs],
        "events/s",
        ",.0f",
    )
    line(
        f"load {events:,}-event aggregate, snapshot_every=100",
        [r.load_snapshot_ms for r in runs],
        "ms",
        ".2f",
    )
    line(
        f"load {events:,}-event aggregate, snapshot_every=0",
        [r.load_replay_ms for r in runs],
        "ms",
        ".1f",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "memory", "postgres"], default="sqlite")
    parser.add_argument("--database-url", help="store to use (default: fresh temp SQLite files)")
    parser.add_argument(
        "--synchronous",
        choices=["FULL", "NORMAL", "both"],
        default="both",
        help="SQLite durability (default: measure both)",
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commands", type=int, default=5000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--load-repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.events <= SNAPSHOT_EVERY:
        parser.error(f"--events must be more than {SNAPSHOT_EVERY}")

    modes = ["FULL", "NORMAL"] if args.synchronous == "both" else [args.synchronous]
    if args.backend != "sqlite":
        modes = ["FULL"]
    events = history(args.events)
    print(
        f"hedgebot event-store benchmark: {args.runs} runs, python {sys.version.split()[0]}, "
        f"sqlite {sqlite3.sqlite_version}, load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    for mode in modes:
        backend = Backend(args.backend, args.database_url, mode)
        try:
            runs = [
                run_once(backend, run, args.commands, events, args.load_repeats)
                for run in range(args.runs)
            ]
        finally:
            backend.cleanup()
        report(backend.label(), runs, args.commands, args.events)


if __name__ == "__main__":
    main()
