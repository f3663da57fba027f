"""Property tests through a real CommandHandler (memory and SQLite, tiny snapshot interval):

* net = Σ onchain fills (BUY +, SELL −) + Σ filled hedges (BUY +, SELL −), whatever the
  mix of fills, repeated acknowledgements, full fills, partial fills, failures,
  position checks, market closures, threshold changes and resumptions;
* never two pending executions, and every fill/failure names the pending one;
* loading (snapshot + tail) equals a full replay; the live view equals the state and
  a rebuilt view.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgebot.clock import ManualClock
from hedgebot.domain import Broker, Direction
from hedgebot.eventstore import CommandHandler, Projector, codec
from hedgebot.eventstore.memory import MemoryEventStore
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.store import EventStore
from hedgebot.position.commands import (
    CompleteOffChainOrder,
    FailOffChainOrder,
    PlaceOffChainOrder,
    PositionCommand,
    ResumeHedging,
    UpdateThreshold,
)
from hedgebot.position.errors import (
    HedgingNotSuspended,
    HedgingSuspended,
    PendingExecution,
    ThresholdNotMet,
)
from hedgebot.position.events import (
    POSITION_EVENTS,
    DollarValue,
    OffChainOrderFailed,
    OffChainOrderFilled,
    OffChainOrderPlaced,
    OnChainOrderFilled,
    Shares,
)
from hedgebot.position.state import POSITION, PositionState
from hedgebot.position.view import POSITION_VIEW_TABLE, PositionView, state_to_payload
from tests.position.builders import ack

START = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Fill:
    amount: Decimal
    direction: Direction
    market_open: bool


@dataclass(frozen=True)
class Repeat:
    index: int  # which earlier fill to acknowledge again


@dataclass(frozen=True)
class BrokerFill:
    fraction: Decimal  # of the pending order's size; < 1 is a partial fill


@dataclass(frozen=True)
class BrokerFailure:
    pass


@dataclass(frozen=True)
class Check:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class NewThreshold:
    shares: Decimal | None
    dollars: Decimal


FRACTIONS = st.sampled_from([Decimal(1), Decimal(1), Decimal("0.5"), Decimal("0.3")])
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("4"), places=3)
steps = st.one_of(
    st.builds(Fill, amounts, st.sampled_from(Direction), st.booleans()),
    st.builds(Fill, amounts, st.sampled_from(Direction), st.just(True)),
    st.builds(Repeat, st.integers(min_value=0, max_value=50)),
    st.builds(
        BrokerFill, st.sampled_from([Decimal(1), Decimal(1), Decimal("0.5"), Decimal("0.3")])
    ),
    st.builds(BrokerFailure),
    st.builds(Check),
    st.builds(Resume),
    st.builds(
        NewThreshold,
        st.one_of(st.none(), st.sampled_from([Decimal("0.5"), Decimal(1), Decimal(2)])),
        st.sampled_from([Decimal("1"), Decimal("50")]),
    ),
)
scripts = st.lists(steps, min_size=1, max_size=40)


@contextmanager
def open_store(backend: str, template: Path) -> Iterator[EventStore]:
    if backend == "memory":
        yield MemoryEventStore()
        return
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "store.db"
        shutil.copyfile(template, path)
        store = SqliteEventStore(str(path), synchronous="OFF")
        try:
            yield store
        finally:
            store.close()


def run_script(store: EventStore, script: list[object]) -> None:
    clock = ManualClock(START)
    projector = Projector([PositionView()], [POSITION_EVENTS])
    handler: CommandHandler[PositionState, PositionCommand] = CommandHandler(
        store, POSITION, clock=clock, projector=projector, snapshot_every=2
    )
    onchain = Decimal(0)
    hedged = Decimal(0)
    acknowledged: list[int] = []
    for step in script:
        clock.advance(timedelta(seconds=7))
        state = handler.load("AAPL").state
        command: PositionCommand | None = None
        if isinstance(step, Fill):
            n = len(acknowledged) + 1
            acknowledged.append(n)
            command = ack(
                n,
                str(step.amount),
                step.direction,
                "100",
                broker=Broker.ALPACA,
                fractional_decimals=2,
                hedging_allowed=step.market_open,
            )
        elif isinstance(step, Repeat) and acknowledged:
            n = acknowledged[step.index % len(acknowledged)]
            command = ack(n, "1", Direction.BUY)  # the first acknowledgement's data wins
        elif isinstance(step, BrokerFill) and state.pending_execution_id is not None:
            assert state.pending_shares is not None and state.pending_direction is not None
            shares = (state.pending_shares * step.fraction).quantize(Decimal("0.01"))
            command = CompleteOffChainOrder(
                state.pending_execution_id,
                max(shares, Decimal("0.01")),
                state.pending_direction,
                "ORD",
                10000,
                clock.now(),
            )
        elif isinstance(step, BrokerFailure) and state.pending_execution_id is not None:
            command = FailOffChainOrder(state.pending_execution_id, "rejected")
        elif isinstance(step, Check) and state.initialized:
            command = PlaceOffChainOrder(Broker.ALPACA, 2)
        elif isinstance(step, Resume) and state.initialized:
            command = ResumeHedging()
        elif isinstance(step, NewThreshold) and state.initialized:
            threshold = Shares(step.shares) if step.shares else DollarValue(step.dollars)
            command = UpdateThreshold(threshold)
        if command is None:
            continue
        try:
            result = handler.execute("AAPL", command)
        except (ThresholdNotMet, PendingExecution, HedgingSuspended, HedgingNotSuspended):
            continue
        if isinstance(step, Repeat):
            assert result.events == []
        for event in result.events:
            if isinstance(event, OnChainOrderFilled):
                onchain += event.direction.sign * event.amount
            elif isinstance(event, OffChainOrderFilled):
                hedged += event.direction.sign * event.shares_filled
        assert result.state.net == onchain + hedged

    check_history(store)
    loaded = handler.load("AAPL")
    replayed = handler.replay("AAPL")
    assert loaded == replayed
    row = store.view_get(POSITION_VIEW_TABLE, "AAPL")
    if not replayed.state.initialized:
        assert row is None
        return
    assert row is not None
    assert codec.loads(row.payload) == state_to_payload(replayed.state)
    live = store.view_all(POSITION_VIEW_TABLE)
    projector.rebuild(store, POSITION_VIEW_TABLE)
    assert store.view_all(POSITION_VIEW_TABLE) == live


def check_history(store: EventStore) -> None:
    """Never two pending executions; completions and failures name the pending one."""
    pending: int | None = None
    for stored in store.load_stream("Position", "AAPL"):
        event = POSITION_EVENTS.decode(stored)
        if isinstance(event, OffChainOrderPlaced):
            assert pending is None, f"second pending execution {event.execution_id}"
            pending = event.execution_id
        elif isinstance(event, OffChainOrderFilled | OffChainOrderFailed):
            assert event.execution_id == pending
            pending = None


@pytest.mark.parametrize(("backend", "examples"), [("memory", 150), ("sqlite", 30)])
def test_net_is_the_sum_of_fills_and_history_replays_to_the_same_state(
    backend: str, examples: int, sqlite_template: Path
) -> None:
    @settings(max_examples=examples, deadline=None)
    @given(scripts)
    def check(script: list[object]) -> None:
        with open_store(backend, sqlite_template) as store:
            run_script(store, script)

    check()
