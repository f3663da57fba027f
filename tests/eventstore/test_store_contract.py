"""The event-store contract (SPEC §3.2), run against every backend.

Every test goes through the parametrised ``store`` fixture of tests/conftest.py (via
``ledger_store``, which also creates the example view table), so a new backend is
covered by adding a param there and its set-up to tests/eventstore/backends.py.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgebot.clock import ManualClock
from hedgebot.domain import Direction, DomainError
from hedgebot.eventstore import (
    Aggregate,
    CommandHandler,
    ConcurrencyError,
    EventRegistry,
    EventStoreError,
    NewEvent,
    ProjectionError,
    Projector,
    Snapshot,
    StoreTransaction,
    TransientStoreError,
    UnknownEventError,
    ViewRow,
)
from hedgebot.eventstore.handler import decode_snapshot_state, encode_snapshot_state
from hedgebot.eventstore.store import EventStore
from tests.eventstore.example_ledger import (
    LEDGER,
    LEDGER_EVENTS,
    Freeze,
    LedgerCommand,
    LedgerEvent,
    LedgerState,
    LedgerView,
    MaxBalance,
    Move,
    Moved,
    Open,
    Opened,
    decide,
    evolve,
)

NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def handler_for(
    store: EventStore,
    *,
    view: LedgerView | None = None,
    snapshot_every: int = 100,
    max_retries: int = 5,
    clock: ManualClock | None = None,
) -> CommandHandler[LedgerState, LedgerCommand]:
    projector = Projector([view], [LEDGER_EVENTS]) if view is not None else None
    return CommandHandler(
        store,
        LEDGER,
        clock=clock or ManualClock(NOW),
        projector=projector,
        snapshot_every=snapshot_every,
        max_retries=max_retries,
    )


def row(aggregate_id: str, sequence: int, aggregate_type: str = "Ledger", n: int = 0) -> NewEvent:
    return NewEvent(
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        sequence=sequence,
        event_type="LedgerEvent::Frozen",
        event_version="1.0",
        payload=f'{{"note":"ünïcode ✓","n":{n}}}',
        metadata=f'{{"correlation_id":"c-{n}"}}',
    )


class Abort(Exception):
    """Raised inside a transaction to make it roll back."""


def in_transaction(store: EventStore, work: Callable[[StoreTransaction], None]) -> None:
    with store.transaction() as tx:
        work(tx)


def aborted(store: EventStore, work: Callable[[StoreTransaction], None]) -> None:
    """Run ``work`` in a transaction that then fails: all of it must roll back."""

    def work_then_fail(tx: StoreTransaction) -> None:
        work(tx)
        raise Abort

    with pytest.raises(Abort):
        in_transaction(store, work_then_fail)


_ids = iter(range(10**9))


def fresh_id(prefix: str = "agg") -> str:
    """A new aggregate id: property examples share one store but never a stream."""
    return f"{prefix}-{next(_ids)}"


# ---------------------------------------------------------------------------
# append / load


def test_appended_rows_load_back_exactly_in_sequence_order(ledger_store: EventStore) -> None:
    with ledger_store.transaction() as tx:
        stored = tx.append([row("a", 1, n=1), row("b", 1, n=2), row("a", 2, n=3)])
    loaded = ledger_store.load_stream("Ledger", "a")
    assert loaded == [stored[0], stored[2]]
    first = loaded[0]
    assert (first.aggregate_type, first.aggregate_id, first.sequence) == ("Ledger", "a", 1)
    assert first.event_type == "LedgerEvent::Frozen"
    assert first.event_version == "1.0"
    assert first.payload == '{"note":"ünïcode ✓","n":1}'
    assert first.metadata == '{"correlation_id":"c-1"}'
    assert ledger_store.load_stream("Ledger", "a", after_sequence=1) == [stored[2]]
    assert ledger_store.load_stream("Ledger", "missing") == []
    assert ledger_store.load_stream("Other", "a") == []


def test_positions_from_append_are_the_positions_read_back(ledger_store: EventStore) -> None:
    with ledger_store.transaction() as tx:
        first = tx.append([row("a", 1), row("b", 1)])
    with ledger_store.transaction() as tx:
        second = tx.append([row("a", 2)])
    assert ledger_store.read_all() == first + second
    positions = [e.position for e in first + second]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert ledger_store.last_position() == positions[-1]


def test_an_empty_store_has_position_zero_and_no_events(ledger_store: EventStore) -> None:
    assert ledger_store.last_position() == 0
    assert ledger_store.read_all() == []
    assert list(ledger_store.iter_all()) == []


def test_commands_number_events_from_1_per_aggregate(ledger_store: EventStore) -> None:
    handler = handler_for(ledger_store)
    assert handler.execute("a", Open("alice")).version == 1
    assert handler.execute("b", Open("bob")).version == 1
    result = handler.execute("a", Move(Decimal("2.5"), Direction.BUY))
    assert result.version == 2
    assert [e.sequence for e in result.stored] == [2]
    assert [e.sequence for e in ledger_store.load_stream("Ledger", "a")] == [1, 2]
    assert handler.load("a").state.balance == Decimal("2.5")
    assert handler.load("a").version == 2
    assert handler.load("nobody").version == 0


def test_a_rejected_command_writes_nothing(ledger_store: EventStore) -> None:
    handler = handler_for(ledger_store, view=LedgerView())
    with pytest.raises(DomainError):
        handler.execute("a", Move(Decimal(1), Direction.BUY))
    assert ledger_store.last_position() == 0
    assert ledger_store.view_all("ledger_view") == []


def test_a_command_that_decides_nothing_commits_nothing(ledger_store: EventStore) -> None:
    noop = Aggregate[LedgerState, LedgerCommand](
        "Ledger", LEDGER_EVENTS, LedgerState, LedgerState, lambda s, c, ctx: [], evolve
    )
    result = CommandHandler(ledger_store, noop, clock=ManualClock(NOW)).execute("a", Freeze())
    assert (result.events, result.stored, result.version) == ([], [], 0)
    assert ledger_store.last_position() == 0


def test_metadata_given_to_a_command_is_stored_with_its_events(ledger_store: EventStore) -> None:
    handler = handler_for(ledger_store)
    handler.execute("a", Open("alice"), metadata={"correlation_id": "fill-7"})
    assert ledger_store.load_stream("Ledger", "a")[0].metadata == '{"correlation_id":"fill-7"}'


# ---------------------------------------------------------------------------
# optimistic concurrency


def test_a_duplicate_sequence_is_a_concurrency_error_and_the_batch_rolls_back(
    ledger_store: EventStore,
) -> None:
    with ledger_store.transaction() as tx:
        tx.append([row("a", 1)])
    with pytest.raises(ConcurrencyError) as info, ledger_store.transaction() as tx:
        tx.append([row("b", 1), row("a", 2), row("a", 1)])
    error = info.value
    assert (error.aggregate_type, error.aggregate_id, error.sequence) == ("Ledger", "a", 1)
    assert "Ledger 'a'" in str(error) and "sequence 1" in str(error)
    assert ledger_store.last_position() == 1
    assert ledger_store.load_stream("Ledger", "b") == []
    assert [e.sequence for e in ledger_store.load_stream("Ledger", "a")] == [1]


def test_a_failed_append_adds_none_of_its_rows_even_if_the_error_is_caught(
    ledger_store: EventStore,
) -> None:
    with ledger_store.transaction() as tx:
        tx.append([row("a", 1)])

    def swallow_conflict(tx: StoreTransaction) -> None:
        with pytest.raises(ConcurrencyError):
            tx.append([row("b", 1), row("c", 1), row("a", 1)])

    # a backend may also refuse to commit after a failed statement: fine too
    with contextlib.suppress(EventStoreError):
        in_transaction(ledger_store, swallow_conflict)
    assert ledger_store.load_stream("Ledger", "b") == []
    assert ledger_store.load_stream("Ledger", "c") == []
    assert ledger_store.last_position() == 1


def test_a_sequence_repeated_within_one_batch_is_a_concurrency_error(
    ledger_store: EventStore,
) -> None:
    with pytest.raises(ConcurrencyError) as info, ledger_store.transaction() as tx:
        tx.append([row("a", 1), row("a", 1)])
    assert info.value.sequence == 1
    assert ledger_store.last_position() == 0


def test_the_same_sequence_in_another_aggregate_or_type_is_no_conflict(
    ledger_store: EventStore,
) -> None:
    with ledger_store.transaction() as tx:
        tx.append([row("a", 1), row("b", 1), row("a", 1, aggregate_type="Other")])
    assert ledger_store.last_position() == 3


class CompetingStore:
    """An `EventStore` whose first ``times`` transactions let ``competitor`` commit first.

    The competitor runs after the handler loaded the aggregate and before its write
    transaction opens: exactly the window of optimistic concurrency.
    """

    def __init__(self, inner: EventStore, competitor: Callable[[], None], times: int) -> None:
        self.inner = inner
        self.competitor = competitor
        self.remaining = times
        self.backend = inner.backend

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        if self.remaining > 0:
            self.remaining -= 1
            self.competitor()
        return self.inner.transaction()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_competing_commit_makes_the_handler_reload_and_retry(
    ledger_store: EventStore, second_store: EventStore
) -> None:
    view = LedgerView()
    handler_for(ledger_store, view=view).execute("a", Open("alice"))
    rival = handler_for(second_store, view=view)
    competing = CompetingStore(
        ledger_store, lambda: rival.execute("a", Move(Decimal(5), Direction.BUY)), times=1
    )
    handler = handler_for(competing, view=view)  # type: ignore[arg-type]

    result = handler.execute("a", Move(Decimal(2), Direction.SELL))

    assert result.version == 3
    assert result.state.balance == Decimal(3)
    moves = [LEDGER_EVENTS.decode(e) for e in ledger_store.load_stream("Ledger", "a")[1:]]
    assert [(m.amount, m.direction) for m in moves] == [
        (Decimal(5), Direction.BUY),
        (Decimal(2), Direction.SELL),
    ]
    assert [m.transfer_id for m in moves] == [1, 2]
    view_row = ledger_store.view_get("ledger_view", "a")
    assert view_row is not None and view_row.version == 3
    assert ledger_store.view_get("ledger_view", "a") is not None


def test_a_conflict_that_outlasts_max_retries_surfaces_and_writes_nothing_of_ours(
    ledger_store: EventStore, second_store: EventStore
) -> None:
    handler_for(ledger_store).execute("a", Open("alice"))
    rival = handler_for(second_store)
    competing = CompetingStore(
        ledger_store, lambda: rival.execute("a", Move(Decimal(1), Direction.BUY)), times=3
    )
    handler = handler_for(competing, max_retries=2)  # type: ignore[arg-type]

    with pytest.raises(ConcurrencyError) as info:
        handler.execute("a", Move(Decimal(100), Direction.SELL))

    assert (info.value.aggregate_id, info.value.sequence) == ("a", 4)
    moves = [LEDGER_EVENTS.decode(e) for e in ledger_store.load_stream("Ledger", "a")[1:]]
    assert [m.amount for m in moves] == [Decimal(1)] * 3


class FlakyStore:
    """An `EventStore` whose first ``times`` transactions fail as a busy database would."""

    def __init__(self, inner: EventStore, times: int) -> None:
        self.inner = inner
        self.remaining = times
        self.backend = inner.backend

    @contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        with self.inner.transaction() as tx:
            yield tx
            if self.remaining > 0:
                self.remaining -= 1
                raise TransientStoreError("database is locked")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_transient_store_error_is_retried_and_nothing_is_written_twice(
    ledger_store: EventStore,
) -> None:
    handler_for(ledger_store).execute("a", Open("alice"))
    flaky = FlakyStore(ledger_store, times=2)
    result = handler_for(flaky).execute("a", Move(Decimal(1), Direction.BUY))  # type: ignore[arg-type]
    assert result.version == 2
    assert [e.sequence for e in ledger_store.load_stream("Ledger", "a")] == [1, 2]
    # the two failed attempts allocated and gave back transfer id 1
    assert result.events == [Moved(Decimal(1), Direction.BUY, 1, None, NOW)]


def test_a_transient_store_error_surfaces_after_max_retries(ledger_store: EventStore) -> None:
    flaky = FlakyStore(ledger_store, times=10)
    with pytest.raises(TransientStoreError):
        handler_for(flaky, max_retries=3).execute("a", Open("alice"))  # type: ignore[arg-type]
    assert flaky.remaining == 10 - 4
    assert ledger_store.last_position() == 0


def test_threads_sharing_stores_lose_no_command(
    ledger_store: EventStore, second_store: EventStore
) -> None:
    view = LedgerView()
    handler_for(ledger_store, view=view).execute("shared", Open("shared"))
    errors: list[BaseException] = []
    per_thread = 15

    def work(store: EventStore, index: int) -> None:
        handler = handler_for(store, view=view, max_retries=1000, snapshot_every=4)
        own = f"own-{index}"
        try:
            handler.execute(own, Open(own))
            for _ in range(per_thread):
                handler.execute("shared", Move(Decimal(1), Direction.BUY))
                handler.execute(own, Move(Decimal(2), Direction.SELL))
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(store, i))
        for i, store in enumerate([ledger_store, ledger_store, second_store, second_store])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    shared = handler_for(ledger_store)
    assert shared.load("shared").state.balance == Decimal(4 * per_thread)
    assert shared.load("shared") == shared.replay("shared")
    sequences = [e.sequence for e in ledger_store.load_stream("Ledger", "shared")]
    assert sequences == list(range(1, 4 * per_thread + 2))
    transfer_ids = [
        LEDGER_EVENTS.decode(e).transfer_id
        for e in ledger_store.read_all(limit=10_000)
        if e.event_type == "LedgerEvent::Moved"
    ]
    assert sorted(transfer_ids) == list(range(1, 8 * per_thread + 1))
    view_row = ledger_store.view_get("ledger_view", "shared")
    assert view_row is not None and view_row.version == 4 * per_thread + 1


# ---------------------------------------------------------------------------
# snapshots


def test_a_snapshot_is_written_each_time_the_version_crosses_a_multiple_of_n(
    ledger_store: EventStore,
) -> None:
    handler = handler_for(ledger_store, snapshot_every=3)
    handler.execute("a", Open("alice"))
    taken: list[int | None] = []
    for _ in range(7):
        handler.execute("a", Move(Decimal(1), Direction.BUY))
        snapshot = ledger_store.load_snapshot("Ledger", "a")
        taken.append(None if snapshot is None else snapshot.last_sequence)
    # versions 2..8 after each command
    assert taken == [None, 3, 3, 3, 6, 6, 6]
    snapshot = ledger_store.load_snapshot("Ledger", "a")
    assert snapshot is not None
    state = decode_snapshot_state(LEDGER, snapshot.payload)
    assert state.moves == 5 and state.balance == Decimal(5)


def test_without_snapshots_configured_none_is_written_or_read(ledger_store: EventStore) -> None:
    handler = handler_for(ledger_store, snapshot_every=0)
    handler.execute("a", Open("alice"))
    for _ in range(3):
        handler.execute("a", Move(Decimal(1), Direction.BUY))
    assert ledger_store.load_snapshot("Ledger", "a") is None
    with ledger_store.transaction() as tx:
        tx.save_snapshot(
            Snapshot("Ledger", "a", 4, encode_snapshot_state(LEDGER, LedgerState()), "t")
        )
    assert handler.load("a").state.balance == Decimal(3)
    assert handler_for(ledger_store).load("a").state.balance == Decimal(0)


def test_loading_uses_the_snapshot_and_only_the_events_after_it(ledger_store: EventStore) -> None:
    handler = handler_for(ledger_store, snapshot_every=2)
    handler.execute("a", Open("alice"))
    handler.execute("a", Move(Decimal(1), Direction.BUY))
    # Doctor the snapshot: if loading still folded events 1-2 the balance would differ.
    snapshot = ledger_store.load_snapshot("Ledger", "a")
    assert snapshot is not None and snapshot.last_sequence == 2
    doctored = replace(
        decode_snapshot_state(LEDGER, snapshot.payload), balance=Decimal(1000), moves=1
    )
    with ledger_store.transaction() as tx:
        tx.save_snapshot(replace(snapshot, payload=encode_snapshot_state(LEDGER, doctored)))
    handler.execute("a", Move(Decimal(1), Direction.BUY), metadata=None)
    # a fresh handler: nothing cached, so the state comes from the snapshot
    assert handler_for(ledger_store, snapshot_every=2).load("a").state.balance == Decimal(1001)
    assert handler.replay("a").state.balance == Decimal(2)


def test_loading_a_cached_state_still_sees_events_another_handler_appended(
    ledger_store: EventStore,
) -> None:
    mine = handler_for(ledger_store, snapshot_every=0)
    other = handler_for(ledger_store, snapshot_every=0)
    mine.execute("a", Open("alice"))
    assert mine.load("a").version == 1
    other.execute("a", Move(Decimal(3), Direction.BUY))
    loaded = mine.load("a")
    assert (loaded.state.balance, loaded.version) == (Decimal(3), 2)


@pytest.mark.parametrize(
    "payload",
    [
        '"not an object"',
        '{"name":"alice","balance":"1000"}',  # a bare state, as an older hedgebot wrote
        '{"layout":"1:0000000000000000","state":{"balance":"1000"}}',  # another layout
    ],
)
def test_an_unreadable_or_stale_snapshot_falls_back_to_a_full_replay(
    ledger_store: EventStore, payload: str
) -> None:
    handler = handler_for(ledger_store, snapshot_every=100)
    handler.execute("a", Open("alice"))
    handler.execute("a", Move(Decimal(4), Direction.BUY))
    with ledger_store.transaction() as tx:
        tx.save_snapshot(Snapshot("Ledger", "a", 2, payload, "t"))
    assert handler.load("a") == handler.replay("a")
    assert handler.load("a").state.balance == Decimal(4)
    # and the next command decides on the right state
    result = handler_for(ledger_store).execute("a", Move(Decimal(1), Direction.BUY))
    assert (result.version, result.state.balance) == (3, Decimal(5))


def test_a_bumped_snapshot_version_ignores_older_snapshots(ledger_store: EventStore) -> None:
    handler_for(ledger_store, snapshot_every=1).execute("a", Open("alice"))
    snapshot = ledger_store.load_snapshot("Ledger", "a")
    assert snapshot is not None
    doctored = replace(decode_snapshot_state(LEDGER, snapshot.payload), balance=Decimal(7))
    with ledger_store.transaction() as tx:
        tx.save_snapshot(replace(snapshot, payload=encode_snapshot_state(LEDGER, doctored)))
    assert handler_for(ledger_store).load("a").state.balance == Decimal(7)
    bumped = replace(LEDGER, snapshot_version="2")
    handler = CommandHandler(ledger_store, bumped, clock=ManualClock(NOW))
    assert handler.load("a").state.balance == Decimal(0)


def test_saving_a_snapshot_again_replaces_it(ledger_store: EventStore) -> None:
    with ledger_store.transaction() as tx:
        tx.save_snapshot(Snapshot("Ledger", "a", 1, '{"v":1}', "t1"))
        tx.save_snapshot(Snapshot("Ledger", "a", 2, '{"v":2}', "t2"))
    assert ledger_store.load_snapshot("Ledger", "a") == Snapshot("Ledger", "a", 2, '{"v":2}', "t2")
    assert ledger_store.load_snapshot("Ledger", "b") is None


commands = st.lists(
    st.one_of(
        st.builds(
            Move,
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2),
            st.sampled_from(Direction),
            st.none() | st.text(max_size=5),
        ),
        st.just(Freeze()),
        st.builds(Open, st.text(min_size=1, max_size=5)),
    ),
    max_size=30,
)


@PROPERTY_SETTINGS
@given(
    limit=st.none() | st.decimals(min_value=Decimal(0), max_value=Decimal(3000), places=2),
    script=commands,
    snapshot_every=st.integers(1, 5),
)
def test_snapshot_plus_tail_equals_full_replay(
    ledger_store: EventStore,
    limit: Decimal | None,
    script: list[LedgerCommand],
    snapshot_every: int,
) -> None:
    aggregate_id = fresh_id()
    clock = ManualClock(NOW)
    handler = handler_for(ledger_store, snapshot_every=snapshot_every, clock=clock)
    first = Open("x", MaxBalance(limit)) if limit is not None else Open("x")
    expected = LedgerState()
    for command in [first, *script]:
        clock.advance(timedelta(milliseconds=1))
        try:
            result = handler.execute(aggregate_id, command)
        except DomainError:
            continue
        expected = LEDGER.fold(expected, result.events)
        assert result.state == expected
    loaded = handler.load(aggregate_id)
    assert loaded == handler.replay(aggregate_id)
    assert loaded.state == expected
    assert handler_for(ledger_store, snapshot_every=0).load(aggregate_id) == loaded
    snapshot = ledger_store.load_snapshot("Ledger", aggregate_id)
    if loaded.version >= snapshot_every:
        assert snapshot is not None
        assert snapshot.last_sequence == loaded.version - loaded.version % snapshot_every
    else:
        assert snapshot is None


# ---------------------------------------------------------------------------
# views in the same transaction


def test_views_follow_each_command_in_its_transaction(ledger_store: EventStore) -> None:
    handler = handler_for(ledger_store, view=LedgerView())
    handler.execute("a", Open("alice"))
    handler.execute("b", Open("bob"))
    handler.execute("a", Move(Decimal("2.5"), Direction.BUY))
    a = ledger_store.view_get("ledger_view", "a")
    assert a is not None and a.version == 2
    from hedgebot.eventstore import codec

    assert codec.loads(a.payload) == {"name": "alice", "balance": "2.5", "moves": 1}
    assert [r.view_id for r in ledger_store.view_find("ledger_view", "name", "bob")] == ["b"]
    assert ledger_store.view_find("ledger_view", "name", "carol") == []
    handler.execute("b", Freeze())
    assert ledger_store.view_get("ledger_view", "b") is None
    assert [r.view_id for r in ledger_store.view_all("ledger_view")] == ["a"]


def test_a_failing_view_rolls_back_events_snapshot_view_rows_and_ids(
    ledger_store: EventStore,
) -> None:
    # snapshot_every=1 writes a snapshot in every command, before the views run
    handler = handler_for(ledger_store, view=LedgerView(fail_on=Decimal(13)), snapshot_every=1)
    handler.execute("a", Open("alice"))
    handler.execute("a", Move(Decimal(1), Direction.BUY))
    before_view = ledger_store.view_get("ledger_view", "a")
    before_snapshot = ledger_store.load_snapshot("Ledger", "a")
    before_position = ledger_store.last_position()

    with pytest.raises(ProjectionError) as info:
        handler.execute("a", Move(Decimal(13), Direction.BUY))

    assert "ledger_view" in str(info.value) and "sequence 3" in str(info.value)
    assert ledger_store.last_position() == before_position
    assert [e.sequence for e in ledger_store.load_stream("Ledger", "a")] == [1, 2]
    assert ledger_store.load_snapshot("Ledger", "a") == before_snapshot
    assert ledger_store.view_get("ledger_view", "a") == before_view
    # the transfer id the failed command allocated was given back
    assert handler.execute("a", Move(Decimal(2), Direction.BUY)).events[0].transfer_id == 2


def test_a_command_in_a_callers_transaction_rolls_back_with_the_callers_checkpoint(
    ledger_store: EventStore,
) -> None:
    handler = handler_for(ledger_store, view=LedgerView(fail_on=Decimal(13)))
    with ledger_store.transaction() as tx:
        handler.execute_in(tx, "a", Open("alice"))
        tx.set_checkpoint("manager", 1)

    def unit_of_work(tx: StoreTransaction) -> None:
        handler.execute_in(tx, "a", Move(Decimal(1), Direction.BUY))
        tx.set_checkpoint("manager", 2)
        handler.execute_in(tx, "a", Move(Decimal(13), Direction.BUY))

    with pytest.raises(ProjectionError):
        in_transaction(ledger_store, unit_of_work)
    assert ledger_store.get_checkpoint("manager") == 1
    assert [e.sequence for e in ledger_store.load_stream("Ledger", "a")] == [1]
    view_row = ledger_store.view_get("ledger_view", "a")
    assert view_row is not None and view_row.version == 1


def test_execute_in_sees_the_callers_own_uncommitted_events(ledger_store: EventStore) -> None:
    handler = handler_for(ledger_store)
    with ledger_store.transaction() as tx:
        handler.execute_in(tx, "a", Open("alice"))
        result = handler.execute_in(tx, "a", Move(Decimal(3), Direction.BUY))
    assert result.version == 2 and result.state.balance == Decimal(3)


def test_a_rolled_back_execute_in_leaves_no_trace_in_later_commands(
    ledger_store: EventStore,
) -> None:
    handler = handler_for(ledger_store)
    handler.execute("a", Open("alice"))
    aborted(
        ledger_store,
        lambda tx: handler.execute_in(tx, "a", Move(Decimal(5), Direction.BUY)) and None,
    )
    result = handler.execute("a", Move(Decimal(1), Direction.BUY))
    assert (result.version, result.state.balance, result.state.moves) == (2, Decimal(1), 1)


def test_a_rolled_back_state_is_not_trusted_when_another_event_takes_its_place(
    ledger_store: EventStore, second_store: EventStore
) -> None:
    ours = handler_for(ledger_store)
    ours.execute("a", Open("alice"))
    aborted(
        ledger_store, lambda tx: ours.execute_in(tx, "a", Move(Decimal(5), Direction.BUY)) and None
    )
    # another writer's event takes sequence 2 (and, after the rollback, the same position)
    handler_for(second_store).execute("a", Move(Decimal(1), Direction.BUY))
    result = ours.execute("a", Move(Decimal(10), Direction.BUY))
    assert (result.version, result.state.balance) == (3, Decimal(11))


def test_a_handler_sees_commands_committed_by_others_since_its_last_one(
    ledger_store: EventStore, second_store: EventStore
) -> None:
    ours = handler_for(ledger_store)
    theirs = handler_for(second_store)
    ours.execute("a", Open("alice"))
    ours.execute("a", Move(Decimal(1), Direction.BUY))
    theirs.execute("a", Move(Decimal(10), Direction.BUY))
    theirs.execute("a", Move(Decimal(100), Direction.BUY))
    result = ours.execute("a", Move(Decimal(1000), Direction.BUY))
    assert (result.version, result.state.balance) == (5, Decimal(1111))
    assert handler_for(ledger_store).replay("a").state == result.state


rebuild_scripts = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.one_of(
            st.builds(Open, st.sampled_from(["x", "y"])),
            st.builds(
                Move,
                st.decimals(min_value=Decimal("0.1"), max_value=Decimal(50), places=1),
                st.sampled_from(Direction),
            ),
            st.just(Freeze()),
        ),
    ),
    max_size=25,
)


@PROPERTY_SETTINGS
@given(script=rebuild_scripts)
def test_a_rebuilt_view_equals_the_incrementally_maintained_one(
    ledger_store: EventStore, script: list[tuple[str, LedgerCommand]]
) -> None:
    view = LedgerView()
    projector = Projector([view], [LEDGER_EVENTS])
    handler = CommandHandler(ledger_store, LEDGER, clock=ManualClock(NOW), projector=projector)
    prefix = fresh_id("view")
    for suffix, command in script:
        try:
            handler.execute(f"{prefix}-{suffix}", command)
        except DomainError:
            continue
    live = ledger_store.view_all("ledger_view")
    read = projector.rebuild(ledger_store, "ledger_view")
    assert read == len(ledger_store.read_all(limit=1_000_000, aggregate_types=["Ledger"]))
    assert ledger_store.view_all("ledger_view") == live
    # and rebuilding is idempotent
    projector.rebuild(ledger_store, "ledger_view", batch_size=3)
    assert ledger_store.view_all("ledger_view") == live


def test_rebuild_replaces_rows_that_the_events_do_not_justify(ledger_store: EventStore) -> None:
    view = LedgerView()
    projector = Projector([view], [LEDGER_EVENTS])
    handler_for(ledger_store, view=view).execute("a", Open("alice"))
    with ledger_store.transaction() as tx:
        tx.view_put_many("ledger_view", [ViewRow("ghost", 7, '{"name":"ghost"}')])
    projector.rebuild(ledger_store, "ledger_view")
    assert [r.view_id for r in ledger_store.view_all("ledger_view")] == ["a"]


def test_a_view_that_fails_during_rebuild_leaves_the_old_rows(ledger_store: EventStore) -> None:
    handler_for(ledger_store, view=LedgerView()).execute("a", Open("alice"))
    handler_for(ledger_store, view=LedgerView()).execute("a", Move(Decimal(13), Direction.BUY))
    before = ledger_store.view_all("ledger_view")
    failing = Projector([LedgerView(fail_on=Decimal(13))], [LEDGER_EVENTS])
    with pytest.raises(ProjectionError, match="rebuild"):
        failing.rebuild(ledger_store, "ledger_view")
    assert ledger_store.view_all("ledger_view") == before


# ---------------------------------------------------------------------------
# view rows, ids and checkpoints commit and roll back with the transaction


def test_view_writes_commit_and_roll_back_with_the_transaction(ledger_store: EventStore) -> None:
    with ledger_store.transaction() as tx:
        tx.view_put_many("ledger_view", [ViewRow("a", 1, '{"name":"a"}'), ViewRow("b", 1, "{}")])

    def change_rows(tx: StoreTransaction) -> None:
        tx.view_put_many("ledger_view", [ViewRow("a", 2, '{"name":"changed"}')])
        tx.view_delete("ledger_view", ["b"])
        tx.view_put_many("ledger_view", [ViewRow("c", 1, "{}")])
        assert tx.view_get("ledger_view", "b") is None

    aborted(ledger_store, change_rows)
    assert [(r.view_id, r.version) for r in ledger_store.view_all("ledger_view")] == [
        ("a", 1),
        ("b", 1),
    ]

    def clear(tx: StoreTransaction) -> None:
        tx.view_clear("ledger_view")
        assert tx.view_all("ledger_view") == []

    aborted(ledger_store, clear)
    assert len(ledger_store.view_all("ledger_view")) == 2
    with ledger_store.transaction() as tx:
        tx.view_clear("ledger_view")
    assert ledger_store.view_all("ledger_view") == []


def test_ids_are_allocated_per_counter_and_given_back_on_rollback(
    ledger_store: EventStore,
) -> None:
    with ledger_store.transaction() as tx:
        assert [tx.next_id("execution_id") for _ in range(3)] == [1, 2, 3]
        assert tx.next_id("other") == 1

    def allocate(tx: StoreTransaction) -> None:
        assert tx.next_id("execution_id") == 4
        assert tx.next_id("fresh") == 1

    aborted(ledger_store, allocate)
    with ledger_store.transaction() as tx:
        assert tx.next_id("execution_id") == 4
        assert tx.next_id("fresh") == 1


def test_ensure_counter_above_raises_the_floor_and_rolls_back(ledger_store: EventStore) -> None:
    with ledger_store.transaction() as tx:
        tx.ensure_counter_above("execution_id", 41)
        assert tx.next_id("execution_id") == 42
        tx.ensure_counter_above("execution_id", 10)  # never lowers it
        assert tx.next_id("execution_id") == 43

    def raise_floors(tx: StoreTransaction) -> None:
        tx.ensure_counter_above("execution_id", 1000)
        tx.ensure_counter_above("new_counter", 5)

    aborted(ledger_store, raise_floors)
    with ledger_store.transaction() as tx:
        assert tx.next_id("execution_id") == 44
        assert tx.next_id("new_counter") == 1


def test_checkpoints_commit_and_roll_back_with_the_transaction(ledger_store: EventStore) -> None:
    assert ledger_store.get_checkpoint("trade_manager") == 0
    with ledger_store.transaction() as tx:
        tx.set_checkpoint("trade_manager", 5)
        assert tx.get_checkpoint("trade_manager") == 5

    def move_checkpoints(tx: StoreTransaction) -> None:
        tx.set_checkpoint("trade_manager", 9)
        tx.set_checkpoint("order_manager", 3)

    aborted(ledger_store, move_checkpoints)
    assert ledger_store.get_checkpoint("trade_manager") == 5
    assert ledger_store.get_checkpoint("order_manager") == 0
    with ledger_store.transaction() as tx:
        tx.set_checkpoint("trade_manager", 2)
    assert ledger_store.get_checkpoint("trade_manager") == 2


def test_transactions_do_not_nest(ledger_store: EventStore) -> None:
    with ledger_store.transaction() as tx:
        tx.append([row("a", 1)])
        with pytest.raises(EventStoreError, match="nest"), ledger_store.transaction():
            pass
    assert ledger_store.last_position() == 1
    with ledger_store.transaction() as tx:  # the store is still usable
        tx.append([row("a", 2)])
    assert ledger_store.last_position() == 2


# ---------------------------------------------------------------------------
# global order


def _fill_interleaved(store: EventStore) -> list[Any]:
    stored = []
    for batch in range(6):
        with store.transaction() as tx:
            stored += tx.append(
                [
                    row(f"a{batch % 2}", batch // 2 + 1, n=batch),
                    row(f"o{batch}", 1, aggregate_type="Other", n=batch),
                ]
            )
            if batch % 3 == 0:
                stored += tx.append([row(f"t{batch}", 1, aggregate_type="Third", n=batch)])
    return stored


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 1000])
def test_read_all_resumes_from_a_position_without_gaps_or_repeats(
    ledger_store: EventStore, limit: int
) -> None:
    stored = _fill_interleaved(ledger_store)
    for types in (None, ["Ledger"], ["Other", "Third"], ["Third"]):
        expected = [e for e in stored if types is None or e.aggregate_type in types]
        seen: list[Any] = []
        after = 0
        while batch := ledger_store.read_all(after, limit, types):
            assert len(batch) <= limit
            seen += batch
            after = batch[-1].position
        assert seen == expected, types
    assert ledger_store.read_all(0, 1000, []) == []
    assert ledger_store.read_all(stored[-1].position) == []
    middle = stored[4].position
    assert ledger_store.read_all(middle) == stored[5:]
    assert list(ledger_store.iter_all(middle, batch_size=2)) == stored[5:]


def test_read_all_rejects_a_negative_position_or_a_limit_below_1(ledger_store: EventStore) -> None:
    with pytest.raises(ValueError, match="after_position"):
        ledger_store.read_all(-1)
    with pytest.raises(ValueError, match="limit"):
        ledger_store.read_all(0, 0)


def test_rolled_back_appends_leave_no_hole_a_reader_could_skip(ledger_store: EventStore) -> None:
    with ledger_store.transaction() as tx:
        first = tx.append([row("a", 1)])
    aborted(ledger_store, lambda tx: tx.append([row("b", 1), row("c", 1)]) and None)
    with ledger_store.transaction() as tx:
        later = tx.append([row("d", 1)])
    assert ledger_store.read_all() == first + later
    assert ledger_store.read_all(first[0].position) == later


# ---------------------------------------------------------------------------
# decoding stored events: unknown variants and upcasters


def test_an_unknown_stored_variant_names_aggregate_id_and_sequence(
    ledger_store: EventStore,
) -> None:
    handler = handler_for(ledger_store)
    handler.execute("a", Open("alice"))
    with ledger_store.transaction() as tx:
        tx.append(
            [NewEvent("Ledger", "a", 2, "LedgerEvent::Exploded", "1.0", '{"Exploded":{"x":1}}')]
        )
    with pytest.raises(UnknownEventError) as info:
        handler.load("a")
    assert (info.value.aggregate_type, info.value.aggregate_id, info.value.sequence) == (
        "Ledger",
        "a",
        2,
    )
    assert "Exploded" in str(info.value)
    with pytest.raises(UnknownEventError, match="Ledger 'a' sequence 2"):
        handler.execute("a", Move(Decimal(1), Direction.BUY))


def test_a_stored_event_version_without_upcaster_is_an_unknown_event(
    ledger_store: EventStore,
) -> None:
    with ledger_store.transaction() as tx:
        tx.append([NewEvent("Ledger", "a", 1, "LedgerEvent::Frozen", "0.9", '"Frozen"')])
    with pytest.raises(UnknownEventError, match=r"sequence 1: no upcaster .* version 0\.9"):
        handler_for(ledger_store).load("a")


def test_upcasters_bring_old_event_versions_to_the_current_shape(
    ledger_store: EventStore,
) -> None:
    # Version 1.0 of Moved had `amount_cents` and no transfer id; 1.5 renamed the
    # amount; 2.0 (current here) added the transfer id.
    registry = EventRegistry("Ledger", LedgerEvent, prefix="LedgerEvent", version="2.0")

    def cents_to_amount(raw: Any) -> Any:
        body = dict(raw["Moved"])
        body["amount"] = str(Decimal(body.pop("amount_cents")) / 100)
        return {"Moved": body}

    def add_transfer_id(raw: Any) -> Any:
        return {"Moved": {**raw["Moved"], "transfer_id": 0}}

    def identity(raw: Any) -> Any:
        return raw

    registry.register_upcaster("LedgerEvent::Moved", "1.0", "1.5", cents_to_amount)
    registry.register_upcaster("LedgerEvent::Moved", "1.5", "2.0", add_transfer_id)
    registry.register_upcaster("LedgerEvent::Opened", "1.0", "2.0", identity)
    aggregate = Aggregate[LedgerState, LedgerCommand](
        "Ledger", registry, LedgerState, LedgerState, decide, evolve
    )
    moved_v1 = (
        '{"Moved":{"amount_cents":250,"direction":"Buy","note":null,'
        '"moved_at":"2025-01-01T00:00:00Z"}}'
    )
    with ledger_store.transaction() as tx:
        tx.append(
            [
                NewEvent(
                    "Ledger",
                    "a",
                    1,
                    "LedgerEvent::Opened",
                    "1.0",
                    LEDGER_EVENTS.encode(Opened("alice", MaxBalance(Decimal(9)), NOW)),
                ),
                NewEvent("Ledger", "a", 2, "LedgerEvent::Moved", "1.0", moved_v1),
            ]
        )
    handler = CommandHandler(ledger_store, aggregate, clock=ManualClock(NOW), snapshot_every=0)
    assert handler.load("a").state.balance == Decimal("2.5")
    result = handler.execute("a", Move(Decimal("0.5"), Direction.BUY))
    assert result.stored[0].event_version == "2.0"
    assert handler.load("a").state.balance == Decimal(3)
    decoded = [registry.decode(e) for e in ledger_store.load_stream("Ledger", "a")]
    assert decoded[1] == Moved(
        Decimal("2.5"), Direction.BUY, 0, None, datetime(2025, 1, 1, tzinfo=UTC)
    )
