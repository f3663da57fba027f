"""Schwab adapter: our own async httpx client speaking the Trader API paths.

Why not schwab-py's AsyncClient: its base URL is hard-coded (tests and any proxy
need a rewriting transport), and its authlib session refreshes tokens by itself
and hands them to a callback in its own format, outside the SchwabAuth aggregate
and without the 7-day rule. We need six endpoints; see docs/ARCHITECTURE.md.

Endpoints: ``GET /trader/v1/accounts/accountNumbers`` (account hash, cached),
``POST /trader/v1/accounts/{hash}/orders`` (201, order id in ``Location``),
``GET …/orders/{id}``, ``GET …/orders?fromEnteredTime&toEnteredTime`` (recent orders,
for idempotent re-placement), ``DELETE …/orders/{id}``, and
``GET /marketdata/v1/markets/equity?date=`` (market hours).

Every request carries a valid access token from `SchwabTokens`; a 401 triggers one
refresh (shared by concurrent requests) and one resend.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
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
from hedgebot.brokers.hours import SEARCH_DAYS, new_york_date
from hedgebot.brokers.protocol import MarketClock, OrderStatus, check_order_request
from hedgebot.brokers.retry import BROKER_RETRY, RetryPolicy, parse_retry_after
from hedgebot.brokers.schwab.crypto import TokenCipher
from hedgebot.brokers.schwab.journal import MemoryPlacementJournal, PlacementJournal
from hedgebot.brokers.schwab.oauth import REAUTH_INSTRUCTIONS, SchwabOAuth
from hedgebot.brokers.schwab.tokens import SchwabAuthStore, SchwabTokens
from hedgebot.brokers.schwab.wire import (
    ensure_ok,
    error_message,
    order_body,
    order_id_from_location,
    parse_market_hours,
    parse_order,
    response_json,
    same_shape,
    schwab_time,
)
from hedgebot.clock import Clock
from hedgebot.config import SchwabSettings
from hedgebot.domain import Broker, Direction

log = structlog.get_logger(__name__)

ACCOUNTS = "/trader/v1/accounts"
MARKET_HOURS = "/marketdata/v1/markets/equity"
#: clock difference tolerated between us and Schwab when matching recent orders
MATCH_SKEW = timedelta(minutes=2)


class SchwabBroker:
    """`BrokerPort` for Charles Schwab (whole shares, market orders, day duration)."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        tokens: SchwabTokens,
        clock: Clock,
        account_index: int = 0,
        retry: RetryPolicy = BROKER_RETRY,
        journal: PlacementJournal | None = None,
    ) -> None:
        self._http = http
        self.tokens = tokens
        self._clock = clock
        self._account_index = account_index
        self._retry = retry
        self._journal: PlacementJournal = journal or MemoryPlacementJournal()
        self._account_hash: str | None = None
        self._account_lock = asyncio.Lock()
        self._hours: dict[date, tuple[datetime, datetime] | None] = {}

    def __repr__(self) -> str:
        return f"SchwabBroker(base_url={str(self._http.base_url)!r})"

    @classmethod
    def create(
        cls,
        settings: SchwabSettings,
        *,
        auth: SchwabAuthStore,
        clock: Clock,
        retry: RetryPolicy = BROKER_RETRY,
        journal: PlacementJournal | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        nonce_source: Callable[[int], bytes] = os.urandom,
    ) -> SchwabBroker:
        """Build the adapter and its token manager from ``[broker.schwab]`` settings."""
        app_key, app_secret, key = settings.app_key, settings.app_secret, settings.encryption_key
        if app_key is None or app_secret is None or key is None:
            raise ValueError("Schwab needs broker.schwab.app_key, app_secret and encryption_key")
        http = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/"),
            timeout=httpx.Timeout(settings.timeout_seconds),
            transport=transport,
        )
        oauth = SchwabOAuth(
            http, app_key=app_key, app_secret=app_secret, redirect_uri=settings.redirect_uri
        )
        tokens = SchwabTokens(
            auth, TokenCipher.from_hex(key, nonce_source), oauth, clock, retry=retry
        )
        return cls(
            http=http,
            tokens=tokens,
            clock=clock,
            account_index=settings.account_index,
            retry=retry,
            journal=journal,
        )

    # -- BrokerPort -------------------------------------------------------------

    @property
    def kind(self) -> Broker:
        return Broker.SCHWAB

    @property
    def quantity_increment(self) -> Decimal:
        return Decimal(1)

    async def place_market_order(
        self, symbol: str, quantity: Decimal, side: Direction, idempotency_key: str
    ) -> str:
        check_order_request(symbol, quantity, idempotency_key)
        if quantity != quantity.to_integral_value():
            raise OrderRejected(f"Schwab takes whole shares only, got {quantity}")
        order_id = await self._retry.call(
            self._place_once, symbol, int(quantity), side, idempotency_key
        )
        return order_id

    async def get_order_status(self, order_id: str) -> OrderStatus:
        if not order_id.isdigit():
            raise OrderNotFound(f"{order_id!r} is not a Schwab order id")
        data = await self._retry.call(self._order_json, order_id)
        return parse_order(data)

    async def market_clock(self) -> MarketClock:
        return await self._retry.call(self._market_clock_once)

    async def cancel_order(self, order_id: str) -> None:
        if not order_id.isdigit():
            raise OrderNotFound(f"{order_id!r} is not a Schwab order id")
        await self._retry.call(self._cancel_once, order_id)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- placement ----------------------------------------------------------------

    async def _place_once(
        self, symbol: str, quantity: int, side: Direction, idempotency_key: str
    ) -> str:
        attempt = await self._journal.get(idempotency_key)
        if attempt is not None and attempt.order_id is not None:
            return attempt.order_id
        if attempt is not None:
            found = await self._find_match(symbol, quantity, side, attempt.first_attempt_at)
            if found is not None:
                await self._journal.record(idempotency_key, found, attempt.first_attempt_at)
                log.info("schwab_order_matched", order_id=found, key=idempotency_key)
                return found
        market = await self._market_clock_once()
        if not market.is_open:
            raise MarketClosed("Schwab: the market is closed", market.next_open)
        account = await self._account()
        attempt = await self._journal.begin(idempotency_key, self._clock.now())
        body = order_body(symbol, quantity, side)
        response = await self._send(
            "POST", f"{ACCOUNTS}/{account}/orders", "place order", json=body, accept="*/*"
        )
        if response.status_code in (400, 403, 422):
            raise OrderRejected(f"Schwab rejected the order: {error_message(response)}")
        ensure_ok(response, "place order")
        order_id = order_id_from_location(response.headers.get("Location"))
        if order_id is None:
            # Placed, but the id is missing: find it among the recent orders.
            order_id = await self._find_match(symbol, quantity, side, attempt.first_attempt_at)
            if order_id is None:
                raise BrokerProtocolError("Schwab placed an order without a usable Location")
        await self._journal.record(idempotency_key, order_id, attempt.first_attempt_at)
        log.info(
            "schwab_order_placed",
            order_id=order_id,
            symbol=symbol,
            quantity=quantity,
            side=side.legacy,
            key=idempotency_key,
        )
        return order_id

    async def _find_match(
        self, symbol: str, quantity: int, side: Direction, since: datetime
    ) -> str | None:
        """The earliest unclaimed order of this shape entered since ``since``."""
        account = await self._account()
        now = self._clock.now()
        params = {
            "fromEnteredTime": _query_time(since - MATCH_SKEW),
            "toEnteredTime": _query_time(now + MATCH_SKEW),
            "maxResults": "3000",
        }
        response = await self._send(
            "GET", f"{ACCOUNTS}/{account}/orders", "recent orders", params=params
        )
        orders = response_json(ensure_ok(response, "recent orders"), "recent orders")
        if not isinstance(orders, list):
            raise BrokerProtocolError("Schwab recent orders: expected a JSON array")
        candidates: list[tuple[datetime, str]] = []
        for order in orders:
            if not isinstance(order, dict) or not same_shape(order, symbol, quantity, side):
                continue
            order_id = str(order.get("orderId", ""))
            entered = schwab_time(order.get("enteredTime"))
            if not order_id.isdigit() or entered is None or entered < since - MATCH_SKEW:
                continue
            if await self._journal.is_claimed(order_id):
                continue
            candidates.append((entered, order_id))
        if not candidates:
            return None
        if len(candidates) > 1:
            log.warning("schwab_several_order_matches", count=len(candidates), symbol=symbol)
        return min(candidates)[1]

    # -- other single attempts ------------------------------------------------------

    async def _order_json(self, order_id: str) -> dict[str, Any]:
        account = await self._account()
        response = await self._send(
            "GET", f"{ACCOUNTS}/{account}/orders/{order_id}", "order status"
        )
        data = response_json(ensure_ok(response, "order status"), "order status")
        if not isinstance(data, dict):
            raise BrokerProtocolError("Schwab order status: expected a JSON object")
        return data

    async def _cancel_once(self, order_id: str) -> None:
        account = await self._account()
        response = await self._send("DELETE", f"{ACCOUNTS}/{account}/orders/{order_id}", "cancel")
        if response.status_code == 400:
            raise CannotCancel(f"Schwab cannot cancel order {order_id}: {error_message(response)}")
        ensure_ok(response, "cancel")

    async def _account(self) -> str:
        """The account hash of the configured account index, fetched once."""
        if self._account_hash is not None:
            return self._account_hash
        async with self._account_lock:
            if self._account_hash is None:
                response = await self._send("GET", f"{ACCOUNTS}/accountNumbers", "account numbers")
                accounts = response_json(ensure_ok(response, "account numbers"), "account numbers")
                if not isinstance(accounts, list) or not accounts:
                    raise BrokerError("Schwab returned no accounts for these credentials")
                if self._account_index >= len(accounts):
                    raise BrokerError(
                        f"broker.schwab.account_index is {self._account_index} but Schwab "
                        f"lists {len(accounts)} account(s)"
                    )
                entry = accounts[self._account_index]
                value = entry.get("hashValue") if isinstance(entry, dict) else None
                if not isinstance(value, str) or not value:
                    raise BrokerProtocolError("Schwab account entry has no hashValue")
                self._account_hash = value
            return self._account_hash

    # -- market hours -------------------------------------------------------------------

    async def _session(self, day: date) -> tuple[datetime, datetime] | None:
        if day in self._hours:
            return self._hours[day]
        response = await self._send(
            "GET", MARKET_HOURS, "market hours", params={"date": day.isoformat()}
        )
        data = response_json(ensure_ok(response, "market hours"), "market hours")
        session = parse_market_hours(data, day)
        if len(self._hours) > 64:
            self._hours.clear()
        self._hours[day] = session
        return session

    async def _market_clock_once(self) -> MarketClock:
        now = self._clock.now()
        today = new_york_date(now)
        current = await self._session(today)
        if current is not None and current[0] <= now < current[1]:
            upcoming = await self._next_session(today)
            next_open = upcoming[0] if upcoming else None
            return MarketClock(as_of=now, is_open=True, next_open=next_open, next_close=current[1])
        if current is not None and now < current[0]:
            return MarketClock(
                as_of=now, is_open=False, next_open=current[0], next_close=current[1]
            )
        upcoming = await self._next_session(today)
        return MarketClock(
            as_of=now,
            is_open=False,
            next_open=upcoming[0] if upcoming else None,
            next_close=upcoming[1] if upcoming else None,
        )

    async def _next_session(self, after: date) -> tuple[datetime, datetime] | None:
        for offset in range(1, SEARCH_DAYS + 1):
            session = await self._session(after + timedelta(days=offset))
            if session is not None:
                return session
        return None

    # -- HTTP ---------------------------------------------------------------------------

    async def _send(
        self, method: str, path: str, what: str, *, accept: str = "application/json", **kwargs: Any
    ) -> httpx.Response:
        """One request with a valid token; one refresh-and-resend on 401."""
        token = await self.tokens.access_token()
        response = await self._raw(method, path, what, token, accept, **kwargs)
        if response.status_code == 401:
            log.info("schwab_token_rejected", request=what)
            token = await self.tokens.refresh_after_rejection(token)
            response = await self._raw(method, path, what, token, accept, **kwargs)
            if response.status_code == 401:
                raise AuthExpired(
                    "Schwab rejected a freshly refreshed access token", REAUTH_INSTRUCTIONS
                )
        return response

    async def _raw(
        self, method: str, path: str, what: str, token: SecretStr, accept: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token.get_secret_value()}", "Accept": accept}
        try:
            response = await self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise BrokerUnavailable(f"Schwab {what}: timed out") from None
        except httpx.TransportError as exc:
            raise BrokerUnavailable(f"Schwab {what}: {type(exc).__name__}") from None
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock.now())
            raise RateLimited(f"Schwab {what}: rate limited (429)", retry_after)
        if response.status_code >= 500:
            raise BrokerUnavailable(f"Schwab {what}: HTTP {response.status_code}")
        return response


def _query_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
