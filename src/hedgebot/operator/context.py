"""Settings, store and command handlers for one operator command.

``--database-url`` (or ``DATABASE_URL``) wins over the configuration file's
``database.url``; a configuration file (``--config`` / ``HEDGEBOT_CONFIG``) is needed
only by commands that talk to a broker. The store is opened without migrating it:
an operator command never changes the schema behind a running bot's back (``hedgebot
db upgrade`` and ``hedgebot run`` do that), and a missing file is an error, never a
new empty database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from hedgebot.bootstrap import Core, build_core
from hedgebot.clock import Clock
from hedgebot.config import Settings, load_settings
from hedgebot.eventstore import EventStore
from hedgebot.eventstore.factory import open_store


def resolve_settings(
    config: Path | None,
    secrets_file: Path | None,
    database_url: str | None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    settings = load_settings(
        config, environ=os.environ if environ is None else environ, secrets_file=secrets_file
    )
    if database_url is None or not database_url.strip():
        return settings
    database = settings.database.model_copy(update={"url": database_url.strip()})
    return settings.model_copy(update={"database": database})


def open_settings_store(settings: Settings) -> EventStore:
    return open_store(
        settings.database.url,
        upgrade=False,
        sqlite_synchronous=settings.database.sqlite_synchronous,
    )


def open_core(settings: Settings, *, clock: Clock | None = None) -> Core:
    """The command handlers over the configured store (not migrated, see above)."""
    return build_core(settings, clock=clock, store=open_settings_store(settings))
