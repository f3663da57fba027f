"""Health, Prometheus metrics, the live-update stream and the dashboard page."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from functools import cache
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST

from hedgebot.api.context import ApiContext, api_context
from hedgebot.api.health import health_report
from hedgebot.api.schemas import Health
from hedgebot.position.view import all_positions

router = APIRouter()
Context = Annotated[ApiContext, Depends(api_context)]

#: the dashboard's own assets (no CDN): name → media type
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@router.get(
    "/health",
    response_model=Health,
    tags=["system"],
    responses={503: {"model": Health, "description": "alive but not ready"}},
)
async def health(context: Context, response: Response) -> dict[str, Any]:
    """Liveness (any answer) and readiness: store, chain follower lag, broker."""
    report = await health_report(context.core.store, context.probes, context.core.clock)
    if not report["ready"]:
        response.status_code = 503
    return report


def _refresh_gauges(context: ApiContext) -> None:
    """Gauges any process can derive from the store, set at scrape time.

    Counters (fills ingested, hedges by outcome, broker errors) and the latency
    histogram are counted by the managers of this process; a standalone API process
    reports them as zero.
    """
    metrics = context.core.metrics
    for position in all_positions(context.core.store):
        symbol = str(position.symbol)
        metrics.unhedged_exposure.labels(symbol).set(float(position.net))
        metrics.hedging_suspended.labels(symbol).set(1 if position.hedging_suspended else 0)
    lag = context.probes.chain_lag(context.core.store).get("lag_blocks")
    if isinstance(lag, int):
        metrics.chain_lag_blocks.set(lag)


@router.get(
    "/metrics",
    tags=["system"],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics(context: Context) -> Response:
    """Prometheus metrics of this process (text exposition format)."""
    _refresh_gauges(context)
    return Response(context.core.metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def _store_events(request: Request, context: ApiContext) -> AsyncIterator[str]:
    """One ``data: {"position": N}`` whenever the store's last event position moves.

    Polls the store (cheap: one indexed MAX) every ``stream_poll_seconds``, which works
    whatever process writes to it; a comment line keeps proxies from closing an idle
    stream. Ends when the client goes away or the server shuts down.
    """
    yield "retry: 2000\n\n"
    last: int | None = None
    idle = 0.0
    store = context.core.store
    while not context.stopping:
        position = await asyncio.to_thread(store.last_position)
        if position != last:
            last, idle = position, 0.0
            yield f"data: {json.dumps({'position': position})}\n\n"
        elif idle >= context.stream_keepalive_seconds:
            idle = 0.0
            yield ": keepalive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(context.stream_poll_seconds)
        idle += context.stream_poll_seconds


@router.get(
    "/events/stream",
    tags=["dashboard"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def event_stream(request: Request, context: Context) -> StreamingResponse:
    """Server-Sent Events: ``{"position": N}`` each time new events are committed."""
    return StreamingResponse(
        _store_events(request, context),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@cache
def _asset(name: str) -> str:
    return resources.files("hedgebot.api").joinpath("static", name).read_text("utf-8")


@router.get("/", include_in_schema=False)
def dashboard() -> HTMLResponse:
    return HTMLResponse(_asset("index.html"), headers={"Content-Security-Policy": CSP})


@router.get("/static/{name}", include_in_schema=False)
def asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no asset {name!r}")
    return Response(_asset(name), media_type=f"{media_type}; charset=utf-8")
