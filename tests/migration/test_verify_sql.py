"""Trades are verified by one SQL join when the store lives in the legacy file, and any
tampered field is still named with its row, exactly as the row-by-row comparison does."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hedgebot.migration.legacy import detect_layout, onchain_trades_select, open_read_only
from hedgebot.migration.mapping import plan
from hedgebot.migration.progress import PlainProgress
from hedgebot.migration.runner import AGGREGATE_TYPES
from hedgebot.migration.source import read_legacy
from hedgebot.migration.target import ConnectionReader, classify, existing_streams
from hedgebot.migration.verify import _LEGACY_CELLS, ONCHAIN_COLUMNS, _Verifier
from tests.migration import legacy_db as db
from tests.migration.conftest import EXAMPLE_TX, Migrate, url

#: a trade with every optional column, all in the forms the view shows (so the join,
#: not the row-by-row comparison, judges it); legacy id 5 after the desk's four trades
TRADE = f"{db.tx(50)}:7"
TRADE_ID = 5


@pytest.fixture
def desk_db(desk_db: Path) -> Path:
    with db.connect(desk_db) as conn:
        db.trade(
            conn,
            50,
            log_index=7,
            symbol="tTSLA",
            amount=2 / 3,
            direction="SELL",
            price_usdc=250.0,
            created_at="2025-10-01 12:00:00",
            block_timestamp="2025-10-01 11:59:59",
            gas_used=21000,
            effective_gas_price=2_000_000_000,
            pyth_price=1.23456789,
            pyth_confidence=0.1,
            pyth_exponent=-8,
            pyth_publish_time="2025-10-01 11:59:58",
        )
        conn.execute(
            "INSERT INTO event_queue (tx_hash, log_index, block_number, event_data, processed) "
            "VALUES (?, 7, 35000123, '{}', 1)",
            (db.tx(50),),
        )
    return desk_db


TAMPERED = [
    ("$.id", 99, "id"),
    ("$.tx_hash", db.tx(51), "tx_hash"),
    ("$.log_index", 4, "log_index"),
    ("$.symbol", "TSLA0x", "symbol"),
    ("$.base_symbol", "TSL", "base_symbol"),
    ("$.amount", 0.6666666666666667, "amount"),  # one ulp off
    ("$.direction", "BUY", "direction"),
    ("$.price_usdc", 250.000000000001, "price_usdc"),
    ("$.block_number", 35000124, "block_number"),
    ("$.block_timestamp", "2025-10-01 11:59:58", "block_timestamp"),
    ("$.created_at", None, "created_at"),
    ("$.gas_used", 21001, "gas_used"),
    ("$.effective_gas_price", None, "effective_gas_price"),
    ("$.pyth_price", 1.23456788, "pyth_price"),
    ("$.pyth_confidence", 0.2, "pyth_confidence"),
    ("$.pyth_exponent", -7, "pyth_exponent"),
    ("$.pyth_publish_time", "2025-10-01 11:59:59", "pyth_publish_time"),
]


def test_the_join_compares_every_column_but_the_derived_base_symbol() -> None:
    assert [*_LEGACY_CELLS, "base_symbol"] != list(ONCHAIN_COLUMNS)  # order differs …
    assert {*_LEGACY_CELLS, "base_symbol"} == set(ONCHAIN_COLUMNS)  # … not the columns


def _import(desk_db: Path, migrate: Migrate, separate: bool, tmp_path: Path) -> tuple[str, ...]:
    """Run the import; the arguments that verify it, and the file holding the views."""
    target = ("--event-store-url", url(tmp_path / "store.db")) if separate else ()
    args = ("--database-url", url(desk_db), *target)
    result = migrate("run", "--force", *args)
    assert result.exit_code == 0, result.output
    return args


@pytest.mark.parametrize("separate", [False, True], ids=["same file", "separate store"])
@pytest.mark.parametrize(("path", "value", "field"), TAMPERED)
def test_a_tampered_trade_field_is_named(
    desk_db: Path,
    migrate: Migrate,
    tmp_path: Path,
    separate: bool,
    path: str,
    value: object,
    field: str,
) -> None:
    args = _import(desk_db, migrate, separate, tmp_path)
    conn = sqlite3.connect(tmp_path / "store.db" if separate else desk_db)
    conn.execute(
        "UPDATE onchain_trade_view SET payload = json_set(payload, ?, ?) WHERE view_id = ?",
        (path, value, TRADE),
    )
    conn.commit()
    conn.close()
    result = migrate("verify-only", *args)
    assert result.exit_code == 1
    assert f"onchain_trade_view row {TRADE!r} (onchain_trades id={TRADE_ID}), field {field}:" in (
        result.output
    )
    assert "verification found 1 differences" in result.output


@pytest.mark.parametrize("separate", [False, True], ids=["same file", "separate store"])
def test_a_missing_trade_row_is_named(
    desk_db: Path, migrate: Migrate, tmp_path: Path, separate: bool
) -> None:
    args = _import(desk_db, migrate, separate, tmp_path)
    conn = sqlite3.connect(tmp_path / "store.db" if separate else desk_db)
    conn.execute("DELETE FROM onchain_trade_view WHERE view_id = ?", (TRADE,))
    conn.commit()
    conn.close()
    result = migrate("verify-only", *args)
    assert result.exit_code == 1
    missing = f"onchain_trade_view has no row {TRADE!r} for onchain_trades id={TRADE_ID}"
    assert missing in result.output


def test_an_untouched_import_verifies_with_the_same_counts_either_way(
    desk_db: Path, migrate: Migrate, tmp_path: Path
) -> None:
    outputs = []
    for separate in (False, True):
        args = _import(desk_db, migrate, separate, tmp_path)
        result = migrate("verify-only", *args)
        assert result.exit_code == 0, result.output
        outputs.append(next(line for line in result.output.splitlines() if "compared" in line))
    assert outputs[0] == outputs[1]


def _suspects(path: Path) -> set[int] | None:
    """The legacy ids the join flags in an imported same-file database."""
    conn = open_read_only(path)
    try:
        layout = detect_layout(conn)
        data = read_legacy(conn, layout, PlainProgress(write=lambda _line: None))
        reader = ConnectionReader(conn)
        planned = plan(data, datetime.now(UTC))
        classification = classify(planned, existing_streams(reader, AGGREGATE_TYPES))
        verifier = _Verifier(
            reader,
            data,
            classification,
            PlainProgress(write=lambda _line: None),
            onchain_trades_select(layout),
        )
        return verifier._suspect_trades()
    finally:
        conn.close()


def test_the_join_flags_only_rows_it_cannot_judge_and_tampered_ones(
    desk_db: Path, migrate: Migrate, tmp_path: Path
) -> None:
    _import(desk_db, migrate, False, tmp_path)
    # ids 2 and 3 keep times in other forms (an offset, a fraction): Python compares them
    assert _suspects(desk_db) == {2, 3}
    conn = sqlite3.connect(desk_db)
    conn.execute(
        "UPDATE onchain_trade_view SET payload = json_set(payload, '$.base_symbol', 'X') "
        "WHERE view_id = ?",
        (f"{EXAMPLE_TX}:0",),
    )
    conn.commit()
    conn.close()
    assert _suspects(desk_db) == {1, 2, 3}
