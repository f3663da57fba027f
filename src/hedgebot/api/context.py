"""What every route needs: the process core, the settings, the probes, a broker.

Held on ``app.state.hedgebot`` (one `ApiContext` per app) so tests build as many
independent apps as they like. The broker is the bot's own when ``hedgebot run``
passes it (one paper broker instance, one Schwab token manager); a standalone
``hedgebot api`` builds one from the configuration the first time a manual order
needs it, and closes it at shutdown.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hedgebot.api.health import HealthProbes
from hedgebot.bootstrap import Core
from hedgebot.brokers.protocol import BrokerPort
from hedgebot.config import ENV_PREFIX, ConfigError, Settings


@dataclass
class ApiContext:
    core: Core
    settings: Settings
    probes: HealthProbes
    broker: BrokerPort | None = None
    owns_broker: bool = False
    stream_poll_seconds: float = 0.5
    stream_keepalive_seconds: float = 15.0
    stopping: bool = False
    _broker_lock: asyncio.Lock | None = field(default=None, repr=False)

    async def get_broker(self) -> BrokerPort:
        """The process's broker, or one built from the configuration on first use."""
        if self.broker is not None:
            return self.broker
        if self._broker_lock is None:
            self._broker_lock = asyncio.Lock()
        async with self._broker_lock:
            if self.broker is None:
                from hedgebot.bootstrap import build_broker

                try:
                    self.settings.require_broker_secrets()
                except ConfigError as exc:
                    raise HTTPException(
                        503, f"no broker available: {str(exc).splitlines()[0]}"
                    ) from None
                self.broker = await build_broker(self.settings, self.core)
                self.owns_broker = True
            return self.broker

    async def aclose(self) -> None:
        if self.owns_broker and self.broker is not None:
            await self.broker.aclose()
            self.broker = None


def invalid(location: tuple[str, ...], message: str) -> RequestValidationError:
    """A 422 in FastAPI's own shape, for checks a schema cannot express."""
    return RequestValidationError(
        [{"type": "value_error", "loc": location, "msg": message, "input": None}]
    )


def api_context(request: Request) -> ApiContext:
    context = request.app.state.hedgebot
    assert isinstance(context, ApiContext)
    return context


bearer = HTTPBearer(auto_error=False, description="the API token (api.token)")


def require_operator(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Mutating endpoints: disabled without a configured token, else a Bearer match.

    The comparison is constant-time; neither the expected nor the given token ever
    appears in a response or a log line.
    """
    token = api_context(request).settings.api.token
    if token is None:
        raise HTTPException(
            403,
            "mutating endpoints are disabled: no API token is configured "
            f"(set {ENV_PREFIX}API__TOKEN)",
        )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401, "missing bearer token", headers={"WWW-Authenticate": 'Bearer realm="hedgebot"'}
        )
    given = credentials.credentials.encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, token.get_secret_value().encode()):
        raise HTTPException(
            401, "invalid bearer token", headers={"WWW-Authenticate": 'Bearer realm="hedgebot"'}
        )
