"""The rules that keep reach from becoming spam: frequency caps and quiet hours.

Consent and the suppression list are checked by the dispatcher with the recipients' data; the
arithmetic of caps and quiet hours lives here, with no database, so it is easy to test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from siyu.config import Settings
from siyu.errors import Invalid

_CAP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*d\s*$")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Cap:
    count: int
    days: int

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.days)

    def __str__(self) -> str:
        return f"{self.count}/{self.days}d"


def parse_cap(text: str, where: str = "frequency cap") -> Cap:
    """`2/7d`: at most 2 marketing messages in any 7 days."""
    match = _CAP.match(text or "")
    if not match or int(match.group(2)) < 1:
        raise Invalid(f"{where} {text!r}: write it as COUNT/DAYSd, e.g. 2/7d")
    return Cap(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def holds(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight

    def next_end(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """When the quiet hours that `moment` falls in end (aware), or None if it is not in
        them: the message waits until then rather than being dropped."""
        local = moment.astimezone(zone)
        if not self.holds(local.time()):
            return None
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        # Through the zone again: a daylight-saving jump never leaves a time that does not exist.
        return end.replace(tzinfo=None).replace(tzinfo=zone).astimezone(moment.tzinfo)


def parse_quiet_hours(text: str) -> QuietHours | None:
    """`21:00-09:00`; an empty text means no quiet hours."""
    if not (text or "").strip():
        return None
    match = _HOURS.match(text)
    if not match:
        raise Invalid(f"quiet hours {text!r}: write them as HH:MM-HH:MM, e.g. 21:00-09:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
        raise Invalid(f"quiet hours {text!r}: two different times of day, HH:MM-HH:MM")
    return QuietHours(time(h1, m1), time(h2, m2))


@dataclass
class Policy:
    """The caps and quiet hours in force, from the settings."""

    caps: list[tuple[str | None, Cap]]  # (channel kind or None for all, cap)
    quiet: QuietHours | None
    zone: Any

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        caps: list[tuple[str | None, Cap]] = [(None, parse_cap(settings.frequency_cap))]
        for kind, cap in sorted(settings.frequency_cap_per_channel.items()):
            caps.append((kind, parse_cap(cap, f"frequency cap for {kind}")))
        return cls(caps, parse_quiet_hours(settings.quiet_hours), settings.zone)

    @property
    def longest(self) -> timedelta:
        return max((cap.window for _, cap in self.caps), default=timedelta(0))

    def over_cap(
        self, recent: list[tuple[str, datetime]], kind: str, now: datetime
    ) -> tuple[str, str] | None:
        """(rule, reason) when one more marketing message on `kind` would break a cap;
        `recent` holds the contact's (channel kind, sent at) of the longest window."""
        for scope, cap in self.caps:
            if scope is not None and scope != kind:
                continue
            since = now - cap.window
            sent = sum(1 for k, at in recent if at >= since and (scope is None or k == scope))
            if sent >= cap.count:
                where = "all channels" if scope is None else scope
                rule = "frequency_cap" if scope is None else f"frequency_cap:{scope}"
                return rule, f"{sent} marketing messages in {cap.days} days on {where} (cap {cap})"
        return None


def zone_of(name: object, fallback: ZoneInfo) -> ZoneInfo:
    """A contact's timezone trait, or the merchant's when it is missing or not a zone."""
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback


def backoff(attempts: int) -> timedelta:
    """Wait before retrying a transient failure: 30 s, 1 min, 2 min, … at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))
