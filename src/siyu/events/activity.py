"""A contact's activity for the 360: its events (page views, custom events, identifies, form
submissions …) and its orders from every shop, in one feed, newest first.

One UNION ALL query, cursor-paginated on (time, kind, id), so a deep page costs what the first
does; the rows of each page are read afterwards by id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from siyu.contacts.models import ContactOrder
from siyu.errors import Invalid
from siyu.events.models import Event
from siyu.events.timeline import contact_ids_of
from siyu.kit.pagination import Page, decode_cursor, encode_cursor, is_id

KINDS = ("event", "order")


def _after(cursor: str) -> tuple[datetime, str, int]:
    at, kind, last_id = decode_cursor(cursor, 3)
    try:
        when = datetime.fromisoformat(str(at))
    except (ValueError, OverflowError):
        when = None
    if when is None or when.tzinfo is None or kind not in KINDS or not is_id(last_id):
        raise Invalid(f"cursor {cursor!r} is not one this server gave out")
    return when.astimezone(UTC), kind, int(last_id)


def activity(
    session: Session, *, contact_id: int, limit: int = 20, cursor: str | None = None
) -> Page:
    """Items `{"kind": "event" | "order", "at": datetime, ...}`, newest first.

    Events are read through the ids the contact absorbed in merges, as the event API stores
    them; orders move to the survivor in a merge, so they are read by the contact's own id.
    """
    events = select(
        Event.timestamp.label("at"), literal("event").label("kind"), Event.id.label("id")
    ).where(Event.contact_id.in_(contact_ids_of(session, contact_id)))
    orders = select(
        func.coalesce(ContactOrder.placed_at, ContactOrder.created_at).label("at"),
        literal("order").label("kind"),
        ContactOrder.id.label("id"),
    ).where(ContactOrder.contact_id == contact_id)
    feed = union_all(events, orders).subquery()
    query = select(feed.c.at, feed.c.kind, feed.c.id).order_by(
        feed.c.at.desc(), feed.c.kind.desc(), feed.c.id.desc()
    )
    if cursor:
        at, kind, last_id = _after(cursor)
        query = query.where(
            or_(
                feed.c.at < at,
                and_(feed.c.at == at, feed.c.kind < kind),
                and_(feed.c.at == at, feed.c.kind == kind, feed.c.id < last_id),
            )
        )
    keys = session.execute(query.limit(limit + 1)).all()
    more = len(keys) > limit
    keys = keys[:limit]
    found = _read(session, keys)
    items = [found[(kind, item_id)] for _at, kind, item_id in keys]
    next_cursor = None
    if more and keys:
        last = items[-1]
        next_cursor = encode_cursor(last["at"].isoformat(), last["kind"], last["id"])
    return Page(items=items, next_cursor=next_cursor)


def _read(session: Session, keys: list[Any]) -> dict[tuple[str, int], dict[str, Any]]:
    event_ids = [item_id for _at, kind, item_id in keys if kind == "event"]
    order_ids = [item_id for _at, kind, item_id in keys if kind == "order"]
    found: dict[tuple[str, int], dict[str, Any]] = {}
    if event_ids:
        for event in session.execute(select(Event).where(Event.id.in_(event_ids))).scalars():
            found[("event", event.id)] = {
                "kind": "event",
                "id": event.id,
                "at": event.timestamp,
                "type": event.type,
                "name": event.name,
                "properties": event.properties or {},
                "page": ((event.context or {}).get("page") or {}),
                "user_id": event.user_id,
            }
    if order_ids:
        rows = session.execute(select(ContactOrder).where(ContactOrder.id.in_(order_ids)))
        for order in rows.scalars():
            found[("order", order.id)] = {
                "kind": "order",
                "id": order.id,
                "at": order.placed_at or order.created_at,
                "platform": order.platform,
                "shop": order.shop,
                "platform_order_id": order.platform_order_id,
                "status": order.status,
                "total_amount": order.total_amount,
                "currency": order.currency,
            }
    return found
