"""Typed errors of the event store framework."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base class of event-store failures."""


class ConcurrencyError(EventStoreError):
    """Another writer appended to the aggregate first (duplicate sequence).

    The command handler reloads and retries a bounded number of times before
    surfacing this error.
    """

    def __init__(self, aggregate_type: str, aggregate_id: str, sequence: int) -> None:
        super().__init__(
            f"concurrent write to {aggregate_type} {aggregate_id!r}: "
            f"sequence {sequence} already exists"
        )
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        self.sequence = sequence


class UnknownEventError(EventStoreError):
    """A stored event that this version of hedgebot cannot decode."""

    def __init__(self, aggregate_type: str, aggregate_id: str, sequence: int, detail: str) -> None:
        super().__init__(
            f"cannot decode event {aggregate_type} {aggregate_id!r} sequence {sequence}: {detail}"
        )
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        self.sequence = sequence
        self.detail = detail


class TransientStoreError(EventStoreError):
    """A retryable database condition (locked, busy, serialization failure, reset)."""


class ProjectionError(EventStoreError):
    """A view failed to apply an event; the whole command is rolled back."""
