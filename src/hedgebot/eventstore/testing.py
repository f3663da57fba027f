"""Given / when / then for aggregate tests.

    scenario(Position).given(Initialized(...)).when(Acknowledge(...)).then(OnChainOrderFilled(...))
    scenario(Position).given().when(Complete(...)).then_raises(NoPendingExecution)

Every event given, and every event decided, goes through the wire codec and back, so
a test also proves the events survive storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from hedgebot.eventstore import codec
from hedgebot.eventstore.aggregate import Aggregate, DecideContext
from hedgebot.eventstore.codec import Tagged

S = TypeVar("S")
C = TypeVar("C")

DEFAULT_NOW = datetime(2025, 1, 2, 15, 30, tzinfo=UTC)


class CountingIds:
    """Deterministic id allocation for scenarios: 1, 2, 3 … per counter."""

    def __init__(self, start: int = 1) -> None:
        self.start = start
        self.counters: dict[str, int] = {}

    def next_id(self, counter: str) -> int:
        value = self.counters.get(counter, self.start)
        self.counters[counter] = value + 1
        return value


def _round_trip(aggregate: Aggregate[Any, Any], event: Tagged) -> Any:
    registry = aggregate.events
    return registry.decode_payload(
        registry.event_type(event), registry.version, registry.encode(event)
    )


class Scenario(Generic[S, C]):
    def __init__(self, aggregate: Aggregate[S, C]) -> None:
        self.aggregate = aggregate
        self.history: list[Tagged] = []
        self.command: C | None = None
        self.now = DEFAULT_NOW
        self.ids = CountingIds()

    def given(self, *events: Tagged) -> Scenario[S, C]:
        for event in events:
            decoded = _round_trip(self.aggregate, event)
            assert decoded == event, f"event does not survive the codec: {event!r} -> {decoded!r}"
        self.history.extend(events)
        return self

    def at(self, now: datetime) -> Scenario[S, C]:
        self.now = now
        return self

    def with_ids(self, start: int) -> Scenario[S, C]:
        self.ids = CountingIds(start)
        return self

    def when(self, command: C) -> Scenario[S, C]:
        self.command = command
        return self

    def state(self) -> S:
        return self.aggregate.fold(self.aggregate.initial_state(), self.history)

    def decide(self) -> list[Tagged]:
        assert self.command is not None, "call .when(command) first"
        ctx = DecideContext(now=self.now, ids=self.ids)
        return list(self.aggregate.decide(self.state(), self.command, ctx))

    def then(self, *expected: Tagged) -> list[Tagged]:
        events = self.decide()
        assert events == list(expected), f"\nexpected: {list(expected)!r}\n     got: {events!r}"
        for event in events:
            assert _round_trip(self.aggregate, event) == event
        # the state must fold the new events without raising
        self.aggregate.fold(self.state(), events)
        return events

    def then_state(self) -> S:
        """Decide, then return the state after the decided events."""
        events = self.decide()
        return self.aggregate.fold(self.state(), events)

    def then_raises(self, error: type[BaseException]) -> BaseException:
        try:
            events = self.decide()
        except error as exc:
            return exc
        raise AssertionError(f"expected {error.__name__}, but decide returned {events!r}")


def scenario(aggregate: Aggregate[S, C]) -> Scenario[S, C]:
    return Scenario(aggregate)


def payloads(aggregate: Aggregate[Any, Any], events: Sequence[Tagged]) -> list[str]:
    """Wire payloads of ``events`` (for golden comparisons)."""
    return [aggregate.events.encode(e) for e in events]


__all__ = ["CountingIds", "Scenario", "codec", "payloads", "scenario"]
