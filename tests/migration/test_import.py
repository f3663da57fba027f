"""A run imports a real legacy database: events, every view field, PnL rows, ids."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.migration import legacy_db as db
from tests.migration.conftest import (
    EXAMPLE_TX,
    SQLITE_MISREAD,
    UPPER_TX,
    Migrate,
    event_rows,
    query,
    url,
)

ONCHAIN_COLUMNS = (
    "id, tx_hash, log_index, symbol, base_symbol, amount, direction, price_usdc, block_number, "
    "block_timestamp, created_at, gas_used, effective_gas_price, pyth_price, pyth_confidence, "
    "pyth_exponent, pyth_publish_time"
)
TX2 = db.tx(2)


@pytest.fixture
def imported(desk_db: Path, migrate: Migrate) -> Path:
    result = migrate("run", "--force", "--database-url", url(desk_db))
    assert result.exit_code == 0, result.output
    return desk_db


def test_run_imports_every_legacy_row_once_and_reports_counts(
    desk_db: Path, migrate: Migrate
) -> None:
    result = migrate("run", "--force", "--database-url", url(desk_db))
    assert result.exit_code == 0, result.output
    rows = event_rows(desk_db)
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row[0])] = counts.get(str(row[0]), 0) + 1
    assert counts == {"OnChainTrade": 4, "OffchainOrder": 5, "Position": 3, "SchwabAuth": 1}
    assert {(r[2], r[4], r[6]) for r in rows} == {(1, "1.0", "{}")}
    assert "2 PENDING" not in result.output
    assert "1 PENDING, 1 SUBMITTED, 2 FILLED, 1 FAILED" in result.output
    assert "verification:" in result.output and "no differences" in result.output


def test_events_have_the_reference_types_and_aggregate_ids(imported: Path) -> None:
    found = {(str(r[0]), str(r[1]), str(r[3])) for r in event_rows(imported)}
    assert found == {
        ("OnChainTrade", f"{EXAMPLE_TX}:0", "OnChainTradeEvent::Migrated"),
        ("OnChainTrade", f"{TX2}:3", "OnChainTradeEvent::Migrated"),
        ("OnChainTrade", f"{TX2}:4", "OnChainTradeEvent::Migrated"),
        ("OnChainTrade", f"{UPPER_TX.lower()}:1", "OnChainTradeEvent::Migrated"),
        ("OffchainOrder", "1", "OffchainOrderEvent::Migrated"),
        ("OffchainOrder", "2", "OffchainOrderEvent::Migrated"),
        ("OffchainOrder", "3", "OffchainOrderEvent::Migrated"),
        ("OffchainOrder", "4", "OffchainOrderEvent::Migrated"),
        ("OffchainOrder", "5", "OffchainOrderEvent::Migrated"),
        ("Position", "AAPL", "PositionEvent::Migrated"),
        ("Position", "TSLA", "PositionEvent::Migrated"),
        ("Position", "MSFT", "PositionEvent::Migrated"),
        ("SchwabAuth", "schwab", "TokensStored"),
    }


def _payloads(path: Path) -> dict[tuple[str, str], str]:
    return {(str(r[0]), str(r[1])): str(r[5]) for r in event_rows(path)}


def _reference_part(payload: str, extensions: tuple[str, ...]) -> str:
    """The payload without hedgebot's appended fields, ``migrated_at`` set to M."""
    data = json.loads(payload)
    ((_, fields),) = data.items()
    for key in extensions:
        fields.pop(key, None)
    if "migrated_at" in fields:
        fields["migrated_at"] = "M"
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


TRADE_EXTENSIONS = ("legacy_id", "created_at", "effective_gas_price", "legacy_pyth", "legacy_nulls")
POSITION_EXTENSIONS = ("pending_execution_id", "last_updated", "legacy_net_position")

# reference/es-and-migration.md §2.3, migrated_at replaced by M
EXAMPLE_TRADE = (
    '{"Migrated":{"symbol":"AAPL","amount":"10","direction":"Buy","price_usdc":"150.5",'
    '"block_number":0,"block_timestamp":"2025-12-05T13:20:00Z","gas_used":null,'
    '"pyth_price":null,"migrated_at":"M"}}'
)
EXAMPLE_POSITION = (
    '{"Migrated":{"symbol":"AAPL","net_position":"5.5","accumulated_long":"10",'
    '"accumulated_short":"4.5","threshold":{"Shares":"1"},"migrated_at":"M"}}'
)
EXAMPLE_ORDER = (
    '{"Migrated":{"symbol":"AAPL","shares":"10","direction":"Buy","broker":"Schwab",'
    '"status":"Filled","broker_order_id":"ORDER123","price_cents":15050,'
    '"executed_at":"2025-12-05T13:21:00Z","migrated_at":"M"}}'
)
EXAMPLE_TOKENS = (
    '{"TokensStored":{"access_token":"0x0102030405060708090a0b0c0d0e0f10111213141516171819'
    '1a1b1c1d1e1f20","access_token_fetched_at":"2025-10-05T08:00:00.123456Z",'
    '"refresh_token":"0x2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",'
    '"refresh_token_fetched_at":"2025-10-04T08:00:00Z"}}'
)


def test_payloads_are_byte_equal_to_the_reference_examples_apart_from_appended_fields(
    imported: Path,
) -> None:
    payloads = _payloads(imported)
    trade = payloads[("OnChainTrade", f"{EXAMPLE_TX}:0")]
    # the reference's fields come first, byte for byte, then hedgebot's additions
    assert trade.startswith(EXAMPLE_TRADE.split('"migrated_at"')[0] + '"migrated_at":"')
    assert _reference_part(trade, TRADE_EXTENSIONS) == EXAMPLE_TRADE
    assert json.loads(trade)["Migrated"]["legacy_id"] == 1
    assert json.loads(trade)["Migrated"]["legacy_nulls"] == ["block_timestamp"]

    position = payloads[("Position", "AAPL")]
    assert position.startswith(EXAMPLE_POSITION.split('"migrated_at"')[0])
    assert _reference_part(position, POSITION_EXTENSIONS) == EXAMPLE_POSITION
    tsla = _reference_part(payloads[("Position", "TSLA")], POSITION_EXTENSIONS)
    assert '"net_position":"-5","accumulated_long":"0","accumulated_short":"5"' in tsla

    order = payloads[("OffchainOrder", "1")]
    assert order.startswith(EXAMPLE_ORDER.split('"migrated_at"')[0])
    assert _reference_part(order, ()) == EXAMPLE_ORDER
    assert (
        '"status":"Pending","broker_order_id":null,"price_cents":null,"executed_at":null'
        in payloads[("OffchainOrder", "2")]
    )
    assert '"status":{"Failed":{"error":"Unknown failure"}}' in payloads[("OffchainOrder", "4")]

    assert payloads[("SchwabAuth", "schwab")] == EXAMPLE_TOKENS


def test_every_legacy_column_is_carried_into_the_trade_payload(imported: Path) -> None:
    fields = json.loads(_payloads(imported)[("OnChainTrade", f"{TX2}:3")])["Migrated"]
    assert fields["amount"] == "0.6666666666666666"
    assert fields["block_number"] == 35000123  # from the legacy event_queue
    assert fields["block_timestamp"] == "2025-10-01T11:59:59Z"  # +02:00 converted to UTC
    assert fields["created_at"] == "2025-10-01T12:00:00Z"
    assert fields["gas_used"] == 21000
    assert fields["effective_gas_price"] == 2_000_000_000
    assert fields["pyth_price"] == {
        "value": "123456789",
        "expo": -8,
        "conf": "10000000",
        "publish_time": "2025-10-01T11:59:58Z",
    }
    assert fields["legacy_pyth"] == {
        "price": "1.23456789",
        "confidence": "0.1",
        "exponent": -8,
        "publish_time": "2025-10-01T11:59:58Z",
    }


def test_onchain_trade_view_equals_the_legacy_table_field_by_field(imported: Path) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(imported, f"SELECT view_id, {ONCHAIN_COLUMNS} FROM onchain_trade_view")
    }
    assert rows == {
        f"{EXAMPLE_TX}:0": (
            1, EXAMPLE_TX, 0, "AAPL", "AAPL", 10.0, "BUY", 150.5, 0, None,
            "2025-12-05 13:20:00", None, None, None, None, None, None,
        ),
        f"{TX2}:3": (
            2, TX2, 3, "tTSLA", "TSLA", 2 / 3, "SELL", 250.0, 35000123, "2025-10-01 11:59:59",
            "2025-10-01 12:00:00", 21000, 2_000_000_000, 1.23456789, 0.1, -8,
            "2025-10-01 11:59:58",
        ),
        f"{TX2}:4": (
            3, TX2, 4, "NVDAs1", "NVDA", 0.1 + 0.2, "BUY", 99.99, 0, "2025-10-02 09:00:00",
            "2025-10-02 09:00:01", None, None, None, None, None, None,
        ),
        f"{UPPER_TX.lower()}:1": (
            4, UPPER_TX.lower(), 1, "AAPL0x", "AAPL", SQLITE_MISREAD, "SELL", 151.0, 0,
            "2025-10-03 09:59:50", "2025-10-03 10:00:00", None, None, None, None, None, None,
        ),
    }  # fmt: skip


def test_position_view_equals_the_legacy_table_with_the_exposure_as_net(imported: Path) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            imported,
            "SELECT view_id, net_position, accumulated_long, accumulated_short, "
            "pending_execution_id, last_updated, threshold_type, threshold_value "
            "FROM position_view",
        )
    }
    assert rows["AAPL"] == (5.5, 10.0, 4.5, None, "2025-12-05 13:20:00", "Shares", 1.0)
    assert rows["TSLA"] == (-5.0, 0.0, 5.0, None, "2025-10-01 12:00:05", "Shares", 1.0)
    net, long_, short, pending, updated, kind, threshold = rows["MSFT"]
    # the legacy REALs bit for bit, even the one SQLite misreads from its shortest repr
    assert (long_, short, pending, updated, kind, threshold) == (
        2.75,
        SQLITE_MISREAD,
        3,
        "2025-10-03 10:00:00",
        "Shares",
        1.0,
    )
    # net: long - short, plus the 2 shares of the open SELL hedge that the legacy bot had
    # already taken out of the long bucket (hedgebot takes them out when it fills)
    assert net == pytest.approx(2.75 - SQLITE_MISREAD + 2, rel=1e-15)
    msft = json.loads(_payloads(imported)[("Position", "MSFT")])["Migrated"]
    short_decimal = Decimal(msft["accumulated_short"])
    assert float(short_decimal) == SQLITE_MISREAD  # a longer decimal, same double
    assert Decimal(msft["net_position"]) == Decimal("2.75") - short_decimal + 2
    assert msft["pending_execution_id"] == 3
    assert msft["legacy_net_position"] == "0"  # the stale legacy column, kept for audit


def test_offchain_trade_view_equals_the_legacy_table_field_by_field(imported: Path) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            imported,
            "SELECT view_id, id, symbol, shares, direction, broker, broker_order_id, order_id, "
            "price_cents, status, executed_at FROM offchain_trade_view",
        )
    }
    uuid = "61e69015-8549-4bfd-b9c3-01e75843f47d"
    assert rows == {
        "1": (1, "AAPL", 10, "BUY", "schwab", "ORDER123", "ORDER123", 15050, "FILLED",
              "2025-12-05 13:21:00"),
        "2": (2, "TSLA", 1, "BUY", "schwab", None, None, None, "PENDING", None),
        "3": (3, "MSFT", 2, "SELL", "schwab", "S-3", "S-3", None, "SUBMITTED", None),
        "4": (4, "NVDA", 1, "SELL", "schwab", None, None, None, "FAILED", "2025-10-04 15:00:00"),
        "5": (5, "NVDA", 3, "BUY", "alpaca", uuid, uuid, 12345, "FILLED", "2025-10-04 15:30:00"),
    }  # fmt: skip


def test_schwab_tokens_are_imported_still_encrypted(imported: Path) -> None:
    ((payload,),) = query(imported, "SELECT payload FROM schwab_auth_view WHERE view_id='schwab'")
    state = json.loads(str(payload))["Authenticated"]
    assert state["access_token"] == "0x" + db.ACCESS_TOKEN_HEX
    assert state["refresh_token"] == "0x" + db.REFRESH_TOKEN_HEX
    assert state["access_token_fetched_at"] == "2025-10-05T08:00:00.123456Z"


def test_pnl_rows_exist_for_every_trade_and_filled_order(imported: Path) -> None:
    ids = {r[0] for r in query(imported, "SELECT view_id FROM metrics_pnl_view")}
    assert ids == {
        f"ONCHAIN:{EXAMPLE_TX}:0",
        f"ONCHAIN:{TX2}:3",
        f"ONCHAIN:{TX2}:4",
        f"ONCHAIN:{UPPER_TX.lower()}:1",
        "OFFCHAIN:1",
        "OFFCHAIN:5",
    }
    aapl = query(
        imported,
        "SELECT trade_type, trade_direction, quantity, price_per_share FROM metrics_pnl_view "
        "WHERE symbol = 'AAPL' ORDER BY sort_key",
    )
    assert aapl == [
        ("ONCHAIN", "SELL", SQLITE_MISREAD, 151.0),
        ("ONCHAIN", "BUY", 10.0, 150.5),
        ("OFFCHAIN", "BUY", 10.0, 150.5),
    ]


def test_new_execution_ids_start_above_every_legacy_id_even_deleted_ones(
    desk_db: Path, migrate: Migrate
) -> None:
    with db.connect(desk_db) as conn:
        db.order(conn, id=40, symbol="AMZN", status="FAILED", executed_at="2025-10-05 10:00:00")
        conn.execute("DELETE FROM offchain_trades WHERE id = 40")  # sqlite_sequence keeps 40
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    assert query(desk_db, "SELECT next_value FROM hedgebot_counters WHERE name='execution_id'") == [
        (41,)
    ]


def test_an_empty_legacy_database_imports_nothing_and_succeeds(
    tmp_path: Path, migrate: Migrate
) -> None:
    path = db.create_legacy_db(tmp_path / "empty.db")
    result = migrate("run", "--force", "--database-url", url(path))
    assert result.exit_code == 0, result.output
    assert event_rows(path) == []
    assert "0 PENDING, 0 SUBMITTED, 0 FILLED, 0 FAILED" in result.output


def test_the_plain_output_has_progress_lines_per_table(desk_db: Path, migrate: Migrate) -> None:
    output = migrate("run", "--force", "--database-url", url(desk_db)).output
    for label in (
        "progress validate onchain_trades: 0/4 started",
        "progress write OnChainTrade: 4/4 done",
        "progress write OffchainOrder: 5/5 done",
        "progress write Position: 3/3 done",
        "progress verify position_view: 3/3 done",
    ):
        assert label in output
