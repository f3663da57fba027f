"""Mutating endpoints: threshold, resume hedging, manual order, Schwab login.

All of them need ``Authorization: Bearer <api.token>`` and are disabled (403) when no
token is configured. They call the same `hedgebot.operator.actions` as the CLI, so
every change goes through an aggregate and is recorded as an event.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path

from hedgebot.api.context import ApiContext, api_context, invalid, require_operator
from hedgebot.api.schemas import (
    SYMBOL_PATTERN,
    OrderRequest,
    PlacedOrder,
    Position,
    Problem,
    SchwabLogin,
    SchwabLoginRequest,
    SharesThreshold,
    ThresholdRequest,
)
from hedgebot.brokers.errors import AuthExpired, BrokerError
from hedgebot.domain import Direction
from hedgebot.eventstore import codec
from hedgebot.operator.actions import (
    check_manual_order,
    place_manual_order,
    resume_hedging,
    set_threshold,
)
from hedgebot.operator.reads import order_json, parse_threshold, position_json

router = APIRouter(dependencies=[Depends(require_operator)])

Context = Annotated[ApiContext, Depends(api_context)]
SymbolPath = Annotated[str, Path(pattern=SYMBOL_PATTERN)]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 403, 404, 409)
}
BROKER_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    502: {"model": Problem},
    503: {"model": Problem},
}


@router.put(
    "/positions/{symbol}/threshold",
    response_model=Position,
    tags=["positions"],
    responses=PROBLEMS,
)
def put_threshold(context: Context, symbol: SymbolPath, body: ThresholdRequest) -> dict[str, Any]:
    """Change the hedging threshold (recorded as ``ThresholdUpdated``); lifts a suspension."""
    if isinstance(body, SharesThreshold):
        threshold = parse_threshold(Decimal(body.shares), None)
    else:
        threshold = parse_threshold(None, Decimal(body.dollars))
    return position_json(set_threshold(context.core, symbol, threshold))


@router.post(
    "/positions/{symbol}/resume",
    response_model=Position,
    tags=["positions"],
    responses=PROBLEMS,
)
def post_resume(context: Context, symbol: SymbolPath) -> dict[str, Any]:
    """Resume automatic hedging after repeated failed hedges (409 if not suspended)."""
    return position_json(resume_hedging(context.core, symbol))


@router.post(
    "/orders",
    response_model=PlacedOrder,
    status_code=201,
    tags=["orders"],
    responses=BROKER_PROBLEMS,
)
async def post_order(context: Context, body: OrderRequest) -> dict[str, Any]:
    """A manual market order, recorded as an OffchainOrder and sent with the broker now.

    The response comes once the order is final, or after ``wait_seconds`` when it is
    cancelled at the broker. It is an audited broker order, not a hedge: no position
    changes. 409 when the market is closed, the quantity does not fit the broker, or
    the symbol is a tokenized one.
    """
    direction = Direction.BUY if body.direction == "BUY" else Direction.SELL
    try:
        request = check_manual_order(body.symbol, Decimal(body.quantity), direction)
    except ValueError as exc:  # well-formed but not an order we send (a tokenized symbol)
        raise HTTPException(409, f"order refused: {exc}") from None
    broker = await context.get_broker()
    try:
        outcome = await place_manual_order(
            context.core, broker, request, wait_seconds=body.wait_seconds
        )
    except AuthExpired as exc:
        raise HTTPException(502, f"broker authentication expired: {exc}") from None
    except BrokerError as exc:
        raise HTTPException(502, f"broker error ({type(exc).__name__}): {exc}") from None
    return {**order_json(outcome.record), "note": outcome.note}


@router.post(
    "/auth/schwab/refresh",
    response_model=SchwabLogin,
    tags=["auth"],
    responses=BROKER_PROBLEMS,
)
async def schwab_login(context: Context, body: SchwabLoginRequest) -> dict[str, Any]:
    """Finish a Schwab login: exchange the redirect URL's code and store the tokens.

    The operator opens the authorize URL (``hedgebot auth schwab`` prints it), logs in,
    and posts the URL the browser was sent to. Tokens are stored encrypted through the
    SchwabAuth aggregate; the response carries only their expiry times.
    """
    from hedgebot.brokers.schwab.client import SchwabBroker
    from hedgebot.brokers.schwab.login import check_login_settings
    from hedgebot.brokers.schwab.oauth import InvalidRedirectUrl, extract_code
    from hedgebot.brokers.schwab.tokens import EventStoreSchwabAuth, schwab_auth_handler
    from hedgebot.config import ConfigError

    settings = context.settings
    if settings.broker.kind != "schwab":
        raise HTTPException(
            409,
            f"Schwab login applies only when broker.kind is schwab (it is {settings.broker.kind})",
        )
    try:
        check_login_settings(settings.broker.schwab)
        code = extract_code(body.redirect_url)
    except ConfigError as exc:
        raise HTTPException(503, str(exc).splitlines()[0]) from None
    except InvalidRedirectUrl as exc:
        raise invalid(("body", "redirect_url"), str(exc)) from None
    core = context.core
    auth = EventStoreSchwabAuth(schwab_auth_handler(core.store, core.clock, core.projector))
    broker = SchwabBroker.create(settings.broker.schwab, auth=auth, clock=core.clock)
    try:
        status = await broker.tokens.login(code)
    except BrokerError as exc:
        raise HTTPException(502, f"Schwab code exchange failed: {exc}") from None
    finally:
        await broker.aclose()
    return {
        "status": "authenticated",
        "access_expires_at": codec.encode_datetime(status.access_expires_at),
        "refresh_expires_at": codec.encode_datetime(status.refresh_expires_at),
    }
