"""Legacy timestamps are read the way the legacy bot (sqlx) read them, into UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hedgebot.migration.timestamps import (
    TimestampError,
    had_sub_microsecond_digits,
    parse_legacy_timestamp,
    sqlite_datetime_text,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-01 12:34:56", datetime(2025, 10, 1, 12, 34, 56, tzinfo=UTC)),
        ("2025-10-01T12:34:56Z", datetime(2025, 10, 1, 12, 34, 56, tzinfo=UTC)),
        ("2025-10-01T12:34:56+00:00", datetime(2025, 10, 1, 12, 34, 56, tzinfo=UTC)),
        ("2025-10-01T14:34:56+02:00", datetime(2025, 10, 1, 12, 34, 56, tzinfo=UTC)),
        ("2025-10-01 12:34:56.5", datetime(2025, 10, 1, 12, 34, 56, 500000, tzinfo=UTC)),
        (
            "2025-10-05T08:00:00.123456789+00:00",
            datetime(2025, 10, 5, 8, 0, 0, 123456, tzinfo=UTC),
        ),
        ("2025-10-01 12:34", datetime(2025, 10, 1, 12, 34, tzinfo=UTC)),
        ("2025-10-01 12:34Z", datetime(2025, 10, 1, 12, 34, tzinfo=UTC)),
        ("2025-10-01 07:34-05:00", datetime(2025, 10, 1, 12, 34, tzinfo=UTC)),
        ("2025-10-01 12:34:56.25Z", datetime(2025, 10, 1, 12, 34, 56, 250000, tzinfo=UTC)),
    ],
)
def test_every_sqlx_text_form_parses_to_utc(text: str, expected: datetime) -> None:
    assert parse_legacy_timestamp(text) == expected


def test_integers_are_unix_seconds_and_reals_julian_days() -> None:
    assert parse_legacy_timestamp(1759321496) == datetime(2025, 10, 1, 12, 24, 56, tzinfo=UTC)
    assert parse_legacy_timestamp(2440587.5) == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_legacy_timestamp(2460950.0) == datetime(2025, 10, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2025-13-01 00:00:00",
        "2025-02-30 00:00:00",
        "2025-10-01",
        "12:00:00",
        "2025-10-01 25:00:00",
        "2025-10-01T12:00:00+24:00",
        b"2025",
        True,
        float("nan"),
    ],
)
def test_unparseable_values_are_errors(value: object) -> None:
    with pytest.raises(TimestampError):
        parse_legacy_timestamp(value)


def test_nanosecond_digits_are_detected_for_the_report() -> None:
    assert had_sub_microsecond_digits("2025-10-05T08:00:00.123456789+00:00")
    assert not had_sub_microsecond_digits("2025-10-05T08:00:00.123456000+00:00")
    assert not had_sub_microsecond_digits("2025-10-05 08:00:00")


def test_view_text_is_sqlite_datetime_format() -> None:
    moment = datetime(2025, 10, 1, 12, 34, 56, 789, tzinfo=UTC)
    assert sqlite_datetime_text(moment) == "2025-10-01 12:34:56"
