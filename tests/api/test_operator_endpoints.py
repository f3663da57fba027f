"""Mutating endpoints: bearer token, threshold, resume hedging, manual orders, Schwab login."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.brokers.fakes import FakeSchwab, run_in_thread
from hedgebot.brokers.paper import PaperBroker
from hedgebot.brokers.schwab.auth import Authenticated, read_view_state
from hedgebot.eventstore import codec
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.offchain_order.order_manager import idempotency_key
from tests.api.conftest import TOKEN, TestClient
from tests.brokers.harness import ENCRYPTION_KEY


def event_types(path: Path, aggregate_type: str, aggregate_id: str) -> list[str]:
    store = SqliteEventStore(str(path))
    try:
        return [e.event_type for e in store.load_stream(aggregate_type, aggregate_id)]
    finally:
        store.close()


MUTATIONS: list[tuple[str, str, dict[str, object]]] = [
    ("PUT", "/positions/AAPL/threshold", {"shares": "2"}),
    ("POST", "/positions/TSLA/resume", {}),
    ("POST", "/orders", {"symbol": "AAPL", "quantity": "1", "direction": "BUY"}),
    ("POST", "/auth/schwab/refresh", {"redirect_url": "https://127.0.0.1/?code=x"}),
]


def test_without_a_configured_token_mutations_are_disabled(
    make_client: Callable[..., TestClient], desk_path: Path
) -> None:
    client = make_client(token=None)
    for method, path, body in MUTATIONS:
        response = client.request(
            method, path, json=body, headers={"Authorization": "Bearer anything"}
        )
        assert response.status_code == 403, path
        assert response.json() == {
            "detail": "mutating endpoints are disabled: no API token is configured "
            "(set HEDGEBOT_API__TOKEN)"
        }
    assert event_types(desk_path, "Position", "AAPL")[-1] != "PositionEvent::ThresholdUpdated"


def test_a_missing_or_wrong_token_is_401_and_changes_nothing(
    client: TestClient, desk_path: Path
) -> None:
    before = event_types(desk_path, "Position", "AAPL")
    for headers in (
        {},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
    ):
        for method, path, body in MUTATIONS:
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (headers, path)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in response.text
    assert event_types(desk_path, "Position", "AAPL") == before


def test_put_threshold_records_the_change_and_returns_the_position(
    client: TestClient, auth: dict[str, str], desk_path: Path
) -> None:
    response = client.put("/positions/TSLA/threshold", json={"dollars": "500.00"}, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["threshold"] == {"kind": "dollars", "value": "500.00"}
    assert body["hedging_suspended"] is False
    assert event_types(desk_path, "Position", "TSLA")[-1] == "PositionEvent::ThresholdUpdated"
    assert client.get("/positions/TSLA").json() == body


def test_put_threshold_rejects_bad_bodies_with_422(
    client: TestClient, auth: dict[str, str]
) -> None:
    for body in (
        {},
        {"shares": "1", "dollars": "1"},
        {"shares": "0"},
        {"shares": "-1"},
        {"shares": 5},
        {"shares": "1e3"},
        {"shares": "NaN"},
        {"lots": "5"},
    ):
        response = client.put("/positions/AAPL/threshold", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)


def test_put_threshold_of_an_unknown_position_is_404(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.put("/positions/MSFT/threshold", json={"shares": "1"}, headers=auth)
    assert response.status_code == 404
    assert response.json() == {
        "detail": "no position for 'MSFT' (positions exist once a fill was seen)"
    }


def test_resume_lifts_a_suspension_once_then_conflicts(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.post("/positions/TSLA/resume", headers=auth)
    assert response.status_code == 200
    assert response.json()["hedging_suspended"] is False
    again = client.post("/positions/TSLA/resume", headers=auth)
    assert again.status_code == 409
    assert again.json() == {"detail": "automatic hedging of TSLA is not suspended"}


def test_post_order_places_a_manual_order_and_returns_it_filled(
    client: TestClient, auth: dict[str, str], broker: PaperBroker, desk_path: Path
) -> None:
    broker.set_price("MSFT", Decimal("410.10"))
    response = client.post(
        "/orders",
        json={"symbol": "MSFT", "quantity": "2", "direction": "SELL", "wait_seconds": 0},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["execution_id"], order["status"], order["direction"]) == (7, "FILLED", "SELL")
    assert (order["shares_filled"], order["price_cents"], order["note"]) == ("2", 41010, None)
    placed_at = codec.parse_datetime(order["placed_at"])
    assert broker.orders_for_key(idempotency_key("hedgebot", 7, placed_at)) == 1
    assert broker.orders_placed == 1
    assert event_types(desk_path, "OffchainOrder", "7") == [
        "OffchainOrderEvent::Placed",
        "OffchainOrderEvent::Submitted",
        "OffchainOrderEvent::Filled",
    ]
    assert client.get("/orders/7").json()["status"] == "FILLED"
    assert client.get("/positions/MSFT").status_code == 404  # not a hedge


def test_a_rejected_manual_order_is_created_as_failed(
    client: TestClient, auth: dict[str, str], broker: PaperBroker
) -> None:
    broker.reject_symbols.add("TSLA")
    response = client.post(
        "/orders", json={"symbol": "TSLA", "quantity": "1", "direction": "BUY"}, headers=auth
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["note"]) == ("FAILED", "rejected by the broker")
    assert body["error"] == "rejected by broker: paper broker rejects TSLA (configured)"


def test_bad_or_refused_orders_record_nothing(
    client: TestClient, auth: dict[str, str], desk_path: Path
) -> None:
    cases = [
        ({"symbol": "tAAPL", "quantity": "1", "direction": "BUY"}, 409),
        ({"symbol": "AAPL.B.CLASS.X", "quantity": "1", "direction": "BUY"}, 422),
        ({"symbol": "AAPL", "quantity": "0", "direction": "BUY"}, 422),
        ({"symbol": "AAPL", "quantity": "1", "direction": "HOLD"}, 422),
        ({"symbol": "AAPL", "quantity": "1", "direction": "BUY", "wait_seconds": 999}, 422),
        ({"symbol": "AAPL", "quantity": "1.5", "direction": "BUY"}, 409),
    ]
    for body, status in cases:
        response = client.post("/orders", json=body, headers=auth)
        assert response.status_code == status, (body, response.text)
    assert event_types(desk_path, "OffchainOrder", "7") == []
    fractional = client.post(
        "/orders", json={"symbol": "AAPL", "quantity": "1.5", "direction": "BUY"}, headers=auth
    )
    assert fractional.json() == {
        "detail": "the dry_run broker takes quantities in steps of 1, not 1.5"
    }


def test_a_standalone_api_without_broker_secrets_answers_503(
    make_client: Callable[..., TestClient], auth: dict[str, str]
) -> None:
    client = make_client(with_broker=False, HEDGEBOT_BROKER__KIND="alpaca")
    response = client.post(
        "/orders", json={"symbol": "AAPL", "quantity": "1", "direction": "BUY"}, headers=auth
    )
    assert response.status_code == 503
    assert response.json()["detail"].startswith("no broker available: broker.alpaca.api_key")


def test_schwab_login_is_refused_when_the_broker_is_not_schwab(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.post(
        "/auth/schwab/refresh", json={"redirect_url": "https://127.0.0.1/?code=abc"}, headers=auth
    )
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Schwab login applies only when broker.kind")


@pytest.fixture
def schwab() -> Iterator[FakeSchwab]:
    with run_in_thread(FakeSchwab()) as server:
        server.add_login_code("C0DE.xyz@")
        yield server


def schwab_client(make_client: Callable[..., TestClient], fake: FakeSchwab) -> TestClient:
    return make_client(
        HEDGEBOT_BROKER__KIND="schwab",
        HEDGEBOT_BROKER__SCHWAB__APP_KEY=fake.app_key,
        HEDGEBOT_BROKER__SCHWAB__APP_SECRET=fake.app_secret,
        HEDGEBOT_BROKER__SCHWAB__ENCRYPTION_KEY=ENCRYPTION_KEY.hex(),
        HEDGEBOT_BROKER__SCHWAB__BASE_URL=fake.base_url,
    )


def test_schwab_login_exchanges_the_code_and_stores_encrypted_tokens(
    make_client: Callable[..., TestClient],
    schwab: FakeSchwab,
    auth: dict[str, str],
    desk_path: Path,
) -> None:
    client = schwab_client(make_client, schwab)
    response = client.post(
        "/auth/schwab/refresh",
        json={"redirect_url": "https://127.0.0.1/?code=C0DE.xyz%40&session=s"},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "authenticated"
    assert body["access_expires_at"] == "2025-01-07T16:30:00Z"
    assert body["refresh_expires_at"] == "2025-01-14T16:00:00Z"
    access, refresh = schwab.issued_tokens
    assert access not in response.text and refresh not in response.text
    assert schwab.code_exchanges == 1
    assert event_types(desk_path, "SchwabAuth", "schwab") == ["TokensStored"]
    store = SqliteEventStore(str(desk_path))
    try:
        view = store.view_get("schwab_auth_view", "schwab")
    finally:
        store.close()
    assert isinstance(read_view_state(view.payload if view else None), Authenticated)
    history = client.get("/openapi.json")  # the API never shows tokens anywhere
    assert access not in history.text


def test_schwab_login_with_a_url_without_code_is_422_and_exchanges_nothing(
    make_client: Callable[..., TestClient], schwab: FakeSchwab, auth: dict[str, str]
) -> None:
    client = schwab_client(make_client, schwab)
    response = client.post(
        "/auth/schwab/refresh",
        json={"redirect_url": "https://127.0.0.1/?error=access_denied"},
        headers=auth,
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "redirect_url"]
    assert "no 'code' parameter" in error["msg"]
    assert schwab.code_exchanges == 0


def test_schwab_login_with_an_unknown_code_is_502_without_details_of_the_code(
    make_client: Callable[..., TestClient], schwab: FakeSchwab, auth: dict[str, str]
) -> None:
    client = schwab_client(make_client, schwab)
    response = client.post(
        "/auth/schwab/refresh",
        json={"redirect_url": "https://127.0.0.1/?code=WRONG-CODE-123"},
        headers=auth,
    )
    assert response.status_code == 502, response.text
    assert response.json()["detail"].startswith("Schwab code exchange failed")
    assert "WRONG-CODE-123" not in response.text
