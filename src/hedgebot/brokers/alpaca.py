"""Alpaca adapter: a small async httpx client for the five trading endpoints we use.

Why not alpaca-py: it is synchronous (requests), sets no HTTP timeout, sleeps 3 s
inside its own 429 retries, sends quantities as floats, and pulls in pandas/numpy;
see docs/ARCHITECTURE.md "Brokers".

Idempotency: the placement key is Alpaca's ``client_order_id``, which Alpaca keeps
unique per account. A placement first looks the key up
(``GET /v2/orders:by_client_order_id``), and a POST answered "client_order_id must
be unique" (our earlier attempt did reach Alpaca, its response was lost) resolves to
the existing order. Either way one key never makes two orders.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

import httpx
import structlog
from pydantic import SecretStr

from hedgebot.brokers.errors import (
    AuthExpired,
    BrokerError,
    BrokerProtocolError,
    BrokerUnavailable,
    CannotCancel,
    MarketClosed,
    OrderNotFound,
    OrderRejected,
    RateLimited,
)
from hedgebot.brokers.protocol import MarketClock, OrderState, OrderStatus, check_order_request
from hedgebot.brokers.retry import BROKER_RETRY, RetryPolicy, parse_retry_after
from hedgebot.clock import Clock, SystemClock
from hedgebot.config import AlpacaSettings
from hedgebot.domain import Broker, Direction
from hedgebot.eventstore.codec import CodecError, parse_datetime

log = structlog.get_logger(__name__)

PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"
#: Alpaca accepts fractional quantities with up to 9 decimal places
QUANTITY_INCREMENT = Decimal("0.000000001")

_STATES: Mapping[str, OrderState] = {
    "pending_new": OrderState.PENDING,
    "accepted_for_bidding": OrderState.PENDING,
    "new": OrderState.SUBMITTED,
    "accepted": OrderState.SUBMITTED,
    "pending_cancel": OrderState.SUBMITTED,
    "pending_replace": OrderState.SUBMITTED,
    "stopped": OrderState.SUBMITTED,
    "calculated": OrderState.SUBMITTED,
    "done_for_day": OrderState.SUBMITTED,
    "held": OrderState.SUBMITTED,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELLED,
    "expired": OrderState.CANCELLED,
    "replaced": OrderState.CANCELLED,
    "rejected": OrderState.FAILED,
    "suspended": OrderState.FAILED,
}

_AUTH_INSTRUCTIONS = (
    "Check HEDGEBOT_BROKER__ALPACA__API_KEY / HEDGEBOT_BROKER__ALPACA__API_SECRET and "
    "that they belong to the configured mode (paper or live)"
)


def round_quantity(quantity: Decimal) -> Decimal:
    """Down to Alpaca's precision: never hedge more than the exposure."""
    return quantity.quantize(QUANTITY_INCREMENT, rounding=ROUND_DOWN)


def format_quantity(quantity: Decimal) -> str:
    """A quantity as the JSON string Alpaca expects (plain notation, no exponent)."""
    return format(quantity.normalize(), "f")


class AlpacaBroker:
    """`BrokerPort` for Alpaca (paper or live)."""

    def __init__(
        self,
        *,
        api_key: SecretStr,
        api_secret: SecretStr,
        base_url: str = PAPER_URL,
        timeout: float = 10.0,
        retry: RetryPolicy = BROKER_RETRY,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._retry = retry
        self._clock = clock or SystemClock()
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={
                "APCA-API-KEY-ID": api_key.get_secret_value(),
                "APCA-API-SECRET-KEY": api_secret.get_secret_value(),
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"AlpacaBroker(base_url={str(self._http.base_url)!r})"

    @classmethod
    def from_settings(
        cls,
        settings: AlpacaSettings,
        *,
        retry: RetryPolicy = BROKER_RETRY,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> AlpacaBroker:
        if settings.api_key is None or settings.api_secret is None:
            raise ValueError("Alpaca needs broker.alpaca.api_key and api_secret")
        base_url = settings.base_url or (LIVE_URL if settings.mode == "live" else PAPER_URL)
        return cls(
            api_key=settings.api_key,
            api_secret=settings.api_secret,
            base_url=base_url,
            timeout=settings.timeout_seconds,
            retry=retry,
            clock=clock,
            transport=transport,
        )

    # -- BrokerPort -------------------------------------------------------------

    @property
    def kind(self) -> Broker:
        return Broker.ALPACA

    @property
    def quantity_increment(self) -> Decimal:
        return QUANTITY_INCREMENT

    async def place_market_order(
        self, symbol: str, quantity: Decimal, side: Direction, idempotency_key: str
    ) -> str:
        check_order_request(symbol, quantity, idempotency_key)
        rounded = round_quantity(quantity)
        if rounded <= 0:
            raise OrderRejected(f"quantity {quantity} rounds to zero at Alpaca's precision")
        order_id = await self._retry.call(self._place_once, symbol, rounded, side, idempotency_key)
        log.info(
            "alpaca_order_placed",
            order_id=order_id,
            symbol=symbol,
            quantity=str(rounded),
            side=side.legacy,
            client_order_id=idempotency_key,
        )
        return order_id

    async def get_order_status(self, order_id: str) -> OrderStatus:
        try:
            uuid.UUID(order_id)
        except ValueError:
            raise OrderNotFound(f"{order_id!r} is not an Alpaca order id (a UUID)") from None
        data = await self._retry.call(self._get_json, f"/v2/orders/{order_id}", "order status")
        return parse_order(data)

    async def market_clock(self) -> MarketClock:
        data = await self._retry.call(self._get_json, "/v2/clock", "market clock")
        return parse_clock(data)

    async def cancel_order(self, order_id: str) -> None:
        await self._retry.call(self._cancel_once, order_id)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def check_account(self) -> None:
        """``GET /v2/account``: proves the keys work (start-up and health checks)."""
        await self._retry.call(self._get_json, "/v2/account", "account")

    # -- one attempt each (the retry policy wraps these) ----------------------------

    async def _place_once(
        self, symbol: str, quantity: Decimal, side: Direction, idempotency_key: str
    ) -> str:
        existing = await self._find_by_client_order_id(idempotency_key)
        if existing is not None:
            return existing
        clock = await self._get_json("/v2/clock", "market clock")
        market = parse_clock(clock)
        if not market.is_open:
            raise MarketClosed("Alpaca: the market is closed", market.next_open)
        body = {
            "symbol": symbol,
            "qty": format_quantity(quantity),
            "side": "buy" if side is Direction.BUY else "sell",
            "type": "market",
            "time_in_force": "day",
            "client_order_id": idempotency_key,
        }
        response = await self._send("POST", "/v2/orders", "place order", json=body)
        if response.status_code == 422 and "client_order_id" in _message(response):
            found = await self._find_by_client_order_id(idempotency_key)
            if found is not None:
                log.info("alpaca_order_found_after_duplicate", client_order_id=idempotency_key)
                return found
        if response.status_code in (400, 403, 404, 422):
            raise OrderRejected(f"Alpaca rejected the order: {_message(response)}")
        data = _json(_ok(response, "place order"), "place order")
        order_id = data.get("id")
        if not isinstance(order_id, str):
            raise BrokerProtocolError("Alpaca order response has no id")
        return order_id

    async def _find_by_client_order_id(self, client_order_id: str) -> str | None:
        response = await self._send(
            "GET",
            "/v2/orders:by_client_order_id",
            "find order",
            params={"client_order_id": client_order_id},
        )
        if response.status_code == 404:
            return None
        data = _json(_ok(response, "find order"), "find order")
        order_id = data.get("id")
        if not isinstance(order_id, str):
            raise BrokerProtocolError("Alpaca order response has no id")
        return order_id

    async def _cancel_once(self, order_id: str) -> None:
        response = await self._send("DELETE", f"/v2/orders/{order_id}", "cancel order")
        if response.status_code == 422:
            raise CannotCancel(f"Alpaca cannot cancel order {order_id}: {_message(response)}")
        _ok(response, "cancel order")

    async def _get_json(self, path: str, what: str) -> dict[str, Any]:
        response = await self._send("GET", path, what)
        return _json(_ok(response, what), what)

    async def _send(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """One HTTP exchange; transport failures, 429 and 5xx become our errors here."""
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise BrokerUnavailable(f"Alpaca {what}: timed out") from None
        except httpx.TransportError as exc:
            raise BrokerUnavailable(f"Alpaca {what}: {type(exc).__name__}") from None
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock.now())
            raise RateLimited(f"Alpaca {what}: rate limited (429)", retry_after)
        if response.status_code >= 500:
            raise BrokerUnavailable(f"Alpaca {what}: HTTP {response.status_code}")
        if response.status_code == 401:
            raise AuthExpired("Alpaca refused the API key (401)", _AUTH_INSTRUCTIONS)
        return response


def _ok(response: httpx.Response, what: str) -> httpx.Response:
    if response.status_code == 404:
        raise OrderNotFound(f"Alpaca {what}: not found")
    if not 200 <= response.status_code < 300:
        raise BrokerError(f"Alpaca {what}: HTTP {response.status_code}: {_message(response)}")
    return response


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return response.text[:200]


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        data = response.json(parse_float=Decimal)
    except ValueError:
        raise BrokerProtocolError(f"Alpaca {what}: response is not JSON") from None
    if not isinstance(data, dict):
        raise BrokerProtocolError(f"Alpaca {what}: expected a JSON object")
    return data


def _decimal(data: Mapping[str, Any], key: str) -> Decimal | None:
    raw = data.get(key)
    if raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise BrokerProtocolError(f"Alpaca field {key} is not a number: {raw!r}") from None
    if not value.is_finite():
        raise BrokerProtocolError(f"Alpaca field {key} is not finite")
    return value


def _time(data: Mapping[str, Any], key: str) -> datetime | None:
    raw = data.get(key)
    if raw is None:
        return None
    try:
        return parse_datetime(str(raw))
    except CodecError:
        raise BrokerProtocolError(f"Alpaca field {key} is not a timestamp: {raw!r}") from None


def parse_order(data: Mapping[str, Any]) -> OrderStatus:
    """An Alpaca order object → `OrderStatus`. An unknown status is a protocol error."""
    order_id = data.get("id")
    status = data.get("status")
    if not isinstance(order_id, str) or not isinstance(status, str):
        raise BrokerProtocolError("Alpaca order has no id or status")
    state = _STATES.get(status)
    if state is None:
        raise BrokerProtocolError(f"Alpaca order {order_id} has unknown status {status!r}")
    filled = _decimal(data, "filled_qty") or Decimal(0)
    price = _decimal(data, "filled_avg_price")
    if state is OrderState.FILLED and price is None:
        raise BrokerProtocolError(f"Alpaca order {order_id} is filled without a fill price")
    stamp = (
        _time(data, "filled_at")
        or _time(data, "canceled_at")
        or _time(data, "expired_at")
        or _time(data, "failed_at")
        or _time(data, "updated_at")
    )
    reason = None
    if state in (OrderState.FAILED, OrderState.CANCELLED):
        reason = f"Alpaca order {status}"
    return OrderStatus(
        order_id=order_id,
        state=state,
        filled_quantity=filled,
        average_fill_price=price if filled else None,
        error_reason=reason,
        broker_timestamp=stamp,
    )


def parse_clock(data: Mapping[str, Any]) -> MarketClock:
    is_open = data.get("is_open")
    as_of = _time(data, "timestamp")
    if not isinstance(is_open, bool) or as_of is None:
        raise BrokerProtocolError("Alpaca clock has no is_open/timestamp")
    return MarketClock(
        as_of=as_of,
        is_open=is_open,
        next_open=_time(data, "next_open"),
        next_close=_time(data, "next_close"),
    )
