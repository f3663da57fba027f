"""`hedgebot threshold set / hedging resume / order buy|sell / views rebuild` on the seeded
desk: every change goes through an aggregate and shows up as events."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hedgebot.cli import app
from hedgebot.eventstore.sqlite import SqliteEventStore

runner = CliRunner(env={"COLUMNS": "200", "DATABASE_URL": None, "HEDGEBOT_CONFIG": None})


def event_types(path: Path, aggregate_type: str, aggregate_id: str) -> list[str]:
    store = SqliteEventStore(str(path))
    try:
        return [e.event_type for e in store.load_stream(aggregate_type, aggregate_id)]
    finally:
        store.close()


def positions(url: str) -> dict[str, dict[str, object]]:
    result = runner.invoke(app, ["positions", "--database-url", url, "--json"])
    assert result.exit_code == 0, result.output
    return {p["symbol"]: p for p in json.loads(result.stdout)["items"]}


# -- threshold / hedging ----------------------------------------------------------


def test_threshold_set_records_the_change_and_lifts_a_suspension(
    desk_path: Path, desk_url: str
) -> None:
    result = runner.invoke(
        app, ["threshold", "set", "TSLA", "--shares", "5", "--yes", "--database-url", desk_url]
    )
    assert result.exit_code == 0, result.output
    assert "TSLA: threshold is now 5 shares" in result.stdout
    assert event_types(desk_path, "Position", "TSLA")[-1] == "PositionEvent::ThresholdUpdated"
    tsla = positions(desk_url)["TSLA"]
    assert tsla["threshold"] == {"kind": "shares", "value": "5"}
    assert tsla["hedging_suspended"] is False


def test_threshold_set_in_dollars_prints_the_position_as_json(desk_url: str) -> None:
    result = runner.invoke(
        app,
        ["threshold", "set", "AAPL", "--dollars", "1000.50", "-y", "--json",
         "--database-url", desk_url],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["threshold"] == {"kind": "dollars", "value": "1000.50"}


def test_declining_the_confirmation_changes_nothing(desk_path: Path, desk_url: str) -> None:
    before = event_types(desk_path, "Position", "AAPL")
    result = runner.invoke(
        app,
        ["threshold", "set", "AAPL", "--shares", "3", "--database-url", desk_url],
        input="n\n",
    )
    assert result.exit_code == 1
    assert "Set the hedging threshold of AAPL to 3 shares?" in result.output
    assert event_types(desk_path, "Position", "AAPL") == before


def test_threshold_set_needs_exactly_one_positive_threshold(desk_url: str) -> None:
    cases = [
        ["--shares", "1", "--dollars", "5"],
        [],
        ["--shares", "0"],
        ["--dollars", "-3"],
        ["--shares", "lots"],
        ["--shares", "NaN"],
    ]
    for options in cases:
        result = runner.invoke(
            app, ["threshold", "set", "AAPL", *options, "--yes", "--database-url", desk_url]
        )
        assert result.exit_code == 2, (options, result.output)


def test_threshold_set_for_a_symbol_without_a_position_is_one_line_exit_1(
    desk_url: str,
) -> None:
    result = runner.invoke(
        app, ["threshold", "set", "MSFT", "--shares", "1", "--yes", "--database-url", desk_url]
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: no position for 'MSFT' (positions exist once a fill was seen)"
    )


def test_hedging_resume_lifts_the_suspension_with_an_audited_event(
    desk_path: Path, desk_url: str
) -> None:
    result = runner.invoke(app, ["hedging", "resume", "TSLA", "--yes", "--database-url", desk_url])
    assert result.exit_code == 0, result.output
    assert positions(desk_url)["TSLA"]["hedging_suspended"] is False
    assert event_types(desk_path, "Position", "TSLA")[-1] == "PositionEvent::ThresholdUpdated"

    again = runner.invoke(app, ["hedging", "resume", "TSLA", "--yes", "--database-url", desk_url])
    assert again.exit_code == 1
    assert again.stderr.strip() == "error: automatic hedging of TSLA is not suspended"


# -- manual orders ------------------------------------------------------------------


def paper(desk_url: str, **settings: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {"DATABASE_URL": desk_url, "HEDGEBOT_BROKER__KIND": "paper"}
    env.update({f"HEDGEBOT_BROKER__PAPER__{k.upper()}": v for k, v in settings.items()})
    return env


def test_order_buy_is_recorded_sent_and_filled_at_the_paper_broker(
    desk_path: Path, desk_url: str
) -> None:
    result = runner.invoke(
        app,
        ["order", "buy", "MSFT", "3", "--yes", "--json"],
        env=paper(desk_url, fill_price="410.25"),
    )
    assert result.exit_code == 0, result.output
    order = json.loads(result.stdout)
    assert order["execution_id"] == 7  # allocated after the six hedges of the seed
    assert (order["symbol"], order["direction"], order["status"]) == ("MSFT", "BUY", "FILLED")
    assert (order["shares_filled"], order["price_cents"]) == ("3", 41025)
    assert order["broker"] == "dry_run"
    assert event_types(desk_path, "OffchainOrder", "7") == [
        "OffchainOrderEvent::Placed",
        "OffchainOrderEvent::Submitted",
        "OffchainOrderEvent::Filled",
    ]
    assert "MSFT" not in positions(desk_url)  # a manual order is not a hedge


def test_order_sell_prints_one_line_and_uses_the_last_onchain_price(desk_url: str) -> None:
    result = runner.invoke(app, ["order", "sell", "aapl", "2", "--yes"], env=paper(desk_url))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "order 7: SELL 2 AAPL → FILLED 2 @ $101 (broker order PAPER-1)"


def test_order_asks_for_confirmation_and_a_no_records_nothing(
    desk_path: Path, desk_url: str
) -> None:
    result = runner.invoke(
        app, ["order", "buy", "MSFT", "1"], env=paper(desk_url, fill_price="1"), input="n\n"
    )
    assert result.exit_code == 1
    assert "BUY 1 MSFT at market with the paper broker?" in result.output
    assert event_types(desk_path, "OffchainOrder", "7") == []


def test_a_rejected_manual_order_is_recorded_failed_and_exits_1(
    desk_path: Path, desk_url: str
) -> None:
    result = runner.invoke(
        app,
        ["order", "buy", "TSLA", "1", "--yes"],
        env={**paper(desk_url), "HEDGEBOT_BROKER__PAPER__REJECT_SYMBOLS": "[TSLA]"},
    )
    assert result.exit_code == 1
    assert "order 7: BUY 1 TSLA → FAILED" in result.stdout
    assert "broker: rejected by broker: paper broker rejects TSLA (configured)" in result.stderr
    assert event_types(desk_path, "OffchainOrder", "7")[-1] == "OffchainOrderEvent::Failed"


def test_an_order_not_filled_in_time_is_cancelled_and_recorded_failed(
    desk_path: Path, desk_url: str
) -> None:
    result = runner.invoke(
        app,
        ["order", "buy", "MSFT", "1", "--yes", "--wait", "0", "--json"],
        env=paper(desk_url, fill_price="10", fill_after_polls="1000"),
    )
    assert result.exit_code == 1
    order = json.loads(result.stdout)
    assert order["status"] == "FAILED"
    assert order["error"] == "cancelled after 0 s without a fill"
    assert order["note"] == "not filled within 0 s: cancelled at the broker"


def test_a_fractional_quantity_for_a_whole_share_broker_records_nothing(
    desk_path: Path, desk_url: str
) -> None:
    result = runner.invoke(
        app, ["order", "buy", "MSFT", "1.5", "--yes"], env=paper(desk_url, fill_price="1")
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: the dry_run broker takes quantities in steps of 1, not 1.5"
    )
    assert event_types(desk_path, "OffchainOrder", "7") == []


def test_bad_order_arguments_exit_2(desk_url: str) -> None:
    for args in (
        ["buy", "tAAPL", "1"],
        ["buy", "AAPL", "0"],
        ["sell", "AAPL", "-1"],
        ["sell", "AAPL", "many"],
        ["buy", "12X", "1"],
        ["hold", "AAPL", "1"],
    ):
        result = runner.invoke(app, ["order", *args, "--yes"], env=paper(desk_url))
        assert result.exit_code == 2, (args, result.output)
    tokenized = runner.invoke(app, ["order", "buy", "tAAPL", "1", "--yes"], env=paper(desk_url))
    assert "give the broker ticker 'AAPL'" in tokenized.output


def test_an_order_without_the_brokers_secrets_is_refused_before_recording(
    desk_path: Path, desk_url: str
) -> None:
    result = runner.invoke(
        app,
        ["order", "buy", "AAPL", "1", "--yes"],
        env={"DATABASE_URL": desk_url, "HEDGEBOT_BROKER__KIND": "alpaca"},
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: broker.alpaca.api_key: required")
    assert event_types(desk_path, "OffchainOrder", "7") == []


# -- views --------------------------------------------------------------------------


def view_rows(path: Path, table: str) -> list[tuple[object, ...]]:
    store = SqliteEventStore(str(path))
    try:
        return store.query(f"SELECT view_id, payload FROM {table} ORDER BY view_id")
    finally:
        store.close()


def test_views_rebuild_recomputes_every_view_to_the_live_one(
    desk_path: Path, desk_url: str
) -> None:
    tables = ["onchain_trade_view", "position_view", "offchain_trade_view", "metrics_pnl_view"]
    before = {t: view_rows(desk_path, t) for t in tables}
    result = runner.invoke(app, ["views", "rebuild", "--database-url", desk_url, "--json"])
    assert result.exit_code == 0, result.output
    counts = {v["table"]: (v["events"], v["rows"]) for v in json.loads(result.stdout)["views"]}
    assert counts["onchain_trade_view"] == (5, 5)
    assert counts["position_view"][1] == 3
    assert counts["offchain_trade_view"][1] == 6
    assert counts["metrics_pnl_view"][1] == 7
    assert counts["schwab_auth_view"] == (0, 0)
    assert {t: view_rows(desk_path, t) for t in tables} == before


def test_views_rebuild_of_one_view_prints_its_counts(desk_url: str) -> None:
    result = runner.invoke(app, ["views", "rebuild", "position_view", "--database-url", desk_url])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 1
    assert "position_view" in rows[0]


def test_views_rebuild_of_an_unknown_view_is_a_usage_error(desk_url: str) -> None:
    result = runner.invoke(app, ["views", "rebuild", "trades", "--database-url", desk_url])
    assert result.exit_code == 2
    assert "unknown view 'trades'" in result.output
