"""Schwab Trader API shapes: the order we send, and parsing of what Schwab answers.

Numbers arrive as JSON numbers and are parsed straight to `Decimal` (the client
passes ``parse_float=Decimal``); timestamps as ``2025-01-06T15:00:00+0000``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from hedgebot.brokers.errors import BrokerError, BrokerProtocolError, OrderNotFound
from hedgebot.brokers.hours import NEW_YORK
from hedgebot.brokers.protocol import OrderState, OrderStatus
from hedgebot.domain import Direction
from hedgebot.eventstore.codec import CodecError, parse_datetime

_SUBMITTED = {
    "QUEUED",
    "WORKING",
    "ACCEPTED",
    "NEW",
    "PENDING_CANCEL",
    "PENDING_REPLACE",
    "PENDING_RECALL",
    "PENDING_ACKNOWLEDGEMENT",
}
_PENDING = {
    "PENDING_ACTIVATION",
    "PENDING_REVIEW",
    "AWAITING_PARENT_ORDER",
    "AWAITING_CONDITION",
    "AWAITING_STOP_CONDITION",
    "AWAITING_MANUAL_REVIEW",
    "AWAITING_UR_OUT",
    "AWAITING_RELEASE_TIME",
}
_CANCELLED = {"CANCELED", "EXPIRED", "REPLACED"}
_LOCATION = re.compile(r"/trader/v1/accounts/[^/]+/orders/(\d+)/?$")


def order_body(symbol: str, quantity: int, side: Direction) -> dict[str, Any]:
    """A whole-share market day order, as schwab-py's ``equity_buy_market(...).build()``."""
    return {
        "session": "NORMAL",
        "duration": "DAY",
        "orderType": "MARKET",
        "orderLegCollection": [
            {
                "instruction": "BUY" if side is Direction.BUY else "SELL",
                "instrument": {"assetType": "EQUITY", "symbol": symbol},
                "quantity": quantity,
            }
        ],
        "orderStrategyType": "SINGLE",
    }


def order_id_from_location(location: str | None) -> str | None:
    """``…/trader/v1/accounts/{hash}/orders/{orderId}`` → ``orderId``."""
    if not location:
        return None
    match = _LOCATION.search(location)
    return match.group(1) if match else None


def same_shape(order: Mapping[str, Any], symbol: str, quantity: int, side: Direction) -> bool:
    legs = order.get("orderLegCollection")
    if order.get("orderType") != "MARKET" or not isinstance(legs, list) or len(legs) != 1:
        return False
    leg = legs[0]
    if not isinstance(leg, dict):
        return False
    instrument = leg.get("instrument") or {}
    instruction = "BUY" if side is Direction.BUY else "SELL"
    return (
        leg.get("instruction") == instruction
        and isinstance(instrument, dict)
        and instrument.get("symbol") == symbol
        and _decimal_or_none(leg.get("quantity")) == quantity
    )


def schwab_time(raw: Any) -> datetime | None:
    """Schwab writes ``2025-01-06T15:00:00+0000`` (offset without a colon)."""
    if not isinstance(raw, str):
        return None
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", raw.strip())
    try:
        return parse_datetime(text)
    except CodecError:
        return None


def _decimal_or_none(raw: Any) -> Decimal | None:
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _decimal(raw: Any, field: str) -> Decimal:
    value = _decimal_or_none(raw)
    if value is None:
        raise BrokerProtocolError(f"Schwab order field {field} is not a number: {raw!r}")
    return value


def ensure_ok(response: httpx.Response, what: str) -> httpx.Response:
    if response.status_code == 404:
        raise OrderNotFound(f"Schwab {what}: not found")
    if not 200 <= response.status_code < 300:
        raise BrokerError(f"Schwab {what}: HTTP {response.status_code}: {error_message(response)}")
    return response


def error_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict):
        parts = [str(data.get("message") or "")]
        errors = data.get("errors")
        if isinstance(errors, list):
            parts.extend(str(e)[:200] for e in errors[:3])
        text = "; ".join(p for p in parts if p)
        return text or response.text[:200]
    return response.text[:200]


def response_json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json(parse_float=Decimal)
    except ValueError:
        raise BrokerProtocolError(f"Schwab {what}: response is not JSON") from None


def _legs(data: Mapping[str, Any]) -> list[tuple[Decimal, Decimal, datetime | None]]:
    legs: list[tuple[Decimal, Decimal, datetime | None]] = []
    activities = data.get("orderActivityCollection") or []
    if not isinstance(activities, list):
        raise BrokerProtocolError("Schwab orderActivityCollection is not a list")
    for activity in activities:
        if not isinstance(activity, dict) or activity.get("activityType") != "EXECUTION":
            continue
        for leg in activity.get("executionLegs") or []:
            if not isinstance(leg, dict):
                continue
            quantity = _decimal(leg.get("quantity"), "executionLegs.quantity")
            price = _decimal(leg.get("price"), "executionLegs.price")
            legs.append((quantity, price, schwab_time(leg.get("time"))))
    return legs


def parse_order(data: Mapping[str, Any]) -> OrderStatus:
    """A Schwab order → `OrderStatus`; the price is the VWAP of the execution legs."""
    order_id = str(data.get("orderId", ""))
    status = data.get("status")
    if not order_id or not isinstance(status, str):
        raise BrokerProtocolError("Schwab order has no orderId or status")
    legs = _legs(data)
    leg_quantity = sum((q for q, _, _ in legs), Decimal(0))
    vwap = sum((q * p for q, p, _ in legs), Decimal(0)) / leg_quantity if leg_quantity else None
    reported = data.get("filledQuantity")
    filled = _decimal(reported, "filledQuantity") if reported is not None else leg_quantity
    close_time = schwab_time(data.get("closeTime"))
    last_leg = max((t for _, _, t in legs if t is not None), default=None)
    reason: str | None = None
    if status == "FILLED":
        if vwap is None:
            raise BrokerProtocolError(f"Schwab order {order_id} is FILLED without execution legs")
        state = OrderState.FILLED
    elif status == "REJECTED":
        state = OrderState.FAILED
        reason = str(data.get("statusDescription") or "rejected by Schwab")
    elif status in _CANCELLED:
        state = OrderState.CANCELLED
        reason = f"Schwab order {status}"
    elif status in _SUBMITTED or status in _PENDING:
        if filled > 0:
            state = OrderState.PARTIALLY_FILLED
        else:
            state = OrderState.PENDING if status in _PENDING else OrderState.SUBMITTED
    else:
        raise BrokerProtocolError(f"Schwab order {order_id} has unknown status {status!r}")
    return OrderStatus(
        order_id=order_id,
        state=state,
        filled_quantity=filled,
        average_fill_price=vwap,
        error_reason=reason,
        broker_timestamp=close_time or last_leg,
    )


def _session_time(raw: Any, day: date) -> datetime:
    if not isinstance(raw, str):
        raise BrokerProtocolError("Schwab market hours: session time missing")
    try:
        return parse_datetime(raw)
    except CodecError:
        pass
    try:
        local = time.fromisoformat(raw)
    except ValueError:
        raise BrokerProtocolError(f"Schwab market hours: bad time {raw!r}") from None
    return datetime.combine(day, local, tzinfo=NEW_YORK)


def parse_market_hours(data: Any, day: date) -> tuple[datetime, datetime] | None:
    """``{"equity":{"EQ":{"isOpen":…,"sessionHours":{"regularMarket":[{start,end}]}}}}``
    → the regular session of ``day``, or None on a day without one."""
    markets = data.get("equity") if isinstance(data, dict) else None
    if not isinstance(markets, dict) or not markets:
        raise BrokerProtocolError("Schwab market hours: no equity market in the response")
    product: Any = markets.get("EQ") or next(iter(markets.values()))
    if not isinstance(product, dict) or not isinstance(product.get("isOpen"), bool):
        raise BrokerProtocolError("Schwab market hours: no isOpen flag")
    if not product["isOpen"]:
        return None
    sessions: Sequence[Any] = (product.get("sessionHours") or {}).get("regularMarket") or []
    if not sessions or not isinstance(sessions[0], dict):
        raise BrokerProtocolError("Schwab market hours: open day without a regular session")
    start = _session_time(sessions[0].get("start"), day)
    end = _session_time(sessions[0].get("end"), day)
    return start, end
