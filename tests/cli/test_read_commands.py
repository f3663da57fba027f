"""`hedgebot trades / positions / orders / events` on the seeded desk (tests/api/desk.py)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hedgebot.cli import app
from hedgebot.eventstore.errors import EventStoreError

runner = CliRunner(env={"COLUMNS": "200", "DATABASE_URL": None, "HEDGEBOT_CONFIG": None})


def run(*args: str) -> object:
    return runner.invoke(app, list(args))


def table_rows(output: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def test_trades_prints_the_fills_newest_first_as_a_table(desk_url: str) -> None:
    result = runner.invoke(app, ["trades", "--database-url", desk_url])
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert [(r[2], r[3], r[4], r[5]) for r in rows] == [
        ("tNVDA", "BUY", "1.5", "140"),
        ("TSLA0x", "SELL", "2.5", "250"),
        ("tAAPL", "SELL", "1.5", "101"),
        ("tAAPL", "BUY", "0.7", "102"),
        ("tAAPL", "BUY", "0.6", "100"),
    ]
    assert "1–5 of 5" in result.stdout


def test_trades_json_pages_with_exact_decimal_strings(desk_url: str) -> None:
    first = runner.invoke(app, ["trades", "--database-url", desk_url, "--limit", "2", "--json"])
    assert first.exit_code == 0, first.output
    page = json.loads(first.stdout)
    assert (page["total"], page["limit"], page["offset"], page["next_offset"]) == (5, 2, 0, 2)
    assert [t["amount"] for t in page["items"]] == ["1.5", "2.5"]
    assert page["items"][0]["price_usdc"] == "140"
    assert page["items"][0]["block_timestamp"] == "2025-01-07T15:15:00Z"

    last = runner.invoke(
        app, ["trades", "--database-url", desk_url, "--limit", "2", "--offset", "4", "--json"]
    )
    tail = json.loads(last.stdout)
    assert [t["amount"] for t in tail["items"]] == ["0.6"]
    assert tail["next_offset"] is None


def test_trades_filter_by_base_symbol_and_time(desk_url: str) -> None:
    result = runner.invoke(
        app,
        [
            "trades",
            "--database-url",
            desk_url,
            "--symbol",
            "AAPL",
            "--since",
            "2025-01-07T15:02:00Z",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)["items"]
    assert [(t["symbol"], t["direction"], t["amount"]) for t in items] == [
        ("tAAPL", "SELL", "1.5"),
        ("tAAPL", "BUY", "0.7"),
    ]


def test_a_bad_since_is_a_usage_error_with_exit_code_2(desk_url: str) -> None:
    result = runner.invoke(app, ["trades", "--database-url", desk_url, "--since", "yesterday"])
    assert result.exit_code == 2
    assert "invalid time 'yesterday'" in result.output


def test_a_limit_out_of_range_is_a_usage_error(desk_url: str) -> None:
    result = runner.invoke(app, ["orders", "--database-url", desk_url, "--limit", "0"])
    assert result.exit_code == 2
    assert "--limit" in result.output


def test_positions_table_shows_exposure_pending_hedge_and_suspension(desk_url: str) -> None:
    result = runner.invoke(app, ["positions", "--database-url", desk_url])
    assert result.exit_code == 0, result.output
    rows = {r[0]: r for r in table_rows(result.stdout)}
    assert set(rows) == {"AAPL", "NVDA", "TSLA"}
    assert rows["AAPL"][1:6] == ["-0.2", "1.3", "1.5", "101", "-20.20"]
    assert rows["NVDA"][7] == "#6 SELL 1"
    assert rows["TSLA"][8] == "SUSPENDED (3 failures)"
    assert rows["AAPL"][8] == "active"


def test_positions_json_has_decimal_strings_and_thresholds(desk_url: str) -> None:
    result = runner.invoke(app, ["positions", "--database-url", desk_url, "--json"])
    assert result.exit_code == 0, result.output
    by_symbol = {p["symbol"]: p for p in json.loads(result.stdout)["items"]}
    assert by_symbol["TSLA"]["net"] == "-2.5"
    assert by_symbol["TSLA"]["exposure_usdc"] == "-625.0"
    assert by_symbol["TSLA"]["hedging_suspended"] is True
    assert by_symbol["NVDA"]["pending_execution_id"] == 6
    assert by_symbol["AAPL"]["threshold"] == {"kind": "shares", "value": "1"}


def test_orders_filter_by_status_in_any_case(desk_url: str) -> None:
    result = runner.invoke(
        app, ["orders", "--database-url", desk_url, "--status", "failed", "--json"]
    )
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert [o["execution_id"] for o in page["items"]] == [5, 4, 3]
    assert {o["error"] for o in page["items"]} == {
        "rejected by broker: paper broker rejects TSLA (configured)"
    }


def test_orders_table_shows_fill_prices_and_open_orders(desk_url: str) -> None:
    result = runner.invoke(app, ["orders", "--database-url", desk_url, "--symbol", "AAPL"])
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert [(r[0], r[2], r[4], r[5], r[6]) for r in rows] == [
        ("2", "BUY", "1", "101.50", "FILLED"),
        ("1", "SELL", "1", "103.00", "FILLED"),
    ]


def test_an_unknown_order_status_is_a_usage_error(desk_url: str) -> None:
    result = runner.invoke(app, ["orders", "--database-url", desk_url, "--status", "DONE"])
    assert result.exit_code == 2
    assert "invalid order status 'DONE'" in result.output


def test_events_shows_one_aggregates_history_decoded(desk_url: str) -> None:
    result = runner.invoke(app, ["events", "offchainorder", "6", "--database-url", desk_url])
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert [(r[0], r[2]) for r in rows if r[0]] == [
        ("1", "OffchainOrderEvent::Placed"),
        ("2", "OffchainOrderEvent::Submitted"),
    ]


def test_events_json_has_sequence_type_and_payload(desk_url: str) -> None:
    result = runner.invoke(
        app, ["events", "Position", "AAPL", "--database-url", desk_url, "--json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["aggregate_type"], document["aggregate_id"]) == ("Position", "AAPL")
    events = document["events"]
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["event_type"] == "PositionEvent::Initialized"
    assert events[0]["payload"]["Initialized"]["threshold"] == {"Shares": "1"}
    filled = [e for e in events if e["event_type"] == "PositionEvent::OffChainOrderFilled"]
    assert [e["payload"]["OffChainOrderFilled"]["price_cents"] for e in filled] == [10300, 10150]


def test_events_accepts_an_upper_case_transaction_hash(desk_url: str) -> None:
    trades = json.loads(runner.invoke(app, ["trades", "--database-url", desk_url, "--json"]).stdout)
    trade_id = trades["items"][-1]["trade_id"]
    result = runner.invoke(
        app, ["events", "OnChainTrade", trade_id.upper().replace("0X", "0x"), "--database-url",
              desk_url, "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["aggregate_id"] == trade_id


def test_events_of_an_unknown_aggregate_type_is_a_usage_error(desk_url: str) -> None:
    result = runner.invoke(app, ["events", "Account", "1", "--database-url", desk_url])
    assert result.exit_code == 2
    assert "unknown aggregate type 'Account'" in result.output


def test_events_of_a_malformed_execution_id_is_a_usage_error(desk_url: str) -> None:
    result = runner.invoke(app, ["events", "OffchainOrder", "abc", "--database-url", desk_url])
    assert result.exit_code == 2
    assert "invalid execution id 'abc'" in result.output


def test_events_of_an_aggregate_without_history_is_one_line_and_exit_1(desk_url: str) -> None:
    result = runner.invoke(app, ["events", "Position", "MSFT", "--database-url", desk_url])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no events for Position 'MSFT'"


def test_a_missing_database_is_one_readable_line_and_exit_1(tmp_path: Path) -> None:
    missing = f"sqlite://{tmp_path / 'nope.db'}"
    for command in (["trades"], ["positions"], ["orders"], ["events", "Position", "AAPL"]):
        result = runner.invoke(app, [*command, "--database-url", missing])
        assert result.exit_code == 1, command
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: cannot open SQLite database")
        assert "Traceback" not in result.output


def test_debug_lets_the_traceback_through(tmp_path: Path) -> None:
    missing = f"sqlite://{tmp_path / 'nope.db'}"
    result = runner.invoke(app, ["--debug", "positions", "--database-url", missing])
    assert result.exit_code == 1
    assert isinstance(result.exception, EventStoreError)


def test_the_database_url_comes_from_the_config_file_or_the_environment(
    desk_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "hedgebot.toml"
    config.write_text(f'[database]\nurl = "{desk_url}"\n')
    from_file = runner.invoke(app, ["positions", "--config", str(config), "--json"])
    assert from_file.exit_code == 0, from_file.output
    from_env = runner.invoke(app, ["positions", "--json"], env={"DATABASE_URL": desk_url})
    assert from_env.exit_code == 0, from_env.output
    assert json.loads(from_file.stdout) == json.loads(from_env.stdout)
    assert len(json.loads(from_env.stdout)["items"]) == 3


def test_the_installed_command_exits_2_on_bad_arguments_and_1_on_errors(tmp_path: Path) -> None:
    """The console script (not the test runner) maps usage errors to exit code 2."""
    import subprocess
    import sys

    hedgebot = Path(sys.executable).parent / "hedgebot"
    missing = f"sqlite://{tmp_path / 'nope.db'}"
    bad = subprocess.run(
        [str(hedgebot), "orders", "--status", "DONE", "--database-url", missing],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2, bad.stderr
    assert "invalid order status 'DONE'" in bad.stderr
    failed = subprocess.run(
        [str(hedgebot), "orders", "--database-url", missing],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 1
    assert failed.stderr.strip().startswith("error: cannot open SQLite database")
    assert "Traceback" not in failed.stderr


def test_events_of_schwab_auth_never_show_the_encrypted_tokens(desk_path: Path) -> None:
    from datetime import UTC, datetime

    from pydantic import SecretStr

    from hedgebot.brokers.schwab.auth import StoreTokens
    from hedgebot.brokers.schwab.crypto import TokenCipher
    from hedgebot.brokers.schwab.tokens import schwab_auth_handler
    from hedgebot.clock import ManualClock
    from hedgebot.eventstore.sqlite import SqliteEventStore

    cipher = TokenCipher(bytes(range(32)))
    access = cipher.encrypt(SecretStr("plain-access-token"))
    refresh = cipher.encrypt(SecretStr("plain-refresh-token"))
    fetched = datetime(2025, 1, 7, 15, 0, tzinfo=UTC)
    store = SqliteEventStore(str(desk_path))
    try:
        schwab_auth_handler(store, ManualClock(fetched)).execute(
            "schwab", StoreTokens(access_token=access, refresh_token=refresh, fetched_at=fetched)
        )
        stored_payload = store.load_stream("SchwabAuth", "schwab")[0].payload
    finally:
        store.close()
    url = f"sqlite://{desk_path}"
    ciphertexts = [part for part in stored_payload.split('"') if part.startswith("0x")]
    assert len(ciphertexts) == 2
    outputs = {}
    for mode, extra in (("json", ["--json"]), ("table", [])):
        result = runner.invoke(
            app, ["events", "SchwabAuth", "schwab", "--database-url", url, *extra]
        )
        assert result.exit_code == 0, result.output
        assert "TokensStored" in result.stdout
        for secret in ("plain-access-token", "plain-refresh-token", *ciphertexts):
            assert secret[:24] not in result.output
        outputs[mode] = result.stdout
    payload = json.loads(outputs["json"])["events"][0]["payload"]["TokensStored"]
    assert payload["access_token"] == "<encrypted, not shown>"
    assert payload["refresh_token"] == "<encrypted, not shown>"
    assert payload["access_token_fetched_at"] == "2025-01-07T15:00:00Z"
