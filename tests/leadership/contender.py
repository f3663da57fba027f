"""A process that competes for leadership (run as a script by the leadership tests).

``python contender.py postgresql://… | /path/to/db.sqlite`` acquires leadership with
the implementation that fits the URL (fast polling), then watches it. Its structured
logs go to stdout as JSON lines; losing leadership exits with status 3.
"""

from __future__ import annotations

import asyncio
import sys

import structlog

from hedgebot.conductor import Stop
from hedgebot.leadership import (
    Leadership,
    LeadershipLost,
    PostgresLeadership,
    SoloLeadership,
)

LOST_EXIT = 3
FAST = 0.2


def leadership(target: str) -> Leadership:
    if target.startswith("postgresql://"):
        return PostgresLeadership(target, poll_seconds=FAST, check_seconds=FAST)
    return SoloLeadership.for_database(target, poll_seconds=FAST, check_seconds=FAST)


async def main(target: str) -> int:
    lead = leadership(target)
    stop = Stop()
    if not await lead.acquire(stop):
        return 1
    try:
        await lead.watch(stop)
    except LeadershipLost:
        return LOST_EXIT
    finally:
        lead.release()
    return 0


if __name__ == "__main__":
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
    )
    sys.exit(asyncio.run(main(sys.argv[1])))
