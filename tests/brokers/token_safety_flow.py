"""A Schwab login, refreshes and failures with production logging, for test_token_safety.

Run as ``python -m tests.brokers.token_safety_flow WORKDIR`` (a fresh process, so the
real logging configuration applies). It leaves in WORKDIR: the SQLite event store
(``bot.db*``), ``said.txt`` (str and repr of every error and of the objects holding
secrets), ``secrets.json`` (every plaintext secret used, for the test to look for)
and ``facts.json`` (counters proving the flow ran). Logs go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
import traceback
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import structlog
from pydantic import SecretStr

from hedgebot.brokers.fakes import FakeSchwab
from hedgebot.brokers.retry import RetryPolicy
from hedgebot.brokers.schwab.client import SchwabBroker
from hedgebot.brokers.schwab.journal import StorePlacementJournal
from hedgebot.brokers.schwab.tokens import EventStoreSchwabAuth, schwab_auth_handler
from hedgebot.clock import ManualClock
from hedgebot.config import SchwabSettings
from hedgebot.domain import Direction
from hedgebot.eventstore.factory import open_store
from hedgebot.logs import configure_logging
from tests.brokers.conftest import SESSION_OPEN
from tests.brokers.harness import ENCRYPTION_KEY

# Made up at run time: a literal would show up in tracebacks' source lines.
LOGIN_CODE = f"C0DE.{secrets.token_urlsafe(12)}@"
BAD_CODE = f"BAD.{secrets.token_urlsafe(12)}"
log = structlog.get_logger("token_safety_flow")


async def no_sleep(seconds: float) -> None:
    return None


async def flow(workdir: Path) -> None:
    said: list[str] = []
    clock = ManualClock(SESSION_OPEN)
    store = open_store(f"sqlite://{workdir / 'bot.db'}")
    retry = RetryPolicy(max_attempts=2, jitter=0, sleep=no_sleep)

    def remember(error: BaseException) -> None:
        said.extend([str(error), repr(error), "".join(traceback.format_exception(error))])
        log.error("flow_step_failed", error=str(error), exc_info=error)

    async with FakeSchwab(clock=clock) as fake:
        fake.add_login_code(LOGIN_CODE)
        settings = SchwabSettings(
            app_key=SecretStr(fake.app_key),
            app_secret=SecretStr(fake.app_secret),
            encryption_key=SecretStr(ENCRYPTION_KEY.hex()),
            base_url=fake.base_url,
        )
        auth = EventStoreSchwabAuth(schwab_auth_handler(store, clock))
        broker = SchwabBroker.create(
            settings, auth=auth, clock=clock, retry=retry, journal=StorePlacementJournal(store)
        )
        said.extend([repr(broker), repr(broker.tokens), repr(settings), str(settings)])
        await broker.tokens.login(SecretStr(LOGIN_CODE))
        order_id = await broker.place_market_order("AAPL", Decimal(2), Direction.BUY, "hb-1")
        clock.advance(timedelta(minutes=26))  # refresh because of age
        said.append(repr(await broker.get_order_status(order_id)))
        fake.expire_access_tokens()  # refresh because Schwab says 401
        said.append(repr(await broker.get_order_status(order_id)))

        try:  # a login with a code Schwab refuses
            await broker.tokens.login(SecretStr(BAD_CODE))
        except Exception as error:
            remember(error)
        wrong_key = SchwabSettings(
            **{**settings.model_dump(), "encryption_key": SecretStr("11" * 32)}
        )
        stranger = SchwabBroker.create(wrong_key, auth=auth, clock=clock, retry=retry)
        try:  # tokens stored under another key
            await stranger.get_order_status(order_id)
        except Exception as error:
            remember(error)
        finally:
            await stranger.aclose()
        fake.expire_access_tokens()
        fake.revoke_refresh_tokens()
        try:  # Schwab refuses the refresh token
            await broker.get_order_status(order_id)
        except Exception as error:
            remember(error)
        clock.advance(timedelta(days=7))
        try:  # past the 7-day limit
            await broker.market_clock()
        except Exception as error:
            remember(error)
        await broker.aclose()
        used = [*fake.issued_tokens, LOGIN_CODE, BAD_CODE, fake.app_secret]
        facts = {"refreshes": fake.refreshes, "code_exchanges": fake.code_exchanges}
    store.close()
    (workdir / "said.txt").write_text("\n".join(said))
    (workdir / "secrets.json").write_text(json.dumps(used))
    (workdir / "facts.json").write_text(json.dumps(facts))


def main() -> None:
    configure_logging("DEBUG", json_output=True)
    for noisy in ("httpx", "httpcore", "aiohttp"):
        logging.getLogger(noisy).setLevel(logging.DEBUG)
    asyncio.run(flow(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
