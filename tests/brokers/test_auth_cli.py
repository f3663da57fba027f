"""`hedgebot auth schwab` against the fake Schwab (on its own thread, as the CLI is sync)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hedgebot.brokers.fakes import FakeSchwab, run_in_thread
from hedgebot.brokers.schwab.auth import SCHWAB_AUTH_EVENTS, Authenticated, read_view_state
from hedgebot.brokers.schwab.crypto import TokenCipher
from hedgebot.brokers.schwab.oauth import InvalidRedirectUrl
from hedgebot.cli import app
from hedgebot.eventstore.sqlite import SqliteEventStore
from tests.brokers.harness import ENCRYPTION_KEY


@pytest.fixture
def fake() -> Iterator[FakeSchwab]:
    with run_in_thread(FakeSchwab()) as server:
        server.add_login_code("C0DE.xyz@")
        yield server


def environment(fake: FakeSchwab, database: Path) -> dict[str, str | None]:
    return {
        "HEDGEBOT_BROKER__KIND": "schwab",
        "HEDGEBOT_BROKER__SCHWAB__APP_KEY": fake.app_key,
        "HEDGEBOT_BROKER__SCHWAB__APP_SECRET": fake.app_secret,
        "HEDGEBOT_BROKER__SCHWAB__ENCRYPTION_KEY": ENCRYPTION_KEY.hex(),
        "HEDGEBOT_BROKER__SCHWAB__BASE_URL": fake.base_url,
        "HEDGEBOT_DATABASE__URL": f"sqlite://{database}",
    }


def test_login_prints_the_authorize_url_and_stores_encrypted_tokens(
    fake: FakeSchwab, tmp_path: Path
) -> None:
    database = tmp_path / "bot.db"
    result = CliRunner().invoke(
        app,
        ["auth", "schwab"],
        input="https://127.0.0.1/?code=C0DE.xyz%40&session=abc\n",
        env=environment(fake, database),
    )
    assert result.exit_code == 0, result.output
    assert f"{fake.base_url}/v1/oauth/authorize?client_id={fake.app_key}" in result.output
    assert "redirect_uri=https%3A%2F%2F127.0.0.1" in result.output
    assert "Schwab tokens stored (encrypted)" in result.output
    assert fake.code_exchanges == 1
    access, refresh = fake.issued_tokens
    assert access not in result.output and refresh not in result.output

    store = SqliteEventStore(str(database))
    try:
        rows = store.load_stream("SchwabAuth", "schwab")
        view = store.view_get("schwab_auth_view", "schwab")
    finally:
        store.close()
    assert [r.event_type for r in rows] == ["TokensStored"]
    state = read_view_state(view.payload if view else None)
    assert isinstance(state, Authenticated)
    event = SCHWAB_AUTH_EVENTS.decode(rows[0])
    assert event.access_token == state.access_token
    cipher = TokenCipher(ENCRYPTION_KEY)
    assert cipher.decrypt(state.encrypted_access_token).get_secret_value() == access
    assert cipher.decrypt(state.encrypted_refresh_token).get_secret_value() == refresh


def test_a_redirect_url_without_a_code_is_a_clear_error(fake: FakeSchwab, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["auth", "schwab", "--redirect-url", "https://127.0.0.1/?error=access_denied"],
        env=environment(fake, tmp_path / "bot.db"),
    )
    assert isinstance(result.exception, InvalidRedirectUrl)
    assert "no 'code' parameter" in str(result.exception)
    assert fake.code_exchanges == 0


def test_missing_schwab_secrets_are_named(fake: FakeSchwab, tmp_path: Path) -> None:
    env = environment(fake, tmp_path / "bot.db")
    env["HEDGEBOT_BROKER__SCHWAB__ENCRYPTION_KEY"] = None  # unset, even if exported
    result = CliRunner().invoke(app, ["auth", "schwab"], env=env)
    assert result.exception is not None
    assert "HEDGEBOT_BROKER__SCHWAB__ENCRYPTION_KEY" in str(result.exception)
