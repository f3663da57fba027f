"""Event rows as they are stored (SPEC §3.1) and as they are appended."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event row about to be appended; the store assigns its global position."""

    aggregate_type: str
    aggregate_id: str
    sequence: int
    event_type: str
    event_version: str
    payload: str
    metadata: str = "{}"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A committed event row with its global position (commit order across aggregates)."""

    position: int
    aggregate_type: str
    aggregate_id: str
    sequence: int
    event_type: str
    event_version: str
    payload: str
    metadata: str

    @classmethod
    def from_new(cls, event: NewEvent, position: int) -> StoredEvent:
        # positional: this runs once per appended row
        return cls(
            position,
            event.aggregate_type,
            event.aggregate_id,
            event.sequence,
            event.event_type,
            event.event_version,
            event.payload,
            event.metadata,
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    aggregate_type: str
    aggregate_id: str
    last_sequence: int
    payload: str
    timestamp: str
