"""An API over the seeded desk: real store, real command handlers, the paper broker."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette suggests `httpx2`; the project pins httpx, which TestClient still uses.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from hedgebot.api import HealthProbes, create_app
from hedgebot.bootstrap import Core, build_core
from hedgebot.brokers.paper import PaperBroker
from hedgebot.clock import ManualClock
from hedgebot.config import Settings, load_settings
from hedgebot.eventstore.sqlite import SqliteEventStore
from tests.api.desk import START
from tests.api.fixtures import desk_path, desk_template, desk_url

__all__ = ["desk_path", "desk_template", "desk_url"]

TOKEN = "test-operator-token-5f1c"


def desk_settings(path: Path, **environ: str) -> Settings:
    return load_settings(None, environ={"HEDGEBOT_DATABASE__URL": f"sqlite://{path}", **environ})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START.replace(hour=16))


@pytest.fixture
def core(desk_path: Path, clock: ManualClock) -> Iterator[Core]:
    built = build_core(
        desk_settings(desk_path),
        clock=clock,
        store=SqliteEventStore(str(desk_path), synchronous="NORMAL"),
    )
    yield built
    built.close()


@pytest.fixture
def broker(clock: ManualClock) -> PaperBroker:
    return PaperBroker(clock=clock, fill_price=None)


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(
    core: Core, desk_path: Path, broker: PaperBroker
) -> Iterator[Callable[..., TestClient]]:
    """``make_client(token=…, probes=…, environ=…)``: a TestClient over a fresh app."""
    clients: list[TestClient] = []

    def make(
        *,
        token: str | None = TOKEN,
        probes: HealthProbes | None = None,
        with_broker: bool = True,
        **environ: str,
    ) -> TestClient:
        if token is not None:
            environ["HEDGEBOT_API__TOKEN"] = token
        settings = desk_settings(desk_path, **environ)
        app: FastAPI = create_app(core, settings, probes, broker=broker if with_broker else None)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
