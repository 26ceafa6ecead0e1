"""Times: platforms write naive local times; we store aware UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
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
        zone = zone or local_zone()
        offset = _hour_offset(zone, value)
        if offset is not None:
            try:
                return (value - offset).replace(tzinfo=UTC)
            except OverflowError:
                raise ValueError(f"time out of range: {value.isoformat()}") from None
        value = value.replace(tzinfo=zone)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by the zone offset
        raise ValueError(f"time out of range: {value.isoformat()}") from None


# A zone's offset for each local hour, when it is the same all hour long. Imports convert
# millions of naive times and asking the zone each time is most of the cost; a few years of
# hours is some tens of thousands of entries, so the cache stays small.
_OFFSETS: dict[tuple[ZoneInfo, int, int, int, int], timedelta | None] = {}
_OFFSETS_LIMIT = 200_000


def _hour_offset(zone: ZoneInfo, value: datetime) -> timedelta | None:
    key = (zone, value.year, value.month, value.day, value.hour)
    try:
        return _OFFSETS[key]
    except KeyError:
        pass
    start = value.replace(minute=0, second=0, microsecond=0, fold=0)
    end = start.replace(minute=59, second=59, microsecond=999999)
    first, last = zone.utcoffset(start), zone.utcoffset(end)
    # An hour with a transition inside it (or an ambiguous fall-back hour) goes the long way.
    ambiguous = zone.utcoffset(start.replace(fold=1)) != first
    offset = first if first == last and not ambiguous else None
    if len(_OFFSETS) >= _OFFSETS_LIMIT:
        _OFFSETS.clear()
    _OFFSETS[key] = offset
    return offset


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
