"""What a report covers: a date range, some platforms, one segment — and whose customers.

Every figure of the reports takes one `Scope`. Purchases are the orders the rollups count
(PURCHASE_STATUSES, in the base currency); revenue is paid minus refunded, in fen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.contacts.models import PURCHASE_STATUSES, Contact, ContactOrder
from siyu.db.types import utcnow
from siyu.errors import Invalid, NotFound
from siyu.kit.actor import Actor
from siyu.kit.timeutil import isoformat, local_zone, parse_time
from siyu.segments.models import Segment, SegmentMember
from siyu.staff.permissions import owns_only

ORDER = ContactOrder.__table__
CONTACT = Contact.__table__


@dataclass(frozen=True)
class Scope:
    """`since` inclusive, `until` exclusive, both UTC; no platforms means all of them."""

    since: datetime | None = None
    until: datetime | None = None
    platforms: tuple[str, ...] = ()
    segment_id: int | None = None
    segment_name: str | None = field(default=None, compare=False)

    def describe(self) -> dict[str, Any]:
        return {
            "since": isoformat(self.since),
            "until": isoformat(self.until),
            "platforms": list(self.platforms),
            "segment": self.segment_name,
        }

    def key(self) -> str:
        """The same scope gives the same text: cached figures are kept under it."""
        return "|".join(
            [
                isoformat(self.since) or "",
                isoformat(self.until) or "",
                ",".join(self.platforms),
                str(self.segment_id or ""),
            ]
        )


def parse_scope(
    session: Session,
    *,
    since: str | None = None,
    until: str | None = None,
    platforms: str | list[str] | tuple[str, ...] | None = None,
    segment: str | None = None,
) -> Scope:
    """A scope from what a person typed. A date alone is a whole local day: `until
    2026-06-30` includes that day. Each mistake names the field it was found in."""
    start = _time("since", since, end=False)
    stop = _time("until", until, end=True)
    if start and stop and start >= stop:
        raise Invalid(f"since ({since}) must come before until ({until})")
    if isinstance(platforms, str):
        platforms = platforms.split(",")
    chosen = tuple(sorted({p.strip() for p in platforms or () if p and p.strip()}))
    segment_id = segment_name = None
    if segment and segment.strip():
        found = _segment(session, segment.strip())
        segment_id, segment_name = found.id, found.name
    return Scope(start, stop, chosen, segment_id, segment_name)


def _time(name: str, text: str | None, *, end: bool) -> datetime | None:
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    try:
        value = parse_time(text)
    except ValueError as error:
        raise Invalid(f"{name}: {error}") from None
    if value is None:
        raise Invalid(f"{name}: {text!r} is not a date")
    if end and len(text) == 10:  # a date: up to the end of that local day
        value += timedelta(days=1)
    return value


def _segment(session: Session, ref: str) -> Segment:
    query = select(Segment)
    found = session.scalar(
        query.where(Segment.id == int(ref)) if ref.isdigit() else query.where(Segment.name == ref)
    )
    if found is None:
        raise NotFound(f"segment: no segment {ref!r}")
    return found


def purchase_filter(scope: Scope, *, timed: bool = True) -> list[ColumnElement[bool]]:
    """Conditions on ORDER for the scope's purchases; `timed=False` leaves out the dates
    (cohorts and first orders look before the range)."""
    where = [
        ORDER.c.status.in_(PURCHASE_STATUSES),
        ORDER.c.currency == get_settings().currency,
    ]
    if timed and scope.since is not None:
        where.append(ORDER.c.placed_at >= scope.since)
    if timed and scope.until is not None:
        where.append(ORDER.c.placed_at < scope.until)
    if scope.platforms:
        where.append(ORDER.c.platform.in_(scope.platforms))
    return where


def contact_filter(
    scope: Scope, actor: Actor | None, column: Any = None
) -> list[ColumnElement[bool]]:
    """Conditions on a contact id column: in the scope's segment, and the actor's own
    customers for staff who see only theirs."""
    column = ORDER.c.contact_id if column is None else column
    where: list[ColumnElement[bool]] = []
    if scope.segment_id is not None:
        where.append(
            column.in_(
                select(SegmentMember.contact_id).where(SegmentMember.segment_id == scope.segment_id)
            )
        )
    if actor is not None and owns_only(actor):
        where.append(column.in_(select(CONTACT.c.id).where(CONTACT.c.owner_id == actor.staff_id)))
    return where


def purchases(scope: Scope, actor: Actor | None, *columns: Any, timed: bool = True) -> Select[Any]:
    """SELECT columns FROM the scope's purchases."""
    return select(*columns).where(
        *purchase_filter(scope, timed=timed), *contact_filter(scope, actor)
    )


def net(order: Any = ORDER) -> ColumnElement[int]:
    """Revenue an order brought: paid minus refunded, in fen."""
    return order.c.paid_amount - order.c.refunded_amount


def local_month(session: Session, column: Any) -> ColumnElement[str]:
    """`YYYY-MM` of a stored UTC time in the merchant's zone (SIYU_TIMEZONE)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(local_zone().key, column), "YYYY-MM")
    return func.strftime("%Y-%m", column, sqlite_offset())


def sqlite_offset() -> str:
    """The merchant's zone as a SQLite date modifier ('+480 minutes'). SQLite knows no zones:
    the offset now is exact for zones without daylight saving (China's), and at most an hour
    off around a change elsewhere."""
    offset = utcnow().astimezone(local_zone()).utcoffset() or timedelta()
    return f"{int(offset.total_seconds() // 60):+d} minutes"
