"""The command handler: load → decide → append + views (+ snapshot) in one transaction.

Loading is optimistic: the state is read (snapshot + tail) before the write
transaction opens. If another writer appended in between, the append hits the
primary key and raises `ConcurrencyError`; the handler then reloads and decides
again, a bounded number of times. Nothing else in hedgebot commits events.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hedgebot.clock import Clock
from hedgebot.eventstore import codec
from hedgebot.eventstore.aggregate import Aggregate, DecideContext
from hedgebot.eventstore.codec import CodecError, Tagged
from hedgebot.eventstore.envelope import NewEvent, Snapshot, StoredEvent
from hedgebot.eventstore.errors import ConcurrencyError, TransientStoreError
from hedgebot.eventstore.store import EventStore, StoreReader, StoreTransaction
from hedgebot.eventstore.views import Projector

S = TypeVar("S")
C = TypeVar("C")

log = logging.getLogger(__name__)

DEFAULT_SNAPSHOT_EVERY = 100
DEFAULT_MAX_RETRIES = 5


@dataclass(frozen=True)
class Loaded(Generic[S]):
    state: S
    version: int  # sequence of the last event folded in (0 = no events)


@dataclass(frozen=True)
class CommandResult(Generic[S]):
    aggregate_id: str
    events: list[Tagged]
    stored: list[StoredEvent]
    state: S
    version: int


class CommandHandler(Generic[S, C]):
    """Executes commands against one aggregate type."""

    def __init__(
        self,
        store: EventStore,
        aggregate: Aggregate[S, C],
        *,
        clock: Clock,
        projector: Projector | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        if snapshot_every < 0:
            raise ValueError("snapshot_every must be >= 0 (0 disables snapshots)")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if snapshot_every:
            _check_state_codec(aggregate)
        self.store = store
        self.aggregate = aggregate
        self.clock = clock
        self.projector = projector
        self.snapshot_every = snapshot_every
        self.max_retries = max_retries

    # -- loading ------------------------------------------------------------

    def load(self, aggregate_id: str, reader: StoreReader | None = None) -> Loaded[S]:
        """Latest snapshot (if any and readable) + the events after it."""
        source: StoreReader = self.store if reader is None else reader
        agg = self.aggregate
        state = agg.initial_state()
        version = 0
        snapshot = source.load_snapshot(agg.aggregate_type, aggregate_id)
        if snapshot is not None:
            try:
                state = decode_snapshot_state(agg, snapshot.payload)
                version = snapshot.last_sequence
            except CodecError as exc:
                # A snapshot is only a cache: an unreadable one (older state layout)
                # falls back to a full replay.
                log.warning(
                    "snapshot_unreadable aggregate_type=%s aggregate_id=%s error=%s",
                    agg.aggregate_type,
                    aggregate_id,
                    exc,
                )
                state, version = agg.initial_state(), 0
        for row in source.load_stream(agg.aggregate_type, aggregate_id, version):
            state = agg.evolve(state, agg.events.decode(row))
            version = row.sequence
        return Loaded(state, version)

    def replay(self, aggregate_id: str) -> Loaded[S]:
        """Full replay from the first event, ignoring snapshots (used to verify them)."""
        agg = self.aggregate
        state = agg.initial_state()
        version = 0
        for row in self.store.load_stream(agg.aggregate_type, aggregate_id):
            state = agg.evolve(state, agg.events.decode(row))
            version = row.sequence
        return Loaded(state, version)

    # -- executing ----------------------------------------------------------

    def execute(
        self, aggregate_id: str, command: C, metadata: Mapping[str, str] | None = None
    ) -> CommandResult[S]:
        """Run one command in its own transaction, retrying on concurrency conflicts."""
        attempt = 0
        while True:
            loaded = self.load(aggregate_id)
            try:
                with self.store.transaction() as tx:
                    return self._decide_and_append(tx, aggregate_id, command, loaded, metadata)
            except (ConcurrencyError, TransientStoreError) as exc:
                attempt += 1
                if attempt > self.max_retries:
                    raise
                log.info(
                    "command_retry aggregate_type=%s aggregate_id=%s attempt=%d reason=%s",
                    self.aggregate.aggregate_type,
                    aggregate_id,
                    attempt,
                    type(exc).__name__,
                )

    def execute_in(
        self,
        tx: StoreTransaction,
        aggregate_id: str,
        command: C,
        metadata: Mapping[str, str] | None = None,
    ) -> CommandResult[S]:
        """Run a command inside a caller's transaction (e.g. with a manager checkpoint).

        The state is loaded inside the transaction; a conflict propagates to the caller,
        whose whole unit of work is then rolled back and may be retried.
        """
        loaded = self.load(aggregate_id, tx)
        return self._decide_and_append(tx, aggregate_id, command, loaded, metadata)

    def _decide_and_append(
        self,
        tx: StoreTransaction,
        aggregate_id: str,
        command: C,
        loaded: Loaded[S],
        metadata: Mapping[str, str] | None,
    ) -> CommandResult[S]:
        agg = self.aggregate
        now = self.clock.now()
        events = list(agg.decide(loaded.state, command, DecideContext(now=now, ids=tx)))
        if not events:
            return CommandResult(aggregate_id, [], [], loaded.state, loaded.version)
        meta = codec.dumps(dict(metadata)) if metadata else "{}"
        rows = encode_events(
            agg, aggregate_id, events, first_sequence=loaded.version + 1, metadata=meta
        )
        stored = tx.append(rows)
        state = agg.fold(loaded.state, events)
        version = loaded.version + len(events)
        if self.snapshot_every and (
            version // self.snapshot_every > loaded.version // self.snapshot_every
        ):
            # A snapshot whenever the version crosses a multiple of N (a command with
            # several events may jump past it); it holds the state *after* ``version``.
            tx.save_snapshot(
                Snapshot(
                    aggregate_type=agg.aggregate_type,
                    aggregate_id=aggregate_id,
                    last_sequence=version,
                    payload=encode_snapshot_state(agg, state),
                    timestamp=now.isoformat(),
                )
            )
        if self.projector is not None:
            self.projector.apply(tx, stored, events)
        return CommandResult(aggregate_id, events, stored, state, version)


def state_layout(aggregate: Aggregate[Any, Any]) -> str:
    """Tag of the state's layout stored with each snapshot.

    A digest of the state type's field structure (`codec.describe_type`) plus the
    aggregate's ``snapshot_version``: a snapshot written under another layout (a
    field added, removed or retyped, or a version bumped because a field's meaning
    changed) is ignored and the aggregate is replayed from its events instead of
    being loaded with defaults in the wrong places.
    """
    cached = _layouts.get(aggregate.state_type)
    if cached is None:
        description = codec.describe_type(aggregate.state_type)
        cached = hashlib.sha256(description.encode()).hexdigest()[:16]
        _layouts[aggregate.state_type] = cached
    return f"{aggregate.snapshot_version}:{cached}"


_layouts: dict[Any, str] = {}


def encode_snapshot_state(aggregate: Aggregate[Any, Any], state: Any) -> str:
    """Snapshot payload: ``{"layout":"<tag>","state":<state>}`` (compact JSON)."""
    return codec.dumps(
        {"layout": state_layout(aggregate), "state": codec.to_jsonable(aggregate.state_type, state)}
    )


def decode_snapshot_state(aggregate: Aggregate[S, Any], payload: str) -> S:
    """The state in a snapshot payload; `CodecError` if it is of another layout."""
    raw = codec.loads(payload)
    expected = state_layout(aggregate)
    if not isinstance(raw, dict) or raw.get("layout") != expected:
        found = raw.get("layout") if isinstance(raw, dict) else None
        raise CodecError(f"snapshot of state layout {found!r}, expected {expected!r}")
    state: S = codec.from_jsonable(aggregate.state_type, raw.get("state"))
    return state


def _check_state_codec(aggregate: Aggregate[Any, Any]) -> None:
    """Fail at wiring time, not on the Nth command, if snapshots cannot hold the state."""
    initial = aggregate.initial_state()
    try:
        decoded = decode_snapshot_state(aggregate, encode_snapshot_state(aggregate, initial))
    except (CodecError, TypeError) as exc:
        raise TypeError(
            f"the state of {aggregate.aggregate_type} cannot be snapshotted: {exc} "
            "(make the state codec-compatible or pass snapshot_every=0)"
        ) from exc
    if decoded != initial:
        raise TypeError(
            f"the state of {aggregate.aggregate_type} does not survive the snapshot codec: "
            f"{initial!r} -> {decoded!r}"
        )


def encode_events(
    aggregate: Aggregate[Any, Any],
    aggregate_id: str,
    events: Sequence[Tagged],
    *,
    first_sequence: int = 1,
    metadata: str = "{}",
) -> list[NewEvent]:
    """Event rows for ``events``, numbered from ``first_sequence``.

    The handler uses it for decided events; bulk writers (the legacy import) use it
    to append many aggregates' rows in one statement.
    """
    return [
        NewEvent(
            aggregate_type=aggregate.aggregate_type,
            aggregate_id=aggregate_id,
            sequence=first_sequence + i,
            event_type=aggregate.events.event_type(event),
            event_version=aggregate.events.version,
            payload=aggregate.events.encode(event),
            metadata=metadata,
        )
        for i, event in enumerate(events)
    ]
