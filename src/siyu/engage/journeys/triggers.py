"""What starts a journey: new events and orders, read by id from where the reader last stopped,
and the clock (birthdays and other yearly dates, a fixed moment).

Ids come from sequences, and on PostgreSQL a transaction that took an id may commit after one
that took a later id. The readers therefore stop short of rows younger than SETTLE, so a row
still being committed is read on a later pass instead of being passed over. Only rows that
arrive after a journey was switched on start it: switching on never replays history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.contacts.models import PURCHASE_STATUSES, Contact, ContactAlias, ContactOrder
from siyu.engage.journeys import engine
from siyu.engage.journeys.definition import read
from siyu.engage.journeys.models import EngageJourney, EngageJourneyCursor
from siyu.events.models import Event
from siyu.segments.compiler import compile_query
from siyu.segments.language import parse
from siyu.segments.models import SegmentMember

EVENTS, ORDERS = "events", "orders"
SETTLE = timedelta(seconds=2)
BATCH = 5000
# An order placed longer ago than this (an import of last year's history) starts nothing.
RECENT_ORDER = timedelta(days=7)
EVENT_TRIGGERS = ("segment_entered", "segment_exited", "event", "form_submitted")
# pg_try_advisory_xact_lock keys: one trigger reader at a time across workers ("jrny", "jclk").
READ_LOCK, CLOCK_LOCK = 0x6A726E79, 0x6A636C6B


def position(session: Session, name: str) -> int:
    row = session.get(EngageJourneyCursor, name)
    return int(row.position) if row is not None else 0


def move(session: Session, name: str, to: int, now: datetime) -> None:
    row = session.get(EngageJourneyCursor, name)
    if row is None:
        session.add(EngageJourneyCursor(name=name, position=to, updated_at=now))
    else:
        row.position, row.updated_at = to, now
    session.flush()


def _alone(session: Session, key: int) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())


def active_journeys(session: Session, types: tuple[str, ...]) -> list[EngageJourney]:
    journeys = session.scalars(
        select(EngageJourney).where(EngageJourney.state == "active").order_by(EngageJourney.id)
    )
    return [j for j in journeys if (j.definition or {}).get("trigger", {}).get("type") in types]


def _upper(session: Session, column: Any, stamp: Any, after: int, now: datetime) -> int | None:
    """The last id that is safe to read past: before the first row that may still settle."""
    newest = session.scalar(select(func.max(column)))
    if newest is None or newest <= after:
        return None
    young = session.scalar(select(func.min(column)).where(column > after, stamp > now - SETTLE))
    return newest if young is None else int(young) - 1


def read_events(session: Session, *, now: datetime, limit: int = BATCH) -> int:
    """Enrol the contacts of new segment, form and named track events; returns events read."""
    after = position(session, EVENTS)
    upper = _upper(session, Event.id, Event.received_at, after, now)
    if upper is None or upper <= after or not _alone(session, READ_LOCK):
        return 0
    journeys = active_journeys(session, EVENT_TRIGGERS)
    if not journeys:
        move(session, EVENTS, upper, now)
        return 0
    names = {_event_name(j.definition["trigger"]) for j in journeys}
    aliases = ContactAlias.__table__
    owner = func.coalesce(aliases.c.contact_id, Event.contact_id)
    rows = session.execute(
        select(Event.id, owner.label("contact_id"), Event.name, Event.properties, Event.received_at)
        .select_from(Event.__table__.outerjoin(aliases, aliases.c.old_id == Event.contact_id))
        .where(
            Event.id > after,
            Event.id <= upper,
            Event.type == "track",
            Event.name.in_(sorted(names)),
            Event.contact_id.is_not(None),
        )
        .order_by(Event.id)
        .limit(limit)
    ).all()
    if len(rows) == limit:
        upper = rows[-1].id
    for journey in journeys:
        trigger = journey.definition["trigger"]
        since = journey.activated_at
        wanted = [
            row.contact_id
            for row in rows
            if (since is None or row.received_at >= since) and _matches(trigger, row)
        ]
        if wanted:
            engine.enrol(session, journey=journey, contact_ids=wanted, now=now)
    move(session, EVENTS, upper, now)
    return len(rows)


def _event_name(trigger: dict[str, Any]) -> str:
    return str(trigger["name"] if trigger["type"] == "event" else trigger["type"])


def _matches(trigger: dict[str, Any], row: Any) -> bool:
    if row.name != _event_name(trigger):
        return False
    properties = row.properties or {}
    if trigger["type"] in ("segment_entered", "segment_exited"):
        return bool(properties.get("segment_id") == trigger["segment_id"])
    if trigger["type"] == "form_submitted" and trigger.get("form_id") is not None:
        return bool(properties.get("form_id") == trigger["form_id"])
    return True


def read_orders(session: Session, *, now: datetime, limit: int = BATCH) -> int:
    """Enrol the buyers of new paid orders in order_placed journeys; returns orders read."""
    after = position(session, ORDERS)
    upper = _upper(session, ContactOrder.id, ContactOrder.created_at, after, now)
    if upper is None or upper <= after or not _alone(session, READ_LOCK + 1):
        return 0
    journeys = active_journeys(session, ("order_placed",))
    if not journeys:
        move(session, ORDERS, upper, now)
        return 0
    rows = session.execute(
        select(ContactOrder.id, ContactOrder.contact_id, ContactOrder.created_at)
        .where(
            ContactOrder.id > after,
            ContactOrder.id <= upper,
            ContactOrder.status.in_(PURCHASE_STATUSES),
            ContactOrder.placed_at >= now - RECENT_ORDER,
        )
        .order_by(ContactOrder.id)
        .limit(limit)
    ).all()
    if len(rows) == limit:
        upper = rows[-1].id
    for journey in journeys:
        since = journey.activated_at
        wanted = [r.contact_id for r in rows if since is None or r.created_at >= since]
        if wanted:
            engine.enrol(session, journey=journey, contact_ids=wanted, now=now)
    move(session, ORDERS, upper, now)
    return len(rows)


# ---------------------------------------------------------------- the clock


def run_clock(session: Session, *, now: datetime) -> int:
    """Fire the date-trait journeys due today and the fixed-date ones whose moment has come;
    returns how many contacts were enrolled."""
    if not _alone(session, CLOCK_LOCK):
        return 0
    entered = 0
    for journey in active_journeys(session, ("date_trait", "fixed_date")):
        trigger = journey.definition["trigger"]
        if trigger["type"] == "date_trait":
            entered += _date_trait(session, journey, trigger, now)
        else:
            entered += _fixed_date(session, journey, trigger, now)
    return entered


def _date_trait(
    session: Session, journey: EngageJourney, trigger: dict[str, Any], now: datetime
) -> int:
    local = now.astimezone(get_settings().zone)
    name = f"date_trait:{journey.id}"
    # Once a local day, from the configured hour on: the cursor holds the day it last fired.
    if local.hour < trigger.get("hour", 9) or position(session, name) >= local.date().toordinal():
        return 0
    day = local.date() + timedelta(days=trigger.get("days_before", 0))
    wanted = [f"{day.month:02d}-{day.day:02d}"]
    if (day.month, day.day) == (2, 28) and not _leap(day.year):
        wanted.append("02-29")  # born on a leap day: celebrated on the 28th in other years
    value = Contact.traits[trigger["trait"]].as_string()
    date_part = func.substr(value, 1, 10)
    # "1990-05-17", "1990-05-17T…" or "05-17": the month and day are the last five of the date.
    month_day = func.substr(date_part, func.length(date_part) - 4, 5)
    ids = list(session.scalars(select(Contact.id).where(value.is_not(None), month_day.in_(wanted))))
    move(session, name, local.date().toordinal(), now)
    return engine.enrol(session, journey=journey, contact_ids=ids, now=now) if ids else 0


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _fixed_date(
    session: Session, journey: EngageJourney, trigger: dict[str, Any], now: datetime
) -> int:
    name = f"fixed_date:{journey.id}"
    definition = read(journey.definition)
    at = definition.trigger.at  # type: ignore[union-attr]
    if now < at or position(session, name):
        return 0
    if trigger.get("segment_id") is not None:
        ids = list(
            session.scalars(
                select(SegmentMember.contact_id).where(
                    SegmentMember.segment_id == trigger["segment_id"]
                )
            )
        )
    else:
        compiled = compile_query(session, parse(trigger["query"]))
        ids = list(
            session.scalars(select(Contact.id).where(compiled.condition), compiled.params(now))
        )
    move(session, name, 1, now)
    return engine.enrol(session, journey=journey, contact_ids=ids, now=now) if ids else 0
