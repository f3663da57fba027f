"""``GET /health``: liveness plus readiness, from what this process can see.

`HealthProbes` is how the process tells the API what it knows. ``hedgebot run``
passes the chain follower's last seen head and the broker's market-clock call; a
standalone ``hedgebot api`` knows only the store (and the follower's checkpoint in
it), so chain lag and broker reachability are reported as ``unknown`` there rather
than guessed. ``unknown`` never makes the process unready; ``failing`` (store or
broker) and ``lagging`` (chain) do, and the answer is then HTTP 503.

The broker is asked at most once per ``broker_cache_seconds`` (a health check must
not become a load on the broker's rate limits) and never longer than
``broker_timeout_seconds``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hedgebot.clock import Clock
from hedgebot.config import Settings
from hedgebot.eventstore import EventStore, codec

if TYPE_CHECKING:
    from hedgebot.brokers.protocol import BrokerPort
    from hedgebot.chain.follower import ChainFollower


@dataclass
class HealthProbes:
    chain_head: Callable[[], int | None] | None = None
    chain_checkpoint: str | None = None
    broker: Callable[[], Awaitable[Any]] | None = None
    broker_kind: str = "unknown"
    max_chain_lag_blocks: int = 20
    broker_timeout_seconds: float = 5.0
    broker_cache_seconds: float = 10.0
    monotonic: Callable[[], float] = time.monotonic
    _broker_cached: tuple[float, dict[str, Any]] | None = field(default=None, repr=False)

    def chain_lag(self, store: EventStore) -> dict[str, Any]:
        """Checkpoint (last fully ingested block) against the head this process saw."""
        check: dict[str, Any] = {"max_lag_blocks": self.max_chain_lag_blocks}
        if self.chain_checkpoint is None:
            return {**check, "status": "not_configured", "detail": "no orderbook configured"}
        value = store.get_checkpoint(self.chain_checkpoint)
        checkpoint = value if value > 0 else None
        head = self.chain_head() if self.chain_head is not None else None
        check.update(checkpoint_block=checkpoint, head_block=head)
        if head is None:
            return {
                **check,
                "status": "unknown",
                "detail": "this process does not follow the chain head",
            }
        lag = max(0, head - (checkpoint or 0))
        check["lag_blocks"] = lag
        if lag > self.max_chain_lag_blocks:
            return {**check, "status": "lagging", "detail": f"{lag} blocks behind the head"}
        return {**check, "status": "ok"}

    async def broker_check(self) -> dict[str, Any]:
        base: dict[str, Any] = {"kind": self.broker_kind}
        if self.broker is None:
            return {**base, "status": "unknown", "detail": "no broker in this process"}
        now = self.monotonic()
        if self._broker_cached is not None and now - self._broker_cached[0] < (
            self.broker_cache_seconds
        ):
            return self._broker_cached[1]
        try:
            answer = await asyncio.wait_for(self.broker(), self.broker_timeout_seconds)
        except TimeoutError:
            result = {**base, "status": "failing", "detail": "no answer in time"}
        except Exception as exc:  # any failure is the answer; its class says which
            result = {**base, "status": "failing", "detail": type(exc).__name__}
        else:
            is_open = getattr(answer, "is_open", None)
            result = {
                **base,
                "status": "ok",
                "market_open": is_open if isinstance(is_open, bool) else None,
            }
        self._broker_cached = (now, result)
        return result


def bot_probes(settings: Settings, follower: ChainFollower, broker: BrokerPort) -> HealthProbes:
    """What ``hedgebot run`` knows: the follower's last head and a live broker.

    Wiring in `hedgebot.conductor.run_bot`::

        probes = bot_probes(settings, stack.follower, broker)
        services.append(api_service(core, settings, probes, broker=broker))
    """
    return HealthProbes(
        chain_head=lambda: follower.last_head,
        chain_checkpoint=follower.settings.checkpoint_name,
        broker=broker.market_clock,
        broker_kind=settings.broker.kind,
    )


def store_check(store: EventStore) -> dict[str, Any]:
    try:
        position = store.last_position()
    except Exception as exc:
        # the class only: a driver's message may name hosts or users
        return {"status": "failing", "detail": type(exc).__name__}
    return {"status": "ok", "last_position": position}


async def health_report(store: EventStore, probes: HealthProbes, clock: Clock) -> dict[str, Any]:
    store_result = await asyncio.to_thread(store_check, store)
    try:
        chain_result = await asyncio.to_thread(probes.chain_lag, store)
    except Exception as exc:
        chain_result = {
            "status": "unknown",
            "detail": type(exc).__name__,
            "max_lag_blocks": probes.max_chain_lag_blocks,
        }
    broker_result = await probes.broker_check()
    ready = (
        store_result["status"] == "ok"
        and chain_result["status"] != "lagging"
        and broker_result["status"] != "failing"
    )
    return {
        "status": "ok" if ready else "degraded",
        "live": True,
        "ready": ready,
        "timestamp": codec.encode_datetime(clock.now()),
        "checks": {"store": store_result, "chain": chain_result, "broker": broker_result},
    }
