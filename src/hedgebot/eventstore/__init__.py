"""The event-store framework (SPEC §3): codec, store port and backends, views, handler."""

from hedgebot.eventstore.aggregate import Aggregate, DecideContext
from hedgebot.eventstore.codec import CodecError, Tagged
from hedgebot.eventstore.envelope import NewEvent, Snapshot, StoredEvent
from hedgebot.eventstore.errors import (
    ConcurrencyError,
    EventStoreError,
    ProjectionError,
    TransientStoreError,
    UnknownEventError,
)
from hedgebot.eventstore.handler import CommandHandler, CommandResult, Loaded, encode_events
from hedgebot.eventstore.registry import EventRegistry
from hedgebot.eventstore.store import EventStore, StoreReader, StoreTransaction, ViewRow
from hedgebot.eventstore.views import Projector, View, ViewRows

__all__ = [
    "Aggregate",
    "CodecError",
    "CommandHandler",
    "CommandResult",
    "ConcurrencyError",
    "DecideContext",
    "EventRegistry",
    "EventStore",
    "EventStoreError",
    "Loaded",
    "NewEvent",
    "ProjectionError",
    "Projector",
    "Snapshot",
    "StoreReader",
    "StoreTransaction",
    "StoredEvent",
    "Tagged",
    "TransientStoreError",
    "UnknownEventError",
    "View",
    "ViewRow",
    "ViewRows",
    "encode_events",
]
