"""Building the Schwab adapter for ``hedgebot run`` (called by `hedgebot.bootstrap`).

The adapter shares the process's store, clock and projector: SchwabAuth commands go
through the same command handler machinery and keep ``schwab_auth_view`` current,
and placements use the durable ``schwab_order_journal``. A missing or expired login
does not stop the process: it is logged, `TokenRefresher` keeps reporting it, and the
operator runs ``hedgebot auth schwab`` (the bot picks the new tokens up from the
store on its next request).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import httpx
import structlog

from hedgebot.brokers.errors import AuthExpired, BrokerError
from hedgebot.brokers.retry import BROKER_RETRY, RetryPolicy
from hedgebot.brokers.schwab.client import SchwabBroker
from hedgebot.brokers.schwab.journal import StorePlacementJournal
from hedgebot.brokers.schwab.tokens import (
    EventStoreSchwabAuth,
    StopToken,
    TokenRefresher,
    schwab_auth_handler,
)
from hedgebot.clock import Clock
from hedgebot.config import SchwabSettings
from hedgebot.eventstore import EventStore, Projector

log = structlog.get_logger(__name__)


class SchwabCore(Protocol):
    """What the adapter needs from the process core."""

    store: EventStore
    clock: Clock
    projector: Projector


async def build_schwab_broker(
    settings: SchwabSettings,
    core: SchwabCore,
    *,
    retry: RetryPolicy = BROKER_RETRY,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SchwabBroker:
    handler = schwab_auth_handler(core.store, core.clock, core.projector)
    broker = SchwabBroker.create(
        settings,
        auth=EventStoreSchwabAuth(handler),
        clock=core.clock,
        retry=retry,
        journal=StorePlacementJournal(core.store),
        transport=transport,
    )
    try:
        status = await broker.tokens.ensure_fresh()
        log.info(
            "schwab_ready",
            access_expires_at=status.access_expires_at.isoformat(),
            refresh_expires_at=status.refresh_expires_at.isoformat(),
        )
    except AuthExpired as exc:
        log.error("schwab_auth_expired", error=str(exc))
    except BrokerError as exc:
        log.warning("schwab_not_reachable_at_start", error_kind=type(exc).__name__, error=str(exc))
    return broker


def token_refresher_service(
    broker: SchwabBroker, clock: Clock, *, check_every: float = 60.0
) -> Callable[[StopToken], Coroutine[Any, Any, None]]:
    """The conductor service (``NamedService("schwab-tokens", …)``) keeping tokens fresh."""
    return TokenRefresher(broker.tokens, clock, check_every=check_every).run
