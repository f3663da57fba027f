"""GET endpoints over the seeded desk: filters, pagination, 404s and 422s."""

from __future__ import annotations

from tests.api.conftest import TOKEN, TestClient


def test_trades_are_newest_first_with_decimal_strings(client: TestClient) -> None:
    response = client.get("/trades")
    assert response.status_code == 200
    page = response.json()
    assert (page["total"], page["limit"], page["offset"], page["next_offset"]) == (5, 50, 0, None)
    assert [(t["symbol"], t["direction"], t["amount"], t["price_usdc"]) for t in page["items"]] == [
        ("tNVDA", "BUY", "1.5", "140"),
        ("TSLA0x", "SELL", "2.5", "250"),
        ("tAAPL", "SELL", "1.5", "101"),
        ("tAAPL", "BUY", "0.7", "102"),
        ("tAAPL", "BUY", "0.6", "100"),
    ]
    assert page["items"][0]["base_symbol"] == "NVDA"
    assert page["items"][0]["created_at"] == "2025-01-07T15:15:00Z"


def test_trades_paginate_with_limit_and_offset_without_gaps(client: TestClient) -> None:
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = client.get("/trades", params={"limit": 2, "offset": offset}).json()
        assert len(page["items"]) <= 2
        seen += [t["trade_id"] for t in page["items"]]
        offset = page["next_offset"]
    everything = [t["trade_id"] for t in client.get("/trades").json()["items"]]
    assert seen == everything
    assert len(set(seen)) == 5


def test_trades_filter_by_symbol_and_time_window(client: TestClient) -> None:
    page = client.get(
        "/trades",
        params={
            "symbol": "AAPL",
            "since": "2025-01-07T15:02:00Z",
            "until": "2025-01-07T10:05:00-05:00",
        },
    ).json()
    assert [(t["direction"], t["amount"]) for t in page["items"]] == [("BUY", "0.7")]
    assert page["total"] == 1
    onchain_symbol = client.get("/trades", params={"symbol": "TSLA0x"}).json()
    assert [t["amount"] for t in onchain_symbol["items"]] == ["2.5"]


def test_one_trade_by_transaction_and_log_index(client: TestClient) -> None:
    first = client.get("/trades").json()["items"][-1]
    response = client.get(f"/trades/{first['tx_hash'].upper().replace('0X', '0x')}/0")
    assert response.status_code == 200
    assert response.json() == first
    missing = client.get(f"/trades/{first['tx_hash']}/7")
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"no trade {first['tx_hash']}:7"}


def test_bad_query_and_path_parameters_are_422(client: TestClient) -> None:
    for path, params in [
        ("/trades", {"limit": 0}),
        ("/trades", {"limit": 1001}),
        ("/trades", {"offset": -1}),
        ("/trades", {"since": "yesterday"}),
        ("/trades", {"since": "1736262000"}),
        ("/trades", {"until": "2025-01-07T15:00:00"}),
        ("/trades", {"until": "2025-02-30T15:00:00Z"}),
        ("/trades", {"symbol": "not a symbol"}),
        ("/trades/0x1234/0", {}),
        ("/trades/" + "0x" + "ab" * 32 + "/-1", {}),
        ("/orders", {"status": "DONE"}),
        ("/orders/0", {}),
        ("/orders/abc", {}),
        ("/pnl", {"order": "sideways"}),
        ("/pnl", {"until": "0001-01-01T00:00:00+01:00"}),
        ("/positions/AA PL", {}),
    ]:
        response = client.get(path, params=params)
        assert response.status_code == 422, (path, params, response.text)
        assert "detail" in response.json()


def test_positions_with_exposure_threshold_and_pending_hedge(client: TestClient) -> None:
    items = {p["symbol"]: p for p in client.get("/positions").json()["items"]}
    assert set(items) == {"AAPL", "NVDA", "TSLA"}
    nvda = items["NVDA"]
    assert (nvda["net"], nvda["exposure_usdc"], nvda["last_price_usdc"]) == ("1.5", "210.0", "140")
    assert (nvda["pending_execution_id"], nvda["pending_direction"]) == (6, "SELL")
    assert items["TSLA"]["hedging_suspended"] is True
    assert (
        items["TSLA"]["last_error"] == "rejected by broker: paper broker rejects TSLA (configured)"
    )
    one = client.get("/positions/TSLA")
    assert one.status_code == 200
    assert one.json() == items["TSLA"]


def test_an_unknown_position_is_404_with_a_clear_body(client: TestClient) -> None:
    response = client.get("/positions/MSFT")
    assert response.status_code == 404
    assert response.json() == {"detail": "no position for MSFT"}


def test_orders_filter_by_status_and_symbol(client: TestClient) -> None:
    failed = client.get("/orders", params={"status": "FAILED"}).json()
    assert [o["execution_id"] for o in failed["items"]] == [5, 4, 3]
    aapl = client.get("/orders", params={"symbol": "AAPL"}).json()
    assert [(o["execution_id"], o["price_cents"], o["status"]) for o in aapl["items"]] == [
        (2, 10150, "FILLED"),
        (1, 10300, "FILLED"),
    ]
    page = client.get("/orders", params={"limit": 4, "offset": 4}).json()
    assert ([o["execution_id"] for o in page["items"]], page["total"]) == ([2, 1], 6)


def test_order_counts_and_one_order(client: TestClient) -> None:
    assert client.get("/orders/counts").json() == {
        "PENDING": 0,
        "SUBMITTED": 1,
        "FILLED": 2,
        "FAILED": 3,
    }
    nvda = client.get("/orders/6").json()
    assert (nvda["symbol"], nvda["status"], nvda["broker_order_id"]) == (
        "NVDA",
        "SUBMITTED",
        "PAPER-3",
    )
    missing = client.get("/orders/99")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no order with execution id 99"}


def test_pnl_rows_and_totals_for_a_symbol(client: TestClient) -> None:
    body = client.get("/pnl", params={"symbol": "AAPL"}).json()
    assert [(r["trade_type"], r["realized_pnl"], r["cumulative_pnl"]) for r in body["items"]] == [
        ("ONCHAIN", None, "0"),
        ("ONCHAIN", None, "0"),
        ("OFFCHAIN", "2.2", "2.2"),
        ("ONCHAIN", "-0.3", "1.9"),
        ("OFFCHAIN", "-0.5", "1.4"),
    ]
    assert body["summary"]["total_realized_pnl"] == "1.4"
    assert [s["symbol"] for s in body["summary"]["symbols"]] == ["AAPL"]


def test_pnl_pages_newest_first_and_windows_by_time(client: TestClient) -> None:
    newest = client.get("/pnl", params={"order": "desc", "limit": 2}).json()
    assert newest["total"] == 7
    assert [r["symbol"] for r in newest["items"]] == ["NVDA", "TSLA"]
    assert newest["next_offset"] == 2
    window = client.get(
        "/pnl", params={"since": "2025-01-07T15:03:00Z", "until": "2025-01-07T15:06:00Z"}
    ).json()
    assert [(r["symbol"], r["trade_direction"]) for r in window["items"]] == [
        ("AAPL", "SELL"),
        ("AAPL", "BUY"),
    ]
    assert window["summary"]["total_realized_pnl"] == "-0.8"


def test_no_response_carries_the_api_token(client: TestClient) -> None:
    for path in ("/trades", "/positions", "/orders", "/orders/counts", "/pnl", "/health",
                 "/metrics", "/openapi.json", "/"):  # fmt: skip
        response = client.get(path)
        assert response.status_code in (200, 503), path
        assert TOKEN not in response.text, path
