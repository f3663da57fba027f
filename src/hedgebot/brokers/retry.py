"""The one retry policy of hedgebot (DESIGN: "one retry policy module").

Exponential backoff with jitter, a bounded number of attempts, only for errors a
retry can cure (`BrokerUnavailable`, `RateLimited`, `TransientStoreError` by
default), never for a rejection. A 429's ``Retry-After`` is honoured: the next
attempt waits exactly what the server asked for, and a wait longer than
``max_retry_after`` is not attempted at all (the error surfaces, so the caller can
reschedule instead of holding a task for minutes).

Built on tenacity. Sleep and randomness are injected, so tests run the real policy
without waiting: pass ``sleep=recorder`` and read the waits it was asked for.

    policy = RetryPolicy(max_attempts=4)
    order_id = await policy.call(place_once, symbol, qty)

    @retrying(policy)
    async def status(order_id: str) -> OrderStatus: ...

    rows = DATABASE_RETRY.call_sync(store.read_all, 0, 1000)

Retries are logged (``retrying`` with the function's qualified name, the attempt and
the wait); error messages of hedgebot's own errors never carry secrets.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ParamSpec, TypeVar

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
)
from tenacity.stop import stop_base

from hedgebot.brokers.errors import BrokerUnavailable
from hedgebot.eventstore.errors import TransientStoreError

P = ParamSpec("P")
T = TypeVar("T")

log = structlog.get_logger(__name__)


def is_retryable(error: BaseException) -> bool:
    """The default classification: transient broker and database conditions."""
    return isinstance(error, BrokerUnavailable | TransientStoreError)


def retry_after_of(error: BaseException | None) -> float | None:
    """The server's requested wait carried by an error (`RateLimited.retry_after`)."""
    value = getattr(error, "retry_after", None)
    if isinstance(value, int | float) and value >= 0:
        return float(value)
    return None


def parse_retry_after(header: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header as seconds: delta-seconds or an HTTP date; None if absent/bad."""
    if header is None:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (moment - reference).total_seconds())


class _StopOnLongRetryAfter(stop_base):
    """Give up at once when the server asks for a longer wait than we are willing to hold."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        retry_after = retry_after_of(outcome.exception() if outcome is not None else None)
        return retry_after is not None and retry_after > self.limit


async def _asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    Attempt ``n`` (1-based) that fails transiently is followed by a wait of
    ``min(max_wait, initial_wait × multiplier^(n-1))`` plus a random extra of up to
    ``jitter`` times that (spreading retries of many callers), unless the error
    carries a ``retry_after``, which is then waited exactly.
    """

    max_attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    max_retry_after: float = 300.0
    retry_if: Callable[[BaseException], bool] = is_retryable
    sleep: Callable[[float], Awaitable[None]] = field(default=_asyncio_sleep, repr=False)
    sync_sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_wait < 0 or self.max_wait < 0 or self.multiplier < 1 or self.jitter < 0:
            raise ValueError("waits must be >= 0, multiplier >= 1 and jitter >= 0")

    def with_(self, **changes: Any) -> RetryPolicy:
        """A copy with some settings changed (e.g. ``sleep=`` in tests)."""
        return replace(self, **changes)

    # -- the schedule ---------------------------------------------------------

    def backoff(self, failed_attempts: int) -> float:
        """The wait after the ``failed_attempts``-th failure, jitter included."""
        base = min(self.max_wait, self.initial_wait * self.multiplier ** (failed_attempts - 1))
        return base + base * self.jitter * self.random()

    def wait_after(self, failed_attempts: int, error: BaseException | None) -> float:
        retry_after = retry_after_of(error)
        if retry_after is not None:
            return retry_after
        return self.backoff(failed_attempts)

    # -- tenacity wiring ------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return self.wait_after(state.attempt_number, error)

    def _before_sleep(self, operation: str) -> Callable[[RetryCallState], None]:
        def report(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            wait = state.next_action.sleep if state.next_action is not None else None
            log.warning(
                "retrying",
                operation=operation,
                attempt=state.attempt_number,
                max_attempts=self.max_attempts,
                wait_seconds=round(wait, 3) if wait is not None else None,
                error_kind=type(error).__name__,
                error=str(error),
            )

        return report

    def _settings(self, operation: str) -> dict[str, Any]:
        return {
            "stop": stop_any(
                stop_after_attempt(self.max_attempts), _StopOnLongRetryAfter(self.max_retry_after)
            ),
            "wait": self._wait,
            "retry": retry_if_exception(self.retry_if),
            "reraise": True,
            "before_sleep": self._before_sleep(operation),
        }

    # -- entry points ---------------------------------------------------------

    async def call(
        self,
        fn: Callable[P, Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Await ``fn(*args, **kwargs)`` under this policy; the last error is re-raised."""
        operation = getattr(fn, "__qualname__", "operation")
        async for attempt in AsyncRetrying(sleep=self.sleep, **self._settings(operation)):
            with attempt:
                return await fn(*args, **kwargs)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def call_sync(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """The blocking variant (database work outside the event loop, CLI tools)."""
        operation = getattr(fn, "__qualname__", "operation")
        for attempt in Retrying(sleep=self.sync_sleep, **self._settings(operation)):
            with attempt:
                return fn(*args, **kwargs)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


def retrying(
    policy: RetryPolicy | None = None,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Coroutine[Any, Any, T]]]:
    """Decorator form of `RetryPolicy.call` for coroutine functions."""
    chosen = policy or RetryPolicy()

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return await chosen.call(fn, *args, **kwargs)

        return wrapper

    return decorate


def retrying_sync(
    policy: RetryPolicy | None = None,
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator form of `RetryPolicy.call_sync` for blocking functions."""
    chosen = policy or RetryPolicy()

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return chosen.call_sync(fn, *args, **kwargs)

        return wrapper

    return decorate


#: for brokers: about 0.5 + 1 + 2 + 4 s (plus jitter) over 5 attempts
BROKER_RETRY = RetryPolicy()

#: for "database is locked"/serialization failures: short waits, more attempts
DATABASE_RETRY = RetryPolicy(max_attempts=8, initial_wait=0.05, max_wait=2.0)
