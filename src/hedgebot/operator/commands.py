"""The operator's ``hedgebot`` commands (SPEC §11), registered on the main Typer app.

Thin: each command parses its options, calls `reads` / `actions`, and prints a table
(or ``--json``). Expected failures print one line ``error: …`` on stderr and exit 1
(``--debug`` shows the traceback); bad arguments exit 2 with click's usage message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console

from hedgebot.domain import Direction

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DATABASE_URL",
        help="Event store URL (sqlite:PATH or postgresql://…); default: database.url of "
        "the configuration.",
        show_default=False,
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="HEDGEBOT_CONFIG", help="TOML configuration file."),
]
SecretsFile = Annotated[
    Path | None,
    typer.Option(
        "--secrets-file", envvar="HEDGEBOT_SECRETS_FILE", help="KEY=value file with secrets."
    ),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
Limit = Annotated[int, typer.Option(min=1, max=1000, help="At most this many rows.")]
Offset = Annotated[int, typer.Option(min=0, help="Skip this many rows (pagination).")]
Since = Annotated[
    str | None,
    typer.Option(help="From this time: ISO date or time (UTC), or 30m / 12h / 7d / 2w ago."),
]


def _debug() -> bool:
    from hedgebot.cli import State  # set by the root callback on every invocation

    return State.debug


@contextmanager
def reported_errors() -> Iterator[None]:
    """One readable line and exit 1 for an expected failure (traceback with --debug)."""
    try:
        yield
    except (typer.Exit, typer.Abort, click.ClickException):
        raise
    except Exception as exc:
        if _debug():
            raise
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the time of writing (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _quiet_logs() -> None:
    """One-shot commands log warnings and errors to stderr, never into ``--json`` output.

    The events are the audit trail of what an operator command did; the log only says
    what went wrong.
    """
    from hedgebot.logs import configure_logging

    configure_logging("WARNING", json_output=False)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(_CurrentStderr())


def _print_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2))


def _parse_since(value: str | None, hint: str = "--since") -> datetime | None:
    from hedgebot.clock import SystemClock
    from hedgebot.metrics_pnl.report import parse_since

    if value is None:
        return None
    try:
        return parse_since(value, SystemClock().now())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None


def _decimal(value: str, hint: str) -> Decimal:
    try:
        parsed = Decimal(value.strip())
    except InvalidOperation:
        raise typer.BadParameter(f"not a number: {value!r}", param_hint=hint) from None
    if not parsed.is_finite() or parsed <= 0:
        raise typer.BadParameter(f"must be a positive number, got {value!r}", param_hint=hint)
    return parsed


def _settings(config: Path | None, secrets_file: Path | None, database_url: str | None) -> Any:
    from hedgebot.operator.context import resolve_settings

    return resolve_settings(config, secrets_file, database_url)


# ---------------------------------------------------------------------------
# read commands


def trades(
    symbol: Annotated[
        str | None, typer.Option(help="Tokenized (tAAPL) or base (AAPL) symbol.")
    ] = None,
    since: Since = None,
    limit: Limit = 50,
    offset: Offset = 0,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
) -> None:
    """Onchain fills of our orders, newest first."""
    from hedgebot.operator.context import open_settings_store
    from hedgebot.operator.reads import list_trades, page_json, trade_json
    from hedgebot.operator.render import trades_table

    start = _parse_since(since)
    with reported_errors():
        store = open_settings_store(_settings(config, secrets_file, database_url))
        try:
            page = list_trades(store, symbol=symbol, since=start, limit=limit, offset=offset)
        finally:
            store.close()
    if json_output:
        _print_json(page_json(page, [trade_json(t) for t in page.items]))
    else:
        console.print(trades_table(page))


def positions(
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
) -> None:
    """Net position per base symbol, its exposure, threshold and pending hedge."""
    from hedgebot.operator.context import open_settings_store
    from hedgebot.operator.reads import position_json
    from hedgebot.operator.render import positions_table
    from hedgebot.position.view import all_positions

    with reported_errors():
        store = open_settings_store(_settings(config, secrets_file, database_url))
        try:
            found = all_positions(store)
        finally:
            store.close()
    if json_output:
        _print_json({"items": [position_json(p) for p in found]})
    elif not found:
        console.print("no positions yet")
    else:
        console.print(positions_table(found))


def orders(
    status: Annotated[
        str | None, typer.Option(help="PENDING, SUBMITTED, FILLED or FAILED.")
    ] = None,
    symbol: Annotated[str | None, typer.Option(help="Base symbol (AAPL).")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
) -> None:
    """Broker orders (hedges and manual orders), newest first."""
    from hedgebot.operator.context import open_settings_store
    from hedgebot.operator.reads import check_status, list_orders, order_json, page_json
    from hedgebot.operator.render import orders_table

    try:
        wanted = None if status is None else check_status(status)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--status") from None
    with reported_errors():
        store = open_settings_store(_settings(config, secrets_file, database_url))
        try:
            page = list_orders(store, status=wanted, symbol=symbol, limit=limit, offset=offset)
        finally:
            store.close()
    if json_output:
        _print_json(page_json(page, [order_json(o) for o in page.items]))
    else:
        console.print(orders_table(page))


def events(
    aggregate_type: Annotated[
        str, typer.Argument(help="OnChainTrade, Position, OffchainOrder or SchwabAuth.")
    ],
    aggregate_id: Annotated[
        str, typer.Argument(help="0x…:log_index, a base symbol, an execution id, or schwab.")
    ],
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
) -> None:
    """The history of one aggregate: every event, decoded, in sequence order."""
    from hedgebot.bootstrap import all_registries
    from hedgebot.operator.context import open_settings_store
    from hedgebot.operator.history import aggregate_history, canonical_id, canonical_type
    from hedgebot.operator.render import history_table

    try:
        canonical_id(canonical_type(aggregate_type), aggregate_id)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with reported_errors():
        store = open_settings_store(_settings(config, secrets_file, database_url))
        try:
            kind, ident, entries = aggregate_history(
                store, all_registries(), aggregate_type, aggregate_id
            )
        finally:
            store.close()
        if not entries:
            raise LookupError(f"no events for {kind} {ident!r}")
    if json_output:
        _print_json(
            {
                "aggregate_type": kind,
                "aggregate_id": ident,
                "events": [e.to_json() for e in entries],
            }
        )
    else:
        console.print(history_table(kind, ident, entries))


# ---------------------------------------------------------------------------
# write commands


def _confirm(question: str, yes: bool) -> None:
    if not yes:
        typer.confirm(question, abort=True, err=True)


def _manual_order(
    direction: Direction,
    symbol: str,
    quantity: str,
    yes: bool,
    wait: float,
    json_output: bool,
    database_url: str | None,
    config: Path | None,
    secrets_file: Path | None,
) -> None:
    from hedgebot.bootstrap import build_broker
    from hedgebot.operator.actions import check_manual_order, place_manual_order
    from hedgebot.operator.context import open_core
    from hedgebot.operator.reads import order_json

    _quiet_logs()
    amount = _decimal(quantity, "QTY")
    try:
        request = check_manual_order(symbol, amount, direction)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="SYMBOL") from None
    with reported_errors():
        settings = _settings(config, secrets_file, database_url)
        settings.require_broker_secrets()
        _confirm(
            f"{direction.legacy} {format(request.quantity, 'f')} {request.symbol} at market "
            f"with the {settings.broker.kind} broker? It is recorded as a broker order, "
            "not a hedge: no position changes",
            yes,
        )
        core = open_core(settings)

        async def run() -> Any:
            broker = await build_broker(settings, core)
            try:
                return await place_manual_order(core, broker, request, wait_seconds=wait)
            finally:
                await broker.aclose()

        try:
            outcome = asyncio.run(run())
        finally:
            core.close()
    record = outcome.record
    if json_output:
        _print_json({**order_json(record), "note": outcome.note})
    else:
        fill = ""
        if record.status == "FILLED" and record.price_cents is not None:
            fill = f" {format(record.shares_filled, 'f')} @ ${Decimal(record.price_cents) / 100}"
        console.print(
            f"order {record.execution_id}: {record.direction.legacy} "
            f"{format(record.shares, 'f')} {record.symbol} → {record.status}{fill}"
            f" (broker order {record.broker_order_id or '—'})",
            markup=False,
            highlight=False,
        )
        if record.error:
            err_console.print(f"broker: {record.error}", markup=False, highlight=False)
        if outcome.note:
            err_console.print(outcome.note, markup=False, highlight=False)
    if record.status != "FILLED":
        raise typer.Exit(1)


order_app = typer.Typer(help="Manual broker orders (recorded as OffchainOrder).")

Symbol = Annotated[str, typer.Argument(help="Broker ticker, e.g. AAPL.")]
Quantity = Annotated[str, typer.Argument(help="Shares (whole shares unless fractional).")]
Wait = Annotated[
    float,
    typer.Option(min=0, max=3600, help="Seconds to wait for the fill before cancelling the order."),
]


@order_app.command("buy")
def order_buy(
    symbol: Symbol,
    quantity: Quantity,
    yes: Yes = False,
    wait: Wait = 30.0,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
) -> None:
    """Buy at market now with the configured broker, and record it."""
    _manual_order(
        Direction.BUY, symbol, quantity, yes, wait, json_output, database_url, config,
        secrets_file,
    )  # fmt: skip


@order_app.command("sell")
def order_sell(
    symbol: Symbol,
    quantity: Quantity,
    yes: Yes = False,
    wait: Wait = 30.0,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
) -> None:
    """Sell at market now with the configured broker, and record it."""
    _manual_order(
        Direction.SELL, symbol, quantity, yes, wait, json_output, database_url, config,
        secrets_file,
    )  # fmt: skip


threshold_app = typer.Typer(help="Hedging thresholds per symbol.")


@threshold_app.command("set")
def threshold_set(
    symbol: Annotated[str, typer.Argument(help="Base symbol of the position (AAPL).")],
    shares: Annotated[str | None, typer.Option(help="Hedge at this many shares.")] = None,
    dollars: Annotated[str | None, typer.Option(help="Hedge at this dollar value.")] = None,
    yes: Yes = False,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
) -> None:
    """Change a position's threshold (audited); also resumes suspended hedging."""
    from hedgebot.operator.actions import set_threshold
    from hedgebot.operator.context import open_core
    from hedgebot.operator.reads import parse_threshold, position_json

    if (shares is None) == (dollars is None):
        raise typer.BadParameter("give exactly one of --shares N or --dollars N")
    try:
        threshold = parse_threshold(
            None if shares is None else _decimal(shares, "--shares"),
            None if dollars is None else _decimal(dollars, "--dollars"),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    shown = f"{shares} shares" if shares is not None else f"${dollars}"
    _quiet_logs()
    with reported_errors():
        core = open_core(_settings(config, secrets_file, database_url))
        try:
            _confirm(f"Set the hedging threshold of {symbol} to {shown}?", yes)
            state = set_threshold(core, symbol, threshold)
        finally:
            core.close()
    if json_output:
        _print_json(position_json(state))
    else:
        console.print(f"{symbol}: threshold is now {shown}", markup=False, highlight=False)


hedging_app = typer.Typer(help="Automatic hedging of a symbol.")


@hedging_app.command("resume")
def hedging_resume(
    symbol: Annotated[str, typer.Argument(help="Base symbol of the position (AAPL).")],
    yes: Yes = False,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
) -> None:
    """Resume automatic hedging after repeated failed hedges (audited)."""
    from hedgebot.operator.actions import resume_hedging
    from hedgebot.operator.context import open_core
    from hedgebot.operator.reads import position_json

    _quiet_logs()
    with reported_errors():
        core = open_core(_settings(config, secrets_file, database_url))
        try:
            _confirm(f"Resume automatic hedging of {symbol}?", yes)
            state = resume_hedging(core, symbol)
        finally:
            core.close()
    if json_output:
        _print_json(position_json(state))
    else:
        console.print(f"{symbol}: automatic hedging resumed", markup=False, highlight=False)


views_app = typer.Typer(help="Read models (views).")


@views_app.command("rebuild")
def views_rebuild(
    view: Annotated[
        str | None, typer.Argument(help="One view table (default: every view).")
    ] = None,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
) -> None:
    """Recompute views from the events alone, each in one transaction."""
    from hedgebot.bootstrap import build_projector
    from hedgebot.operator.actions import rebuild_views, view_tables
    from hedgebot.operator.context import open_settings_store
    from hedgebot.operator.render import rebuild_table

    projector = build_projector()
    known = view_tables(projector)
    if view is not None and view not in known:
        raise typer.BadParameter(
            f"unknown view {view!r} (one of {', '.join(known)})", param_hint="VIEW"
        )
    _quiet_logs()
    with reported_errors():
        store = open_settings_store(_settings(config, secrets_file, database_url))
        try:
            results = rebuild_views(store, projector, view)
        finally:
            store.close()
    if json_output:
        _print_json({"views": [r.__dict__ for r in results]})
    else:
        console.print(rebuild_table(results))


def api(
    host: Annotated[str | None, typer.Option(help="Bind address (default: api.host).")] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Port (default: api.port).")
    ] = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    secrets_file: SecretsFile = None,
) -> None:
    """Serve the REST API and the dashboard on their own (until Ctrl-C)."""
    from hedgebot.api.service import serve_standalone
    from hedgebot.logs import configure_logging

    with reported_errors():
        settings = _settings(config, secrets_file, database_url)
        configure_logging(settings.logging.level, settings.logging.json_output)
        asyncio.run(serve_standalone(settings, host=host, port=port, echo=console.print))


def register(app: typer.Typer) -> None:
    """Add the operator commands to the ``hedgebot`` app."""
    for command in (trades, positions, orders, events, api):
        app.command(name=command.__name__)(command)
    app.add_typer(order_app, name="order", no_args_is_help=True)
    app.add_typer(threshold_app, name="threshold", no_args_is_help=True)
    app.add_typer(hedging_app, name="hedging", no_args_is_help=True)
    app.add_typer(views_app, name="views", no_args_is_help=True)
