"""What the fake broker servers share: an aiohttp server on 127.0.0.1 with an ephemeral
port, a log of the requests it served, and scripted faults.

A fake runs either on the caller's event loop (``async with FakeAlpaca() as fake``)
or on its own loop in a background thread (``with run_in_thread(FakeSchwab()) as
fake``), for synchronous callers such as the CLI or a bot subprocess. Its clock is
injected, so a test can share one `ManualClock` between the fake and the adapter.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from aiohttp import web

from hedgebot.clock import Clock, SystemClock

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class _Fault:
    kind: str  # "status", "hang", "hang_after", "gate"
    remaining: int
    method: str | None
    path: str | None
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    gate: threading.Event | None = None
    gate_timeout: float = 5.0

    def matches(self, request: web.Request) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None and request.method != self.method:
            return False
        return self.path is None or request.path.startswith(self.path)


class FaultPlan:
    """Scripted misbehaviour, consumed in order by matching requests.

    ``method`` and ``path`` (a prefix) narrow which requests a fault hits. Faults of
    kind ``status`` answer instead of the handler; ``hang`` never answers (the
    client's timeout fires); ``hang_after`` runs the handler (the order is created!)
    and then never answers, like a response lost on the way back; ``gate`` holds the
    response until a `threading.Event` is set (or answers 500 after its timeout).
    """

    def __init__(self) -> None:
        self.latency: float = 0.0
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()

    def fail(
        self,
        status: int = 503,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        payload = body if body is not None else {"message": f"fake server error {status}"}
        self._add(_Fault("status", times, method, path, status, payload, dict(headers or {})))

    def rate_limit(
        self,
        retry_after: float | None = 1,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        body = {"code": 42910000, "message": "rate limit exceeded"}
        self._add(_Fault("status", times, method, path, 429, body, headers))

    def hang(
        self,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        after_handling: bool = False,
    ) -> None:
        kind = "hang_after" if after_handling else "hang"
        self._add(_Fault(kind, times, method, path))

    def gate(
        self,
        event: threading.Event,
        *,
        timeout: float = 5.0,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self._add(_Fault("gate", 1, method, path, gate=event, gate_timeout=timeout))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
        self.latency = 0.0

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, request: web.Request) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(request):
                    fault.remaining -= 1
                    return fault
        return None


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


class FakeServer:
    """Base of the fake brokers: lifecycle, request log, faults."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.faults = FaultPlan()
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self._released: asyncio.Event | None = None
        self._port: int | None = None

    # -- to implement -----------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    # -- lifecycle ----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the fake server is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> str:
        self._released = asyncio.Event()
        app = web.Application(middlewares=[self._middleware])
        self.add_routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(runner.addresses[0][1])
        self._runner = runner
        return self.base_url

    async def stop(self) -> None:
        if self._released is not None:
            self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- request pipeline ---------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            RecordedRequest(
                request.method, request.path, dict(request.query), dict(request.headers), body
            )
        )
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.take(request)
        if fault is not None and fault.kind == "status":
            return json_response(fault.body, fault.status, fault.headers)
        if fault is not None and fault.kind == "hang":
            await self._hang()
        if fault is not None and fault.kind == "gate":
            assert fault.gate is not None
            opened = await asyncio.to_thread(fault.gate.wait, fault.gate_timeout)
            if not opened:
                return json_response({"message": "gate was never opened"}, 500)
        response = await handler(request)
        if fault is not None and fault.kind == "hang_after":
            await self._hang()
        return response

    async def _hang(self) -> None:
        assert self._released is not None
        await self._released.wait()
        raise web.HTTPServiceUnavailable()

    def count(self, method: str, path_prefix: str) -> int:
        """Requests served so far with this method and path prefix."""
        return sum(
            1 for r in self.requests if r.method == method and r.path.startswith(path_prefix)
        )


S = TypeVar("S", bound=FakeServer)


class ThreadedServer(Generic[S]):
    """Runs a fake on its own event loop in a daemon thread (a context manager)."""

    def __init__(self, server: S) -> None:
        self.server = server
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> S:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-broker", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake server did not start within 10 s")
        if failure:
            raise failure[0]
        return self.server

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        released = self.server._released
        if released is not None:
            loop.call_soon_threadsafe(released.set)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def run_in_thread(server: S) -> ThreadedServer[S]:
    return ThreadedServer(server)


@dataclass(frozen=True)
class FillPlan:
    """How a fake fills an order, one step per status poll.

    ``polls_before_fill`` polls see the order working and unfilled; then each poll
    adds one fill: first the ``partial_fills`` (quantity, price) in order, then the
    remainder at ``price``.
    """

    price: Decimal = Decimal("100.00")
    polls_before_fill: int = 0
    partial_fills: tuple[tuple[Decimal, Decimal], ...] = ()


@dataclass
class FakeOrder:
    """An order inside a fake broker."""

    order_id: str
    symbol: str
    quantity: Decimal
    side: str
    plan: FillPlan
    created_at: datetime
    client_order_id: str | None = None
    polls: int = 0
    fills: list[tuple[Decimal, Decimal, datetime]] = field(default_factory=list)
    cancelled_at: datetime | None = None

    @property
    def filled_quantity(self) -> Decimal:
        return sum((q for q, _, _ in self.fills), Decimal(0))

    @property
    def average_price(self) -> Decimal | None:
        filled = self.filled_quantity
        if not filled:
            return None
        return sum((q * p for q, p, _ in self.fills), Decimal(0)) / filled

    @property
    def is_filled(self) -> bool:
        return self.filled_quantity == self.quantity

    @property
    def is_open(self) -> bool:
        return not self.is_filled and self.cancelled_at is None

    @property
    def last_fill_at(self) -> datetime | None:
        return self.fills[-1][2] if self.fills else None

    def advance(self, now: datetime) -> None:
        """One status poll's worth of progress."""
        if not self.is_open:
            return
        self.polls += 1
        if self.polls <= self.plan.polls_before_fill:
            return
        remaining = self.quantity - self.filled_quantity
        step = len(self.fills)
        if step < len(self.plan.partial_fills):
            quantity, price = self.plan.partial_fills[step]
            quantity = min(quantity, remaining)
        else:
            quantity, price = remaining, self.plan.price
        self.fills.append((quantity, price, now))
