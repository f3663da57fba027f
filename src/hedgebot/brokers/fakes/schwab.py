"""A fake Charles Schwab API: OAuth token endpoint, Trader API orders, market hours.

Faithful where the adapter depends on it: Basic-authenticated ``/v1/oauth/token``
(authorization_code and refresh_token grants, 30-minute access tokens, 7-day
refresh tokens measured on the injected clock), Bearer tokens on every other call
(401 when missing, unknown or expired), account numbers → hash, order JSON exactly
as schwab-py's builder writes it (validated), 201 with an empty body and a
``Location`` on the real host, numbers as JSON numbers, ``+0000`` timestamps,
execution legs per fill, recent orders by entered time, and market hours per date.
"""

from __future__ import annotations

import base64
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from hedgebot.brokers.fakes.base import FakeOrder, FakeServer, FillPlan, json_response
from hedgebot.brokers.hours import NEW_YORK, UsEquitySessions, new_york_date
from hedgebot.clock import Clock
from hedgebot.eventstore.codec import CodecError, parse_datetime

REAL_HOST = "https://api.schwabapi.com"


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _number(value: Decimal) -> float:
    """Schwab writes JSON numbers (``3.0``, ``187.25``); the client parses them as Decimal."""
    return float(value)


@dataclass
class _Token:
    value: str
    issued_at: datetime
    revoked: bool = False


class FakeSchwab(FakeServer):
    """Knobs: `set_fill`, `reject`, `add_login_code`, `expire_access_tokens`,
    `revoke_refresh_tokens`, ``sessions`` and ``faults``. Counters: ``refreshes``,
    ``code_exchanges``, ``account_number_calls``, `orders_created` (total and per
    symbol/instruction/quantity), ``post_attempts``; ``issued_tokens`` lists every
    token value handed out (for the token-safety tests)."""

    def __init__(
        self,
        *,
        app_key: str = "FAKEAPPKEY",
        app_secret: str = "fake-app-secret",  # noqa: S107 - a test fake's default
        redirect_uri: str = "https://127.0.0.1",
        clock: Clock | None = None,
        sessions: UsEquitySessions | None = None,
        account_number: str = "12345678",
        account_hash: str = "E5B8A1C0FFEE0123456789ABCDEF",
        location_host: str = REAL_HOST,
        access_lifetime: timedelta = timedelta(minutes=30),
        refresh_lifetime: timedelta = timedelta(days=7),
    ) -> None:
        super().__init__(clock=clock)
        self.app_key = app_key
        self.app_secret = app_secret
        self.redirect_uri = redirect_uri
        self.sessions = sessions or UsEquitySessions()
        self.account_number = account_number
        self.account_hash = account_hash
        self.location_host = location_host
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime
        self.login_codes: set[str] = set()
        self.access_tokens: dict[str, _Token] = {}
        self.refresh_tokens: dict[str, _Token] = {}
        self.issued_tokens: list[str] = []
        self.refreshes = 0
        self.code_exchanges = 0
        self.account_number_calls = 0
        self.post_attempts = 0
        self.default_plan = FillPlan()
        self.plans: dict[str, FillPlan] = {}
        self.rejections: dict[str, str] = {}
        self.orders: dict[str, FakeOrder] = {}
        self.created_by_shape: Counter[tuple[str, str, Decimal]] = Counter()
        self._next_order_id = 1000

    # -- knobs --------------------------------------------------------------------------

    def add_login_code(self, code: str) -> None:
        self.login_codes.add(code)

    def issue_tokens(self, at: datetime | None = None) -> tuple[str, str]:
        """Mint an access and a refresh token directly (as if a login had happened)."""
        moment = at or self.clock.now()
        access = self._mint("AT")
        refresh = self._mint("RT")
        self.access_tokens[access] = _Token(access, moment)
        self.refresh_tokens[refresh] = _Token(refresh, moment)
        return access, refresh

    def expire_access_tokens(self) -> None:
        for token in self.access_tokens.values():
            token.revoked = True

    def revoke_refresh_tokens(self) -> None:
        for token in self.refresh_tokens.values():
            token.revoked = True

    def set_fill(self, symbol: str, plan: FillPlan) -> None:
        self.plans[symbol] = plan

    def reject(self, symbol: str, message: str = "Insufficient buying power") -> None:
        self.rejections[symbol] = message

    def orders_created(
        self,
        symbol: str | None = None,
        instruction: str | None = None,
        quantity: Decimal | None = None,
    ) -> int:
        if symbol is None:
            return len(self.orders)
        return sum(
            n
            for (s, i, q), n in self.created_by_shape.items()
            if s == symbol
            and (instruction is None or i == instruction)
            and (quantity is None or q == quantity)
        )

    # -- routes ---------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/oauth/token", self._token)
        app.router.add_get("/trader/v1/accounts/accountNumbers", self._account_numbers)
        app.router.add_post("/trader/v1/accounts/{hash}/orders", self._place)
        app.router.add_get("/trader/v1/accounts/{hash}/orders", self._list)
        app.router.add_get("/trader/v1/accounts/{hash}/orders/{order_id}", self._get)
        app.router.add_delete("/trader/v1/accounts/{hash}/orders/{order_id}", self._cancel)
        app.router.add_get("/marketdata/v1/markets/{market}", self._market_hours)
        app.router.add_get("/marketdata/v1/markets", self._market_hours)

    def _mint(self, prefix: str) -> str:
        value = f"{prefix}-{secrets.token_urlsafe(24)}"
        self.issued_tokens.append(value)
        return value

    # -- OAuth ----------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.StreamResponse:
        expected = base64.b64encode(f"{self.app_key}:{self.app_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return json_response({"error": "invalid_client"}, 401)
        form = {k: v[0] for k, v in parse_qs((await request.read()).decode()).items()}
        now = self.clock.now()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            self.code_exchanges += 1
            code = form.get("code", "")
            if code not in self.login_codes or form.get("redirect_uri") != self.redirect_uri:
                return json_response(
                    {"error": "invalid_grant", "error_description": "bad authorization code"}, 400
                )
            self.login_codes.discard(code)
            access, refresh = self.issue_tokens(now)
            return json_response(self._grant(access, refresh))
        if grant == "refresh_token":
            self.refreshes += 1
            token = self.refresh_tokens.get(form.get("refresh_token", ""))
            if token is None or token.revoked or now >= token.issued_at + self.refresh_lifetime:
                return json_response(
                    {
                        "error": "refresh_token_authentication_error",
                        "error_description": "Failed refresh token authentication",
                    },
                    400,
                )
            access = self._mint("AT")
            self.access_tokens[access] = _Token(access, now)
            return json_response(self._grant(access, token.value))
        return json_response({"error": "unsupported_grant_type"}, 400)

    def _grant(self, access: str, refresh: str) -> dict[str, Any]:
        return {
            "expires_in": int(self.access_lifetime.total_seconds()),
            "token_type": "Bearer",
            "scope": "api",
            "refresh_token": refresh,
            "access_token": access,
            "id_token": "fake.id.token",
        }

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        token = self.access_tokens.get(header.removeprefix("Bearer "))
        now = self.clock.now()
        if token is None or token.revoked or now >= token.issued_at + self.access_lifetime:
            return json_response(
                {"message": "Client not authorized", "errors": ["invalid or expired token"]}, 401
            )
        return None

    # -- trader API ----------------------------------------------------------------------------

    async def _account_numbers(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        self.account_number_calls += 1
        return json_response(
            [{"accountNumber": self.account_number, "hashValue": self.account_hash}]
        )

    def _wrong_account(self, request: web.Request) -> web.Response | None:
        if request.match_info["hash"] != self.account_hash:
            return json_response({"message": "Invalid account hash", "errors": []}, 400)
        return None

    async def _place(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request) or self._wrong_account(request)) is not None:
            return denied
        self.post_attempts += 1
        try:
            body = await request.json()
        except ValueError:
            return json_response({"message": "Invalid JSON", "errors": []}, 400)
        problem = _invalid_order(body)
        if problem is not None:
            return json_response(
                {"message": "A validation error occurred", "errors": [problem]}, 400
            )
        leg = body["orderLegCollection"][0]
        symbol = leg["instrument"]["symbol"]
        if symbol in self.rejections:
            return json_response({"message": self.rejections[symbol], "errors": []}, 400)
        order_id = str(self._next_order_id)
        self._next_order_id += 1
        quantity = Decimal(str(leg["quantity"]))
        self.orders[order_id] = FakeOrder(
            order_id=order_id,
            symbol=symbol,
            quantity=quantity,
            side=leg["instruction"],
            plan=self.plans.get(symbol, self.default_plan),
            created_at=self.clock.now(),
        )
        self.created_by_shape[(symbol, leg["instruction"], quantity)] += 1
        location = f"{self.location_host}/trader/v1/accounts/{self.account_hash}/orders/{order_id}"
        return web.Response(status=201, headers={"Location": location})

    async def _list(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request) or self._wrong_account(request)) is not None:
            return denied
        start = _query_time(request.query.get("fromEnteredTime"))
        end = _query_time(request.query.get("toEnteredTime"))
        if start is None or end is None:
            return json_response(
                {"message": "fromEnteredTime and toEnteredTime are required", "errors": []}, 400
            )
        found = [self._order_json(o) for o in self.orders.values() if start <= o.created_at <= end]
        found.sort(key=lambda o: str(o["enteredTime"]), reverse=True)
        limit = int(request.query.get("maxResults", "3000"))
        return json_response(found[:limit])

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request) or self._wrong_account(request)) is not None:
            return denied
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            return json_response({"message": "Order not found", "errors": []}, 404)
        order.advance(self.clock.now())
        return json_response(self._order_json(order))

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request) or self._wrong_account(request)) is not None:
            return denied
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            return json_response({"message": "Order not found", "errors": []}, 404)
        if not order.is_open:
            return json_response({"message": "Order is not cancelable", "errors": []}, 400)
        order.cancelled_at = self.clock.now()
        return web.Response(status=200)

    def _order_json(self, order: FakeOrder) -> dict[str, Any]:
        if order.cancelled_at is not None:
            status = "CANCELED"
        elif order.is_filled:
            status = "FILLED"
        elif order.polls == 0:
            status = "QUEUED"
        else:
            status = "WORKING"
        filled = order.filled_quantity
        close = order.cancelled_at or (order.last_fill_at if order.is_filled else None)
        activities: list[dict[str, Any]] = []
        remaining = order.quantity
        for quantity, price, at in order.fills:
            remaining -= quantity
            activities.append(
                {
                    "activityType": "EXECUTION",
                    "activityId": 90000 + len(activities),
                    "executionType": "FILL",
                    "quantity": _number(quantity),
                    "orderRemainingQuantity": _number(remaining),
                    "executionLegs": [
                        {
                            "legId": 1,
                            "quantity": _number(quantity),
                            "mismarkedQuantity": 0.0,
                            "price": _number(price),
                            "time": _time(at),
                            "instrumentId": 1973757747,
                        }
                    ],
                }
            )
        data: dict[str, Any] = {
            "session": "NORMAL",
            "duration": "DAY",
            "orderType": "MARKET",
            "complexOrderStrategyType": "NONE",
            "quantity": _number(order.quantity),
            "filledQuantity": _number(filled),
            "remainingQuantity": _number(order.quantity - filled),
            "requestedDestination": "AUTO",
            "destinationLinkName": "AutoRoute",
            "orderLegCollection": [
                {
                    "orderLegType": "EQUITY",
                    "legId": 1,
                    "instrument": {
                        "assetType": "EQUITY",
                        "symbol": order.symbol,
                        "instrumentId": 1973757747,
                    },
                    "instruction": order.side,
                    "positionEffect": "OPENING",
                    "quantity": _number(order.quantity),
                }
            ],
            "orderStrategyType": "SINGLE",
            "orderId": int(order.order_id),
            "cancelable": order.is_open,
            "editable": False,
            "status": status,
            "enteredTime": _time(order.created_at),
            "tag": "API_TOS:hedgebot",
            "accountNumber": int(self.account_number),
        }
        if close is not None:
            data["closeTime"] = _time(close)
        if activities:
            data["orderActivityCollection"] = activities
        return data

    # -- market data ---------------------------------------------------------------------------

    async def _market_hours(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        market = request.match_info.get("market") or request.query.get("markets", "")
        if market != "equity":
            return json_response({"message": "this fake only knows the equity market"}, 400)
        raw_date = request.query.get("date")
        try:
            day = date.fromisoformat(raw_date) if raw_date else new_york_date(self.clock.now())
        except ValueError:
            return json_response({"message": "date must be YYYY-MM-DD", "errors": []}, 400)
        session = self.sessions.session(day)
        if session is None:
            product = {
                "date": day.isoformat(),
                "marketType": "EQUITY",
                "product": "equity",
                "isOpen": False,
            }
            return json_response({"equity": {"equity": product}})
        start, end = (moment.astimezone(NEW_YORK) for moment in session)
        pre = start.replace(hour=7, minute=0)
        post = end.replace(hour=20, minute=0)
        product = {
            "date": day.isoformat(),
            "marketType": "EQUITY",
            "product": "EQ",
            "productName": "equity",
            "isOpen": True,
            "sessionHours": {
                "preMarket": [{"start": pre.isoformat(), "end": start.isoformat()}],
                "regularMarket": [{"start": start.isoformat(), "end": end.isoformat()}],
                "postMarket": [{"start": end.isoformat(), "end": post.isoformat()}],
            },
        }
        return json_response({"equity": {"EQ": product}})


def _query_time(raw: str | None) -> datetime | None:
    """``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` (UTC), as the Trader API expects."""
    if raw is None:
        return None
    try:
        return parse_datetime(raw)
    except CodecError:
        return None


def _invalid_order(body: Any) -> str | None:
    """The checks Schwab applies to the orders hedgebot sends."""
    if not isinstance(body, dict):
        return "order must be a JSON object"
    expected = {"orderType": "MARKET", "session": "NORMAL", "duration": "DAY"}
    for key, value in expected.items():
        if body.get(key) != value:
            return f"{key} must be {value} in this fake"
    if body.get("orderStrategyType") != "SINGLE":
        return "orderStrategyType must be SINGLE"
    legs = body.get("orderLegCollection")
    if not isinstance(legs, list) or len(legs) != 1 or not isinstance(legs[0], dict):
        return "exactly one order leg is required"
    leg = legs[0]
    if leg.get("instruction") not in ("BUY", "SELL"):
        return "instruction must be BUY or SELL"
    instrument = leg.get("instrument")
    if not isinstance(instrument, dict) or instrument.get("assetType") != "EQUITY":
        return "instrument must be an EQUITY"
    if not isinstance(instrument.get("symbol"), str) or not instrument["symbol"]:
        return "instrument symbol is required"
    quantity = leg.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        return "quantity must be a positive whole number of shares"
    return None
