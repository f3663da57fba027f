"""dry-run, verify-only, re-runs, --clean, prompts, usage errors and older layouts."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from tests.migration import legacy_db as db
from tests.migration.conftest import Migrate, event_rows, query, tables, url


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- dry run ---------------------------------------------------------------------------


def test_dry_run_reports_what_would_be_written_and_changes_no_byte(
    desk_db: Path, migrate: Migrate
) -> None:
    before = _digest(desk_db)
    tables_before = tables(desk_db)
    result = migrate("dry-run", "--database-url", url(desk_db))
    assert result.exit_code == 0, result.output
    assert "would write" in result.output
    assert "dry run: nothing was changed" in result.output
    assert "1 PENDING, 1 SUBMITTED, 2 FILLED, 1 FAILED" in result.output
    assert _digest(desk_db) == before
    assert tables(desk_db) == tables_before
    assert "events" not in tables_before


def test_dry_run_after_an_import_finds_nothing_to_write(desk_db: Path, migrate: Migrate) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    before = _digest(desk_db)
    result = migrate("dry-run", "--database-url", url(desk_db))
    assert result.exit_code == 0, result.output
    assert _digest(desk_db) == before
    rows = {
        line.split("│")[1].strip(): line.split("│")[4].strip()
        for line in result.output.splitlines()
        if line.startswith("│")
    }
    assert rows == {"OnChainTrade": "0", "Position": "0", "OffchainOrder": "0", "SchwabAuth": "0"}


def test_dry_run_refuses_clean(desk_db: Path, migrate: Migrate) -> None:
    before = _digest(desk_db)
    result = migrate("--clean", "dry-run", "--database-url", url(desk_db))
    assert result.exit_code == 2
    assert "--clean only applies to a run" in result.output
    assert _digest(desk_db) == before


# -- verify-only -------------------------------------------------------------------------


def test_verify_only_passes_after_an_import_and_changes_nothing(
    desk_db: Path, migrate: Migrate
) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    before = _digest(desk_db)
    result = migrate("verify-only", "--database-url", url(desk_db))
    assert result.exit_code == 0, result.output
    assert "no differences" in result.output
    assert _digest(desk_db) == before


@pytest.mark.parametrize(
    ("table", "view_id", "path", "value", "field"),
    [
        ("onchain_trade_view", f"{db.tx(2)}:3", "$.amount", 0.6666666666666667, "amount"),
        ("onchain_trade_view", f"{db.tx(2)}:3", "$.gas_used", 21001, "gas_used"),
        ("position_view", "MSFT", "$.accumulated_long", "2.7500001", "accumulated_long"),
        ("offchain_trade_view", "5", "$.status", "FAILED", "status"),
        ("offchain_trade_view", "1", "$.executed_at", "2025-12-05 13:21:01", "executed_at"),
    ],
)
def test_verify_only_names_the_row_and_field_of_a_tampered_view(
    desk_db: Path,
    migrate: Migrate,
    table: str,
    view_id: str,
    path: str,
    value: object,
    field: str,
) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    conn = sqlite3.connect(desk_db)
    conn.execute(
        f"UPDATE {table} SET payload = json_set(payload, ?, ?) WHERE view_id = ?",
        (path, value, view_id),
    )
    conn.commit()
    conn.close()
    result = migrate("verify-only", "--database-url", url(desk_db))
    assert result.exit_code == 1
    assert f"{table} row {view_id!r}" in result.output
    assert f"field {field}:" in result.output
    assert "verification found 1 differences" in result.output


def test_verify_only_reports_a_missing_view_row_and_a_missing_event(
    desk_db: Path, migrate: Migrate
) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    conn = sqlite3.connect(desk_db)
    conn.execute("DELETE FROM position_view WHERE view_id = 'TSLA'")
    conn.execute("DELETE FROM events WHERE aggregate_type = 'OffchainOrder' AND aggregate_id='4'")
    conn.commit()
    conn.close()
    result = migrate("verify-only", "--database-url", url(desk_db))
    assert result.exit_code == 1
    assert "position_view has no row 'TSLA'" in result.output
    assert "OffchainOrder 4 (offchain_trades id=4): not in the event store" in result.output


def test_verify_only_before_any_import_fails(desk_db: Path, migrate: Migrate) -> None:
    result = migrate("verify-only", "--database-url", url(desk_db))
    assert result.exit_code == 1
    assert "nothing was imported" in result.output


def test_a_tampered_token_is_named_but_never_printed(desk_db: Path, migrate: Migrate) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    forged = "0x" + "ff" * 40
    conn = sqlite3.connect(desk_db)
    conn.execute(
        "UPDATE schwab_auth_view "
        "SET payload = json_set(payload, '$.Authenticated.access_token', ?)",
        (forged,),
    )
    conn.commit()
    conn.close()
    result = migrate("verify-only", "--database-url", url(desk_db))
    assert result.exit_code == 1
    assert "schwab_auth_view row 'schwab' (schwab_auth id=1), field access_token differs" in (
        result.output
    )
    assert forged not in result.output
    assert db.ACCESS_TOKEN_HEX not in result.output


# -- re-runs and conflicts ---------------------------------------------------------------


def test_a_second_run_finds_everything_imported_and_changes_nothing(
    desk_db: Path, migrate: Migrate
) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    events = event_rows(desk_db)
    views = query(desk_db, "SELECT view_id, version, payload FROM position_view ORDER BY view_id")
    # no prompt is needed when there is nothing to write
    result = migrate("run", "--database-url", url(desk_db), input="")
    assert result.exit_code == 0, result.output
    assert "everything is already imported: nothing to write" in result.output
    assert event_rows(desk_db) == events
    assert query(
        desk_db, "SELECT view_id, version, payload FROM position_view ORDER BY view_id"
    ) == (views)


def test_rows_added_to_the_legacy_database_later_are_imported_by_the_next_run(
    desk_db: Path, migrate: Migrate
) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    before = len(event_rows(desk_db))
    with db.connect(desk_db) as conn:
        db.trade(conn, 30, symbol="tAMD", created_at="2025-12-06 10:00:00")
    result = migrate("run", "--database-url", url(desk_db), input="y\ny\n")
    assert result.exit_code == 0, result.output
    assert "Events detected (OffchainOrder: 5, OnChainTrade: 4, Position: 3, SchwabAuth: 1)" in (
        result.output
    )
    assert len(event_rows(desk_db)) == before + 1


def test_a_stream_the_import_did_not_write_is_a_conflict(desk_db: Path, migrate: Migrate) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    conn = sqlite3.connect(desk_db)
    row = conn.execute(
        "SELECT payload FROM events WHERE aggregate_type='Position' AND aggregate_id='AAPL'"
    ).fetchone()
    changed = json.loads(row[0])
    changed["Migrated"]["accumulated_long"] = "11"
    conn.execute(
        "UPDATE events SET payload = ? WHERE aggregate_type='Position' AND aggregate_id='AAPL'",
        (json.dumps(changed, separators=(",", ":")),),
    )
    conn.commit()
    conn.close()
    events = event_rows(desk_db)
    result = migrate("run", "--force", "--database-url", url(desk_db))
    assert result.exit_code == 1
    assert "Position AAPL (trade_accumulators symbol='AAPL')" in result.output
    assert "--clean" in result.output
    assert event_rows(desk_db) == events


# -- --clean and prompts ----------------------------------------------------------------


def test_clean_without_force_refuses_unless_delete_is_typed(
    desk_db: Path, migrate: Migrate
) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    events = event_rows(desk_db)
    refused = migrate("run", "--clean", "--database-url", url(desk_db), input="y\ndelete\n")
    assert refused.exit_code == 1
    assert "Type 'DELETE' to confirm" in refused.output
    assert "--clean was not confirmed with DELETE; nothing changed" in refused.output
    assert event_rows(desk_db) == events

    accepted = migrate("run", "--clean", "--database-url", url(desk_db), input="y\nDELETE\n")
    assert accepted.exit_code == 0, accepted.output
    after = event_rows(desk_db)
    assert len(after) == len(events)
    # the streams were rewritten (a new migrated_at), not left in place
    assert after != events


def test_clean_replaces_foreign_events_and_views_in_one_go(desk_db: Path, migrate: Migrate) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    conn = sqlite3.connect(desk_db)
    conn.execute(
        "INSERT INTO events VALUES ('Position', 'ZZZ', 1, 'PositionEvent::Initialized', '1.0', "
        '\'{"Initialized":{"symbol":"ZZZ","threshold":{"Shares":"1"},'
        '"initialized_at":"2025-12-01T00:00:00Z"}}\', \'{}\')'
    )
    conn.execute("INSERT INTO hedgebot_checkpoints VALUES ('chain_follower', 42)")
    conn.commit()
    conn.close()
    result = migrate("run", "--clean", "--force", "--database-url", url(desk_db))
    assert result.exit_code == 0, result.output
    assert ("Position", "ZZZ") not in {(r[0], r[1]) for r in event_rows(desk_db)}
    assert query(desk_db, "SELECT count(*) FROM hedgebot_checkpoints") == [(0,)]
    assert query(desk_db, "SELECT next_value FROM hedgebot_counters") == [(6,)]


def test_answering_no_to_the_backup_prompt_changes_nothing(desk_db: Path, migrate: Migrate) -> None:
    before = _digest(desk_db)
    result = migrate("run", "--database-url", url(desk_db), input="n\n")
    assert result.exit_code == 1
    assert "Create a database backup before proceeding" in result.output
    assert "cancelled at the backup prompt; nothing changed" in result.output
    assert _digest(desk_db) == before


def test_a_closed_stdin_is_a_no(desk_db: Path, migrate: Migrate) -> None:
    before = _digest(desk_db)
    result = migrate("run", "--database-url", url(desk_db), input="")
    assert result.exit_code == 1
    assert _digest(desk_db) == before


def test_answering_no_to_the_existing_events_prompt_writes_nothing(
    desk_db: Path, migrate: Migrate
) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    with db.connect(desk_db) as conn:
        db.trade(conn, 31, symbol="tAMD")
    events = event_rows(desk_db)
    result = migrate("run", "--database-url", url(desk_db), input="n\n")
    assert result.exit_code == 1
    assert "cancelled at the existing-events prompt" in result.output
    assert event_rows(desk_db) == events


def test_the_backup_prompt_accepted_imports(desk_db: Path, migrate: Migrate) -> None:
    result = migrate("run", "--database-url", url(desk_db), input="y\n")
    assert result.exit_code == 0, result.output
    assert len(event_rows(desk_db)) == 13


# -- usage ------------------------------------------------------------------------------


def test_the_mode_defaults_to_run_and_the_url_may_come_from_the_environment(
    desk_db: Path,
) -> None:
    from typer.testing import CliRunner

    from hedgebot.cli import app

    result = CliRunner().invoke(
        app, ["migrate-to-events", "--force"], env={"DATABASE_URL": url(desk_db)}
    )
    assert result.exit_code == 0, result.output
    assert len(event_rows(desk_db)) == 13


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Missing option '--database-url'"),
        (("--database-url", "sqlite:/nonexistent/bot.db"), "no such database file"),
        (("--database-url", "mysql://x/y"), "unsupported database URL scheme"),
        (("--database-url", "postgresql://127.0.0.1/x"), "must name the legacy SQLite database"),
    ],
)
def test_usage_errors_exit_2(migrate: Migrate, args: tuple[str, ...], message: str) -> None:
    result = migrate("run", "--force", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_a_database_that_is_not_a_legacy_database_is_a_usage_error(
    tmp_path: Path, migrate: Migrate
) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE onchain_trades (id INTEGER)")
    conn.close()
    result = migrate("dry-run", "--database-url", url(path))
    assert result.exit_code == 2
    assert "missing table(s): trade_accumulators" in result.output


def test_help_explains_flags_examples_and_backups(migrate: Migrate) -> None:
    output = migrate("--help").output
    for text in (
        "--database-url",
        "--event-store-url",
        "--force",
        "--clean",
        "DATABASE_URL",
        "BACK UP THE DATABASE FIRST",
        "dry-run",
        "verify-only",
        "Examples",
        "EXIT CODES",
    ):
        assert text in output


# -- older layouts ------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["older", "oldest"])
def test_an_older_legacy_layout_imports_and_verifies(
    tmp_path: Path, migrate: Migrate, layout: str
) -> None:
    path = db.create_legacy_db(tmp_path / f"{layout}.db", layout)
    with db.connect(path) as conn:
        db.trade(conn, 1, symbol="AAPL0x", amount=2.5)
        db.trade(conn, 2, symbol="tTSLA", direction="SELL", created_at="2025-09-01 08:00:00")
        db.order(
            conn,
            "schwab_executions",
            id=1,
            symbol="AAPL",
            shares=2,
            status="FILLED",
            order_id="OLD1",
            price_cents=20000,
            executed_at="2025-09-02 15:00:00",
        )
        db.order(
            conn,
            "schwab_executions",
            id=2,
            symbol="TSLA",
            direction="BUY",
            status="SUBMITTED",
            order_id="O2",
        )
        db.position(
            conn, symbol="TSLA", accumulated_long=0.0, accumulated_short=0.5, pending_execution_id=2
        )
        db.auth(conn, access_token="plaintext-token", refresh_token="plaintext-refresh")
    result = migrate("run", "--force", "--database-url", url(path))
    assert result.exit_code == 0, result.output
    assert "orders from schwab_executions" in result.output
    assert "plaintext tokens are not imported" in result.output
    assert "plaintext-token" not in result.output
    kinds = sorted(str(r[0]) for r in event_rows(path))
    assert kinds == ["OffchainOrder", "OffchainOrder", "OnChainTrade", "OnChainTrade", "Position"]
    assert query(
        path,
        "SELECT broker, broker_order_id, order_id, status FROM offchain_trade_view ORDER BY id",
    ) == [("schwab", "OLD1", "OLD1", "FILLED"), ("schwab", "O2", "O2", "SUBMITTED")]
    assert query(path, "SELECT block_timestamp, gas_used, pyth_price FROM onchain_trade_view") == [
        (None, None, None),
        (None, None, None),
    ]
    # the open BUY hedge of 1 share had already been taken out of the short bucket
    assert query(path, "SELECT net_position, pending_execution_id FROM position_view") == [
        (-1.5, 2)
    ]
    verify = migrate("verify-only", "--database-url", url(path))
    assert verify.exit_code == 0, verify.output


def test_tokens_from_a_later_login_are_kept_and_the_legacy_ones_not_imported_over_them(
    desk_db: Path, migrate: Migrate
) -> None:
    assert migrate("run", "--force", "--database-url", url(desk_db)).exit_code == 0
    newer = json.dumps(
        {
            "TokensStored": {
                "access_token": "0x" + "11" * 40,
                "access_token_fetched_at": "2025-12-10T08:00:00Z",
                "refresh_token": "0x" + "22" * 40,
                "refresh_token_fetched_at": "2025-12-10T08:00:00Z",
            }
        },
        separators=(",", ":"),
    )
    conn = sqlite3.connect(desk_db)
    conn.execute("UPDATE events SET payload = ? WHERE aggregate_type = 'SchwabAuth'", (newer,))
    conn.commit()
    conn.close()
    result = migrate("run", "--force", "--database-url", url(desk_db))
    assert result.exit_code == 0, result.output
    assert "legacy tokens are not imported over them" in result.output
    payloads = [r[5] for r in event_rows(desk_db) if r[0] == "SchwabAuth"]
    assert payloads == [newer]


def test_view_tables_left_by_the_rust_reference_stop_the_import_before_anything_is_written(
    desk_db: Path, migrate: Migrate
) -> None:
    conn = sqlite3.connect(desk_db)
    for file in sorted((Path(__file__).parent / "reference_ddl").glob("*.sql")):
        conn.executescript(file.read_text())
    conn.close()
    result = migrate("run", "--force", "--database-url", url(desk_db))
    assert result.exit_code == 1
    assert "do not have hedgebot's layout" in result.output
    assert "onchain_trade_view lacks the column(s) id, tx_hash" in result.output
    assert "position_view lacks the column(s) accumulated_long" in result.output
    assert event_rows(desk_db) == []
