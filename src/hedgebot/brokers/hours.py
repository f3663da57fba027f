"""US equity regular trading sessions: 09:30–16:00 New York time, Monday to Friday.

Used by the paper broker when configured with market hours, and by the fake Alpaca
and Schwab servers to answer their clock / market-hours endpoints. Holidays and
early closes are configuration (the real brokers know them; the fakes and the paper
broker only know what they are told).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hedgebot.brokers.protocol import MarketClock

NEW_YORK = ZoneInfo("America/New_York")
REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
#: how far ahead to look for the next session (covers any run of holidays)
SEARCH_DAYS = 15


class UsEquitySessions:
    """The regular session of each trading day, as aware UTC datetimes."""

    def __init__(
        self,
        holidays: Iterable[date] = (),
        early_closes: Mapping[date, time] | None = None,
    ) -> None:
        self.holidays: set[date] = set(holidays)
        self.early_closes: dict[date, time] = dict(early_closes or {})

    def session(self, day: date) -> tuple[datetime, datetime] | None:
        """(open, close) of ``day``'s regular session in UTC, or None when closed all day."""
        if day.weekday() >= 5 or day in self.holidays:
            return None
        close_time = self.early_closes.get(day, REGULAR_CLOSE)
        opens = datetime.combine(day, REGULAR_OPEN, tzinfo=NEW_YORK).astimezone(UTC)
        closes = datetime.combine(day, close_time, tzinfo=NEW_YORK).astimezone(UTC)
        return opens, closes

    def clock_at(self, now: datetime) -> MarketClock:
        """Open now? And the next open and close after ``now``."""
        if now.tzinfo is None:
            raise ValueError("clock_at needs a timezone-aware time")
        today = now.astimezone(NEW_YORK).date()
        current = self.session(today)
        if current is not None and current[0] <= now < current[1]:
            next_open = self._next_open_after(today)
            return MarketClock(as_of=now, is_open=True, next_open=next_open, next_close=current[1])
        if current is not None and now < current[0]:
            return MarketClock(
                as_of=now, is_open=False, next_open=current[0], next_close=current[1]
            )
        for offset in range(1, SEARCH_DAYS + 1):
            upcoming = self.session(today + timedelta(days=offset))
            if upcoming is not None:
                return MarketClock(
                    as_of=now, is_open=False, next_open=upcoming[0], next_close=upcoming[1]
                )
        return MarketClock(as_of=now, is_open=False, next_open=None, next_close=None)

    def _next_open_after(self, day: date) -> datetime | None:
        for offset in range(1, SEARCH_DAYS + 1):
            upcoming = self.session(day + timedelta(days=offset))
            if upcoming is not None:
                return upcoming[0]
        return None


def new_york_date(moment: datetime) -> date:
    return moment.astimezone(NEW_YORK).date()
