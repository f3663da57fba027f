"""The command handler: load → decide → append + views (+ snapshot) in one transaction.

Loading is optimistic: the state is read (snapshot + tail) before the write
transaction opens. If another writer appended in between, the append hits the
primary key and raises `ConcurrencyError`; the handler then reloads and decides
again, a bounded number of times. Nothing else in hedgebot commits events.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hedgebot.clock import Clock
from hedgebot.eventstore import codec
from hedgebot.eventstore.aggregate import Aggregate, DecideContext
from hedgebot.eventstore.codec import CodecError, Tagged
from hedgebot.eventstore.envelope import NewEvent, Snapshot, StoredEvent, fast_frozen_init
from hedgebot.eventstore.errors import ConcurrencyError, TransientStoreError
from hedgebot.eventstore.layout import describe_type
from hedgebot.eventstore.store import EventStore, StoreReader, StoreTransaction
from hedgebot.eventstore.views import AggregateState, Projector

S = TypeVar("S")
C = TypeVar("C")

log = logging.getLogger(__name__)

DEFAULT_SNAPSHOT_EVERY = 100
DEFAULT_MAX_RETRIES = 5
DEFAULT_CACHE_SIZE = 4096


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Loaded(Generic[S]):
    state: S
    version: int  # sequence of the last event folded in (0 = no events)


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class CommandResult(Generic[S]):
    aggregate_id: str
    events: list[Tagged]
    stored: list[StoredEvent]
    state: S
    version: int


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class _Known(Generic[S]):
    """A state known to be the fold of the aggregate's events up to ``version``."""

    state: S
    version: int
    #: (position, event_version, payload) of the event at ``version``; None if unknown
    mark: tuple[int, str, str] | None
    #: the open transaction in which this state was read or written: inside it the
    #: state is current (SQLite holds the write lock; on PostgreSQL a competing append
    #: fails on the primary key at ours), so it is used without re-reading the stream
    within: weakref.ref[Any] | None = None


def _mark(row: StoredEvent) -> tuple[int, str, str]:
    """What identifies the stored event a state was folded up to.

    Position alone is not enough: a rolled-back append gives its position back, and a
    different event may later take it. The same position, version and payload is the
    same event, so the state folded from it is the same.
    """
    return (row.position, row.event_version, row.payload)


class CommandHandler(Generic[S, C]):
    """Executes commands against one aggregate type.

    States of recently used aggregates are kept in an LRU cache (``cache_size``
    entries; 0 disables it), so a command reads only the events appended since, not
    the aggregate's whole stream. Every use checks the cache against the store: the
    event at the cached version must still be the very event the state was folded up
    to (same position, version and payload), else the entry is dropped and the state
    reloaded; and the events after it are always read. So commands by other processes
    or handlers are never missed, and a state from a transaction that rolled back is
    never trusted (its event is gone). States must be immutable, as `evolve` returns
    new ones.
    """

    def __init__(
        self,
        store: EventStore,
        aggregate: Aggregate[S, C],
        *,
        clock: Clock,
        projector: Projector | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        max_retries: int = DEFAULT_MAX_RETRIES,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        if snapshot_every < 0:
            raise ValueError("snapshot_every must be >= 0 (0 disables snapshots)")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0 (0 disables the state cache)")
        if snapshot_every:
            _check_state_codec(aggregate)
        self.store = store
        self.aggregate = aggregate
        self.clock = clock
        self.projector = projector
        self.snapshot_every = snapshot_every
        self.max_retries = max_retries
        self.cache_size = cache_size
        self._cache: OrderedDict[str, _Known[S]] = OrderedDict()
        self._cache_lock = threading.Lock()

    # -- loading ------------------------------------------------------------

    def load(self, aggregate_id: str, reader: StoreReader | None = None) -> Loaded[S]:
        """The current state from the store: latest snapshot + the events after it.

        With ``snapshot_every=0`` snapshots are neither written nor read. A state in
        the handler's cache is used instead when the store still holds the event it was
        folded up to (checked as for commands): only the events after it are read.
        """
        known = self._current(aggregate_id, self.store if reader is None else reader)
        self._remember(aggregate_id, known)
        return Loaded(known.state, known.version)

    def load_in(self, tx: StoreTransaction, aggregate_id: str) -> Loaded[S]:
        """The current state inside ``tx`` (including its own earlier events).

        Remembered as current for the rest of ``tx``: a command in the same transaction
        then reads nothing more.
        """
        known = _within(self._current(aggregate_id, tx), tx)
        self._remember(aggregate_id, known)
        return Loaded(known.state, known.version)

    def replay(self, aggregate_id: str) -> Loaded[S]:
        """Full replay from the first event, ignoring snapshots (used to verify them)."""
        known = self._fold(
            aggregate_id, self.store, _Known(self.aggregate.initial_state(), 0, None), 0
        )
        return Loaded(known.state, known.version)

    def _load_from_store(self, aggregate_id: str, source: StoreReader) -> _Known[S]:
        agg = self.aggregate
        start = _Known(agg.initial_state(), 0, None)
        if self.snapshot_every:
            snapshot = source.load_snapshot(agg.aggregate_type, aggregate_id)
            if snapshot is not None:
                try:
                    start = _Known(
                        decode_snapshot_state(agg, snapshot.payload), snapshot.last_sequence, None
                    )
                except CodecError as exc:
                    # A snapshot is only a cache: an unreadable one (older state layout)
                    # falls back to a full replay.
                    log.warning(
                        "snapshot_unreadable aggregate_type=%s aggregate_id=%s error=%s",
                        agg.aggregate_type,
                        aggregate_id,
                        exc,
                    )
        return self._fold(aggregate_id, source, start, start.version)

    def _fold(
        self, aggregate_id: str, source: StoreReader, start: _Known[S], after_sequence: int
    ) -> _Known[S]:
        agg = self.aggregate
        state, version, mark = start.state, start.version, start.mark
        for row in source.load_stream(agg.aggregate_type, aggregate_id, after_sequence):
            if row.sequence <= version:
                continue
            state = agg.evolve(state, agg.events.decode(row))
            version, mark = row.sequence, _mark(row)
        return _Known(state, version, mark)

    def _current(self, aggregate_id: str, source: StoreReader) -> _Known[S]:
        """The current state: the cached one plus the events after it, else from the store."""
        known = self._cached(aggregate_id)
        if known is None:
            return self._load_from_store(aggregate_id, source)
        if known.within is not None and known.within() is source:
            return known
        if known.version == 0:
            return self._fold(aggregate_id, source, known, 0)
        # Read from the cached version itself: its event must still be the one the state
        # was folded up to, or the cache describes another history (a rolled-back
        # transaction, a replaced database).
        rows = source.load_stream(self.aggregate.aggregate_type, aggregate_id, known.version - 1)
        head = rows[0] if rows else None
        if (
            head is None
            or head.sequence != known.version
            or (known.mark is not None and _mark(head) != known.mark)
        ):
            log.warning(
                "state_cache_stale aggregate_type=%s aggregate_id=%s version=%d",
                self.aggregate.aggregate_type,
                aggregate_id,
                known.version,
            )
            self._forget(aggregate_id)
            return self._load_from_store(aggregate_id, source)
        agg = self.aggregate
        state, version, mark = known.state, known.version, _mark(head)
        for row in rows[1:]:
            state = agg.evolve(state, agg.events.decode(row))
            version, mark = row.sequence, _mark(row)
        return _Known(state, version, mark)

    def _cached(self, aggregate_id: str) -> _Known[S] | None:
        if not self.cache_size:
            return None
        with self._cache_lock:
            known = self._cache.get(aggregate_id)
            if known is not None:
                self._cache.move_to_end(aggregate_id)
            return known

    def _remember(self, aggregate_id: str, known: _Known[S]) -> None:
        if not self.cache_size:
            return
        with self._cache_lock:
            self._cache[aggregate_id] = known
            self._cache.move_to_end(aggregate_id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _forget(self, aggregate_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(aggregate_id, None)

    # -- executing ----------------------------------------------------------

    def execute(
        self, aggregate_id: str, command: C, metadata: Mapping[str, str] | None = None
    ) -> CommandResult[S]:
        """Run one command in its own transaction, retrying on concurrency conflicts."""
        attempt = 0
        while True:
            known = self._current(aggregate_id, self.store)
            try:
                with self.store.transaction() as tx:
                    result = self._decide_and_append(tx, aggregate_id, command, known, metadata)
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
                continue
            self._remember(aggregate_id, _known_after(result, known))
            return result

    def batch(self, tx: StoreTransaction) -> AbstractContextManager[None]:
        """Defer view projection of every command run in ``tx`` inside this block to
        its end (one pass over the views instead of one per command)."""
        if self.projector is None:
            return nullcontext()
        return self.projector.deferred(tx)

    def execute_in(
        self,
        tx: StoreTransaction,
        aggregate_id: str,
        command: C,
        metadata: Mapping[str, str] | None = None,
    ) -> CommandResult[S]:
        """Run a command inside a caller's transaction (e.g. with a manager checkpoint).

        The state is read inside the transaction (so it includes the transaction's own
        earlier events); a conflict propagates to the caller, whose whole unit of work
        is then rolled back and may be retried. The new state is cached even though the
        caller may still roll back: the next use finds its event gone and reloads.
        """
        known = self._current(aggregate_id, tx)
        result = self._decide_and_append(tx, aggregate_id, command, known, metadata)
        self._remember(aggregate_id, _within(_known_after(result, known), tx))
        return result

    def _decide_and_append(
        self,
        tx: StoreTransaction,
        aggregate_id: str,
        command: C,
        loaded: _Known[S],
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
            self.projector.apply(
                tx,
                stored,
                events,
                states=[AggregateState(agg.aggregate_type, aggregate_id, version, state)],
            )
        return CommandResult(aggregate_id, events, stored, state, version)


def _within(known: _Known[S], tx: StoreTransaction) -> _Known[S]:
    try:
        ref = weakref.ref(tx)
    except TypeError:  # a transaction type without weak references: always re-read
        return known
    return _Known(known.state, known.version, known.mark, ref)


def _known_after(result: CommandResult[S], before: _Known[S]) -> _Known[S]:
    mark = _mark(result.stored[-1]) if result.stored else before.mark
    return _Known(result.state, result.version, mark)


def state_layout(aggregate: Aggregate[Any, Any]) -> str:
    """Tag of the state's layout stored with each snapshot.

    A digest of the state type's field structure (`layout.describe_type`) plus the
    aggregate's ``snapshot_version``: a snapshot written under another layout (a
    field added, removed or retyped, or a version bumped because a field's meaning
    changed) is ignored and the aggregate is replayed from its events instead of
    being loaded with defaults in the wrong places.
    """
    cached = _layouts.get(aggregate.state_type)
    if cached is None:
        description = describe_type(aggregate.state_type)
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
    aggregate_type = aggregate.aggregate_type
    registry = aggregate.events
    version = registry.version
    event_type, encode = registry.event_type, registry.encode
    return [
        NewEvent(
            aggregate_type,
            aggregate_id,
            first_sequence + i,
            event_type(event),
            version,
            encode(event),
            metadata,
        )
        for i, event in enumerate(events)
    ]
