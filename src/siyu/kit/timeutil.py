"""Times: platforms write naive local times; we store aware UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from siyu.config import get_settings

_LOOSE = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?$"
)


def local_zone() -> ZoneInfo:
    return get_settings().zone


def as_utc(value: datetime, zone: ZoneInfo | None = None) -> datetime:
    """Naive values are read in the platforms' zone (SIYU_TIMEZONE), aware ones kept."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone or local_zone())
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by the zone offset
        raise ValueError(f"time out of range: {value.isoformat()}") from None


def parse_time(text: str | datetime | date | None, zone: ZoneInfo | None = None) -> datetime | None:
    """Parse the date-time spellings found in Chinese back-office exports.

    Raises ValueError for text that is no time at all, so the caller can report the row.
    """
    if text is None:
        return None
    if isinstance(text, datetime):
        return as_utc(text, zone)
    if isinstance(text, date):
        return as_utc(datetime.combine(text, time()), zone)
    text = text.strip()
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text), zone)
    except ValueError:
        pass
    match = _LOOSE.match(text)
    if not match:
        raise ValueError(f"not a date or time: {text!r}")
    parts = [int(p) if p else 0 for p in match.groups()]
    return as_utc(datetime(*parts), zone)  # type: ignore[arg-type]


def isoformat(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None
