"""Configuration: a TOML file plus ``HEDGEBOT_…`` environment overrides (SPEC §13).

* The file holds settings, never secrets. Secrets (broker keys, the token encryption
  key, the API token) come only from the environment or a secrets file (``KEY=value``
  lines, same names as the environment); a secret found in the TOML file is an error.
* Any setting can be overridden from the environment with its path in upper case,
  sections joined by ``__``: ``HEDGEBOT_CHAIN__RPC_URL``, ``HEDGEBOT_BROKER__KIND``,
  ``HEDGEBOT_BROKER__ALPACA__API_KEY``.
* Everything is validated at start-up; an error names the setting and what is wrong,
  and never echoes a secret's value.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "HEDGEBOT_"
BASE_PYTH_ADDRESS = "0x8250f4af4b972684f7b336503e2d6dfedeb1487a"

#: settings that are secrets: never accepted from the TOML file, never printed
SECRET_PATHS: tuple[tuple[str, ...], ...] = (
    ("api", "token"),
    ("broker", "alpaca", "api_key"),
    ("broker", "alpaca", "api_secret"),
    ("broker", "schwab", "app_key"),
    ("broker", "schwab", "app_secret"),
    ("broker", "schwab", "encryption_key"),
)

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class ConfigError(ValueError):
    """Invalid configuration; the message lists every problem, one per line."""


def _address(value: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value.strip()):
        raise ValueError("must be an address: 0x followed by 40 hex digits")
    return value.strip().lower()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite://hedgebot.db"
    snapshot_every: int = Field(default=100, ge=0)
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = "FULL"


class ChainSettings(_Section):
    rpc_url: str = "http://127.0.0.1:8545"
    orderbook: str | None = None
    orderbook_version: Literal["v5", "v4"] = "v5"
    owner: str | None = None
    deployment_block: int = Field(default=0, ge=0)
    confirmations: int = Field(default=3, ge=0, le=1000)
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    poll_interval_seconds: float = Field(default=2.0, gt=0)
    pyth_address: str = BASE_PYTH_ADDRESS

    @field_validator("orderbook", "owner", "pyth_address")
    @classmethod
    def _check_address(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @field_validator("rpc_url")
    @classmethod
    def _check_rpc(cls, value: str) -> str:
        if not value.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must be an http(s):// or ws(s):// URL")
        return value


class ThresholdSettings(_Section):
    """Exactly one of ``shares`` (whole-share brokers) or ``dollars`` (fractional brokers)."""

    shares: Decimal | None = None
    dollars: Decimal | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ThresholdSettings:
        if (self.shares is None) == (self.dollars is None):
            raise ValueError("set exactly one of 'shares' or 'dollars'")
        value = self.shares if self.shares is not None else self.dollars
        assert value is not None
        if not value.is_finite() or value <= 0:
            raise ValueError("the threshold must be a positive number")
        return self


class PaperBrokerSettings(_Section):
    seed: int = 0
    fill_price: Decimal | None = None
    fill_after_polls: int = Field(default=0, ge=0)
    partial_fill_ratio: Decimal | None = None
    reject_symbols: tuple[str, ...] = ()
    market_hours: Literal["always", "nyse"] = "always"
    fractional: bool = False


class AlpacaSettings(_Section):
    mode: Literal["paper", "live"] = "paper"
    base_url: str | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)


class SchwabSettings(_Section):
    app_key: SecretStr | None = None
    app_secret: SecretStr | None = None
    encryption_key: SecretStr | None = None
    redirect_uri: str = "https://127.0.0.1"
    account_index: int = Field(default=0, ge=0)
    base_url: str = "https://api.schwabapi.com"
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("encryption_key")
    @classmethod
    def _check_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value().strip().removeprefix("0x")
        if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
            raise ValueError("must be 32 bytes as 64 hex digits (value not shown)")
        return SecretStr(text.lower())


class BrokerSettings(_Section):
    kind: Literal["paper", "alpaca", "schwab"] = "paper"
    threshold: ThresholdSettings | None = None
    order_poll_interval_seconds: float = Field(default=15.0, gt=0)
    max_concurrent_orders: int = Field(default=8, ge=1, le=256)
    paper: PaperBrokerSettings = PaperBrokerSettings()
    alpaca: AlpacaSettings = AlpacaSettings()
    schwab: SchwabSettings = SchwabSettings()

    @property
    def effective_threshold(self) -> ThresholdSettings:
        """The configured default threshold, or the broker's natural one.

        Whole-share brokers (Schwab, the paper broker unless fractional) hedge whole
        shares from 1; Alpaca takes fractional orders, so a $1 notional threshold.
        """
        if self.threshold is not None:
            return self.threshold
        if self.kind == "alpaca" or (self.kind == "paper" and self.paper.fractional):
            return ThresholdSettings(dollars=Decimal("1"))
        return ThresholdSettings(shares=Decimal("1"))


class ManagerSettings(_Section):
    position_check_interval_seconds: float = Field(default=60.0, gt=0)
    shutdown_grace_seconds: float = Field(default=10.0, gt=0)


class ApiSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token: SecretStr | None = None


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_output: bool = True


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    chain: ChainSettings = ChainSettings()
    broker: BrokerSettings = BrokerSettings()
    managers: ManagerSettings = ManagerSettings()
    api: ApiSettings = ApiSettings()
    logging: LoggingSettings = LoggingSettings()

    def require_chain(self) -> ChainSettings:
        """The chain settings `hedgebot run` cannot do without."""
        missing = [name for name in ("orderbook", "owner") if getattr(self.chain, name) is None]
        if missing:
            raise ConfigError(
                "\n".join(f"chain.{name}: required to run the bot" for name in missing)
            )
        return self.chain

    def require_broker_secrets(self) -> None:
        broker = self.broker
        problems = []
        if broker.kind == "alpaca":
            for name in ("api_key", "api_secret"):
                if getattr(broker.alpaca, name) is None:
                    problems.append(
                        f"broker.alpaca.{name}: required; set "
                        f"{ENV_PREFIX}BROKER__ALPACA__{name.upper()}"
                    )
        if broker.kind == "schwab":
            for name in ("app_key", "app_secret", "encryption_key"):
                if getattr(broker.schwab, name) is None:
                    problems.append(
                        f"broker.schwab.{name}: required; set "
                        f"{ENV_PREFIX}BROKER__SCHWAB__{name.upper()}"
                    )
        if problems:
            raise ConfigError("\n".join(problems))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _read_secrets_file(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise ConfigError(f"secrets file not found: {path}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"secrets file {path} line {number}: expected KEY=value")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == f"{ENV_PREFIX}CONFIG":
            continue
        path = [part.lower() for part in key[len(ENV_PREFIX) :].split("__")]
        if not all(path):
            continue
        node = tree
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{key}: conflicts with another setting")
            node = child
        node[path[-1]] = _env_value(value)
    return tree


def _env_value(value: str) -> Any:
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if value.strip().startswith("["):
        return [v.strip().strip("'\"") for v in value.strip()[1:-1].split(",") if v.strip()]
    return value


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _dig(tree: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = tree
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "config"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        is_secret = any(tuple(error["loc"][: len(p)]) == p for p in SECRET_PATHS)
        shown = "" if is_secret or error["type"] == "extra_forbidden" else error.get("input")
        printable = shown not in ("", None) and not isinstance(shown, dict)
        suffix = f" (got {shown!r})" if printable else ""
        lines.append(f"{where}: {message}{suffix}")
    return "\n".join(lines)


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    secrets_file: Path | None = None,
) -> Settings:
    """Load and validate settings: file < secrets file < environment."""
    env = dict(environ or {})
    tree: dict[str, Any] = _read_toml(config_file) if config_file is not None else {}
    leaked = [".".join(p) for p in SECRET_PATHS if _dig(tree, p)]
    if leaked:
        raise ConfigError(
            "\n".join(
                f"{name}: is a secret and must not be in the config file; set "
                f"{ENV_PREFIX}{name.upper().replace('.', '__')} in the environment or the "
                "secrets file"
                for name in leaked
            )
        )
    if secrets_file is not None:
        tree = _merge(tree, _overrides(_read_secrets_file(secrets_file)))
    tree = _merge(tree, _overrides(env))
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None


def describe(settings: Settings) -> dict[str, Any]:
    """Settings as plain data with secrets shown only as set/unset (for `config check`)."""
    data = settings.model_dump(mode="json")
    for path in SECRET_PATHS:
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = "<set>" if node[path[-1]] is not None else None
    return data
