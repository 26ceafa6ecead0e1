"""Naive platform times become UTC exactly as the zone database says, however they are cached."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.kit.timeutil import as_utc, parse_time

# Shanghai has had no DST since 1991; the others have DST, half-hour shifts or odd offsets.
ZONES = [
    ZoneInfo(name)
    for name in (
        "Asia/Shanghai",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "America/St_Johns",
    )
]


def slow(value: datetime, zone: ZoneInfo) -> datetime:
    return value.replace(tzinfo=zone).astimezone(UTC)


@settings(max_examples=400, deadline=None)
@given(
    value=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30)),
    zone=st.sampled_from(ZONES),
)
def test_naive_times_convert_as_the_zone_says(value: datetime, zone: ZoneInfo) -> None:
    # Twice: the second answer comes from the per-hour cache.
    assert as_utc(value, zone) == slow(value, zone)
    assert as_utc(value, zone) == slow(value, zone)


@settings(max_examples=400, deadline=None)
@given(
    value=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30)),
    zone=st.sampled_from(ZONES),
    separator=st.sampled_from([" ", "T"]),
)
def test_time_text_converts_as_the_zone_says(
    value: datetime, zone: ZoneInfo, separator: str
) -> None:
    value = value.replace(fold=0)  # text cannot say which of a repeated hour it means
    text = value.isoformat(separator)
    # Twice: the second answer comes from the per-hour offset suffix.
    assert parse_time(text, zone) == slow(value, zone)
    assert parse_time(text, zone) == slow(value, zone)
    midnight = value.replace(hour=0, minute=0, second=0, microsecond=0)
    assert parse_time(text[:10], zone) == slow(midnight, zone)


def test_text_with_its_own_offset_keeps_it() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    parse_time("2024-05-01 12:00:00", zone)  # the hour's suffix is now known
    aware = parse_time("2024-05-01 12:00:00+00:00", zone)
    assert aware == datetime(2024, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "local",
    [
        datetime(2024, 3, 10, 2, 30),  # New York: this hour does not exist
        datetime(2024, 11, 3, 1, 30),  # New York: this hour happens twice
        datetime(2024, 11, 3, 1, 59, 59),
        datetime(2024, 3, 10, 3, 0),
    ],
)
def test_transition_hours_follow_the_zone(local: datetime) -> None:
    zone = ZoneInfo("America/New_York")
    for _ in range(2):
        assert as_utc(local, zone) == slow(local, zone)


def test_spellings_from_back_offices() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    expected = datetime(2024, 5, 1, 4, 5, 6, tzinfo=UTC)
    for text in ("2024-05-01 12:05:06", "2024/05/01 12:05:06", "2024年5月1日 12:05:06"):
        assert parse_time(text, zone) == expected
    assert parse_time("2024-05-01", zone) == datetime(2024, 4, 30, 16, tzinfo=UTC)
    assert parse_time("", zone) is None
    with pytest.raises(ValueError, match="not a date"):
        parse_time("yesterday", zone)


def test_times_past_the_calendar_are_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        as_utc(datetime(1, 1, 1, 0, 30), ZoneInfo("Asia/Shanghai"))
