"""A fake Alpaca trading API (``/v2``) speaking the real paths, headers and JSON.

Faithful where the adapter depends on it: ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY``
authentication, numbers as JSON strings, ``client_order_id`` unique per account
(a duplicate is a 422), lookup by ``GET /v2/orders:by_client_order_id``, the order
status vocabulary, ``DELETE /v2/orders/{id}``, and ``GET /v2/clock`` computed from
US sessions at the injected clock's time.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from hedgebot.brokers.fakes.base import FakeOrder, FakeServer, FillPlan, json_response
from hedgebot.brokers.hours import NEW_YORK, UsEquitySessions
from hedgebot.clock import Clock


def _alpaca_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _number(value: Decimal | None) -> str | None:
    """Alpaca sends decimals as JSON strings."""
    return None if value is None else format(value.normalize(), "f")


class FakeAlpaca(FakeServer):
    """Knobs: `set_fill` (price, delay in polls, partial fills), `reject`, ``sessions``
    (market hours and holidays), ``faults`` (5xx, 429 + Retry-After, hangs, latency).
    Counters: `orders_created` per client order id, ``post_attempts``."""

    def __init__(
        self,
        *,
        api_key: str = "PKFAKEKEY",
        api_secret: str = "fake-alpaca-secret",  # noqa: S107 - a test fake's default
        clock: Clock | None = None,
        sessions: UsEquitySessions | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.api_key = api_key
        self.api_secret = api_secret
        self.sessions = sessions or UsEquitySessions()
        self.default_plan = FillPlan()
        self.plans: dict[str, FillPlan] = {}
        self.rejections: dict[str, tuple[int, int, str]] = {}
        self.orders: dict[str, FakeOrder] = {}
        self.created_by_client_id: Counter[str] = Counter()
        self.post_attempts = 0

    # -- knobs --------------------------------------------------------------------

    def set_fill(self, symbol: str, plan: FillPlan) -> None:
        self.plans[symbol] = plan

    def reject(
        self, symbol: str, message: str = "insufficient buying power", status: int = 403
    ) -> None:
        code = 40310000 if status == 403 else 42210000
        self.rejections[symbol] = (status, code, message)

    def orders_created(self, client_order_id: str | None = None) -> int:
        if client_order_id is None:
            return len(self.orders)
        return self.created_by_client_id[client_order_id]

    # -- routes ---------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v2/account", self._account)
        app.router.add_get("/v2/clock", self._clock)
        app.router.add_post("/v2/orders", self._place)
        app.router.add_get("/v2/orders:by_client_order_id", self._by_client_id)
        app.router.add_get("/v2/orders/{order_id}", self._get)
        app.router.add_delete("/v2/orders/{order_id}", self._cancel)

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if (
            request.headers.get("APCA-API-KEY-ID") != self.api_key
            or request.headers.get("APCA-API-SECRET-KEY") != self.api_secret
        ):
            return json_response({"code": 40110000, "message": "request is not authorized"}, 401)
        return None

    async def _account(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        return json_response(
            {
                "id": "904837e3-3b76-47ec-b432-046db621571b",
                "account_number": "PA3FAKE0001",
                "status": "ACTIVE",
                "currency": "USD",
                "buying_power": "100000",
                "cash": "100000",
                "trading_blocked": False,
                "account_blocked": False,
            }
        )

    async def _clock(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        now = self.clock.now()
        clock = self.sessions.clock_at(now)

        def local(moment: datetime | None) -> str | None:
            return None if moment is None else moment.astimezone(NEW_YORK).isoformat()

        return json_response(
            {
                "timestamp": now.astimezone(NEW_YORK).isoformat(),
                "is_open": clock.is_open,
                "next_open": local(clock.next_open),
                "next_close": local(clock.next_close),
            }
        )

    async def _place(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        self.post_attempts += 1
        try:
            body: dict[str, Any] = await request.json()
        except ValueError:
            return json_response(
                {"code": 40010000, "message": "request body format is invalid"}, 400
            )
        problem = self._invalid(body)
        if problem is not None:
            return json_response({"code": 42210000, "message": problem}, 422)
        symbol = str(body["symbol"])
        if symbol in self.rejections:
            status, code, message = self.rejections[symbol]
            return json_response({"code": code, "message": message}, status)
        client_order_id = body.get("client_order_id") or str(uuid.uuid4())
        if client_order_id in self.created_by_client_id:
            return json_response(
                {"code": 40010001, "message": "client_order_id must be unique"}, 422
            )
        order = FakeOrder(
            order_id=str(uuid.uuid4()),
            symbol=symbol,
            quantity=Decimal(str(body["qty"])),
            side=str(body["side"]),
            plan=self.plans.get(symbol, self.default_plan),
            created_at=self.clock.now(),
            client_order_id=client_order_id,
        )
        self.orders[order.order_id] = order
        self.created_by_client_id[client_order_id] += 1
        return json_response(self._order_json(order, "accepted"))

    def _invalid(self, body: dict[str, Any]) -> str | None:
        if not isinstance(body.get("symbol"), str) or not body["symbol"]:
            return "symbol is required"
        if body.get("type") != "market":
            return "only market orders are supported by this fake"
        if body.get("side") not in ("buy", "sell"):
            return "side must be buy or sell"
        if body.get("time_in_force") != "day":
            return "fractional orders must be DAY orders"
        if body.get("notional") is not None:
            return "notional orders are not supported by this fake"
        try:
            qty = Decimal(str(body.get("qty")))
        except InvalidOperation:
            return "qty must be a number"
        if not qty.is_finite() or qty <= 0:
            return "qty must be > 0"
        exponent = qty.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -9:
            return "qty must have at most 9 decimal places"
        cid = body.get("client_order_id")
        if cid is not None and (not isinstance(cid, str) or len(cid) > 128):
            return "client_order_id must be a string of at most 128 characters"
        return None

    async def _by_client_id(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        client_order_id = request.query.get("client_order_id")
        for order in self.orders.values():
            if order.client_order_id == client_order_id:
                return json_response(self._order_json(order))
        return json_response({"code": 40410000, "message": "order not found"}, 404)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            return json_response({"code": 40410000, "message": "order not found"}, 404)
        order.advance(self.clock.now())
        return json_response(self._order_json(order))

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            return json_response({"code": 40410000, "message": "order not found"}, 404)
        if not order.is_open:
            return json_response({"code": 42210000, "message": "order is not cancelable"}, 422)
        order.cancelled_at = self.clock.now()
        return web.Response(status=204)

    def _order_json(self, order: FakeOrder, status: str | None = None) -> dict[str, Any]:
        if status is None:
            if order.cancelled_at is not None:
                status = "canceled"
            elif order.is_filled:
                status = "filled"
            elif order.fills:
                status = "partially_filled"
            else:
                status = "new"
        updated = max(
            (t for t in (order.created_at, order.last_fill_at, order.cancelled_at) if t),
        )
        return {
            "id": order.order_id,
            "client_order_id": order.client_order_id,
            "created_at": _alpaca_time(order.created_at),
            "updated_at": _alpaca_time(updated),
            "submitted_at": _alpaca_time(order.created_at),
            "filled_at": _alpaca_time(order.last_fill_at) if order.is_filled else None,
            "expired_at": None,
            "canceled_at": _alpaca_time(order.cancelled_at),
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
            "symbol": order.symbol,
            "asset_class": "us_equity",
            "notional": None,
            "qty": _number(order.quantity),
            "filled_qty": _number(order.filled_quantity),
            "filled_avg_price": _number(order.average_price),
            "order_class": "simple",
            "order_type": "market",
            "type": "market",
            "side": order.side,
            "time_in_force": "day",
            "limit_price": None,
            "stop_price": None,
            "status": status,
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }
