"""``hedgebot pnl``: a Rich table by default, JSON with --json, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hedgebot.cli import app
from hedgebot.eventstore.sqlite import SqliteEventStore
from tests.metrics_pnl.events import EventWriter, hedge_filled, onchain_filled, projector
from tests.metrics_pnl.trades import BUY, SELL, tx_hash


@pytest.fixture
def database(sqlite_path: Path) -> str:
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    try:
        EventWriter(store, projector()).write(
            onchain_filled(1, BUY, "2", "100", seconds=0, symbol="tAAPL"),
            hedge_filled(1, SELL, "2", 10250, seconds=30, symbol="AAPL"),
            onchain_filled(2, SELL, "1.5", "400", seconds=40, symbol="MSFT0x"),
            onchain_filled(3, BUY, "1", "390", seconds=86400 * 30, symbol="tMSFT"),
        )
    finally:
        store.close()
    return f"sqlite://{sqlite_path}"


runner = CliRunner(env={"COLUMNS": "160"})


def test_pnl_prints_per_symbol_totals_as_a_table(database: str) -> None:
    result = runner.invoke(app, ["pnl", "--database-url", database])
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "5.00" in lines["AAPL"]
    assert "10.00" in lines["MSFT"]
    assert "15.00" in lines["total"]
    assert "-0.5" in lines["MSFT"]  # net position after the cover


def test_pnl_json_has_exact_totals_per_symbol(database: str) -> None:
    result = runner.invoke(app, ["pnl", "--database-url", database, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["total_realized_pnl"] == "15"
    assert [
        (s["symbol"], s["trades"], s["realized_pnl"], s["net_position"])
        for s in document["symbols"]
    ] == [("AAPL", 2, "5", "0"), ("MSFT", 2, "10", "-0.5")]
    assert "trades" not in document


def test_pnl_for_one_symbol_lists_its_trades(database: str) -> None:
    result = runner.invoke(app, ["pnl", "--database-url", database, "--symbol", "AAPL", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [(t["trade_type"], t["trade_id"], t["realized_pnl"]) for t in document["trades"]] == [
        ("ONCHAIN", f"{tx_hash(1)}:0", None),
        ("OFFCHAIN", "1", "5"),
    ]
    text = runner.invoke(app, ["pnl", "--database-url", database, "--symbol", "AAPL"])
    assert text.exit_code == 0, text.output
    assert "broker 1" in text.output
    assert "102.5" in text.output


def test_pnl_since_counts_only_what_was_realised_in_the_window(database: str) -> None:
    result = runner.invoke(
        app, ["pnl", "--database-url", database, "--since", "2025-03-04", "--json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["since"] == "2025-03-04T00:00:00Z"
    assert [(s["symbol"], s["realized_pnl"], s["cumulative_pnl"]) for s in document["symbols"]] == [
        ("MSFT", "10", "10")
    ]


def test_pnl_rejects_an_unreadable_since_as_a_usage_error(database: str) -> None:
    result = runner.invoke(app, ["pnl", "--database-url", database, "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "invalid time 'last tuesday'" in result.output


@pytest.mark.postgres
def test_pnl_reads_a_postgresql_store_too(postgres_url: str) -> None:
    from hedgebot.eventstore.postgres import PostgresEventStore

    store = PostgresEventStore(postgres_url, max_size=2)
    try:
        EventWriter(store, projector()).write(
            onchain_filled(1, SELL, "3", "20", seconds=0, symbol="tAAPL"),
            hedge_filled(1, BUY, "3", 1900, seconds=5),
        )
    finally:
        store.close()
    result = runner.invoke(app, ["pnl", "--database-url", postgres_url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["symbols"][0]["realized_pnl"] == "3"
