"""Fixtures of the event-store contract suite (backend specifics in backends.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hedgebot.eventstore.store import EventStore
from tests.eventstore.backends import install_ledger_view, open_second_connection


@pytest.fixture
def ledger_store(store: EventStore, request: pytest.FixtureRequest) -> EventStore:
    """The parametrised `store`, with the example ``ledger_view`` table created."""
    install_ledger_view(store, request)
    return store


@pytest.fixture
def second_store(ledger_store: EventStore, request: pytest.FixtureRequest) -> Iterator[EventStore]:
    """A second connection to the database of `ledger_store`."""
    other, close = open_second_connection(ledger_store, request)
    yield other
    close()
