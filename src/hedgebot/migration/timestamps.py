"""Legacy timestamps → aware UTC datetimes, exactly as the legacy bot (sqlx) read them.

The CRUD bot wrote timestamps two ways: SQLite's ``CURRENT_TIMESTAMP``
(``YYYY-MM-DD HH:MM:SS``, UTC) and sqlx's chrono encoding (RFC 3339, ``+00:00``, up to
nine fraction digits). sqlx 0.8 decodes a TEXT timestamp by trying RFC 3339 and then
``%F %T%.f``, ``%F %R``, ``%F %RZ``, ``%F %R%:z``, ``%F %T%.fZ``, ``%F %T%.f%:z`` and the
same with ``T``; text without an offset is UTC; an INTEGER is Unix seconds and a REAL
a Julian day number. `parse_legacy_timestamp` accepts exactly those forms.

Python datetimes hold microseconds: a seventh to ninth fraction digit (chrono's
nanoseconds) is truncated, and `had_sub_microsecond_digits` lets the import count such
values for its report.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

_TEXT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?$"
)
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JULIAN_DAY_OF_UNIX_EPOCH = Decimal("2440587.5")
_SECONDS_PER_DAY = Decimal(86400)


class TimestampError(ValueError):
    """A legacy timestamp that the legacy bot itself could not have read."""


def parse_legacy_timestamp(value: object) -> datetime:
    """Parse a legacy timestamp cell (TEXT, INTEGER seconds or REAL Julian day)."""
    if isinstance(value, bool):
        raise TimestampError(f"not a timestamp: {value!r}")
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, int):
        try:
            return _UNIX_EPOCH + timedelta(seconds=value)
        except OverflowError:
            raise TimestampError(f"Unix time {value} is out of range") from None
    if isinstance(value, float):
        return _parse_julian_day(value)
    raise TimestampError(f"not a timestamp: {type(value).__name__} {value!r}")


def _parse_text(text: str) -> datetime:
    match = _TEXT.match(text)
    if match is None:
        raise TimestampError(
            f"unparseable timestamp {text!r} (expected YYYY-MM-DD HH:MM[:SS[.fff]] "
            "with an optional Z or ±HH:MM offset, or RFC 3339)"
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "").ljust(6, "0")[:6])
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micros,
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise TimestampError(f"invalid timestamp {text!r}: {exc}") from None
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise TimestampError(f"invalid UTC offset in timestamp {text!r}")
        moment -= sign * timedelta(hours=hours, minutes=minutes)
    return moment


def _parse_julian_day(day: float) -> datetime:
    if day != day or day in (float("inf"), float("-inf")):
        raise TimestampError(f"not a timestamp: {day!r}")
    seconds = (Decimal(repr(day)) - _JULIAN_DAY_OF_UNIX_EPOCH) * _SECONDS_PER_DAY
    micros = int(seconds.scaleb(6).to_integral_value())
    try:
        return _UNIX_EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise TimestampError(f"Julian day {day!r} is out of range") from None


def had_sub_microsecond_digits(value: object) -> bool:
    """True when a TEXT timestamp has more than six fraction digits (truncated)."""
    if not isinstance(value, str):
        return False
    match = _TEXT.match(value)
    return bool(match and match.group(7) and len(match.group(7).rstrip("0")) > 6)


def sqlite_datetime_text(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC, as SQLite's ``datetime()`` prints it (views)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
