"""Waiting on conditions with a timeout (never a sleep as synchronisation)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.02


class NeverHappened(AssertionError):
    pass


def wait_until(condition: Callable[[], T], *, timeout: float, what: str) -> T:
    """Poll ``condition`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise NeverHappened(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_SECONDS)


async def eventually(condition: Callable[[], T], *, timeout: float, what: str) -> T:
    """`wait_until` for a test running on the bot's event loop (lets the bot run)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise NeverHappened(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(POLL_SECONDS)
