"""Row objects: `fast_frozen_init` keeps the dataclass behaviour it speeds up."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from hedgebot.eventstore.envelope import NewEvent, StoredEvent, fast_frozen_init


def test_rows_keep_defaults_equality_hashing_and_immutability() -> None:
    row = NewEvent("Position", "AAPL", 1, "PositionEvent::Initialized", "1.0", "{}")
    assert row.metadata == "{}"
    same = NewEvent(
        aggregate_type="Position",
        aggregate_id="AAPL",
        sequence=1,
        event_type="PositionEvent::Initialized",
        event_version="1.0",
        payload="{}",
        metadata="{}",
    )
    assert row == same and hash(row) == hash(same)
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.payload = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing"):
        NewEvent("Position")  # type: ignore[call-arg]
    stored = StoredEvent.from_new(row, 7)
    assert (stored.position, stored.payload, stored.metadata) == (7, "{}", "{}")
    assert dataclasses.replace(stored, position=8).position == 8


def test_unsupported_classes_are_refused_at_definition() -> None:
    with pytest.raises(TypeError, match="frozen dataclass with slots"):

        @fast_frozen_init
        @dataclass(frozen=True)
        class NoSlots:
            a: int

    with pytest.raises(TypeError, match="unsupported field"):

        @fast_frozen_init
        @dataclass(frozen=True, slots=True)
        class Factory:
            a: list[int] = field(default_factory=list)

    with pytest.raises(TypeError, match="__post_init__"):

        @fast_frozen_init
        @dataclass(frozen=True, slots=True)
        class Checked:
            a: int

            def __post_init__(self) -> None:
                pass
