"""A recording sleep for the retry policy: tests see the waits without waiting."""

from __future__ import annotations

from hedgebot.brokers.retry import RetryPolicy


class RecordedSleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    def sync(self, seconds: float) -> None:
        self.waits.append(seconds)


def fast_policy(sleeps: RecordedSleeps, attempts: int = 4) -> RetryPolicy:
    """The real policy with recorded sleeps and no jitter (so waits are exact)."""
    return RetryPolicy(max_attempts=attempts, jitter=0.0, sleep=sleeps, sync_sleep=sleeps.sync)
