"""Times: platforms write naive local times; we store aware UTC."""

from __future__ import annotations

import re
from collections.abc import Callable
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
    zone = zone or local_zone()
    # The common spelling, 'YYYY-MM-DD HH:MM:SS', with a zone offset known for its hour: one
    # C call parses it as an aware time, and a second makes it UTC.
    suffix = _suffixes(zone).get(text[:13])
    if suffix is not None:
        try:
            return datetime.fromisoformat(text + suffix).astimezone(UTC)
        except ValueError:
            pass  # an offset of its own, or no time at all: the general way below
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        if parsed.tzinfo is None:
            _learn_suffix(zone, text, parsed)
        return as_utc(parsed, zone)
    match = _LOOSE.match(text)
    if not match:
        raise ValueError(f"not a date or time: {text!r}")
    parts = [int(p) if p else 0 for p in match.groups()]
    return as_utc(datetime(*parts), zone)  # type: ignore[arg-type]


def time_parser(zone: ZoneInfo | None = None) -> Callable[[str], datetime | None]:
    """`parse_time` for text in one zone, for files that hold millions of times: the common
    spelling of an hour seen before costs one dictionary lookup and two C calls."""
    zone = zone or local_zone()
    suffixes = _suffixes(zone)
    fromisoformat = datetime.fromisoformat

    def parse(text: str) -> datetime | None:
        suffix = suffixes.get(text[:13])
        if suffix is not None:
            try:
                return fromisoformat(text + suffix).astimezone(UTC)
            except ValueError:
                pass  # padded, an offset of its own, or no time: parse_time knows
        return parse_time(text, zone)

    return parse


# Offset suffixes ('+08:00') by zone, then local hour ('2024-05-01 12'), for hours whose offset
# does not change within the hour. Bounded like _OFFSETS.
_SUFFIXES: dict[ZoneInfo, dict[str, str]] = {}


def _suffixes(zone: ZoneInfo) -> dict[str, str]:
    known = _SUFFIXES.get(zone)
    if known is None:
        known = _SUFFIXES[zone] = {}
    return known


_HOUR_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}$")


def _learn_suffix(zone: ZoneInfo, text: str, parsed: datetime) -> None:
    prefix = text[:13]
    if not _HOUR_PREFIX.match(prefix):
        return
    offset = _hour_offset(zone, parsed)
    if offset is None or offset.seconds % 60 or offset.microseconds:
        return  # a transition inside the hour, or an offset in seconds (old local mean times)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    known = _suffixes(zone)
    if len(known) >= _OFFSETS_LIMIT:
        known.clear()  # in place: parsers made by time_parser hold this dictionary
    known[prefix] = f"{sign}{hours:02d}:{minutes:02d}"


def isoformat(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None
