"""Views (read models): projections applied in the same transaction as their events.

A view owns one or more tables shaped ``(view_id, version, payload)`` (plus generated
columns declared in its migration). Its `apply` reads and writes rows through
`ViewRows`, a per-transaction cache that writes each touched row once at the end.
``version`` counts the writes folded into a row, so a rebuilt view (same events, same
order) equals the incrementally maintained one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hedgebot.eventstore import codec
from hedgebot.eventstore.envelope import StoredEvent, fast_frozen_init
from hedgebot.eventstore.errors import ProjectionError
from hedgebot.eventstore.registry import EventRegistry
from hedgebot.eventstore.store import EventStore, StoreReader, StoreTransaction, ViewRow

_DELETED = object()

#: a projection pass of at least this many events first asks the store (when it can
#: tell cheaply) whether each table is empty: a bulk import or a first projection into
#: an empty table then reads no row back (one probe instead of a query per row)
EMPTY_PROBE_MIN_EVENTS = 1000


def _known_empty(tx: StoreReader, table: str) -> bool:
    probe = getattr(tx, "view_is_empty", None)
    return probe is not None and bool(probe(table))


class ViewRows:
    """Rows of one view table inside one transaction, cached and flushed once."""

    def __init__(self, tx: StoreReader, table: str) -> None:
        self._tx = tx
        self.table = table
        self._loaded: dict[str, tuple[int, Any]] = {}
        self._dirty: dict[str, Any] = {}
        self._cleared = False

    def _load(self, view_id: str) -> tuple[int, Any]:
        cached = self._loaded.get(view_id)
        if cached is not None:
            return cached
        if self._cleared:
            entry: tuple[int, Any] = (0, None)
        else:
            row = self._tx.view_get(self.table, view_id)
            entry = (0, None) if row is None else (row.version, codec.loads(row.payload))
        self._loaded[view_id] = entry
        return entry

    def get(self, view_id: str) -> Any | None:
        """The row's payload as JSON data, or None when absent."""
        return self._load(view_id)[1]

    def version(self, view_id: str) -> int:
        return self._load(view_id)[0]

    def put(self, view_id: str, payload: Any, version: int | None = None) -> None:
        """Write a row; ``version`` defaults to one more than the current one.

        With an explicit ``version`` the current row is not read (no query per write).
        """
        if version is None:
            version = self._load(view_id)[0] + 1
        self._loaded[view_id] = (version, payload)
        self._dirty[view_id] = payload

    def delete(self, view_id: str) -> None:
        self._loaded[view_id] = (0, None)
        self._dirty[view_id] = _DELETED

    def find(self, field: str, value: str) -> dict[str, Any]:
        """Rows whose top-level payload ``field`` equals ``value`` (cache included)."""
        found: dict[str, Any] = {}
        if not self._cleared:
            for row in self._tx.view_find(self.table, field, value):
                if row.view_id not in self._loaded:
                    self._loaded[row.view_id] = (row.version, codec.loads(row.payload))
        for view_id, (_, payload) in self._loaded.items():
            if isinstance(payload, Mapping) and payload.get(field) == value:
                found[view_id] = payload
        return found

    def mark_cleared(self) -> None:
        self._cleared = True
        self._loaded.clear()
        self._dirty.clear()

    def flush(self, tx: StoreTransaction) -> None:
        if not self._dirty:
            return
        puts = [
            ViewRow(view_id, self._loaded[view_id][0], codec.dumps(payload))
            for view_id, payload in self._dirty.items()
            if payload is not _DELETED
        ]
        deletes = [view_id for view_id, payload in self._dirty.items() if payload is _DELETED]
        if deletes:
            tx.view_delete(self.table, deletes)
        if puts:
            tx.view_put_many(self.table, puts)
        self._dirty.clear()


class View(ABC):
    """A projection from events to rows of its tables."""

    #: the view's main table (the one SQL users query)
    table: str
    #: aggregate types whose events this view reads
    aggregate_types: frozenset[str]

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table this view writes (main table first); rebuild clears them all."""
        return (self.table,)

    #: a view whose rows are one aggregate type's states, one row per aggregate with
    #: row version = the aggregate's version (its `apply` must put exactly that). Live
    #: commands then write the row from the state the handler already folded
    #: (`state_row`), with no read and no fold per event; a rebuild still folds events.
    state_of: str | None = None

    def handles(self, event: StoredEvent) -> bool:
        return event.aggregate_type in self.aggregate_types

    def state_row(self, aggregate_id: str, state: Any) -> Any:
        """The row payload for an aggregate's current state (views with `state_of`)."""
        raise NotImplementedError(f"view {self.table} does not project states")

    @abstractmethod
    def apply(self, rows: Mapping[str, ViewRows], event: StoredEvent, decoded: Any) -> None:
        """Fold one event into the rows (``rows[table]`` for each of `tables`)."""

    def finish(self, rows: Mapping[str, ViewRows]) -> None:
        """Called once after the `apply` calls of one batch, before its rows are written.

        A view that defers work to the end of a batch (the PnL view sorts the batch's
        trades per symbol, so a history arriving out of order is rebooked once per batch,
        not once per trade) does it here. The default does nothing.
        """
        return


class Projector:
    """Applies a set of views to committed events, inside the caller's transaction."""

    def __init__(self, views: Sequence[View], registries: Iterable[EventRegistry]) -> None:
        self.views = list(views)
        self.registries = {r.aggregate_type: r for r in registries}
        names = [v.table for v in self.views]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate view tables: {names}")
        self._deferred: dict[int, _Pending] = {}

    def view(self, table: str) -> View:
        for view in self.views:
            if view.table == table:
                return view
        known = ", ".join(v.table for v in self.views)
        raise KeyError(f"unknown view {table!r} (known: {known})")

    def decode(self, event: StoredEvent) -> Any:
        registry = self.registries.get(event.aggregate_type)
        if registry is None:
            return None
        return registry.decode(event)

    def apply(
        self,
        tx: StoreTransaction,
        events: Sequence[StoredEvent],
        decoded: Sequence[Any] | None = None,
        views: Sequence[View] | None = None,
        cleared: bool = False,
        states: Sequence[AggregateState] | None = None,
    ) -> None:
        """Project ``events`` into ``views`` (all views by default) and flush their rows.

        ``states`` (from the command handler) are the aggregates' states after these
        events: a view with `View.state_of` writes those rows from them instead of
        folding the events, for every aggregate whose state is at the version of its
        last event here (any other aggregate's events are folded as usual).

        Any exception from a view becomes a `ProjectionError`, which fails the whole
        transaction: a committed event is always reflected in its views.
        """
        selected = self.views if views is None else list(views)
        if not events or not selected:
            return
        if decoded is None:
            decoded = [self.decode(e) for e in events]
        pending = self._deferred.get(id(tx))
        if pending is not None and views is None and not cleared:
            pending.events.extend(events)
            pending.decoded.extend(decoded)
            for state in states or ():
                pending.states[(state.aggregate_type, state.aggregate_id)] = state
            return
        by_aggregate = {(s.aggregate_type, s.aggregate_id): s for s in states or ()}
        for view in selected:
            if not any(view.handles(event) for event in events):
                continue
            rows = {table: ViewRows(tx, table) for table in view.tables}
            if cleared:
                for table_rows in rows.values():
                    table_rows.mark_cleared()
            elif len(events) >= EMPTY_PROBE_MIN_EVENTS:
                for table, table_rows in rows.items():
                    if _known_empty(tx, table):
                        table_rows.mark_cleared()
            from_state = _states_for(view, events, by_aggregate) if by_aggregate else {}
            for event, typed in zip(events, decoded, strict=True):
                if not view.handles(event):
                    continue
                if (
                    from_state
                    and event.aggregate_type == view.state_of
                    and event.aggregate_id in from_state
                ):
                    continue  # written from its state below
                try:
                    view.apply(rows, event, typed)
                except Exception as exc:
                    raise ProjectionError(
                        f"view {view.table} failed on {event.event_type} of "
                        f"{event.aggregate_type} {event.aggregate_id!r} "
                        f"sequence {event.sequence}: {exc}"
                    ) from exc
            if from_state:
                _put_states(view, rows, from_state)
            _finish(view, rows, len(events))
            for table_rows in rows.values():
                table_rows.flush(tx)

    @contextmanager
    def deferred(self, tx: StoreTransaction) -> Iterator[None]:
        """Project every event appended in this block once, at its end, in one pass.

        Inside the block `apply` only collects; on a normal exit all collected events go
        through the views together (each row read and written once instead of once per
        command), still inside the caller's transaction. On an exception nothing is
        projected and the transaction rolls back anyway. Views must not be read through
        the store inside the block (a view's own rows are fine: `ViewRows` caches them).
        """
        key = id(tx)
        if key in self._deferred:
            yield
            return
        collected = _Pending()
        self._deferred[key] = collected
        try:
            yield
        finally:
            del self._deferred[key]
        self.apply(tx, collected.events, collected.decoded, states=list(collected.states.values()))

    def rebuild(self, store: EventStore, table: str, batch_size: int = 5000) -> int:
        """Recompute one view from all events, atomically. Returns the events read."""
        view = self.view(table)
        count = 0
        with store.transaction() as tx:
            for view_table in view.tables:
                tx.view_clear(view_table)
            rows = {t: ViewRows(tx, t) for t in view.tables}
            for t in rows.values():
                t.mark_cleared()
            after = 0
            types = sorted(view.aggregate_types)
            while True:
                batch = tx.read_all(after, batch_size, types)
                if not batch:
                    break
                for event in batch:
                    typed = self.decode(event)
                    try:
                        view.apply(rows, event, typed)
                    except Exception as exc:
                        raise ProjectionError(
                            f"view {view.table} failed during rebuild on {event.event_type} "
                            f"of {event.aggregate_type} {event.aggregate_id!r} "
                            f"sequence {event.sequence}: {exc}"
                        ) from exc
                count += len(batch)
                after = batch[-1].position
            _finish(view, rows, count)
            for table_rows in rows.values():
                table_rows.flush(tx)
        return count


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class AggregateState:
    """An aggregate's state right after the event with sequence ``version``."""

    aggregate_type: str
    aggregate_id: str
    version: int
    state: Any


@dataclass
class _Pending:
    """What a `Projector.deferred` block collected for its one projection pass."""

    events: list[StoredEvent] = field(default_factory=list)
    decoded: list[Any] = field(default_factory=list)
    states: dict[tuple[str, str], AggregateState] = field(default_factory=dict)


def _states_for(
    view: View,
    events: Sequence[StoredEvent],
    states: Mapping[tuple[str, str], AggregateState],
) -> dict[str, AggregateState]:
    """The aggregates of ``view.state_of`` whose rows can be written from their state.

    Only when the state is at the sequence of the aggregate's last event in this pass:
    an older or newer state (events appended by someone without a state) is not the
    fold of exactly these events, and those aggregates are folded event by event.
    """
    kind = view.state_of
    if kind is None:
        return {}
    last: dict[str, int] = {}
    for event in events:
        if event.aggregate_type == kind:
            last[event.aggregate_id] = max(last.get(event.aggregate_id, 0), event.sequence)
    chosen: dict[str, AggregateState] = {}
    for aggregate_id, sequence in last.items():
        state = states.get((kind, aggregate_id))
        if state is not None and state.version == sequence:
            chosen[aggregate_id] = state
    return chosen


def _put_states(
    view: View, rows: Mapping[str, ViewRows], states: Mapping[str, AggregateState]
) -> None:
    table = rows[view.table]
    for aggregate_id, state in states.items():
        try:
            payload = view.state_row(aggregate_id, state.state)
        except Exception as exc:
            raise ProjectionError(
                f"view {view.table} failed on the state of {state.aggregate_type} "
                f"{aggregate_id!r} at version {state.version}: {exc}"
            ) from exc
        table.put(aggregate_id, payload, version=state.version)


def _finish(view: View, rows: Mapping[str, ViewRows], events: int) -> None:
    try:
        view.finish(rows)
    except Exception as exc:
        raise ProjectionError(
            f"view {view.table} failed finishing a batch of {events} events: {exc}"
        ) from exc
