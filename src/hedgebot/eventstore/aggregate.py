"""What an aggregate is, for the framework: a pure `decide` and a pure `evolve`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from hedgebot.eventstore.codec import Tagged
from hedgebot.eventstore.envelope import fast_frozen_init
from hedgebot.eventstore.registry import EventRegistry

S = TypeVar("S")
C = TypeVar("C")


class IdSource(Protocol):
    def next_id(self, counter: str) -> int: ...


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class DecideContext:
    """Services the framework hands to `decide`: the caller's clock reading and id allocation.

    Ids come from a store counter inside the command's transaction, so an id is never
    handed out twice even across processes, and a rolled-back command gives it back.
    """

    now: datetime
    ids: IdSource

    def next_id(self, counter: str) -> int:
        return self.ids.next_id(counter)


@dataclass(frozen=True)
class Aggregate(Generic[S, C]):
    """The framework's view of one aggregate type.

    ``decide(state, command, ctx)`` returns the new events or raises a typed domain
    error; ``evolve(state, event)`` folds one event and never raises on a stored event.
    ``state_type`` is the declared type of the state, used to encode snapshots.
    ``snapshot_version``: bump it when the *meaning* of the state changes without its
    shape changing, so that older snapshots are ignored (shape changes are detected).
    """

    aggregate_type: str
    events: EventRegistry
    state_type: Any
    initial_state: Callable[[], S]
    decide: Callable[[S, C, DecideContext], Sequence[Tagged]]
    evolve: Callable[[S, Any], S]
    snapshot_version: str = "1"

    def fold(self, state: S, events: Sequence[Any]) -> S:
        for event in events:
            state = self.evolve(state, event)
        return state
