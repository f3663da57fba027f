"""Runs the long-lived tasks of `hedgebot run` in one asyncio process (SPEC §2).

Each service is an async callable taking a `Stop` token. On SIGINT/SIGTERM the stop
token is set: the chain follower stops taking new chain events, the managers finish
the unit of work in hand, and the conductor waits at most the grace period before
cancelling what is left. Nothing is lost either way: every step is an atomic
transaction in the store and every reaction resumes from the store on restart.
A service that crashes stops the whole process with a non-zero exit, so a supervisor
restarts it, rather than leaving the bot running half-blind.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from hedgebot.clock import Clock
from hedgebot.config import Settings

if TYPE_CHECKING:
    from hedgebot.bootstrap import Core
    from hedgebot.brokers.protocol import BrokerPort
    from hedgebot.leadership import Leadership

log = structlog.get_logger(__name__)


class Stop:
    """Cooperative shutdown token shared by every service."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    @property
    def event(self) -> asyncio.Event:
        """The underlying event, for components that take a plain `asyncio.Event`."""
        return self._event

    async def wait(self, timeout: float | None = None) -> bool:
        """Sleep until stopped or ``timeout`` passes; True when stopped."""
        if timeout is None:
            await self._event.wait()
            return True
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True


Service = Callable[[Stop], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class NamedService:
    name: str
    run: Service


class ServiceFailed(RuntimeError):
    pass


async def run_services(
    services: list[NamedService],
    *,
    stop: Stop | None = None,
    grace_seconds: float = 10.0,
    install_signal_handlers: bool = True,
) -> None:
    """Run services until stopped (signal or `stop`) or until one of them fails."""
    stop = stop or Stop()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if install_signal_handlers:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, _on_signal, stop, sig)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread
                pass
    tasks: dict[asyncio.Task[None], str] = {
        asyncio.create_task(s.run(stop), name=s.name): s.name for s in services
    }
    log.info("services_started", services=sorted(tasks.values()))
    failure: BaseException | None = None
    failed_name = ""
    try:
        pending: set[asyncio.Task[None]] = set(tasks)
        stop_task: asyncio.Task[None] = asyncio.create_task(_wait_stop(stop))
        while pending and not stop.is_set:
            finished, _ = await asyncio.wait(
                pending | {stop_task}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in finished - {stop_task}:
                pending.discard(task)
                exc = task.exception()
                if exc is not None:
                    failure, failed_name = exc, tasks[task]
                    log.error("service_failed", service=tasks[task], error=str(exc))
                    stop.set()
                else:
                    log.info("service_finished", service=tasks[task])
        stop.set()
        stop_task.cancel()
        if pending:
            done, still = await asyncio.wait(pending, timeout=grace_seconds)
            for task in done:
                exc = task.exception() if not task.cancelled() else None
                if exc is not None and failure is None:
                    failure, failed_name = exc, tasks[task]
            for task in still:
                log.warning("service_cancelled_after_grace", service=tasks[task])
                task.cancel()
            if still:
                await asyncio.gather(*still, return_exceptions=True)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    log.info("services_stopped")
    if failure is not None:
        raise ServiceFailed(f"service {failed_name} failed: {failure}") from failure


async def _wait_stop(stop: Stop) -> None:
    await stop.wait()


def _on_signal(stop: Stop, sig: signal.Signals) -> None:
    log.info("shutdown_requested", signal=sig.name)
    stop.set()


async def periodic(stop: Stop, interval: float, step: Callable[[], Awaitable[object]]) -> None:
    """Run ``step`` every ``interval`` seconds (first run immediately) until stopped."""
    while not stop.is_set:
        await step()
        if await stop.wait(interval):
            return


# ---------------------------------------------------------------------------
# `hedgebot run`


async def run_bot(
    settings: Settings,
    *,
    clock: Clock | None = None,
    core: Core | None = None,
    broker: BrokerPort | None = None,
    stop: Stop | None = None,
    install_signal_handlers: bool = True,
    leadership: Leadership | None = None,
) -> None:
    """`_run_bot` with SIGINT/SIGTERM turned into a graceful stop from the first line,
    so a signal during start-up (migrations, leadership, broker set-up) also ends in a
    clean exit 0 instead of a signal death."""
    stop = stop or Stop()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if install_signal_handlers:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, _on_signal, stop, sig)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread
                pass
    try:
        await _run_bot(
            settings, clock=clock, core=core, broker=broker, stop=stop, leadership=leadership
        )
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _run_bot(
    settings: Settings,
    *,
    clock: Clock | None,
    core: Core | None,
    broker: BrokerPort | None,
    stop: Stop,
    leadership: Leadership | None,
) -> None:
    """Chain follower + enrichment + managers + position checker, until a signal.

    ``core``, ``broker`` and ``stop`` let an embedding caller (the demo, end-to-end
    tests) share the store, choose the broker and end the run; what the caller passes
    in, the caller closes. Otherwise both are built from ``settings`` and closed here.

    Only the leader writes (`hedgebot.leadership`): the process first waits for the
    leader lock of ``settings.database.url`` (or ``leadership``), serving
    `standby_services` meanwhile, and only then builds the broker and starts the
    writing services. Losing the lock fails the ``leadership`` service, which stops
    every writer and ends the run with `ServiceFailed` (a non-zero exit).
    """
    from hedgebot.bootstrap import build_broker, build_core
    from hedgebot.chain.service import build_chain_stack, follower_settings
    from hedgebot.leadership import leadership_for
    from hedgebot.offchain_order.order_manager import OrderManager
    from hedgebot.position.checker import PositionChecker
    from hedgebot.position.trade_manager import TradeManager

    chain_settings = settings.require_chain()
    settings.require_broker_secrets()
    owns_core, owns_broker = core is None, broker is None
    if leadership is None:
        leadership = leadership_for(settings.database.url)
    if core is None:
        core = build_core(settings, clock=clock)
    try:
        leading = await await_leadership(
            leadership,
            stop,
            lambda: standby_services(settings, core),
            install_signal_handlers=False,
        )
    except BaseException:
        leadership.release()
        if owns_core:
            core.close()
        raise
    if not leading:
        if owns_core:
            core.close()
        return
    if broker is None:
        try:
            broker = await build_broker(settings, core)
        except BaseException:
            leadership.release()
            core.close()
            raise
    stack = build_chain_stack(
        follower_settings(chain_settings),
        rpc_url=chain_settings.rpc_url,
        store=core.store,
        handler=core.onchain_trades,
        pyth_address=chain_settings.pyth_address,
    )
    managers = settings.managers
    order_manager = OrderManager(
        core.store,
        core.orders,
        core.positions,
        broker,
        core.clock,
        poll_interval=settings.broker.order_poll_interval_seconds,
        max_concurrency=settings.broker.max_concurrent_orders,
        metrics=core.metrics,
    )

    def market_open() -> bool:
        return order_manager.market_open

    # Know the market state before the first fill is acknowledged: a backlog found at a
    # restart during trading hours is then hedged at once, not at the next sweep.
    await order_manager.refresh_market()

    trade_manager = TradeManager(
        core.store,
        core.positions,
        core.policy,
        hedging_allowed=market_open,
        metrics=core.metrics,
    )
    checker = PositionChecker(
        core.store, core.positions, core.policy, hedging_allowed=market_open, metrics=core.metrics
    )

    async def follow(stop: Stop) -> None:
        await stack.follower.run(stop.event)

    async def enrich(stop: Stop) -> None:
        await stack.enricher.run(stop.event, wake=core.signal.subscribe())

    async def acknowledge(stop: Stop) -> None:
        await trade_manager.run(stop, core.signal)

    async def place(stop: Stop) -> None:
        await order_manager.run(stop, core.signal)

    async def check(stop: Stop) -> None:
        async def sweep() -> None:
            await order_manager.refresh_market()
            checker.check()

        await periodic(stop, managers.position_check_interval_seconds, sweep)

    services = [
        NamedService("leadership", leadership.watch),
        NamedService("chain_follower", follow),
        NamedService("enricher", enrich),
        NamedService("trade_manager", acknowledge),
        NamedService("order_manager", place),
        NamedService("position_checker", check),
    ]
    if settings.api.enabled:
        from hedgebot.api import api_service, bot_probes

        probes = bot_probes(settings, stack.follower, broker)
        services.append(api_service(core, settings, probes, broker=broker))
    if settings.broker.kind == "schwab":
        from hedgebot.brokers.schwab.client import SchwabBroker
        from hedgebot.brokers.schwab.wiring import token_refresher_service

        assert isinstance(broker, SchwabBroker)
        services.append(NamedService("schwab_tokens", token_refresher_service(broker, core.clock)))
    try:
        await run_services(
            services,
            stop=stop,
            grace_seconds=managers.shutdown_grace_seconds,
            install_signal_handlers=False,
        )
    finally:
        leadership.release()
        await stack.aclose()
        if owns_broker:
            await broker.aclose()
        if owns_core:
            core.close()


async def await_leadership(
    leadership: Leadership,
    stop: Stop | None,
    standby: Callable[[], list[NamedService]],
    *,
    install_signal_handlers: bool = True,
) -> bool:
    """Wait for the leader lock, running the ``standby()`` services meanwhile.

    They are built and started only once another process is found leading, so a
    lone process goes straight to work.

    True once leading (the standby services are stopped first); False when stopped
    (a signal, the caller's ``stop``, or a failing standby service, which then raises
    `ServiceFailed`) before that. Logs nothing on the way in when the lock is free.
    """
    waiting = Stop()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if install_signal_handlers:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, _on_signal, waiting, sig)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread
                pass
    forward = asyncio.create_task(_forward_stop(stop, waiting))
    serving: list[asyncio.Task[None]] = []

    def serve_standby() -> None:
        services = standby()
        if services:
            serving.append(asyncio.create_task(_run_standby(services, waiting)))

    try:
        leading = await leadership.acquire(waiting, on_wait=serve_standby)
    finally:
        waiting.set()
        forward.cancel()
        for sig in installed:
            loop.remove_signal_handler(sig)
        for task in serving:
            await task
    return leading and not (stop is not None and stop.is_set)


async def _run_standby(services: list[NamedService], stop: Stop) -> None:
    """Like `run_services` but logged as ``standby_*`` (``services_started`` means the
    writers run); a failing standby service ends the wait, and the run, with its error."""
    names = sorted(s.name for s in services)
    log.info("standby_started", services=names)
    try:
        await asyncio.gather(*(s.run(stop) for s in services))
    finally:
        stop.set()
        log.info("standby_stopped", services=names)


async def _forward_stop(source: Stop | None, target: Stop) -> None:
    if source is not None:
        await source.wait()
        target.set()


def standby_services(settings: Settings, core: Core) -> list[NamedService]:
    """What a process serves while another one leads: the API, read-only.

    Mutating endpoints are disabled (the token is dropped from the settings the API
    sees): only the leader may write. The standby's API stops before the process
    starts leading, freeing the port. A port already taken (the leader on the same
    host serving the same ``api.port``) is logged and does not end the standby:
    being ready to take over matters more than answering reads.
    """
    if not settings.api.enabled:
        return []
    from hedgebot.api.service import ApiBindError, api_service, standalone_probes

    read_only = settings.model_copy(update={"api": settings.api.model_copy(update={"token": None})})
    api = api_service(core, read_only, standalone_probes(read_only))

    async def serve(stop: Stop) -> None:
        try:
            await api.run(stop)
        except ApiBindError as exc:
            log.warning("standby_api_unavailable", error=str(exc))
            await stop.wait()

    return [NamedService("standby_api", serve)]
