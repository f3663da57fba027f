"""Tracked reactions to the global event log (process applications).

A `Reactor` reads events of some aggregate types in global order from a named
checkpoint and turns the ones it cares about into commands. The commands and the new
checkpoint are written in ONE transaction, so after a crash the reaction resumes
exactly where it stopped: nothing is skipped and nothing is applied twice.

Events it does not care about (an `Enriched` trade, a Position's own fill) only move
an in-memory mark instead of opening a transaction of their own; the stored
checkpoint catches up with the next real reaction, or every ``checkpoint_every``
events. A restart may therefore re-read a stretch of ignored events, which is
harmless: they are ignored again.

A batch that fails is retried one event per transaction to isolate the culprit; an
event whose reaction still fails raises `ReactionFailed` (the manager stops loudly)
rather than being skipped, because a lost reaction is lost money.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import structlog

from hedgebot.eventstore.envelope import StoredEvent
from hedgebot.eventstore.errors import ConcurrencyError, TransientStoreError
from hedgebot.eventstore.registry import EventRegistry
from hedgebot.eventstore.store import EventStore, StoreTransaction

log = structlog.get_logger(__name__)

Handle = Callable[[StoreTransaction, StoredEvent, Any], int]
Wants = Callable[[StoredEvent, Any], bool]
#: e.g. `CommandHandler.batch`: project the batch's commands in one pass at its end
Batch = Callable[[StoreTransaction], AbstractContextManager[None]]


class ReactionFailed(RuntimeError):
    """A reaction failed even on its own; the reactor will not skip past it."""


class Reactor:
    def __init__(
        self,
        store: EventStore,
        name: str,
        registries: Sequence[EventRegistry],
        wants: Wants,
        handle: Handle,
        *,
        batch_size: int = 500,
        checkpoint_every: int = 10_000,
        max_attempts: int = 5,
        batch: Batch | None = None,
        event_types: Collection[str] | None = None,
    ) -> None:
        """``event_types``, when given, names the only event types the reactor reacts
        to: other events are not even decoded (they count as unwanted)."""
        self.store = store
        self.event_types = None if event_types is None else frozenset(event_types)
        self.batch = batch or (lambda tx: nullcontext())
        self.name = name
        self.registries = {r.aggregate_type: r for r in registries}
        self.aggregate_types = tuple(self.registries)
        self.wants = wants
        self.handle = handle
        self.batch_size = batch_size
        self.checkpoint_every = checkpoint_every
        self.max_attempts = max_attempts
        self._seen = 0
        #: the stored checkpoint as this reactor last read or wrote it (None: not yet
        #: read). Another instance may move it on; inside each transaction the stored
        #: value is read again before reacting, so a stale copy only re-reads events.
        self._stored: int | None = None
        self._writing = 0

    def position(self) -> int:
        """How far the reactor has read (stored checkpoint or the in-memory mark)."""
        return max(self.store.get_checkpoint(self.name), self._seen)

    def process_batch(self) -> int:
        """React to the next batch; returns the number of events read (0 = caught up)."""
        stored = self._stored
        if stored is None:
            stored = self._stored = self.store.get_checkpoint(self.name)
        events = self.store.read_all(max(stored, self._seen), self.batch_size, self.aggregate_types)
        if not events:
            return 0
        relevant = []
        for event in events:
            if self.event_types is not None and event.event_type not in self.event_types:
                continue
            decoded = self.registries[event.aggregate_type].decode(event)
            if self.wants(event, decoded):
                relevant.append((event, decoded))
        last = events[-1].position
        if not relevant and last - stored < self.checkpoint_every:
            self._seen = last
            return len(events)
        self._stored = None  # unknown until the transaction below has committed
        try:
            with self.store.transaction() as tx, self.batch(tx):
                self._react(tx, relevant, last)
            self._stored = self._writing
        except Exception as exc:
            log.warning("reaction_batch_failed", reactor=self.name, error=str(exc))
            self._one_by_one(relevant, last)
        self._seen = last
        return len(events)

    def _react(
        self, tx: StoreTransaction, relevant: Sequence[tuple[StoredEvent, Any]], last: int
    ) -> int:
        done = tx.get_checkpoint(self.name)  # another instance may have moved it
        reacted = 0
        for event, typed in relevant:
            if event.position > done:
                reacted += self.handle(tx, event, typed)
        if last > done:
            tx.set_checkpoint(self.name, last)
        self._writing = max(last, done)  # the stored checkpoint once this commits
        return reacted

    def _one_by_one(self, relevant: Sequence[tuple[StoredEvent, Any]], last: int) -> None:
        for event, typed in relevant:
            self._react_alone(event, typed)
        with self.store.transaction() as tx:
            if last > tx.get_checkpoint(self.name):
                tx.set_checkpoint(self.name, last)

    def _react_alone(self, event: StoredEvent, typed: Any) -> None:
        """React to one event in its own transaction.

        A conflict or a transient store condition (busy database, lost connection) is
        retried up to ``max_attempts`` times: it says nothing about the event, and
        stopping the manager for it would stall hedging. Any other failure is final.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.store.transaction() as tx:
                    self._react(tx, [(event, typed)], event.position)
                return
            except (ConcurrencyError, TransientStoreError) as exc:
                if attempt < self.max_attempts:
                    log.warning(
                        "reaction_retry",
                        reactor=self.name,
                        position=event.position,
                        attempt=attempt,
                        error=type(exc).__name__,
                    )
                    continue
                raise self._failed(event, exc) from exc
            except Exception as exc:
                raise self._failed(event, exc) from exc

    def _failed(self, event: StoredEvent, exc: Exception) -> ReactionFailed:
        return ReactionFailed(
            f"{self.name}: cannot react to {event.event_type} of "
            f"{event.aggregate_type} {event.aggregate_id!r} (position {event.position}): "
            f"{exc}"
        )

    def drain(self) -> int:
        total = 0
        while consumed := self.process_batch():
            total += consumed
        return total
