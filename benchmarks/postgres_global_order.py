"""What the PostgreSQL store's global order costs, against the alternatives.

hedgebot hands out ``events.position`` from one locked counter row, which serialises
appending transactions (so positions become visible in commit order). This measures
appending transactions per second with T threads, each transaction one event on its
own aggregate, for:

- ``locked counter``: the real `PostgresEventStore` (``transaction()`` + ``append``);
- ``sequence (unsafe)``: positions from a plain sequence, no lock: the upper bound,
  but a reader can skip an event whose transaction commits after a later one;
- ``sequence + xact id``: the same plus ``pg_current_xact_id()`` per row, the
  transaction-id scheme (readers stay below ``pg_snapshot_xmin``), whose cursor is
  the pair (xact id, position) rather than one integer;

and the whole command path (`CommandHandler.execute`, load + decide + append) on
the real store. Prints the median of several runs.

    .venv/bin/python benchmarks/postgres_global_order.py [--threads 1 4 8] [--runs 3]

The server is ``HEDGEBOT_TEST_POSTGRES_URL`` (a maintenance-database URL) or the
local default; a scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.eventstore.example_ledger import LEDGER, Move, Open
from tests.postgres_databases import PostgresServer, unique_name

from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from hedgebot.eventstore import CommandHandler, NewEvent, schema
from hedgebot.eventstore.postgres import PostgresEventStore

PAYLOAD = '{"Moved":{"amount":"1","direction":"Buy","transfer_id":1,"note":null}}'
ALTERNATIVES_DDL = """
CREATE TABLE bench_seq (
    aggregate_id TEXT NOT NULL, sequence BIGINT NOT NULL, payload JSON NOT NULL,
    position BIGSERIAL UNIQUE, PRIMARY KEY (aggregate_id, sequence));
CREATE TABLE bench_xid (
    aggregate_id TEXT NOT NULL, sequence BIGINT NOT NULL, payload JSON NOT NULL,
    position BIGSERIAL UNIQUE, xact_id XID8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (aggregate_id, sequence));
CREATE INDEX ON bench_xid (xact_id, position);
"""


def run_threads(threads: int, per_thread: int, work: Callable[[int, int], None]) -> float:
    """Transactions per second of ``threads`` threads each calling ``work`` n times."""
    start = threading.Barrier(threads + 1)

    def worker(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            work(t, i)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join()
    return threads * per_thread / (time.perf_counter() - began)


def bench_locked_counter(url: str, threads: int, n: int, run: int) -> float:
    store = PostgresEventStore(url, max_size=threads)
    try:

        def work(t: int, i: int) -> None:
            with store.transaction() as tx:
                tx.append([NewEvent("Bench", f"r{run}-t{t}-{i}", 1, "M", "1.0", PAYLOAD)])

        return run_threads(threads, n, work)
    finally:
        store.close()


def bench_raw(url: str, table: str, threads: int, n: int, run: int) -> float:
    conns = [psycopg.connect(url, autocommit=True) for _ in range(threads)]
    statement = f"INSERT INTO {table} (aggregate_id, sequence, payload) VALUES (%s, 1, %s)"
    try:

        def work(t: int, i: int) -> None:
            conn = conns[t]
            with conn.transaction():
                conn.execute(statement, (f"r{run}-t{t}-{i}", PAYLOAD))

        return run_threads(threads, n, work)
    finally:
        for conn in conns:
            conn.close()


def bench_commands(url: str, threads: int, n: int, run: int) -> float:
    store = PostgresEventStore(url, max_size=threads)
    handler = CommandHandler(store, LEDGER, clock=ManualClock(datetime(2025, 1, 1, tzinfo=UTC)))
    try:
        for t in range(threads):
            handler.execute(f"c{run}-{t}", Open(f"c{run}-{t}"))

        def work(t: int, i: int) -> None:
            handler.execute(f"c{run}-{t}", Move(Decimal(1), Direction.BUY))

        return run_threads(threads, n, work)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--transactions", type=int, default=300, help="per thread per run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    server = PostgresServer.from_environment()
    server.check()
    name = unique_name("_bench")
    url = server.create(name)
    try:
        schema.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(ALTERNATIVES_DDL)
        cases: dict[str, Callable[[int, int, int], float]] = {
            "locked counter (hedgebot)": lambda t, n, r: bench_locked_counter(url, t, n, r),
            "sequence (unsafe)": lambda t, n, r: bench_raw(url, "bench_seq", t, n, r),
            "sequence + xact id": lambda t, n, r: bench_raw(url, "bench_xid", t, n, r),
            "commands (handler, locked)": lambda t, n, r: bench_commands(url, t, n, r),
        }
        print(f"PostgreSQL at {server.shown}: appending transactions/s, median of {args.runs}")
        print(f"{'case':<28}" + "".join(f"{f'{t} thr':>11}" for t in args.threads))
        for label, case in cases.items():
            medians = []
            for threads in args.threads:
                rates = [
                    case(threads, args.transactions, threads * 1000 + run)
                    for run in range(args.runs)
                ]
                medians.append(statistics.median(rates))
            print(f"{label:<28}" + "".join(f"{m:>11.0f}" for m in medians))
    finally:
        server.drop(name)


if __name__ == "__main__":
    main()
