"""The `hedgebot` command line (Typer). Thin: parses arguments and calls into the package."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console

from hedgebot import __version__
from hedgebot.chain import cli as chain_commands
from hedgebot.config import Settings
from hedgebot.migration.cli import migrate_app
from hedgebot.operator import commands as operator_commands

app = typer.Typer(
    name="hedgebot",
    help="Event-sourced hedging bot for tokenized equities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(migrate_app, name="migrate-to-events")
operator_commands.register(app)  # trades, positions, orders, events, order, threshold, views, api
chain_commands.register(app)  # process-tx, pyth-price

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # one error, one line

DatabaseUrlOption = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="DATABASE_URL",
        help="Event store URL: sqlite:PATH (sqlx style: sqlite:///abs/path.db) "
        "or postgresql://user@host/db.",
    ),
]


class State:
    debug = False


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    State.debug = debug


@app.command()
def version() -> None:
    """Print hedgebot's version."""
    console.print(f"hedgebot {__version__}")


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrlOption) -> None:
    """Create or migrate the event store schema to the latest version."""
    from hedgebot.eventstore import schema
    from hedgebot.eventstore.dburl import parse_database_url

    url = parse_database_url(database_url)
    revision = schema.upgrade(url)
    console.print(f"database {url.redacted()} is at schema revision {revision}")


auth_app = typer.Typer(help="Broker authentication.", no_args_is_help=True)
app.add_typer(auth_app, name="auth")


@auth_app.command("schwab")
def auth_schwab(
    config: Annotated[
        str | None,
        typer.Option("--config", envvar="HEDGEBOT_CONFIG", help="TOML configuration file."),
    ] = None,
    secrets_file: Annotated[
        str | None,
        typer.Option("--secrets-file", envvar="HEDGEBOT_SECRETS_FILE", help="KEY=value secrets."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", envvar="DATABASE_URL", help="Overrides database.url."),
    ] = None,
    redirect_url: Annotated[
        str | None,
        typer.Option("--redirect-url", help="The redirect URL, instead of pasting it."),
    ] = None,
) -> None:
    """Log in to Schwab: print the authorize URL, read the redirect URL, store the tokens."""
    import os
    from pathlib import Path

    from hedgebot.brokers.schwab.login import run_schwab_login
    from hedgebot.config import load_settings

    settings = load_settings(
        Path(config) if config else None, os.environ, Path(secrets_file) if secrets_file else None
    )
    run_schwab_login(
        settings,
        prompt=lambda text: str(typer.prompt(text)),
        echo=lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True),
        redirect_url=redirect_url,
        database_url=database_url,
    )


@app.command()
def demo(
    fills: Annotated[int, typer.Option(help="Number of simulated fills.")] = 300,
) -> None:
    """Run the whole pipeline locally on embedded defaults (no configuration, no network)."""
    from hedgebot.demo import run_demo
    from hedgebot.runtime import tune_garbage_collector

    tune_garbage_collector()
    run_demo(fills=fills, console=console)


@app.command()
def pnl(
    database_url: DatabaseUrlOption,
    symbol: Annotated[
        str | None, typer.Option(help="Only this base symbol (e.g. AAPL), with its trades.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="From this time: ISO date or time (UTC), or 30m / 12h / 7d / 2w ago."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Realised PnL per base symbol: FIFO lots across onchain and broker fills."""
    from hedgebot.clock import SystemClock
    from hedgebot.metrics_pnl.report import parse_since, run_pnl_report

    try:
        start = None if since is None else parse_since(since, SystemClock().now())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
    run_pnl_report(
        database_url, symbol=symbol, since=start, json_output=json_output, console=console
    )


config_app = typer.Typer(help="Configuration commands.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ConfigFileOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="HEDGEBOT_CONFIG",
        help="TOML configuration file (see docs/hedgebot.example.toml).",
    ),
]
SecretsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--secrets-file",
        envvar="HEDGEBOT_SECRETS_FILE",
        help="KEY=value file with secrets (same names as the HEDGEBOT_ environment).",
    ),
]


def _settings(config: Path | None, secrets_file: Path | None) -> Settings:
    import os

    from hedgebot.config import load_settings

    return load_settings(config, environ=os.environ, secrets_file=secrets_file)


@config_app.command("check")
def config_check(
    config: ConfigFileOption = None,
    secrets_file: SecretsFileOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Validate the configuration and show it (secrets only as set/unset)."""
    import json

    from hedgebot.config import describe

    settings = _settings(config, secrets_file)
    problems: list[str] = []
    for check in (settings.require_chain, settings.require_broker_secrets):
        try:
            check()
        except ValueError as exc:
            problems.extend(str(exc).splitlines())
    described = describe(settings)
    if json_output:
        console.print_json(json.dumps({"settings": described, "problems": problems}))
    else:
        console.print_json(json.dumps(described))
        for problem in problems:
            err_console.print(f"not ready to run: {problem}", markup=False)
        if not problems:
            console.print("configuration OK")
    if problems:
        raise typer.Exit(1)


@app.command()
def run(config: ConfigFileOption = None, secrets_file: SecretsFileOption = None) -> None:
    """Run the bot: chain follower, managers, position checker (until SIGINT/SIGTERM)."""
    import asyncio

    from hedgebot.conductor import run_bot
    from hedgebot.logs import configure_logging
    from hedgebot.runtime import tune_garbage_collector

    settings = _settings(config, secrets_file)
    configure_logging(settings.logging.level, settings.logging.json_output)
    tune_garbage_collector()
    asyncio.run(run_bot(settings))


def main() -> None:
    """Console-script entry point: one readable line on error, traceback only with --debug."""
    # Typer vendors its own copy of click: its usage errors are not click's classes.
    from typer._click import exceptions as typer_click

    try:
        # Without standalone mode click returns a command's `typer.Exit(code)` as the
        # result instead of raising it: pass that code on as the exit status.
        result = app(standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool) and result:
            sys.exit(result)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except (click.exceptions.UsageError, typer_click.UsageError) as exc:
        err_console.print(f"usage error: {exc.format_message()}", markup=False)
        sys.exit(2)
    except (click.exceptions.ClickException, typer_click.ClickException) as exc:
        err_console.print(f"error: {exc.format_message()}", markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if State.debug:
            raise
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
