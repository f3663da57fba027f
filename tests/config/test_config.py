from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.config import ConfigError, describe, load_settings

EXAMPLE = Path(__file__).parents[2] / "docs" / "hedgebot.example.toml"


def test_example_config_file_is_valid() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert settings.broker.kind == "alpaca"
    assert settings.chain.owner == "0x71b94911fd1ce621fc40970450004c544e5287a8"
    assert settings.broker.effective_threshold.dollars == Decimal("1.00")


def test_environment_overrides_the_file_with_nested_names() -> None:
    settings = load_settings(
        EXAMPLE,
        environ={"HEDGEBOT_BROKER__KIND": "paper", "HEDGEBOT_CHAIN__CONFIRMATIONS": "7"},
    )
    assert settings.broker.kind == "paper"
    assert settings.chain.confirmations == 7


def test_defaults_without_a_file_hedge_whole_shares_on_the_paper_broker() -> None:
    settings = load_settings(None, environ={})
    assert settings.broker.kind == "paper"
    assert settings.broker.effective_threshold.shares == Decimal("1")
    assert settings.api.host == "127.0.0.1"


def test_secret_in_the_config_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[broker.alpaca]\napi_key = "PK-SUPER-SECRET"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    message = str(info.value)
    assert "broker.alpaca.api_key" in message
    assert "HEDGEBOT_BROKER__ALPACA__API_KEY" in message
    assert "PK-SUPER-SECRET" not in message


def test_secrets_come_from_the_environment_and_are_masked_in_descriptions() -> None:
    settings = load_settings(
        None,
        environ={
            "HEDGEBOT_BROKER__KIND": "alpaca",
            "HEDGEBOT_BROKER__ALPACA__API_KEY": "PK-SUPER-SECRET",
            "HEDGEBOT_BROKER__ALPACA__API_SECRET": "SK-SUPER-SECRET",
        },
    )
    settings.require_broker_secrets()
    assert settings.broker.alpaca.api_key is not None
    assert settings.broker.alpaca.api_key.get_secret_value() == "PK-SUPER-SECRET"
    text = repr(settings) + str(describe(settings))
    assert "PK-SUPER-SECRET" not in text
    assert describe(settings)["broker"]["alpaca"]["api_key"] == "<set>"


def test_secrets_file_supplies_secrets(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("# comment\nHEDGEBOT_API__TOKEN='tok-123'\n")
    settings = load_settings(None, environ={}, secrets_file=secrets)
    assert settings.api.token is not None
    assert settings.api.token.get_secret_value() == "tok-123"


def test_missing_broker_secrets_are_named() -> None:
    settings = load_settings(None, environ={"HEDGEBOT_BROKER__KIND": "schwab"})
    with pytest.raises(ConfigError) as info:
        settings.require_broker_secrets()
    assert "broker.schwab.app_key" in str(info.value)
    assert "broker.schwab.encryption_key" in str(info.value)


def test_invalid_values_are_reported_by_setting_name(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[chain]\nowner = "0x123"\nconfirmations = -1\nbogus = 1\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    message = str(info.value)
    assert "chain.owner: " in message and "40 hex digits" in message
    assert "chain.confirmations" in message
    assert "chain.bogus: unknown setting" in message


def test_bad_encryption_key_is_rejected_without_showing_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, environ={"HEDGEBOT_BROKER__SCHWAB__ENCRYPTION_KEY": "abc-secret"})
    assert "broker.schwab.encryption_key" in str(info.value)
    assert "abc-secret" not in str(info.value)


def test_threshold_needs_exactly_one_kind(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[broker.threshold]\nshares = "1"\ndollars = "5"\n')
    with pytest.raises(ConfigError, match="exactly one"):
        load_settings(path, environ={})


def test_chain_settings_are_required_to_run() -> None:
    settings = load_settings(None, environ={})
    with pytest.raises(ConfigError, match="chain.orderbook"):
        settings.require_chain()


def test_unreadable_toml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[chain\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_config_check_command_names_what_is_missing_and_never_prints_secrets() -> None:
    from typer.testing import CliRunner

    from hedgebot.cli import app

    runner = CliRunner()
    env = {"HEDGEBOT_BROKER__KIND": "alpaca", "HEDGEBOT_BROKER__ALPACA__API_KEY": "PK-HIDDEN"}
    result = runner.invoke(app, ["config", "check", "--config", str(EXAMPLE), "--json"], env=env)
    assert result.exit_code == 1
    assert "broker.alpaca.api_secret" in result.output
    assert "PK-HIDDEN" not in result.output

    env["HEDGEBOT_BROKER__ALPACA__API_SECRET"] = "SK-HIDDEN"
    result = runner.invoke(app, ["config", "check", "--config", str(EXAMPLE)], env=env)
    assert result.exit_code == 0, result.output
    assert "configuration OK" in result.output
    assert "SK-HIDDEN" not in result.output
