"""Benchmark: `migrate-to-events` of a large legacy database against a plain-SQL floor.

Builds a legacy database with the legacy bot's real DDL (tests/migration/legacy_ddl)
holding 100,000 onchain trades, 1,000 positions and 10,000 broker orders (plus the
Schwab token row), then:

* times the import end to end — open, read and validate every row, decide the
  Migrated events, schema upgrade, write events and all views in one transaction,
  verify every row field by field — on a fresh copy each time, median of 3;
* times the floor: plain ``INSERT … SELECT`` statements that write the same number of
  rows into the same (events-shaped and view-shaped) tables, payloads built by SQLite's
  ``json_object``, in one transaction with the import's rollback journal, on a fresh
  upgraded copy, median of 3;

and prints both and their ratio. Targets: import ≤ 10 s, ratio ≤ 10.

    .venv/bin/python benchmarks/migrate.py [--trades N] [--positions N] [--orders N] [--runs N]
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from machine import Noise
from rich.console import Console

from hedgebot.eventstore import schema
from hedgebot.migration.importer import WRITE_PARTS
from hedgebot.migration.progress import PlainProgress
from hedgebot.migration.prompts import Prompter
from hedgebot.migration.runner import Mode, Options, Outcome, run_migration

DDL = sorted((Path(__file__).parents[1] / "tests" / "migration" / "legacy_ddl").glob("*.sql"))
START = 1_759_300_000  # 2025-10-01, Unix seconds


def build_legacy(path: Path, trades: int, positions: int, orders: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    for file in DDL:
        conn.executescript(file.read_text())
    symbols = [f"S{n:04d}" for n in range(positions)]
    trade_rows = []
    for n in range(trades):
        base = symbols[n % positions]
        symbol = f"{base}0x" if n % 2 else f"t{base}"
        at = START + n * 7
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))
        enriched = n % 5 != 0
        trade_rows.append(
            (
                "0x" + f"{n:064x}",
                n % 4,
                symbol,
                rng.uniform(0.001, 10.0),
                "BUY" if rng.random() < 0.5 else "SELL",
                rng.uniform(5.0, 900.0),
                stamp,
                stamp,
                rng.randint(50_000, 400_000) if enriched else None,
                rng.randint(1_000_000, 3_000_000_000) if enriched else None,
                round(rng.uniform(5.0, 900.0), 6) if enriched else None,
                round(rng.uniform(0.0, 0.5), 6) if enriched else None,
                -8 if enriched else None,
                stamp if enriched else None,
            )
        )
    conn.executemany(
        "INSERT INTO onchain_trades (tx_hash, log_index, symbol, amount, direction, price_usdc, "
        "created_at, block_timestamp, gas_used, effective_gas_price, pyth_price, "
        "pyth_confidence, pyth_exponent, pyth_publish_time) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        trade_rows,
    )
    order_rows = []
    open_symbols: list[tuple[int, str]] = []
    for n in range(orders):
        symbol = symbols[n % positions]
        executed = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(START + n * 70 + 30))
        if n >= orders - positions // 2:
            status = "PENDING" if n % 2 else "SUBMITTED"
            open_symbols.append((n + 1, symbol))
        else:
            status = "FAILED" if n % 20 == 0 else "FILLED"
        order_id = None if status == "PENDING" else f"ORD{n:07d}"
        order_rows.append(
            (
                n + 1,
                symbol,
                rng.randint(1, 20),
                "SELL" if n % 2 else "BUY",
                "schwab" if n % 3 else "alpaca",
                order_id,
                rng.randint(500, 90_000) if status == "FILLED" else None,
                status,
                executed if status in ("FILLED", "FAILED") else None,
            )
        )
    conn.executemany(
        "INSERT INTO offchain_trades (id, symbol, shares, direction, broker, order_id, "
        "price_cents, status, executed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        order_rows,
    )
    pending = {symbol: order_id for order_id, symbol in open_symbols}
    conn.executemany(
        "INSERT INTO trade_accumulators (symbol, net_position, accumulated_long, "
        "accumulated_short, pending_execution_id, last_updated) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                symbol,
                0.0,
                rng.uniform(0.0, 0.99),
                rng.uniform(0.0, 0.99),
                pending.get(symbol),
                "2025-11-30 12:00:00",
            )
            for symbol in symbols
        ],
    )
    conn.execute(
        "INSERT INTO schwab_auth (id, access_token, access_token_fetched_at, refresh_token, "
        "refresh_token_fetched_at) VALUES (1, ?, ?, ?, ?)",
        (
            bytes(range(64)).hex(),
            "2025-11-30T12:00:00.123456789+00:00",
            bytes(range(64, 128)).hex(),
            "2025-11-29T12:00:00+00:00",
        ),
    )
    conn.commit()
    conn.close()


PHASES: list[dict[str, float]] = []


def run_import(path: Path) -> float:
    output = io.StringIO()
    console = Console(file=output, width=120)
    progress = PlainProgress(write=lambda _line: None)
    prompter = Prompter(write=lambda _text: None, force=True)
    options = Options(mode=Mode.RUN, database_url=f"sqlite:{path}", force=True)
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    cpu = time.process_time()
    children = _children_cpu()
    code = run_migration(options, console, progress, prompter, on_outcome=outcomes.append)
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"import failed (exit {code}):\n{output.getvalue()}")
    PHASES.append(
        {
            **outcomes[0].timings,
            "cpu": time.process_time() - cpu,
            "child cpu": _children_cpu() - children,
            "wall": elapsed,
        }
    )
    return elapsed


def two_core_bound(run: dict[str, float]) -> tuple[float, float]:
    """(serial seconds, lower bound of the wall time on two cores) for one import run.

    Outside the stretch from the fork to the child's result, one process works alone
    (everything but append, on-chain rows and the wait). However the work were
    rearranged inside that stretch, the CPU seconds spent in it can at best be
    shared evenly by two cores: bound = serial + (cpu - serial) / 2, with cpu the CPU
    seconds of the import and its child.
    """
    overlapped = run["append"] + run["on-chain rows"] + run["child wait"]
    serial = run["wall"] - overlapped
    cpu = run["cpu"] + run["child cpu"]
    return serial, serial + max(cpu - serial, 0.0) / 2


def _children_cpu() -> float:
    """CPU seconds of the ended child processes (the import's forked projection)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


MIGRATED_AT = "'2025-12-05T13:20:01.123456Z'"
FLOOR_STATEMENTS = [
    # events: one Migrated per legacy row, payloads of the same shape and size
    f"""INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
        payload, metadata)
    SELECT 'OnChainTrade', lower(tx_hash) || ':' || log_index, 1, 'OnChainTradeEvent::Migrated',
        '1.0', json_object('Migrated', json_object('symbol', symbol, 'amount', CAST(amount AS TEXT),
        'direction', CASE direction WHEN 'BUY' THEN 'Buy' ELSE 'Sell' END,
        'price_usdc', CAST(price_usdc AS TEXT), 'block_number', 0,
        'block_timestamp', block_timestamp, 'gas_used', gas_used,
        'pyth_price', CASE WHEN pyth_price IS NULL THEN NULL ELSE json_object('value',
            CAST(pyth_price AS TEXT), 'expo', pyth_exponent, 'conf', CAST(pyth_confidence AS TEXT),
            'publish_time', pyth_publish_time) END,
        'migrated_at', {MIGRATED_AT}, 'legacy_id', id, 'created_at', created_at,
        'effective_gas_price', effective_gas_price)), '{{}}'
    FROM onchain_trades""",
    f"""INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
        payload, metadata)
    SELECT 'Position', symbol, 1, 'PositionEvent::Migrated', '1.0',
        json_object('Migrated', json_object('symbol', symbol,
        'net_position', CAST(accumulated_long - accumulated_short AS TEXT),
        'accumulated_long', CAST(accumulated_long AS TEXT),
        'accumulated_short', CAST(accumulated_short AS TEXT),
        'threshold', json_object('Shares', '1'), 'migrated_at', {MIGRATED_AT},
        'pending_execution_id', pending_execution_id, 'last_updated', last_updated)), '{{}}'
    FROM trade_accumulators""",
    f"""INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
        payload, metadata)
    SELECT 'OffchainOrder', CAST(id AS TEXT), 1, 'OffchainOrderEvent::Migrated', '1.0',
        json_object('Migrated', json_object('symbol', symbol, 'shares', CAST(shares AS TEXT),
        'direction', direction, 'broker', broker, 'status', status,
        'broker_order_id', order_id, 'price_cents', price_cents, 'executed_at', executed_at,
        'migrated_at', {MIGRATED_AT})), '{{}}'
    FROM offchain_trades""",
    """INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
        payload, metadata)
    SELECT 'SchwabAuth', 'schwab', 1, 'TokensStored', '1.0',
        json_object('TokensStored', json_object('access_token', '0x' || access_token,
        'access_token_fetched_at', access_token_fetched_at, 'refresh_token', '0x' || refresh_token,
        'refresh_token_fetched_at', refresh_token_fetched_at)), '{}'
    FROM schwab_auth""",
    # views: the same rows the import's projections write
    """INSERT INTO onchain_trade_view (view_id, version, payload)
    SELECT lower(tx_hash) || ':' || log_index, 1, json_object('id', id, 'tx_hash', lower(tx_hash),
        'log_index', log_index, 'symbol', symbol, 'base_symbol', substr(symbol, 2),
        'amount', amount, 'direction', direction, 'price_usdc', price_usdc, 'block_number', 0,
        'block_timestamp', block_timestamp, 'created_at', created_at, 'gas_used', gas_used,
        'effective_gas_price', effective_gas_price, 'pyth_price', pyth_price,
        'pyth_confidence', pyth_confidence, 'pyth_exponent', pyth_exponent,
        'pyth_publish_time', pyth_publish_time, 'exact', json_object('amount',
        CAST(amount AS TEXT), 'price_usdc', CAST(price_usdc AS TEXT)))
    FROM onchain_trades""",
    """INSERT INTO position_view (view_id, version, payload)
    SELECT symbol, 1, json_object('symbol', symbol,
        'net', CAST(accumulated_long - accumulated_short AS TEXT),
        'accumulated_long', CAST(accumulated_long AS TEXT),
        'accumulated_short', CAST(accumulated_short AS TEXT),
        'pending_execution_id', pending_execution_id, 'threshold', json_object('Shares', '1'),
        'last_updated', last_updated)
    FROM trade_accumulators""",
    """INSERT INTO offchain_trade_view (view_id, version, payload)
    SELECT CAST(id AS TEXT), 1, json_object('id', id, 'symbol', symbol, 'shares', shares,
        'direction', direction, 'broker', broker, 'broker_order_id', order_id,
        'price_cents', price_cents, 'status', status, 'executed_at', executed_at)
    FROM offchain_trades""",
    """INSERT INTO metrics_pnl_view (view_id, version, payload)
    SELECT 'ONCHAIN:' || lower(tx_hash) || ':' || log_index, 1, json_object('symbol',
        substr(symbol, 2), 'timestamp', block_timestamp, 'trade_type', 'ONCHAIN',
        'trade_id', lower(tx_hash) || ':' || log_index, 'trade_direction', direction,
        'quantity', CAST(amount AS TEXT), 'price_per_share', CAST(price_usdc AS TEXT),
        'realized_pnl', NULL, 'cumulative_pnl', '0', 'net_position_after', '0',
        'sort_key', block_timestamp || '|0|' || id)
    FROM onchain_trades""",
    """INSERT INTO metrics_pnl_view (view_id, version, payload)
    SELECT 'OFFCHAIN:' || id, 1, json_object('symbol', symbol, 'timestamp', executed_at,
        'trade_type', 'OFFCHAIN', 'trade_id', CAST(id AS TEXT), 'trade_direction', direction,
        'quantity', CAST(shares AS TEXT), 'price_per_share', CAST(price_cents / 100.0 AS TEXT),
        'realized_pnl', NULL, 'cumulative_pnl', '0', 'net_position_after', '0',
        'sort_key', executed_at || '|1|' || id)
    FROM offchain_trades WHERE status = 'FILLED'""",
    """INSERT INTO metrics_pnl_state (view_id, version, payload)
    SELECT symbol, 1, json_object('symbol', symbol, 'lots', json_array())
    FROM trade_accumulators""",
    """INSERT INTO schwab_auth_view (view_id, version, payload)
    SELECT 'schwab', 1, json_object('Authenticated', json_object('access_token',
        '0x' || access_token, 'refresh_token', '0x' || refresh_token))
    FROM schwab_auth""",
]


def run_floor(path: Path) -> tuple[float, int]:
    schema.upgrade(f"sqlite:{path}")  # not timed: the tables exist before the floor runs
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = FULL")
    # the journal the import's transaction uses (SqliteEventStore.rollback_journal)
    conn.execute("PRAGMA journal_mode = DELETE")
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    rows = 0
    for statement in FLOOR_STATEMENTS:
        rows += conn.execute(statement).rowcount
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, rows


def median_of(runs: int, once: Callable[[Path], float], template: Path, scratch: Path) -> float:
    times = []
    for run in range(runs):
        copy = scratch / f"run{run}.db"
        shutil.copyfile(template, copy)
        times.append(once(copy))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--positions", type=int, default=1_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        template = scratch / "legacy.db"
        build_legacy(template, args.trades, args.positions, args.orders)
        floor_rows: list[int] = []

        def floor_once(path: Path) -> float:
            elapsed, rows = run_floor(path)
            floor_rows.append(rows)
            return elapsed

        with Noise() as noise:
            floor = median_of(args.runs, floor_once, template, scratch)
            imported = median_of(args.runs, run_import, template, scratch)
    print(
        f"legacy rows: {args.trades:,} trades, {args.positions:,} positions, "
        f"{args.orders:,} orders, 1 token row"
    )
    print(f"import end to end (median of {args.runs}): {imported:.2f} s")
    median_run = sorted(PHASES, key=lambda p: p["wall"])[len(PHASES) // 2]
    phases = ", ".join(
        f"{name} {median_run[name]:.2f} s"
        for name in ("read", "plan", "schema", "write", "verify", "cpu", "child cpu")
        if name in median_run
    )
    print(f"  phases of the median run: {phases}")
    parts = ", ".join(f"{name} {median_run[name]:.2f} s" for name in WRITE_PARTS)
    print(f"  write phase of the median run: {parts}")
    serial, bound = two_core_bound(median_run)
    print(
        f"  two-core bound of this design for the median run: {bound:.2f} s ({serial:.2f} s "
        f"when one process works alone — open, read, plan, schema, other views, commit, "
        f"verify — plus half of the remaining CPU time)"
    )
    print(
        f"floor: INSERT … SELECT of {floor_rows[0]:,} event and view rows "
        f"(median of {args.runs}): {floor:.2f} s"
    )
    print(f"ratio import / floor: {imported / floor:.1f}x (targets: ≤ 10 s, ≤ 10x)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"peak memory of the benchmark process: {peak:,.0f} MiB; of its largest forked child: "
        f"{child_peak:,.0f} MiB (pages shared with the parent count in both)"
    )
    print(noise.summary())


if __name__ == "__main__":
    main()
