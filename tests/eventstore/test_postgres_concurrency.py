"""Several OS processes (and threads) writing to one PostgreSQL event store at once.

Each writer process runs real `CommandHandler`s on the example ledger: its own
aggregates, plus one aggregate shared by every process (so appends collide and are
retried). Meanwhile a reader polls the global order from position 0. Afterwards
nothing may be lost or duplicated, and the reader must have seen every event exactly
once, in the store's order, each aggregate's events in sequence order.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from hedgebot.clock import ManualClock
from hedgebot.domain import Direction
from hedgebot.eventstore import CommandHandler, StoredEvent
from hedgebot.eventstore.factory import open_store
from hedgebot.eventstore.postgres import PostgresEventStore
from tests.eventstore.example_ledger import LEDGER, LEDGER_EVENTS, Move, Moved, Open

pytestmark = pytest.mark.postgres

NOW = datetime(2025, 3, 4, tzinfo=UTC)
WRITERS = 3
OWN_AGGREGATES = 2
MOVES_PER_OWN = 6
SHARED_MOVES = 12
SHARED = "shared"
TIMEOUT = 60.0


def _plan(worker: int) -> list[tuple[str, Any]]:
    """Own aggregates' commands interleaved with moves on the shared aggregate."""
    own = [f"w{worker}-{j}" for j in range(OWN_AGGREGATES)]
    plan: list[tuple[str, Any]] = [(agg, Open(agg)) for agg in own]
    for k in range(max(MOVES_PER_OWN, SHARED_MOVES)):
        if k < MOVES_PER_OWN:
            for agg in own:
                plan.append((agg, Move(Decimal(k + 1), Direction.BUY)))
        if k < SHARED_MOVES:
            plan.append((SHARED, Move(Decimal("0.5"), Direction.BUY, note=f"w{worker}")))
    return plan


def _writer(url: str, worker: int, ready: Any, go: Any, results: Any) -> None:
    """One writer process: its own store (pool), its own handler, the same database."""
    try:
        store = open_store(url, upgrade=False)
    except BaseException as exc:
        results.put((worker, 0, f"open failed: {exc!r}"))
        return
    executed = 0
    try:
        handler = CommandHandler(
            store, LEDGER, clock=ManualClock(NOW), snapshot_every=4, max_retries=500
        )
        ready.put(worker)
        if not go.wait(TIMEOUT):
            results.put((worker, 0, "never told to start"))
            return
        for aggregate_id, command in _plan(worker):
            handler.execute(aggregate_id, command)
            executed += 1
        results.put((worker, executed, None))
    except BaseException as exc:
        results.put((worker, executed, repr(exc)))
    finally:
        store.close()


class _Reader(threading.Thread):
    """Polls the global order from position 0, as a manager would."""

    def __init__(self, store: PostgresEventStore, expected: int) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.expected = expected
        self.seen: list[StoredEvent] = []
        self.polls_with_news = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        after = 0
        try:
            while len(self.seen) < self.expected and not self.stop.is_set():
                batch = self.store.read_all(after, 7)
                if not batch:
                    self.stop.wait(0.002)
                    continue
                self.polls_with_news += 1
                self.seen.extend(batch)
                after = batch[-1].position
        except BaseException as exc:
            self.error = exc


def _check_store(store: PostgresEventStore, expected_streams: dict[str, int]) -> list[StoredEvent]:
    everything = list(store.iter_all())
    assert [e.position for e in everything] == list(range(1, len(everything) + 1))
    per_aggregate: dict[str, list[int]] = defaultdict(list)
    for event in everything:
        per_aggregate[event.aggregate_id].append(event.sequence)
    assert {agg: len(seqs) for agg, seqs in per_aggregate.items()} == expected_streams
    for aggregate_id, sequences in per_aggregate.items():
        assert sequences == list(range(1, len(sequences) + 1)), aggregate_id
        assert [e.sequence for e in store.load_stream("Ledger", aggregate_id)] == sequences
    # ids from next_id inside the racing transactions: each handed out exactly once
    transfer_ids = [
        decoded.transfer_id
        for decoded in (LEDGER_EVENTS.decode(e) for e in everything)
        if isinstance(decoded, Moved)
    ]
    assert sorted(transfer_ids) == list(range(1, len(transfer_ids) + 1))
    return everything


def _check_reader(reader: _Reader, everything: list[StoredEvent]) -> None:
    assert reader.error is None, reader.error
    keys = [(e.aggregate_id, e.sequence) for e in reader.seen]
    assert not [k for k, n in Counter(keys).items() if n > 1], "an event was read twice"
    assert reader.seen == everything  # every event, once, in global order
    last_sequence: dict[str, int] = {}
    for event in reader.seen:
        assert event.sequence == last_sequence.get(event.aggregate_id, 0) + 1
        last_sequence[event.aggregate_id] = event.sequence


def test_processes_appending_at_once_lose_and_duplicate_nothing_and_a_reader_sees_all_in_order(
    postgres_url: str, postgres_store: PostgresEventStore
) -> None:
    handler = CommandHandler(postgres_store, LEDGER, clock=ManualClock(NOW))
    handler.execute(SHARED, Open(SHARED))
    expected_streams = {SHARED: 1 + WRITERS * SHARED_MOVES}
    for worker in range(WRITERS):
        for j in range(OWN_AGGREGATES):
            expected_streams[f"w{worker}-{j}"] = 1 + MOVES_PER_OWN
    total = sum(expected_streams.values())

    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    processes = [
        context.Process(target=_writer, args=(postgres_url, w, ready, go, results), daemon=True)
        for w in range(WRITERS)
    ]
    reader = _Reader(postgres_store, total)
    try:
        for process in processes:
            process.start()
        for _ in processes:
            ready.get(timeout=TIMEOUT)
        reader.start()
        go.set()
        outcomes = sorted(results.get(timeout=TIMEOUT) for _ in processes)
        for process in processes:
            process.join(TIMEOUT)
        reader.join(TIMEOUT)
    except queue.Empty:
        pytest.fail("a writer process did not report in time")
    finally:
        reader.stop.set()
        for process in processes:
            if process.is_alive():
                process.kill()

    assert outcomes == [(w, len(_plan(w)), None) for w in range(WRITERS)]
    everything = _check_store(postgres_store, expected_streams)
    assert len(everything) == total
    _check_reader(reader, everything)
    shared_state = handler.load(SHARED).state
    assert shared_state.balance == Decimal("0.5") * WRITERS * SHARED_MOVES
    assert shared_state == handler.replay(SHARED).state  # snapshots written under contention


def test_threads_sharing_one_store_append_concurrently_without_loss(
    postgres_store: PostgresEventStore,
) -> None:
    handler = CommandHandler(
        postgres_store, LEDGER, clock=ManualClock(NOW), snapshot_every=3, max_retries=500
    )
    handler.execute(SHARED, Open(SHARED))
    threads, moves = 4, 10
    reader = _Reader(postgres_store, 1 + threads * (1 + 2 * moves))

    def work(worker: int) -> int:
        own = f"t{worker}"
        handler.execute(own, Open(own))
        for _ in range(moves):
            handler.execute(own, Move(Decimal(1), Direction.SELL))
            handler.execute(SHARED, Move(Decimal(1), Direction.BUY))
        return worker

    reader.start()
    with ThreadPoolExecutor(threads) as pool:
        assert sorted(pool.map(work, range(threads))) == list(range(threads))
    reader.join(TIMEOUT)
    reader.stop.set()
    expected = {SHARED: 1 + threads * moves, **{f"t{w}": 1 + moves for w in range(threads)}}
    everything = _check_store(postgres_store, expected)
    _check_reader(reader, everything)
    assert handler.load(SHARED).state.balance == threads * moves
