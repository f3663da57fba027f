"""Serving the API: inside ``hedgebot run`` (a conductor service) or on its own.

The socket is bound before uvicorn starts, so a port in use is a clear error raised
to the caller (uvicorn would log and ``sys.exit`` from inside a task), and port 0
(tests) yields the real port. uvicorn's own signal handling is switched off: the
conductor owns SIGINT/SIGTERM and stops every service through its `Stop` token.
On stop the live-update streams end first, then uvicorn drains for a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator

import structlog
import uvicorn
from fastapi import FastAPI

from hedgebot.api.app import create_app
from hedgebot.api.context import ApiContext
from hedgebot.api.health import HealthProbes
from hedgebot.bootstrap import Core
from hedgebot.brokers.protocol import BrokerPort
from hedgebot.conductor import NamedService, Stop, run_services
from hedgebot.config import Settings

log = structlog.get_logger(__name__)

GRACEFUL_SECONDS = 3


class ApiBindError(OSError):
    pass


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers (the conductor has them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ApiBindError(f"cannot serve the API on {host}:{port}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def serve_app(
    app: FastAPI,
    sock: socket.socket,
    stop: Stop,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` on ``sock`` until ``stop``; a server that dies on its own is an error."""
    config = uvicorn.Config(
        app,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        server_header=False,
    )
    server = _EmbeddedServer(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="uvicorn")
    stopped = asyncio.create_task(stop.wait())
    started = False
    try:
        while not started and not serving.done():
            if server.started:
                started = True
                address = url_of(sock)
                log.info("api_listening", url=address)
                if on_ready is not None:
                    on_ready(address)
                break
            await asyncio.sleep(0.01)
        await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done():
            serving.result()
            if not stop.is_set:
                raise RuntimeError("the API server stopped on its own")
            return
        context = app.state.hedgebot
        if isinstance(context, ApiContext):
            context.stopping = True
        server.should_exit = True
        await serving
    finally:
        stopped.cancel()
        if not serving.done():
            serving.cancel()
        sock.close()


def api_service(
    core: Core,
    settings: Settings,
    probes: HealthProbes | None = None,
    *,
    broker: BrokerPort | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> NamedService:
    """The conductor service of ``hedgebot run`` (binds ``api.host``:``api.port``)."""
    app = create_app(core, settings, probes, broker=broker)

    async def run(stop: Stop) -> None:
        sock = bind(settings.api.host, settings.api.port)
        await serve_app(app, sock, stop, on_ready=on_ready)

    return NamedService("api", run)


def standalone_probes(settings: Settings) -> HealthProbes:
    """What a process without a chain follower or broker can check: the checkpoint."""
    orderbook = settings.chain.orderbook
    return HealthProbes(
        chain_checkpoint=None if orderbook is None else f"chain_follower:{orderbook.lower()}",
        broker_kind=settings.broker.kind,
    )


async def serve_standalone(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    echo: Callable[[str], None] | None = None,
) -> None:
    """``hedgebot api``: the API over the configured store until SIGINT/SIGTERM."""
    from hedgebot.operator.context import open_core

    api = settings.api.model_copy(
        update={
            "host": settings.api.host if host is None else host,
            "port": settings.api.port if port is None else port,
        }
    )
    chosen = settings.model_copy(update={"api": api})
    core = open_core(chosen)
    try:

        def ready(address: str) -> None:
            if echo is not None:
                mutating = "enabled" if chosen.api.token else "disabled (no api.token)"
                echo(f"hedgebot API on {address} (docs: /docs); mutating endpoints {mutating}")

        service = api_service(core, chosen, standalone_probes(chosen), on_ready=ready)
        await run_services([service], grace_seconds=GRACEFUL_SECONDS + 2)
    finally:
        core.close()
