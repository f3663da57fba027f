"""``hedgebot auth schwab``: the manual OAuth login (SPEC §11).

1. print the authorize URL; the operator logs in to Schwab in a browser;
2. read the URL the browser was redirected to (``https://127.0.0.1/?code=…``; the
   page itself need not load) and take its ``code``;
3. exchange the code for tokens and store them, encrypted, through SchwabAuth.

The CLI only parses options and calls `run_schwab_login`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from hedgebot.brokers.schwab.client import SchwabBroker
from hedgebot.brokers.schwab.oauth import authorize_url, extract_code
from hedgebot.brokers.schwab.tokens import EventStoreSchwabAuth, TokenStatus, schwab_auth_handler
from hedgebot.clock import Clock, SystemClock
from hedgebot.config import ENV_PREFIX, ConfigError, SchwabSettings, Settings
from hedgebot.eventstore.factory import open_store

REQUIRED = ("app_key", "app_secret", "encryption_key")


def check_login_settings(settings: SchwabSettings) -> None:
    missing = [name for name in REQUIRED if getattr(settings, name) is None]
    if missing:
        raise ConfigError(
            "\n".join(
                f"broker.schwab.{name}: required to log in to Schwab; set "
                f"{ENV_PREFIX}BROKER__SCHWAB__{name.upper()}"
                for name in missing
            )
        )


def run_schwab_login(
    settings: Settings,
    *,
    prompt: Callable[[str], str],
    echo: Callable[[str], None],
    redirect_url: str | None = None,
    database_url: str | None = None,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> TokenStatus:
    """Run the login; returns the new tokens' expiry times (never the tokens)."""
    schwab = settings.broker.schwab
    check_login_settings(schwab)
    assert schwab.app_key is not None
    echo("1. Open this address in a browser and log in to Schwab:")
    echo(authorize_url(schwab.base_url, schwab.app_key, schwab.redirect_uri))
    echo(
        f"2. Schwab then sends the browser to {schwab.redirect_uri}/?code=… (the page may "
        "not load). Copy that whole address from the address bar."
    )
    pasted = redirect_url if redirect_url is not None else prompt("Redirect URL")
    code = extract_code(pasted)
    chosen_clock = clock or SystemClock()
    store = open_store(
        database_url or settings.database.url,
        sqlite_synchronous=settings.database.sqlite_synchronous,
    )
    try:
        auth = EventStoreSchwabAuth(schwab_auth_handler(store, chosen_clock))
        broker = SchwabBroker.create(schwab, auth=auth, clock=chosen_clock, transport=transport)

        async def exchange() -> TokenStatus:
            try:
                return await broker.tokens.login(code)
            finally:
                await broker.aclose()

        status = asyncio.run(exchange())
    finally:
        store.close()
    echo(
        "Schwab tokens stored (encrypted). The access token is refreshed automatically; "
        f"this login lasts until {status.refresh_expires_at:%Y-%m-%d %H:%M} UTC. Run "
        "`hedgebot auth schwab` again before then."
    )
    return status
