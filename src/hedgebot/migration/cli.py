"""The ``hedgebot migrate-to-events`` Typer sub-app: parses flags, runs `runner`.

``hedgebot migrate-to-events [run|dry-run|verify-only] --database-url URL
[--event-store-url URL] [--force] [--clean]``: the mode defaults to ``run``, and the
options may be given before or after it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Annotated

import typer
from rich.console import Console

HELP = "\n\n".join(
    [
        "Import the legacy CRUD bot's database into the event store.",
        "Reads onchain_trades, trade_accumulators, offchain_trades (schwab_executions in "
        "older databases) and schwab_auth, validates every row, and writes one Migrated "
        "event per row (TokensStored for the Schwab tokens) plus the view rows, all in ONE "
        "transaction: a bad row, an error or a kill leaves the store untouched. A run ends "
        "by verifying every legacy row against the views, field by field. Running it again "
        "writes nothing.",
        "MODES: run (the default) imports and verifies; dry-run validates and reports what "
        "would be written, changing nothing (the legacy file is opened read-only); "
        "verify-only compares the legacy tables with the store and reports every difference.",
        "WARNING: BACK UP THE DATABASE FIRST (cp bot.db bot.db.backup). A run adds the "
        "event-store tables to the legacy file (unless --event-store-url names another "
        "store) and --clean deletes existing events. See docs/MIGRATION.md.",
        "EXIT CODES: 0 ok; 1 bad legacy data, a verification difference, a conflict with "
        "existing events or a prompt answered no; 2 usage error.",
    ]
)

EPILOG = """\
Examples:

  hedgebot migrate-to-events dry-run --database-url sqlite:///data/bot.db

  hedgebot migrate-to-events run --database-url sqlite:///data/bot.db

  DATABASE_URL=sqlite:///data/bot.db hedgebot migrate-to-events run --force

  hedgebot migrate-to-events run --database-url sqlite:///data/bot.db
  --event-store-url postgresql://hedgebot@db.internal/hedgebot

  hedgebot migrate-to-events verify-only --database-url sqlite:///data/bot.db

  hedgebot migrate-to-events run --clean --force --database-url sqlite:///data/bot.db
"""

migrate_app = typer.Typer(
    help=HELP,
    epilog=EPILOG,
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DATABASE_URL",
        help="The legacy SQLite database (sqlite:PATH, sqlite:///abs/path.db or a path); "
        "also the event-store target unless --event-store-url is given. Env: DATABASE_URL.",
        show_default=False,
    ),
]
EventStoreUrl = Annotated[
    str | None,
    typer.Option(
        "--event-store-url",
        help="Import into another event store instead of the legacy file, e.g. "
        "postgresql://user@host/db or sqlite:/path/events.db.",
        show_default=False,
    ),
]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="No prompts: skip the backup question, the existing-events question and the "
        "DELETE confirmation of --clean.",
    ),
]
Clean = Annotated[
    bool,
    typer.Option(
        "--clean",
        help="Delete all events, snapshots, view rows and checkpoints of the target first "
        "(in the same transaction as the import); asks to type DELETE unless --force.",
    ),
]


@dataclass(frozen=True)
class _Given:
    database_url: str | None = None
    event_store_url: str | None = None
    force: bool = False
    clean: bool = False

    def merged(self, other: _Given) -> _Given:
        return replace(
            self,
            database_url=other.database_url or self.database_url,
            event_store_url=other.event_store_url or self.event_store_url,
            force=self.force or other.force,
            clean=self.clean or other.clean,
        )


def _execute(mode_name: str, given: _Given) -> None:
    # Imported here so that `hedgebot --help` and other commands do not load the
    # aggregates, views and store backends the import needs.
    from hedgebot.migration.progress import progress_for
    from hedgebot.migration.prompts import Prompter
    from hedgebot.migration.runner import Mode, Options, run_migration

    mode = Mode(mode_name)
    console = Console(highlight=False)
    if not given.database_url:
        console.print(
            "usage error: Missing option '--database-url' (or the DATABASE_URL environment "
            "variable). See --help.",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    options = Options(
        mode=mode,
        database_url=given.database_url,
        event_store_url=given.event_store_url,
        force=given.force,
        clean=given.clean,
    )

    def write(text: str) -> None:
        console.print(text, end="", markup=False)
        console.file.flush()

    prompter = Prompter(write=write, read_line=sys.stdin.readline, force=given.force)
    code = run_migration(options, console, progress_for(console), prompter)
    raise typer.Exit(code)


def _given(ctx: typer.Context) -> _Given:
    found = ctx.obj
    return found if isinstance(found, _Given) else _Given()


@migrate_app.callback()
def migrate_to_events(
    ctx: typer.Context,
    database_url: DatabaseUrl = None,
    event_store_url: EventStoreUrl = None,
    force: Force = False,
    clean: Clean = False,
) -> None:
    given = _Given(database_url, event_store_url, force, clean)
    ctx.obj = given
    if ctx.invoked_subcommand is None:
        _execute("run", given)


@migrate_app.command("run", epilog=EPILOG)
def run_command(
    ctx: typer.Context,
    database_url: DatabaseUrl = None,
    event_store_url: EventStoreUrl = None,
    force: Force = False,
    clean: Clean = False,
) -> None:
    """Import every legacy row (one transaction), then verify it. Back up first!"""
    _execute("run", _given(ctx).merged(_Given(database_url, event_store_url, force, clean)))


@migrate_app.command("dry-run", epilog=EPILOG)
def dry_run_command(
    ctx: typer.Context,
    database_url: DatabaseUrl = None,
    event_store_url: EventStoreUrl = None,
) -> None:
    """Validate and report what a run would write; changes nothing (read-only)."""
    given = _given(ctx).merged(_Given(database_url, event_store_url))
    _execute("dry-run", given)


@migrate_app.command("verify-only", epilog=EPILOG)
def verify_only_command(
    ctx: typer.Context,
    database_url: DatabaseUrl = None,
    event_store_url: EventStoreUrl = None,
) -> None:
    """Compare every legacy row with its events and view rows; read-only."""
    given = _given(ctx).merged(_Given(database_url, event_store_url))
    _execute("verify-only", given)
