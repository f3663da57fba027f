"""The fakes against independent clients: schwab-py's async client (with its own OAuth
session) and plain HTTP checks of Alpaca's wire conventions."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from hedgebot.brokers.fakes import FakeAlpaca, FakeSchwab
from hedgebot.clock import ManualClock

pytestmark = pytest.mark.anyio


class _ToFake(httpx.AsyncBaseTransport):
    """Sends schwab-py's requests for https://api.schwabapi.com to the fake."""

    def __init__(self, base_url: str) -> None:
        self.target = httpx.URL(base_url)
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme=self.target.scheme, host=self.target.host, port=self.target.port
        )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def schwab(clock: ManualClock) -> AsyncIterator[FakeSchwab]:
    async with FakeSchwab(clock=clock) as fake:
        yield fake


async def test_schwab_py_refreshes_places_and_reads_an_order_at_the_fake(
    schwab: FakeSchwab, clock: ManualClock
) -> None:
    with warnings.catch_warnings(record=True):  # authlib / websockets deprecation notices
        from authlib.integrations.httpx_client import AsyncOAuth2Client
        from schwab.auth import TOKEN_ENDPOINT, TokenMetadata
        from schwab.client import AsyncClient
        from schwab.orders.equities import equity_buy_market
        from schwab.utils import Utils

    access, refresh = schwab.issue_tokens(clock.now() - timedelta(hours=1))
    issued = int((clock.now() - timedelta(hours=1)).timestamp())
    stored: dict[str, Any] = {
        "creation_timestamp": issued,
        "token": {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": 1800,
            "scope": "api",
            "expires_at": issued + 1800,  # long expired: authlib must refresh first
        },
    }
    written: list[Any] = []
    meta = TokenMetadata.from_loaded_token(stored, lambda token, *a, **k: written.append(token))
    write = meta.wrapped_token_write_func()

    async def update_token(token: Any, *args: Any, **kwargs: Any) -> None:
        write(token, *args, **kwargs)

    session = AsyncOAuth2Client(
        schwab.app_key,
        client_secret=schwab.app_secret,
        token=meta.token,
        token_endpoint=TOKEN_ENDPOINT,
        update_token=update_token,
        leeway=300,
        transport=_ToFake(schwab.base_url),
    )
    client = AsyncClient(schwab.app_key, session, token_metadata=meta, enforce_enums=True)
    try:
        accounts = (await client.get_account_numbers()).json()
        account_hash = accounts[0]["hashValue"]
        placed = await client.place_order(account_hash, equity_buy_market("AAPL", 3))
        order_id = Utils(client, account_hash).extract_order_id(placed)
        order = (await client.get_order(order_id, account_hash)).json()
    finally:
        await client.close_async_session()
    assert placed.status_code == 201
    assert order_id == 1000
    assert order["status"] == "FILLED"
    assert order["filledQuantity"] == 3
    assert schwab.refreshes == 1
    assert written and written[-1]["token"]["access_token"] != access


async def test_alpaca_fake_answers_with_string_numbers_and_unique_client_ids(
    clock: ManualClock,
) -> None:
    async with FakeAlpaca(clock=clock) as fake, httpx.AsyncClient(base_url=fake.base_url) as http:
        headers = {"APCA-API-KEY-ID": fake.api_key, "APCA-API-SECRET-KEY": fake.api_secret}
        body = {
            "symbol": "AAPL",
            "qty": "1.5",
            "side": "buy",
            "type": "market",
            "time_in_force": "day",
            "client_order_id": "cid-1",
        }
        created = await http.post("/v2/orders", json=body, headers=headers)
        duplicate = await http.post("/v2/orders", json=body, headers=headers)
        filled = await http.get(f"/v2/orders/{created.json()['id']}", headers=headers)
        anonymous = await http.get("/v2/clock")
    assert created.status_code == 200
    assert created.json()["qty"] == "1.5" and created.json()["filled_qty"] == "0"
    assert duplicate.status_code == 422
    assert duplicate.json()["message"] == "client_order_id must be unique"
    assert filled.json()["status"] == "filled"
    assert filled.json()["filled_avg_price"] == "100"
    assert anonymous.status_code == 401
