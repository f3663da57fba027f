"""Fixtures of the broker tests: async tests run on asyncio through anyio's pytest plugin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hedgebot.clock import ManualClock

#: a Monday, 10:00 in New York: the regular session is open
SESSION_OPEN = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)
#: the Saturday before; the next open is Monday 09:30 New York = 14:30 UTC
SATURDAY = datetime(2025, 1, 4, 17, 0, tzinfo=UTC)
MONDAY_OPEN = datetime(2025, 1, 6, 14, 30, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SESSION_OPEN)
