"""The FastAPI application (SPEC §12): OpenAPI at ``/docs``, the dashboard at ``/``.

Errors are JSON ``{"detail": "<one sentence>"}``: 404 for what does not exist, 409
for a request the domain refuses (a typed `DomainError`, a closed market), 422 for
bad parameters, 401/403 for the mutating endpoints' token, 503 when the event store
is unavailable. An unexpected error is a 500 without details (they go to the log).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hedgebot import __version__
from hedgebot.api.context import ApiContext
from hedgebot.api.health import HealthProbes
from hedgebot.bootstrap import Core
from hedgebot.brokers.protocol import BrokerPort
from hedgebot.config import Settings
from hedgebot.domain import DomainError
from hedgebot.eventstore import EventStoreError, TransientStoreError
from hedgebot.operator.actions import OperatorError

log = structlog.get_logger(__name__)

DESCRIPTION = """\
Read the desk's fills, positions, broker orders and PnL; change thresholds and place
manual broker orders (bearer token). Decimals are strings, times RFC 3339 UTC.
"""


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OperatorError)
    async def operator_error(request: Request, exc: OperatorError) -> JSONResponse:
        return _problem(404 if isinstance(exc, LookupError) else 409, str(exc))

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return _problem(409, str(exc))

    @app.exception_handler(TransientStoreError)
    async def busy(request: Request, exc: TransientStoreError) -> JSONResponse:
        return _problem(503, "the event store is busy; retry", {"Retry-After": "1"})

    @app.exception_handler(EventStoreError)
    async def store_error(request: Request, exc: EventStoreError) -> JSONResponse:
        log.error("api_store_error", path=request.url.path, error=str(exc))
        return _problem(503, f"event store error ({type(exc).__name__})")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("api_unexpected_error", path=request.url.path, error_type=type(exc).__name__)
        return _problem(500, "internal error (logged)")


def create_app(
    core: Core,
    settings: Settings,
    probes: HealthProbes | None = None,
    *,
    broker: BrokerPort | None = None,
    stream_poll_seconds: float = 0.5,
) -> FastAPI:
    """The API over ``core``; ``broker`` is the process's own (else built on demand)."""
    from hedgebot.api import routes_operator, routes_reads, routes_system

    context = ApiContext(
        core=core,
        settings=settings,
        probes=probes or HealthProbes(),
        broker=broker,
        stream_poll_seconds=stream_poll_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context.stopping = False
        try:
            yield
        finally:
            context.stopping = True
            await context.aclose()

    app = FastAPI(
        title="hedgebot",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.hedgebot = context
    app.include_router(routes_system.router)
    app.include_router(routes_reads.router)
    app.include_router(routes_operator.router)
    _install_error_handlers(app)

    app.add_middleware(SecurityHeaders)
    return app


class SecurityHeaders:
    """``nosniff`` and ``no-referrer`` on every response (pure ASGI: streams untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
            await send(message)

        await self.app(scope, receive, send_with_headers)
