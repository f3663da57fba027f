"""The bounded window of acknowledged fill ids: what it remembers, and that it survives
snapshots."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hedgebot.clock import ManualClock
from hedgebot.eventstore import CommandHandler, codec
from hedgebot.eventstore.memory import MemoryEventStore
from hedgebot.position import recent_fills
from hedgebot.position.commands import PositionCommand
from hedgebot.position.recent_fills import RECENT_FILLS_LIMIT, RecentFills
from hedgebot.position.state import POSITION, PositionState
from tests.position.builders import BUY, ack, trade_id


def ids(count: int) -> list[str]:
    return [trade_id(n).aggregate_id for n in range(count)]


def test_the_window_remembers_at_least_the_last_ten_thousand_fills() -> None:
    window = RecentFills()
    every = ids(RECENT_FILLS_LIMIT + recent_fills.CHUNK_SIZE)
    for fill_id in every:
        window = window.add(fill_id)
    assert RECENT_FILLS_LIMIT == 10_000
    assert all(fill_id in window for fill_id in every[-RECENT_FILLS_LIMIT:])
    assert every[0] not in window  # the oldest chunk was forgotten
    assert RECENT_FILLS_LIMIT <= len(window) < RECENT_FILLS_LIMIT + recent_fills.CHUNK_SIZE


def test_the_window_round_trips_through_the_snapshot_codec() -> None:
    window = RecentFills()
    for fill_id in ids(recent_fills.CHUNK_SIZE + 7):
        window = window.add(fill_id)
    decoded = codec.from_json(RecentFills, codec.to_json(RecentFills, window))
    assert decoded == window
    assert all(fill_id in decoded for fill_id in ids(recent_fills.CHUNK_SIZE + 7))
    assert trade_id(10_000_000).aggregate_id not in decoded


def test_an_id_that_is_a_prefix_of_a_remembered_one_is_not_remembered() -> None:
    window = RecentFills().add(trade_id(7, 12).aggregate_id).add(trade_id(8, 3).aggregate_id)
    assert trade_id(7, 12).aggregate_id in window
    assert trade_id(7, 1).aggregate_id not in window
    assert trade_id(8, 3).aggregate_id[1:] not in window
    assert "" not in window


def test_a_repeated_acknowledgement_is_recognised_after_loading_a_snapshot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recent_fills, "CHUNK_SIZE", 3)
    monkeypatch.setattr(recent_fills, "MAX_FULL_CHUNKS", 2)
    store = MemoryEventStore()
    handler: CommandHandler[PositionState, PositionCommand] = CommandHandler(
        store, POSITION, clock=ManualClock(datetime(2025, 1, 1, tzinfo=UTC)), snapshot_every=2
    )
    for n in range(1, 11):
        handler.execute("AAPL", ack(n, "0.01", BUY))
    assert store.load_snapshot("Position", "AAPL") is not None
    for n in range(4, 11):  # the last 7: two full chunks of 3 and the open one
        assert handler.execute("AAPL", ack(n, "0.01", BUY)).events == []
    # Beyond the window a re-acknowledgement is no longer recognised: the documented bound.
    assert handler.execute("AAPL", ack(1, "0.01", BUY)).events != []
