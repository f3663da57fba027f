"""``hedgebot process-tx`` and ``hedgebot pyth-price``, registered on the main Typer app.

Thin: options are laid over the configuration (`hedgebot.chain.operations`), the work
is done there, and the result printed as a table or ``--json``. Errors propagate to the
console script's ``main``, which prints one line.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hedgebot.config import Settings

console = Console()

ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="HEDGEBOT_CONFIG", help="TOML configuration file."),
]
SecretsFile = Annotated[
    Path | None,
    typer.Option(
        "--secrets-file",
        envvar="HEDGEBOT_SECRETS_FILE",
        help="KEY=value file with secrets (same names as the HEDGEBOT_ environment).",
    ),
]
TxHash = Annotated[str, typer.Argument(help="Transaction hash (0x + 64 hex digits).")]
RpcUrl = Annotated[
    str | None, typer.Option("--rpc-url", help="HTTP JSON-RPC URL (default: chain.rpc_url).")
]
PythAddress = Annotated[
    str | None,
    typer.Option("--pyth-address", help="Pyth contract (default: chain.pyth_address)."),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _settings(config: Path | None, secrets_file: Path | None) -> Settings:
    from hedgebot.config import load_settings

    return load_settings(config, environ=os.environ, secrets_file=secrets_file)


def process_tx(
    tx_hash: TxHash,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
    rpc_url: RpcUrl = None,
    orderbook: Annotated[
        str | None, typer.Option(help="Orderbook address (default: chain.orderbook).")
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="Owner of our orders (default: chain.owner).")
    ] = None,
    orderbook_version: Annotated[
        str | None, typer.Option(help="v5 or v4 (default: chain.orderbook_version).")
    ] = None,
    pyth_address: PythAddress = None,
    database_url: Annotated[
        str | None,
        typer.Option(envvar="DATABASE_URL", help="Event store URL (default: database.url)."),
    ] = None,
    json_output: Json = False,
) -> None:
    """Ingest one transaction's fills of our orders (idempotent), then enrich them."""
    from hedgebot.chain.operations import ChainOverrides, report_rows
    from hedgebot.chain.operations import process_tx as run_process_tx

    overrides = ChainOverrides(
        rpc_url, orderbook, owner, orderbook_version, pyth_address, database_url
    )
    settings = overrides.apply(_settings(config, secrets_file))
    report = asyncio.run(run_process_tx(settings, tx_hash))
    rows = report_rows(report)
    skips = [
        {"log_index": str(s.log_index), "reason": s.reason.value, "detail": s.detail}
        for s in report.skips
    ]
    if json_output:
        summary = {"witnessed": report.witnessed, "already_recorded": report.already_recorded}
        console.print_json(json.dumps({"trades": rows, "skipped": skips, **summary}))
        return
    table = Table(title=f"fills of our orders in {report.tx_hash}")
    columns = ("trade_id", "symbol", "direction", "amount", "price_usdc", "enriched")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(row[c] for c in columns))
    console.print(table)
    console.print(
        f"{report.witnessed} recorded, {report.already_recorded} already recorded, "
        f"{len(skips)} logs skipped"
    )
    for skip in skips:
        line = f"  log {skip['log_index']}: {skip['reason']} ({skip['detail']})"
        console.print(line, markup=False, highlight=False)


def pyth_price(
    tx_hash: TxHash,
    symbol: Annotated[
        str | None,
        typer.Option(help="Pick this symbol's feed when the transaction read several."),
    ] = None,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
    rpc_url: RpcUrl = None,
    pyth_address: PythAddress = None,
    json_output: Json = False,
) -> None:
    """Print the Pyth price a transaction read (from its debug_traceTransaction call tree)."""
    from hedgebot.chain.operations import ChainOverrides, pyth_fields
    from hedgebot.chain.operations import pyth_price as read_pyth_price

    settings = ChainOverrides(rpc_url=rpc_url, pyth_address=pyth_address).apply(
        _settings(config, secrets_file)
    )
    fields = pyth_fields(asyncio.run(read_pyth_price(settings.chain, tx_hash, symbol)))
    if json_output:
        console.print_json(json.dumps(fields))
        return
    for name, value in fields.items():
        console.print(f"{name}: {value}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the chain commands to the ``hedgebot`` app."""
    app.command(name="process-tx")(process_tx)
    app.command(name="pyth-price")(pyth_price)
