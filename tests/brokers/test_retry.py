"""The retry policy: backoff with jitter, bounded attempts, Retry-After, no retried rejection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hedgebot.brokers.errors import BrokerUnavailable, OrderRejected, RateLimited
from hedgebot.brokers.retry import RetryPolicy, parse_retry_after, retrying, retrying_sync
from hedgebot.eventstore.errors import TransientStoreError
from tests.brokers.sleeps import RecordedSleeps, fast_policy

pytestmark = pytest.mark.anyio


class Flaky:
    """Fails with the given errors in turn, then returns ``result``."""

    def __init__(self, errors: list[BaseException], result: str = "ok") -> None:
        self.errors = list(errors)
        self.calls = 0
        self.result = result

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result

    def sync(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


async def test_transient_failures_are_retried_with_exponential_backoff() -> None:
    sleeps = RecordedSleeps()
    flaky = Flaky([BrokerUnavailable("503"), BrokerUnavailable("timeout")])
    result = await fast_policy(sleeps).call(flaky)
    assert result == "ok"
    assert flaky.calls == 3
    assert sleeps.waits == [0.5, 1.0]


async def test_backoff_is_capped_at_max_wait() -> None:
    policy = RetryPolicy(initial_wait=1, multiplier=10, max_wait=5, jitter=0)
    assert [policy.backoff(n) for n in (1, 2, 3)] == [1, 5, 5]


async def test_jitter_adds_up_to_its_fraction_of_the_backoff() -> None:
    policy = RetryPolicy(initial_wait=2, jitter=0.5, random=lambda: 1.0)
    assert policy.backoff(1) == 3.0
    assert RetryPolicy(initial_wait=2, jitter=0.5, random=lambda: 0.0).backoff(1) == 2.0


async def test_rejections_are_never_retried() -> None:
    sleeps = RecordedSleeps()
    flaky = Flaky([OrderRejected("insufficient buying power")])
    with pytest.raises(OrderRejected):
        await fast_policy(sleeps).call(flaky)
    assert flaky.calls == 1
    assert sleeps.waits == []


async def test_attempts_are_bounded_and_the_last_error_surfaces() -> None:
    sleeps = RecordedSleeps()
    flaky = Flaky([BrokerUnavailable(f"down {n}") for n in range(10)])
    with pytest.raises(BrokerUnavailable, match="down 3"):
        await fast_policy(sleeps, attempts=4).call(flaky)
    assert flaky.calls == 4
    assert len(sleeps.waits) == 3


async def test_retry_after_is_waited_exactly() -> None:
    sleeps = RecordedSleeps()
    flaky = Flaky([RateLimited("429", retry_after=7.0)])
    assert await fast_policy(sleeps).call(flaky) == "ok"
    assert sleeps.waits == [7.0]


async def test_a_retry_after_longer_than_the_limit_surfaces_at_once() -> None:
    sleeps = RecordedSleeps()
    policy = fast_policy(sleeps).with_(max_retry_after=60)
    flaky = Flaky([RateLimited("429", retry_after=3600)])
    with pytest.raises(RateLimited) as caught:
        await policy.call(flaky)
    assert caught.value.retry_after == 3600
    assert flaky.calls == 1
    assert sleeps.waits == []


async def test_decorator_retries_a_coroutine_function() -> None:
    sleeps = RecordedSleeps()
    flaky = Flaky([BrokerUnavailable("503")], result="decorated")

    @retrying(fast_policy(sleeps))
    async def operation() -> str:
        return await flaky()

    assert await operation() == "decorated"
    assert flaky.calls == 2


def test_sync_variant_retries_transient_database_errors() -> None:
    sleeps = RecordedSleeps()
    flaky = Flaky([TransientStoreError("database is locked")] * 2, result="rows")

    @retrying_sync(fast_policy(sleeps))
    def read() -> str:
        return flaky.sync()

    assert read() == "rows"
    assert flaky.calls == 3
    assert sleeps.waits == [0.5, 1.0]


def test_sync_variant_does_not_retry_other_errors() -> None:
    sleeps = RecordedSleeps()
    flaky = Flaky([ValueError("bad row")])
    with pytest.raises(ValueError, match="bad row"):
        fast_policy(sleeps).call_sync(flaky.sync)
    assert flaky.calls == 1


def test_retry_after_header_parses_seconds_and_http_dates() -> None:
    now = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after("Mon, 06 Jan 2025 15:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 06 Jan 2025 14:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="multiplier"):
        RetryPolicy(multiplier=0.5)
